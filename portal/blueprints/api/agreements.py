"""API: integration agreements: signed scans, and goals with their status history."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import api_user, bp, list_page
from portal.blueprints.api.operations import Body, ListOf, operation
from portal.blueprints.api.schemas.agreements import GoalWithHistory, SignedScanUpload
from portal.blueprints.api.schemas.documents import Version, form_data
from portal.blueprints.api.serialise import org_ref, user_ref, version_json
from portal.db import db_session
from portal.http import client_ip, requester, save_context
from portal.models import Document
from portal.models.base import local_today
from portal.pipeline import with_agreement
from portal.services import access, agreements, goals
from portal.services.documents import Upload
from portal.services.errors import InvalidInput
from portal.services.validation import validated

NO_AGREEMENT = "Unknown, not visible, or not an agreement"


@bp.post("/documents/<int:document_id>/signed")
@with_agreement(access.EDIT_DOCUMENT)
@operation(
    "Upload the signed scan of a printed agreement version",
    description="`version` is the number printed on the paper and must be the current "
    "version. The scan (PDF, JPEG or PNG) becomes the next version: the printed version's "
    "fields with `signed_on`, the scan as its file. A signed version is frozen: status "
    "updates keep the signature, other changes make an unsigned version (Fortschreibung) "
    "that can be signed again.",
    body=Body(json=(), multipart=SignedScanUpload),
    returns=Version,
    status=201,
    returns_description="The signed version",
    errors={
        400: "Not multipart/form-data, or the file is hostile",
        403: None,
        404: NO_AGREEMENT,
        409: "`version` is not the current version (`stale_version`, "
        "`error.fields.current_version`), or it is signed already (`already_signed`)",
        413: None,
        415: "The content is none of PDF, JPEG, PNG",
        422: "Validation failed; `error.fields`: `version` (`required`, `must_be_integer`, "
        "`must_be_positive`, `unknown`), `signed_on` (`required`, `invalid_date`, "
        "`in_future`, `before_version`: before the printed version was saved), `file` "
        "(`required`, `must_be_file`), unknown fields (`unknown_field`)",
    },
)
def upload_signed_scan(document: Document):
    """The scan of the signed printout of ``version``: saved as the agreement's next version."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInput(_l("Send the scan as multipart/form-data."))
    body = validated(SignedScanUpload, form_data(request.form, request.files))
    version = agreements.attach_signed_scan(
        db_session(), api_user(), document, printed_version=body.version,
        signed_on=body.signed_on, upload=Upload(body.file.stream, body.file.filename or ""),
        ctx=save_context(), today=local_today(), ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_version", document_id=document.id, number=version.number)
    return version_json(version), 201, {"Location": location}


@bp.get("/documents/<int:document_id>/goals")
@operation(
    "The agreement's goals with their status history",
    description="The goals of the current version, in order. A goal is followed across "
    "versions by its area and text (by its position when reworded); `history` lists each "
    "status it had, oldest first. Status updates are saved with "
    "`POST /documents/{document_id}/versions`.",
    paged=True,
    returns=ListOf(GoalWithHistory),
    errors={400: "Invalid paging", 404: NO_AGREEMENT},
    operation_id="listAgreementGoals",
)
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
                "at": change.at,
                "author": user_ref(change.author),
                "organisation": org_ref(change.organisation),
            }
            for change in entry.changes
        ],
    }
