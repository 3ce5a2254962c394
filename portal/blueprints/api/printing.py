"""API: documents as PDF (``GET /api/v1/documents/{id}/pdf?version=n``)."""

from __future__ import annotations

from flask import current_app

from portal.blueprints.api import bp
from portal.blueprints.api.operations import File, operation
from portal.blueprints.api.schemas.documents import PdfQuery
from portal.db import db_session
from portal.downloads import pdf_response
from portal.http import requester
from portal.presentation import render_printout
from portal.services import printouts


@bp.get("/documents/<int:document_id>/pdf")
@operation(
    "A note, assessment or agreement version as PDF",
    description="Print-ready A4 PDF (PDF/UA-1, tagged) with the lead organisation's "
    "letterhead, and on every page the version, print date, a short content hash and the "
    "page number. Uploaded files have no PDF here (404): use "
    "`/documents/{document_id}/versions/{number}/content`. Every print is audited (`print`).",
    query=PdfQuery,
    returns=File(("application/pdf",), headers=("Content-Disposition", "Cache-Control")),
    returns_description="The PDF, as a download",
    errors={
        400: "`version` is not a whole number; `error.fields.version`",
        404: "Unknown, not visible, an upload, or no such version",
        503: "The PDF could not be made in time; try again",
    },
    operation_id="getDocumentPdf",
)
def document_pdf(document_id: int, query: PdfQuery):
    """A note, assessment or agreement version as PDF; ``version`` defaults to the current one."""
    printed = printouts.print_version(
        db_session(), requester(), document_id, query.version,
        current_app.extensions["portal.blobs"], render_printout,
    )  # fmt: skip
    return pdf_response(printed, inline=False)
