"""Printing: agreements, note and assessment versions, and the case summary as PDF."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask_login import current_user, login_required

from portal.db import db_session
from portal.downloads import content_disposition
from portal.http import client_ip
from portal.services import printouts
from portal.services.printouts import PrintedPdf, Requester

bp = Blueprint("printing", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.get("/documents/<int:document_id>/versions/<int:number>/pdf")
def version_pdf(document_id: int, number: int):
    """A note, assessment or agreement version as PDF (uploads have their own file: 404)."""
    printed = printouts.print_version(
        db_session(), _requester(), document_id, number, current_app.extensions["portal.blobs"]
    )
    return pdf_response(printed)


@bp.get("/cases/<int:case_id>/summary.pdf")
def case_summary_pdf(case_id: int):
    """The case summary (Fallübersicht) as PDF."""
    printed = printouts.print_case_summary(
        db_session(), _requester(), case_id, current_app.extensions["portal.blobs"]
    )
    return pdf_response(printed)


def pdf_response(printed: PrintedPdf, *, inline: bool = True) -> Response:
    """The PDF, shown by the browser (ready to print) or as a download; never cached."""
    response = Response(printed.data, mimetype="application/pdf")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = content_disposition(disposition, printed.filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A PDF viewer in the browser must not run anything from the document.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _requester() -> Requester:
    return Requester(current_user._get_current_object(), client_ip(), "web")
