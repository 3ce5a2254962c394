"""API: follow-ups (Wiedervorlagen): list, create on a case, read, mark done or open again."""

from __future__ import annotations

from flask import url_for

from portal.blueprints.api import api_user, bp, list_envelope
from portal.blueprints.api.operations import ListOf, operation
from portal.blueprints.api.schemas import followups as schemas
from portal.blueprints.api.schemas.followups import (
    CaseFollowUpQuery,
    FollowUpCreate,
    FollowUpListQuery,
    FollowUpUpdate,
)
from portal.blueprints.api.serialise import org_ref, user_ref
from portal.db import db_session
from portal.http import client_ip
from portal.models import Case, FollowUp
from portal.pipeline import with_case, with_followup
from portal.services import access, followups

CREATE_ERRORS = (
    "Validation failed; `error.fields` names each field: `due_on` (`required`, "
    "`invalid_date`, `too_early`: more than a year ago, `too_late`: more than 5 years ahead), "
    "`note` (`invalid`, `too_long`), `assignee_user_id` (`unknown_or_inactive`, `no_access`: "
    "may not edit the case), `assignee_organisation_id` (`unknown_or_inactive`, `no_access`: "
    "no current access to the case, `not_the_users_organisation`), unknown fields "
    "(`unknown_field`)"
)


@bp.get("/followups")
@operation(
    "Your follow-ups, earliest due first",
    description="By default the open follow-ups assigned to you or, without a named person, "
    "to your organisation. Only follow-ups of cases whose contents you may see: when a "
    "consent ends, its follow-ups disappear at once.",
    query=FollowUpListQuery,
    paged=True,
    returns=ListOf(schemas.FollowUp),
    errors={400: "`due_before` is no date, `scope` or `status` unknown, or invalid paging"},
    operation_id="listFollowUps",
)
def list_followups(query: FollowUpListQuery):
    """Open follow-ups of the token's user (``scope``, ``status``, ``due_before`` narrow it)."""
    due_before = None if query.due_before is None else followups.parse_date(query.due_before)
    statement = followups.list_statement(
        api_user(), scope=query.scope, status=query.status, due_before=due_before
    )
    return list_envelope(statement, followup_json)


@bp.get("/cases/<int:case_id>/followups")
@with_case()
@operation(
    "The case's follow-ups, earliest due first",
    query=CaseFollowUpQuery,
    paged=True,
    returns=ListOf(schemas.FollowUp),
    errors={400: "Unknown `status`, or invalid paging"},
    operation_id="listCaseFollowUps",
)
def list_case_followups(case: Case, query: CaseFollowUpQuery):
    """The case's follow-ups, open ones by default (``status``)."""
    statement = followups.case_statement(api_user(), case, query.status)
    return list_envelope(statement, followup_json)


@bp.post("/cases/<int:case_id>/followups")
@with_case(access.EDIT_CASE)
@operation(
    "Add a follow-up to a case",
    description="Without an assignee the follow-up is yours. With `assignee_organisation_id` "
    "only, it is for anyone of that organisation. Assignees must currently have access to "
    "the case (users: may edit it).",
    body=FollowUpCreate,
    returns=schemas.FollowUp,
    status=201,
    returns_description="The new follow-up",
    errors={403: None, 422: CREATE_ERRORS},
    operation_id="createFollowUp",
)
def create_followup(case: Case, body: FollowUpCreate):
    """Add a follow-up; without an assignee it is the token user's own."""
    followup = followups.create(
        db_session(), api_user(), case, due_on=body.due_on, note=body.note,
        assignee_user_id=body.assignee_user_id,
        assignee_organisation_id=body.assignee_organisation_id, ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_followup", followup_id=followup.id)
    return followup_json(followup), 201, {"Location": location}


@bp.get("/followups/<int:followup_id>")
@with_followup()
@operation("One follow-up", returns=schemas.FollowUp, operation_id="getFollowUp")
def get_followup(followup: FollowUp):
    """One follow-up."""
    return followup_json(followup)


@bp.patch("/followups/<int:followup_id>")
@with_followup(access.EDIT_FOLLOWUP)
@operation(
    "Mark a follow-up done, or open it again",
    description="For caseworkers and coordinators who may edit the case. Setting the state "
    "it already has changes nothing.",
    body=FollowUpUpdate,
    returns=schemas.FollowUp,
    errors={403: None, 422: "`done` missing or not a boolean, or unknown fields"},
    operation_id="updateFollowUp",
)
def update_followup(followup: FollowUp, body: FollowUpUpdate):
    """``{"done": true}`` marks the follow-up done, ``{"done": false}`` opens it again."""
    followups.set_done(db_session(), api_user(), followup, body.done, ip=client_ip())
    return followup_json(followup)


def followup_json(followup: FollowUp) -> dict:
    """A follow-up as the API shows it."""
    return {
        "id": followup.id,
        "case_id": followup.case_id,
        "case_reference": followup.case.reference,
        "due_on": followup.due_on,
        "note": followup.note,
        "assignee_user": user_ref(followup.assignee_user),
        "assignee_organisation": org_ref(followup.assignee_organisation),
        "created_at": followup.created_at,
        "created_by": user_ref(followup.created_by),
        "done_at": followup.done_at,
        "overdue": followups.is_overdue(followup),
    }
