"""API: documents as PDF (``GET /api/v1/documents/{id}/pdf?version=n``)."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import bp, whole_number
from portal.db import db_session
from portal.downloads import pdf_response
from portal.http import requester
from portal.presentation import render_printout
from portal.services import printouts
from portal.services.errors import InvalidInput


@bp.get("/documents/<int:document_id>/pdf")
def document_pdf(document_id: int):
    """A note, assessment or agreement version as PDF; ``version`` defaults to the current one."""
    value = request.args.get("version")
    number = None
    if value is not None:
        number = whole_number(value)
        if number is None:
            raise InvalidInput(_l("Please check the input."), fields={"version": "must_be_integer"})
    printed = printouts.print_version(
        db_session(), requester(), document_id, number,
        current_app.extensions["portal.blobs"], render_printout,
    )  # fmt: skip
    return pdf_response(printed, inline=False)
