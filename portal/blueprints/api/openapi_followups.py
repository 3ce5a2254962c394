"""OpenAPI: follow-ups (Wiedervorlagen)."""

from __future__ import annotations

from portal.blueprints.api.openapi_common import (
    CASE_ID,
    NOT_ALLOWED,
    NOT_FOUND,
    NOT_OBJECT,
    PAGING,
    UNAUTHENTICATED,
    created,
    error,
    id_param,
    json_response,
    list_of,
    query_param,
    request_body,
)
from portal.blueprints.api.openapi_schemas import DATE, DATE_TIME, nullable, obj, ref
from portal.models.followup import MAX_FOLLOWUP_NOTE
from portal.services.followups import SCOPES, STATUSES

FOLLOWUP_ID = id_param("followup_id", "The follow-up")
FOLLOWUP_LIST = list_of("#/components/schemas/FollowUp")
STATUS_PARAM = query_param(
    "status",
    {"type": "string", "enum": list(STATUSES), "default": "open"},
    "`open` (not done), `done` or `all`",
)
CREATE_ERRORS = error(
    "Validation failed; `error.fields` names each field: `due_on` (`required`, "
    "`invalid_date`, `too_early`: more than a year ago, `too_late`: more than 5 years ahead), "
    "`note` (`invalid`, `too_long`), `assignee_user_id` (`unknown_or_inactive`, `no_access`: "
    "may not edit the case), `assignee_organisation_id` (`unknown_or_inactive`, `no_access`: "
    "no current access to the case, `not_the_users_organisation`), unknown fields "
    "(`unknown_field`)"
)

FOLLOWUP_PATHS = {
    "/followups": {
        "get": {
            "summary": "Your follow-ups, earliest due first",
            "description": "By default the open follow-ups assigned to you or, without a named "
            "person, to your organisation. Only follow-ups of cases whose contents you may "
            "see: when a consent ends, its follow-ups disappear at once.",
            "operationId": "listFollowUps",
            "parameters": [
                query_param("due_before", DATE, "Only follow-ups due before this day"),
                query_param(
                    "scope",
                    {"type": "string", "enum": list(SCOPES), "default": "mine"},
                    "`mine` (yours and your organisation's unassigned ones) or "
                    "`organisation` (all of your organisation's)",
                ),
                STATUS_PARAM,
                *PAGING,
            ],
            "responses": {
                "200": json_response(FOLLOWUP_LIST),
                "400": error(
                    "`due_before` is no date, `scope` or `status` unknown, or invalid paging"
                ),
                "401": UNAUTHENTICATED,
            },
        }
    },
    "/followups/{followup_id}": {
        "get": {
            "summary": "One follow-up",
            "operationId": "getFollowUp",
            "parameters": [FOLLOWUP_ID],
            "responses": {
                "200": json_response(ref("FollowUp")),
                "401": UNAUTHENTICATED,
                "404": NOT_FOUND,
            },
        },
        "patch": {
            "summary": "Mark a follow-up done, or open it again",
            "description": "For caseworkers and coordinators who may edit the case. "
            "Setting the state it already has changes nothing.",
            "operationId": "updateFollowUp",
            "parameters": [FOLLOWUP_ID],
            "requestBody": request_body(ref("FollowUpUpdate")),
            "responses": {
                "200": json_response(ref("FollowUp")),
                "400": NOT_OBJECT,
                "401": UNAUTHENTICATED,
                "403": NOT_ALLOWED,
                "404": NOT_FOUND,
                "422": error("`done` missing or not a boolean, or unknown fields"),
            },
        },
    },
    "/cases/{case_id}/followups": {
        "get": {
            "summary": "The case's follow-ups, earliest due first",
            "operationId": "listCaseFollowUps",
            "parameters": [CASE_ID, STATUS_PARAM, *PAGING],
            "responses": {
                "200": json_response(FOLLOWUP_LIST),
                "400": error("Unknown `status`, or invalid paging"),
                "401": UNAUTHENTICATED,
                "404": NOT_FOUND,
            },
        },
        "post": {
            "summary": "Add a follow-up to a case",
            "description": "Without an assignee the follow-up is yours. With "
            "`assignee_organisation_id` only, it is for anyone of that organisation. Assignees "
            "must currently have access to the case (users: may edit it).",
            "operationId": "createFollowUp",
            "parameters": [CASE_ID],
            "requestBody": request_body(ref("FollowUpCreate")),
            "responses": {
                "201": created(ref("FollowUp"), "The new follow-up"),
                "400": NOT_OBJECT,
                "401": UNAUTHENTICATED,
                "403": NOT_ALLOWED,
                "404": NOT_FOUND,
                "422": CREATE_ERRORS,
            },
        },
    },
}

FOLLOWUP_SCHEMAS = {
    "FollowUpCreate": obj(
        {
            "due_on": DATE,
            "note": nullable({"type": "string", "maxLength": MAX_FOLLOWUP_NOTE}),
            "assignee_user_id": nullable({"type": "integer", "minimum": 1}),
            "assignee_organisation_id": nullable({"type": "integer", "minimum": 1}),
        },
        ["due_on"],
        closed=True,
    ),
    "FollowUpUpdate": obj({"done": {"type": "boolean"}}, closed=True),
    "FollowUp": obj(
        {
            "id": {"type": "integer"},
            "case_id": {"type": "integer"},
            "case_reference": {"type": "string", "pattern": r"^KIM-\d{4}-\d{5}$"},
            "due_on": DATE,
            "note": {"type": "string"},
            "assignee_user": nullable(ref("UserRef")),
            "assignee_organisation": ref("OrganisationRef"),
            "created_at": DATE_TIME,
            "created_by": nullable(ref("UserRef")),
            "done_at": nullable(DATE_TIME),
            "overdue": {
                "type": "boolean",
                "description": "Open and due before today (German calendar day)",
            },
        }
    ),
}
