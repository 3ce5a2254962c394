"""The OpenAPI paths and schemas of consents, the audit trail and search: who shares, who finds."""

from __future__ import annotations

from portal.blueprints.api.openapi_common import (
    CASE_ID,
    NOT_FOUND,
    NOT_OBJECT,
    PAGING,
    UNAUTHENTICATED,
    error,
    id_param,
    json_response,
    list_of,
    query_param,
    request_body,
)
from portal.blueprints.api.openapi_schemas import DATE, DATE_TIME, nullable, obj, ref
from portal.models import DATA_CATEGORIES, DOCUMENT_TYPES, FOCUS_AREAS, PHASES
from portal.services.consents import MAX_TEXT

CONSENT_STATUSES = ["in_force", "not_yet_in_force", "expired", "revoked"]
AUDIT_ACTIONS = (
    "`view`, `download`, `print`, `export`, `create`, `update`, `share` (consent recorded), "
    "`revoke`, `handover`, `delete` and others"
)
FACETS = {
    "type": "document type",
    "phase": "phase of the case",
    "focus": "focus area of the case (a document counts once for each)",
    "organisation": "id of the author organisation",
    "year": "year the version was saved",
}
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}

MANAGE_CONSENT_DENIED = error(
    "The case is visible, but only caseworkers and coordinators of its lead organisation "
    "manage its consents"
)
SEARCH_SYNTAX = (
    'Words are matched in every form ("Räume", "Raeume" and "Raum" find each other; '
    'accents and Arabic vowel marks are ignored). `"..."` finds a phrase, `-word` excludes, '
    "`+word` requires, `wor*` matches a prefix of at least 3 letters (at most 200 words), "
    "`word~` allows one typo. Person names also match with one typo per word."
)

SHARING_PATHS = {
    "/cases/{case_id}/consents": {
        "get": {
            "summary": "The case's consents, revoked and expired ones included",
            "description": "Newest first. For everyone who may see the case's documents.",
            "operationId": "listConsents",
            "parameters": [CASE_ID, *PAGING],
            "responses": {
                "200": json_response(list_of("#/components/schemas/Consent")),
                "400": error("Invalid paging parameters"),
                "401": UNAUTHENTICATED,
                "404": NOT_FOUND,
            },
        },
        "post": {
            "summary": "Record a consent (release the case to organisations)",
            "description": "The named organisations see the case and its documents (not "
            "`internal` ones) from `valid_from` until `valid_until`, in search too. "
            "For caseworkers and coordinators of the lead organisation.",
            "operationId": "recordConsent",
            "parameters": [CASE_ID],
            "requestBody": request_body(ref("ConsentCreate")),
            "responses": {
                "201": json_response(ref("Consent"), "The consent as recorded"),
                "400": NOT_OBJECT,
                "401": UNAUTHENTICATED,
                "403": MANAGE_CONSENT_DENIED,
                "404": NOT_FOUND,
                "422": error(
                    "Validation failed; `error.fields` names each field: `organisation_ids` "
                    "(`required`, `unknown_or_inactive`), `valid_from`/`valid_until` "
                    "(`invalid_date`, `before_valid_from`), `data_categories`, `purpose`, "
                    "`note` (`invalid`), unknown fields (`unknown_field`)"
                ),
            },
        },
    },
    "/cases/{case_id}/consents/{consent_id}": {
        "delete": {
            "summary": "Revoke a consent",
            "description": "Access ends at once, on every path (case, documents, contents, "
            "search). The consent stays in the history with `status` `revoked`; revoking "
            "it again changes nothing.",
            "operationId": "revokeConsent",
            "parameters": [CASE_ID, id_param("consent_id", "A consent of this case")],
            "responses": {
                "200": json_response(ref("Consent"), "The revoked consent"),
                "401": UNAUTHENTICATED,
                "403": MANAGE_CONSENT_DENIED,
                "404": error("Unknown or invisible case, or no such consent of this case"),
            },
        }
    },
    "/cases/{case_id}/audit": {
        "get": {
            "summary": "The case's audit trail: who did what, when",
            "description": "Newest first. For the lead organisation and coordinators of the "
            "network. Events name the action and the object, never document contents.",
            "operationId": "listCaseAudit",
            "parameters": [CASE_ID, *PAGING],
            "responses": {
                "200": json_response(list_of("#/components/schemas/AuditEvent")),
                "400": error("Invalid paging parameters"),
                "401": UNAUTHENTICATED,
                "403": error("The case is visible (through a consent), but not its trail"),
                "404": NOT_FOUND,
            },
        }
    },
    "/search": {
        "get": {
            "summary": "Full-text search over the documents you may see",
            "description": "Titles, texts (also extracted from uploaded files), person names "
            "and case references. Every hit is checked with the access policy. The search is "
            "audited without its words.",
            "operationId": "search",
            "parameters": [
                query_param(
                    "q", {"type": "string", "minLength": 1, "maxLength": 500}, SEARCH_SYNTAX, True
                ),
                {
                    **query_param(
                        "type",
                        {
                            "type": "array",
                            "items": {"type": "string", "enum": list(DOCUMENT_TYPES)},
                        },
                        "Only these document types (repeat the parameter for several)",
                    ),
                    "style": "form",
                    "explode": True,
                },
                query_param(
                    "phase", {"type": "string", "enum": list(PHASES)}, "Cases in this phase"
                ),
                query_param(
                    "focus", {"type": "string", "enum": list(FOCUS_AREAS)}, "Cases with this focus"
                ),
                query_param(
                    "organisation",
                    {"type": "integer", "minimum": 1},
                    "Documents of this author organisation",
                ),
                query_param("from", DATE, "Versions saved on or after this day"),
                query_param("to", DATE, "Versions saved on or before this day"),
                query_param("case", {"type": "integer", "minimum": 1}, "Only in this case"),
                query_param(
                    "all",
                    {"type": "string", "enum": ["0", "1", "true", "false", "on"]},
                    "`1`, `true` or `on`: every version, not only the current one",
                ),
                query_param(
                    "sort",
                    {"type": "string", "enum": ["relevance", "date"], "default": "relevance"},
                    "Best matches or newest first",
                ),
                query_param(
                    "page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}, "Page"
                ),
                query_param(
                    "per_page",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    "Hits a page",
                ),
            ],
            "responses": {
                "200": json_response(ref("SearchResult")),
                "400": error(
                    "Invalid query or filters; `error.fields.q` is `required`, `too_long`, "
                    "`syntax`, `short_prefix` or `nothing_to_search`; other fields `invalid`"
                ),
                "401": UNAUTHENTICATED,
            },
        }
    },
}

SHARING_SCHEMAS = {
    "ConsentCreate": obj(
        {
            "organisation_ids": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 1},
                "description": "Active organisations the case is released to",
            },
            "valid_from": {**nullable(DATE), "description": "YYYY-MM-DD; today when absent"},
            "valid_until": {**nullable(DATE), "description": "YYYY-MM-DD, not before valid_from"},
            "purpose": nullable({"type": "string", "maxLength": MAX_TEXT}),
            "data_categories": {
                "type": "array",
                "items": {"type": "string", "enum": list(DATA_CATEGORIES)},
            },
            "note": nullable({"type": "string", "maxLength": MAX_TEXT}),
        },
        ["organisation_ids"],
        closed=True,
    ),
    "Consent": obj(
        {
            "id": {"type": "integer"},
            "case_id": {"type": "integer"},
            "organisations": {"type": "array", "items": ref("OrganisationRef")},
            "purpose": {"type": "string"},
            "data_categories": {
                "type": "array",
                "items": {"type": "string", "enum": list(DATA_CATEGORIES)},
            },
            "valid_from": DATE,
            "valid_until": nullable(DATE),
            "note": {"type": "string"},
            "recorded_at": DATE_TIME,
            "recorded_by": nullable(ref("UserRef")),
            "revoked_at": nullable(DATE_TIME),
            "status": {
                "type": "string",
                "enum": CONSENT_STATUSES,
                "description": "As of today (German calendar day)",
            },
        }
    ),
    "AuditEvent": obj(
        {
            "id": {"type": "integer"},
            "at": DATE_TIME,
            "action": {"type": "string", "description": AUDIT_ACTIONS},
            "user": nullable(
                obj(
                    {
                        "id": {"type": "integer"},
                        "email": {"type": "string", "format": "email"},
                        "name": {"type": "string"},
                    }
                )
            ),
            "organisation": nullable(ref("OrganisationRef")),
            "object_type": {
                "type": "string",
                "description": "e.g. `case`, `document`, `consent`, `audit_trail`",
            },
            "object_id": nullable({"type": "integer"}),
            "case_id": {"type": "integer"},
        }
    ),
    "SearchHit": obj(
        {
            "document_id": {"type": "integer"},
            "case_id": {"type": "integer"},
            "case_reference": {"type": "string", "pattern": r"^KIM-\d{4}-\d{5}$"},
            "title": {"type": "string", "description": "The title of the matching version"},
            "type": {"type": "string", "enum": list(DOCUMENT_TYPES)},
            "version": {"type": "integer", "description": "The matching version's number"},
            "highlights": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Up to 3 plain-text passages with «…» around the matches. "
                "Not HTML: escape them before putting them into a page.",
            },
            "score": {"type": "number"},
        }
    ),
    "SearchResult": obj(
        {
            "total": {
                "type": "integer",
                "description": "Matches in all pages, without hits the policy hides",
            },
            "hits": {"type": "array", "items": ref("SearchHit")},
            "facets": {
                **obj({name: COUNTS for name in FACETS}),
                "description": "Value → number of matches, for each of: "
                + "; ".join(f"`{name}` {what}" for name, what in FACETS.items()),
            },
            "page": {"type": "integer"},
            "incomplete": {
                "type": "boolean",
                "description": "The time limit ran out: there may be more matches",
            },
        }
    ),
}
