"""OpenAPI: integration agreements (signed scans, goals with their status history)."""

from __future__ import annotations

from portal.blueprints.api.openapi_common import (
    NOT_ALLOWED,
    PAGING,
    UNAUTHENTICATED,
    created,
    error,
    id_param,
    json_response,
    list_of,
)
from portal.blueprints.api.openapi_schemas import BINARY, DATE, DATE_TIME, nullable, obj, ref
from portal.services.document_fields import GOAL_STATUSES

DOCUMENT_ID = id_param("document_id", "The agreement")

AGREEMENT_PATHS: dict = {
    "/documents/{document_id}/signed": {
        "post": {
            "summary": "Upload the signed scan of a printed agreement version",
            "description": "`version` is the number printed on the paper and must be the "
            "current version. The scan (PDF, JPEG or PNG) becomes the next version: the "
            "printed version's fields with `signed_on`, the scan as its file. A signed version "
            "is frozen: status updates keep the signature, other changes make an unsigned "
            "version (Fortschreibung) that can be signed again.",
            "operationId": "uploadSignedScan",
            "parameters": [DOCUMENT_ID],
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": ref("SignedScanUpload")}},
            },
            "responses": {
                "201": created(ref("Version"), "The signed version"),
                "400": error("Not multipart/form-data, or the file is hostile"),
                "401": UNAUTHENTICATED,
                "403": NOT_ALLOWED,
                "404": error("Unknown, not visible, or not an agreement"),
                "409": error(
                    "`version` is not the current version (`stale_version`, "
                    "`error.fields.current_version`), or it is signed already (`already_signed`)"
                ),
                "413": error("The file is larger than the configured limit"),
                "415": error("The content is none of PDF, JPEG, PNG"),
                "422": error(
                    "Validation failed; `error.fields`: `version` (`required`, "
                    "`must_be_integer`, `unknown`), `signed_on` (`required`, `invalid_date`, "
                    "`in_future`, `before_version`: before the printed version was saved), "
                    "`file` (`required`), unknown fields (`unknown_field`)"
                ),
            },
        }
    },
    "/documents/{document_id}/goals": {
        "get": {
            "summary": "The agreement's goals with their status history",
            "description": "The goals of the current version, in order. A goal is followed "
            "across versions by its area and text (by its position when reworded); `history` "
            "lists each status it had, oldest first. Status updates are saved with "
            "`POST /documents/{document_id}/versions`.",
            "operationId": "listAgreementGoals",
            "parameters": [DOCUMENT_ID, *PAGING],
            "responses": {
                "200": json_response(list_of("#/components/schemas/GoalWithHistory")),
                "400": error("Invalid paging"),
                "401": UNAUTHENTICATED,
                "404": error("Unknown, not visible, or not an agreement"),
            },
        }
    },
}

AGREEMENT_SCHEMAS: dict = {
    "SignedScanUpload": obj(
        {
            "file": BINARY,
            "version": {"type": "integer", "minimum": 1, "description": "The printed version"},
            "signed_on": DATE,
        },
        ["file", "version", "signed_on"],
        closed=True,
    ),
    "GoalWithHistory": obj(
        {
            "position": {"type": "integer", "minimum": 0},
            "goal": ref("Goal"),
            "days_overdue": {
                "type": "integer",
                "minimum": 0,
                "description": "Days an open or in-progress goal is past its due date; 0 if not",
            },
            "history": {"type": "array", "items": ref("GoalStatusChange")},
        }
    ),
    "GoalStatusChange": obj(
        {
            "status": {"type": "string", "enum": list(GOAL_STATUSES)},
            "version": {"type": "integer"},
            "at": DATE_TIME,
            "author": nullable(ref("UserRef")),
            "organisation": ref("OrganisationRef"),
        }
    ),
}
