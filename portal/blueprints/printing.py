"""Printing: agreements, note and assessment versions, and the case summary as PDF."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import login_required

from portal.db import db_session
from portal.downloads import pdf_response
from portal.http import requester
from portal.presentation import render_printout
from portal.services import printouts

bp = Blueprint("printing", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.get("/documents/<int:document_id>/versions/<int:number>/pdf")
def version_pdf(document_id: int, number: int):
    """A note, assessment or agreement version as PDF (uploads have their own file: 404)."""
    printed = printouts.print_version(
        db_session(), requester(), document_id, number, current_app.extensions["portal.blobs"],
        render_printout,
    )  # fmt: skip
    return pdf_response(printed)


@bp.get("/cases/<int:case_id>/summary.pdf")
def case_summary_pdf(case_id: int):
    """The case summary (Fallübersicht) as PDF."""
    printed = printouts.print_case_summary(
        db_session(), requester(), case_id, current_app.extensions["portal.blobs"],
        render_printout,
    )  # fmt: skip
    return pdf_response(printed)
