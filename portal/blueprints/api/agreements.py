"""API: integration agreements: signed scans, and goals with their status history."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import (
    api_user,
    bp,
    check,
    list_page,
    unknown_fields,
    whole_number,
)
from portal.blueprints.api.serialise import org_ref, user_ref, version_json
from portal.db import db_session
from portal.http import client_ip, requester, save_context
from portal.models import Document
from portal.models.base import local_today
from portal.pipeline import with_agreement
from portal.services import access, agreements, goals
from portal.services.documents import Upload
from portal.services.errors import InvalidInput

SCAN_FIELDS = {"file", "version", "signed_on"}


@bp.post("/documents/<int:document_id>/signed")
@with_agreement(access.EDIT_DOCUMENT)
def upload_signed_scan(document: Document):
    """The scan of the signed printout of ``version``: saved as the agreement's next version."""
    user = api_user()
    session = db_session()
    if request.mimetype != "multipart/form-data":
        raise InvalidInput(_l("Send the scan as multipart/form-data."))
    data = {**request.form.to_dict(), **request.files.to_dict()}
    errors = unknown_fields(data, SCAN_FIELDS)
    number = whole_number(data.get("version", ""))
    if number is None:
        errors["version"] = "must_be_integer" if data.get("version") else "required"
    if "file" not in request.files:
        errors["file"] = "required"
    check(errors)
    scan = request.files["file"]
    version = agreements.attach_signed_scan(
        session, user, document, printed_version=number, signed_on=data.get("signed_on"),
        upload=Upload(scan.stream, scan.filename or ""), ctx=save_context(),
        today=local_today(), ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_version", document_id=document.id, number=version.number)
    return version_json(version), 201, {"Location": location}


@bp.get("/documents/<int:document_id>/goals")
def list_goals(document_id: int):
    """The goals of the current version, each with its status history (oldest first)."""
    _document, versions = agreements.read_goals(db_session(), requester(), document_id)
    today = local_today()
    histories = list(enumerate(goals.history(versions)))
    return list_page(histories, lambda item: _goal_json(item[0], item[1], today))


def _goal_json(position: int, entry: goals.GoalHistory, today) -> dict:
    return {
        "position": position,
        "goal": entry.goal.as_fields(),
        "days_overdue": entry.goal.days_overdue(today),
        "history": [
            {
                "status": change.status,
                "version": change.version,
                "at": change.at.isoformat(),
                "author": user_ref(change.author),
                "organisation": org_ref(change.organisation),
            }
            for change in entry.changes
        ],
    }
