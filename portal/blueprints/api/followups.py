"""API: follow-ups (Wiedervorlagen): list, create on a case, read, mark done or open again."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import (
    api_user,
    bp,
    check,
    json_object,
    list_envelope,
    unknown_fields,
)
from portal.blueprints.api.serialise import org_ref, user_ref
from portal.db import db_session
from portal.http import client_ip
from portal.models import Case, FollowUp
from portal.pipeline import with_case, with_followup
from portal.services import access, followups
from portal.services.errors import InvalidInput

CREATE_FIELDS = {"due_on", "note", "assignee_user_id", "assignee_organisation_id"}


@bp.get("/followups")
def list_followups():
    """Open follow-ups of the token's user (``scope``, ``status``, ``due_before`` narrow it)."""
    scope = _choice("scope", followups.SCOPES, "mine")
    status = _choice("status", followups.STATUSES, "open")
    due_before = None
    if request.args.get("due_before") is not None:
        due_before = followups.parse_date(request.args["due_before"])
        if due_before is None:
            raise InvalidInput(
                _l("due_before must be a date (YYYY-MM-DD)."), fields={"due_before": "invalid_date"}
            )
    statement = followups.list_statement(
        api_user(), scope=scope, status=status, due_before=due_before
    )
    return list_envelope(statement, followup_json)


@bp.get("/cases/<int:case_id>/followups")
@with_case()
def list_case_followups(case: Case):
    """The case's follow-ups, open ones by default (``status``)."""
    status = _choice("status", followups.STATUSES, "open")
    return list_envelope(followups.case_statement(api_user(), case, status), followup_json)


@bp.post("/cases/<int:case_id>/followups")
@with_case(access.EDIT_CASE)
def create_followup(case: Case):
    """Add a follow-up; without an assignee it is the token user's own."""
    user = api_user()
    data = json_object()
    check(unknown_fields(data, CREATE_FIELDS))
    followup = followups.create(
        db_session(), user, case, due_on=data.get("due_on"), note=data.get("note"),
        assignee_user_id=data.get("assignee_user_id"),
        assignee_organisation_id=data.get("assignee_organisation_id"), ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_followup", followup_id=followup.id)
    return followup_json(followup), 201, {"Location": location}


@bp.get("/followups/<int:followup_id>")
@with_followup()
def get_followup(followup: FollowUp):
    """One follow-up."""
    return followup_json(followup)


@bp.patch("/followups/<int:followup_id>")
@with_followup(access.EDIT_FOLLOWUP)
def update_followup(followup: FollowUp):
    """``{"done": true}`` marks the follow-up done, ``{"done": false}`` opens it again."""
    user = api_user()
    data = json_object()
    errors = unknown_fields(data, {"done"})
    if not isinstance(data.get("done"), bool):
        errors["done"] = "required" if "done" not in data else "invalid"
    check(errors)
    followups.set_done(db_session(), user, followup, data["done"], ip=client_ip())
    return followup_json(followup)


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    """A query parameter that must be one of ``allowed``; 400 otherwise."""
    value = request.args.get(name, default)
    if value not in allowed:
        raise InvalidInput(
            _l("%(name)s must be one of: %(values)s.", name=name, values=", ".join(allowed)),
            fields={name: "invalid"},
        )
    return value


def followup_json(followup: FollowUp) -> dict:
    """A follow-up as the API shows it."""
    return {
        "id": followup.id,
        "case_id": followup.case_id,
        "case_reference": followup.case.reference,
        "due_on": followup.due_on.isoformat(),
        "note": followup.note,
        "assignee_user": user_ref(followup.assignee_user),
        "assignee_organisation": org_ref(followup.assignee_organisation),
        "created_at": followup.created_at.isoformat(),
        "created_by": user_ref(followup.created_by),
        "done_at": followup.done_at.isoformat() if followup.done_at else None,
        "overdue": followups.is_overdue(followup),
    }
