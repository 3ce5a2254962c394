"""The OpenAPI 3.1 description of ``/api/v1``; a test checks it matches the routes."""

from __future__ import annotations

from flask import jsonify

from portal.blueprints.api import bp
from portal.blueprints.api.openapi_schemas import SCHEMAS, ref
from portal.models import FOCUS_AREAS, PHASES
from portal.services.cases import SORTS


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list_of(item_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
        },
    }


def _body(schema: dict, multipart: dict | None = None) -> dict:
    content = {"application/json": {"schema": schema}}
    if multipart:
        content["multipart/form-data"] = {"schema": multipart}
    return {"required": True, "content": content}


def _id_param(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _created(schema: dict, description: str) -> dict:
    return {
        **_json(schema, description),
        "headers": {
            "Location": {"description": "URL of the new resource", "schema": {"type": "string"}}
        },
    }


PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
]
UNAUTHENTICATED = _error("No, invalid or revoked token")
NOT_OBJECT = _error("The body is not a JSON object, or query parameters are invalid")
NOT_ALLOWED = _error("Known and visible, but this user may not do that (e.g. read-only)")
NOT_FOUND = _error("Unknown, or not visible to this user")
INVALID = _error("Validation failed; `error.fields` names each field and why")
CASE_ID = _id_param("case_id", "The case")
DOCUMENT_ID = _id_param("document_id", "The document")
VERSION_NUMBER = _id_param("number", "The version number (1..current_version)")
UPLOAD_ERRORS = {
    "413": _error("The file is larger than the configured limit"),
    "415": _error("The content is none of PDF, DOCX, ODT, TXT, JPEG, PNG, TIFF"),
}
CONFLICT = _error(
    "`base_version` is stale: someone saved a newer version; `error.fields.current_version`"
)

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "KIM Portal API",
        "version": "1",
        "description": "Cases, documents, consents and search of the KIM Portal. "
        "Every endpoint applies the same access rule as the web pages.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/me": {
            "get": {
                "summary": "The token's user",
                "operationId": "getMe",
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/User"}),
                    "401": UNAUTHENTICATED,
                },
            }
        },
        "/organisations": {
            "get": {
                "summary": "All organisations of the network",
                "operationId": "listOrganisations",
                "parameters": PAGING,
                "responses": {
                    "200": _json(_list_of("#/components/schemas/Organisation")),
                    "400": _error("Invalid paging parameters"),
                    "401": UNAUTHENTICATED,
                },
            }
        },
        "/persons/check": {
            "post": {
                "summary": "Find persons who probably have a case already",
                "description": "Spelling variants, transliterations and swapped day/month "
                "are found. Only metadata is returned. For caseworkers and coordinators.",
                "operationId": "checkPerson",
                "requestBody": _body(ref("PersonCheck")),
                "responses": {
                    "200": _json(ref("CandidateList")),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "422": INVALID,
                },
            }
        },
        "/cases": {
            "get": {
                "summary": "Cases whose metadata you may see",
                "operationId": "listCases",
                "parameters": [
                    _query("phase", {"type": "string", "enum": list(PHASES)}, "Only this phase"),
                    _query(
                        "focus", {"type": "string", "enum": list(FOCUS_AREAS)}, "With this focus"
                    ),
                    _query(
                        "organisation",
                        {"type": "integer", "minimum": 0},
                        "Led by this organisation",
                    ),
                    _query(
                        "q",
                        {"type": "string", "maxLength": 200},
                        "Part of the person's name or the reference",
                    ),
                    _query(
                        "mine",
                        {"type": "string", "enum": ["0", "1", "true", "false"]},
                        "Only cases you lead",
                    ),
                    _query(
                        "sort",
                        {"type": "string", "enum": list(SORTS), "default": "updated"},
                        "Order of the list",
                    ),
                    *PAGING,
                ],
                "responses": {
                    "200": _json(_list_of("#/components/schemas/CaseSummary")),
                    "400": _error("Invalid filter or paging parameters; `error.fields`"),
                    "401": UNAUTHENTICATED,
                },
            },
            "post": {
                "summary": "Open a case",
                "description": "If the person probably has a case already and "
                "`confirm_new_person` is not true, nothing is created: 409 with `candidates`.",
                "operationId": "createCase",
                "requestBody": _body(ref("CaseCreate")),
                "responses": {
                    "201": _created(ref("Case"), "The new case"),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "409": _json(ref("DuplicateCandidatesError"), "Likely duplicates"),
                    "422": INVALID,
                },
            },
        },
        "/cases/{case_id}": {
            "get": {
                "summary": "A case's metadata",
                "description": "Coordinators see this for every case of the network.",
                "operationId": "getCase",
                "parameters": [CASE_ID],
                "responses": {
                    "200": _json(ref("Case")),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            },
            "patch": {
                "summary": "Change the phase or the focus areas",
                "operationId": "updateCase",
                "parameters": [CASE_ID],
                "requestBody": _body(ref("CaseUpdate")),
                "responses": {
                    "200": _json(ref("Case")),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            },
        },
        "/cases/{case_id}/documents": {
            "get": {
                "summary": "The case's documents you may see",
                "operationId": "listDocuments",
                "parameters": [CASE_ID, *PAGING],
                "responses": {
                    "200": _json(_list_of("#/components/schemas/DocumentSummary")),
                    "400": _error("Invalid paging parameters"),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            },
            "post": {
                "summary": "Add a document with version 1",
                "description": "JSON for notes, assessments and agreements; "
                "multipart/form-data with the file in `file` for uploads.",
                "operationId": "createDocument",
                "parameters": [CASE_ID],
                "requestBody": _body(
                    {
                        "oneOf": [
                            ref("NoteCreate"),
                            ref("AssessmentCreate"),
                            ref("AgreementCreate"),
                        ]
                    },
                    ref("FileUpload"),
                ),
                "responses": {
                    "201": _created(ref("Document"), "The new document"),
                    "400": _error("The body is not a JSON object, or the file is hostile"),
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "404": NOT_FOUND,
                    **UPLOAD_ERRORS,
                    "422": INVALID,
                },
            },
        },
        "/documents/{document_id}": {
            "get": {
                "summary": "A document with its version list",
                "operationId": "getDocument",
                "parameters": [DOCUMENT_ID],
                "responses": {
                    "200": _json(ref("Document")),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            }
        },
        "/documents/{document_id}/versions": {
            "post": {
                "summary": "Save a new version",
                "description": "The body of the document's type plus `base_version`, the "
                "version the edit started from. `type` and `visibility` cannot change.",
                "operationId": "addVersion",
                "parameters": [DOCUMENT_ID],
                "requestBody": _body(
                    {
                        "oneOf": [
                            ref("NoteVersion"),
                            ref("AssessmentVersion"),
                            ref("AgreementVersion"),
                        ]
                    },
                    ref("FileVersionUpload"),
                ),
                "responses": {
                    "201": _created(ref("Version"), "The new version"),
                    "400": _error("The body is not a JSON object, or the file is hostile"),
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "404": NOT_FOUND,
                    "409": CONFLICT,
                    **UPLOAD_ERRORS,
                    "422": INVALID,
                },
            }
        },
        "/documents/{document_id}/versions/{number}": {
            "get": {
                "summary": "One version with its text, fields or file description",
                "operationId": "getVersion",
                "parameters": [DOCUMENT_ID, VERSION_NUMBER],
                "responses": {
                    "200": _json(ref("Version")),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            }
        },
        "/documents/{document_id}/versions/{number}/content": {
            "get": {
                "summary": "The stored file of an upload version",
                "description": "Always `Content-Disposition: attachment` with `filename` and "
                "`filename*` (RFC 6266/5987), `X-Content-Type-Options: nosniff`.",
                "operationId": "getVersionContent",
                "parameters": [DOCUMENT_ID, VERSION_NUMBER],
                "responses": {
                    "200": {
                        "description": "The file, with its detected media type",
                        "headers": {
                            "Content-Disposition": {"schema": {"type": "string"}},
                            "ETag": {"schema": {"type": "string"}},
                        },
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "401": UNAUTHENTICATED,
                    "404": _error("Unknown, not visible, or not an upload"),
                },
            }
        },
        "/documents/{document_id}/diff": {
            "get": {
                "summary": "What changed between two versions",
                "operationId": "diffVersions",
                "parameters": [
                    DOCUMENT_ID,
                    _query("from", {"type": "integer", "minimum": 1}, "Older version", True),
                    _query("to", {"type": "integer", "minimum": 1}, "Newer version", True),
                ],
                "responses": {
                    "200": _json(ref("Diff")),
                    "400": _error("`from` or `to` missing or not a number; `error.fields`"),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            }
        },
        "/documents/{document_id}/restore": {
            "post": {
                "summary": "Restore an old version as a new version",
                "operationId": "restoreVersion",
                "parameters": [DOCUMENT_ID],
                "requestBody": _body(ref("Restore")),
                "responses": {
                    "201": _created(ref("Version"), "The new version, equal to the old one"),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "404": _error("Unknown or invisible document, or no such version"),
                    "409": CONFLICT,
                    "422": INVALID,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenApi",
                "security": [],
                "responses": {"200": _json({"type": "object"})},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
    },
}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document."""
    return jsonify(SPEC)
