"""The OpenAPI 3.1 description of ``/api/v1``; a test checks it matches the routes."""

from __future__ import annotations

from flask import jsonify

from portal.blueprints.api import bp
from portal.models import DOCUMENT_TYPES, FOCUS_AREAS, GENDERS, PHASES, VISIBILITIES
from portal.services.cases import SORTS
from portal.services.document_fields import ASSESSMENT_TEXT_FIELDS, GOAL_STATUSES, LANGUAGE_LEVELS


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list_of(ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
        },
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _object(properties: dict, required: list[str] | None = None, closed: bool = False) -> dict:
    """An object schema; ``required`` defaults to every property (responses)."""
    schema = {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


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

DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
BIRTH_DATE = {
    "type": "string",
    "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
    "description": "YYYY, YYYY-MM or YYYY-MM-DD; null or absent when unknown",
}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
BINARY = {"type": "string", "format": "binary"}
TEXT_LIST = {"type": "array", "items": {"type": "string"}}
PHASE = {"type": "string", "enum": list(PHASES)}
FOCUS_LIST = {"type": "array", "items": {"type": "string", "enum": list(FOCUS_AREAS)}}
NOTE_TEXT = {"type": "string", "minLength": 1, "maxLength": 200_000}
TITLE_VISIBILITY = {
    "title": {"type": "string", "maxLength": 300},
    "visibility": {"type": "string", "enum": list(VISIBILITIES), "default": "case"},
}
VERSION_INPUT = {
    "base_version": {
        "type": "integer",
        "minimum": 1,
        "description": "The version the edit started from (a digit string in multipart)",
    },
    "comment": {"type": "string", "maxLength": 500},
}
CASE_SUMMARY = {
    "id": {"type": "integer"},
    "reference": {"type": "string", "pattern": r"^KIM-\d{4}-\d{5}$"},
    "person": _ref("Person"),
    "phase": PHASE,
    "lead_organisation": _ref("OrganisationRef"),
    "focus_areas": FOCUS_LIST,
    "created_at": DATE_TIME,
    "updated_at": DATE_TIME,
    "closed_at": _nullable(DATE_TIME),
}
DOCUMENT_SUMMARY = {
    "id": {"type": "integer"},
    "case_id": {"type": "integer"},
    "type": {"type": "string", "enum": list(DOCUMENT_TYPES)},
    "title": {"type": "string"},
    "visibility": {"type": "string", "enum": list(VISIBILITIES)},
    "current_version": {"type": "integer"},
    "author_organisation": _ref("OrganisationRef"),
    "created_at": DATE_TIME,
    "updated_at": DATE_TIME,
}
VERSION_SUMMARY = {
    "number": {"type": "integer"},
    "title": {"type": "string"},
    "created_at": DATE_TIME,
    "author": _nullable(_ref("UserRef")),
    "organisation": _ref("OrganisationRef"),
    "comment": {"type": "string"},
    "restored_from": _nullable({"type": "integer"}),
}
SPEC_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True},
    },
}

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
                "requestBody": _body(_ref("PersonCheck")),
                "responses": {
                    "200": _json(_ref("CandidateList")),
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
                "requestBody": _body(_ref("CaseCreate")),
                "responses": {
                    "201": _created(_ref("Case"), "The new case"),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "409": _json(_ref("DuplicateCandidatesError"), "Likely duplicates"),
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
                    "200": _json(_ref("Case")),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            },
            "patch": {
                "summary": "Change the phase or the focus areas",
                "operationId": "updateCase",
                "parameters": [CASE_ID],
                "requestBody": _body(_ref("CaseUpdate")),
                "responses": {
                    "200": _json(_ref("Case")),
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
                            _ref("NoteCreate"),
                            _ref("AssessmentCreate"),
                            _ref("AgreementCreate"),
                            _ref("FileCreate"),
                        ]
                    },
                    _ref("FileUpload"),
                ),
                "responses": {
                    "201": _created(_ref("Document"), "The new document"),
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
                    "200": _json(_ref("Document")),
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
                            _ref("NoteVersion"),
                            _ref("AssessmentVersion"),
                            _ref("AgreementVersion"),
                        ]
                    },
                    _ref("FileVersionUpload"),
                ),
                "responses": {
                    "201": _created(_ref("Version"), "The new version"),
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
                    "200": _json(_ref("Version")),
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
                    "200": _json(_ref("Diff")),
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
                "requestBody": _body(_ref("Restore")),
                "responses": {
                    "201": _created(_ref("Version"), "The new version, equal to the old one"),
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
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": SPEC_ERROR},
            },
            "UserRef": _object({"id": {"type": "integer"}, "name": {"type": "string"}}),
            "PersonCheck": _object(
                {
                    "given_name": {"type": "string", "minLength": 1},
                    "family_name": {"type": "string", "minLength": 1},
                    "birth_date": _nullable(BIRTH_DATE),
                },
                ["given_name", "family_name"],
                closed=True,
            ),
            "Candidate": _object(
                {
                    "person_id": {"type": "integer"},
                    "score": {"type": "number"},
                    "case_refs": {"type": "array", "items": {"type": "string"}},
                    "lead_organisation": _nullable(_ref("OrganisationRef")),
                }
            ),
            "CandidateList": _object({"candidates": {"type": "array", "items": _ref("Candidate")}}),
            "DuplicateCandidatesError": _object(
                {
                    "error": SPEC_ERROR,
                    "candidates": {"type": "array", "items": _ref("Candidate")},
                }
            ),
            "Person": _object(
                {
                    "id": {"type": "integer"},
                    "given_name": {"type": "string"},
                    "family_name": {"type": "string"},
                    "aliases": TEXT_LIST,
                    "birth_date": _nullable(BIRTH_DATE),
                    "nationality": {"type": "string"},
                    "languages": TEXT_LIST,
                    "gender": {"type": "string", "enum": list(GENDERS)},
                }
            ),
            "PersonInput": _object(
                {
                    "given_name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "family_name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "birth_date": _nullable(BIRTH_DATE),
                    "nationality": {"type": "string", "maxLength": 100},
                    "languages": TEXT_LIST,
                    "gender": {"type": "string", "enum": list(GENDERS)},
                    "aliases": TEXT_LIST,
                    "phone": {"type": "string", "maxLength": 50},
                    "email": {"type": "string", "maxLength": 254},
                    "address": {"type": "string", "maxLength": 1000},
                },
                ["given_name", "family_name"],
                closed=True,
            ),
            "PhaseChange": _object(
                {
                    "from_phase": _nullable(PHASE),
                    "to_phase": PHASE,
                    "at": DATE_TIME,
                    "user": _nullable(_ref("UserRef")),
                }
            ),
            "CaseSummary": _object(CASE_SUMMARY),
            "Case": _object(
                {
                    **CASE_SUMMARY,
                    "organisations_with_access": {
                        "type": "array",
                        "items": _ref("OrganisationRef"),
                    },
                    "phase_history": {"type": "array", "items": _ref("PhaseChange")},
                }
            ),
            "CaseCreate": _object(
                {
                    "person": _ref("PersonInput"),
                    "focus_areas": FOCUS_LIST,
                    "confirm_new_person": {"type": "boolean", "default": False},
                },
                ["person"],
                closed=True,
            ),
            "CaseUpdate": _object({"phase": PHASE, "focus_areas": FOCUS_LIST}, [], closed=True),
            "DocumentSummary": _object(DOCUMENT_SUMMARY),
            "Document": _object(
                {
                    **DOCUMENT_SUMMARY,
                    "versions": {
                        "type": "array",
                        "items": _ref("VersionSummary"),
                        "description": "Newest first",
                    },
                }
            ),
            "VersionSummary": _object(VERSION_SUMMARY),
            "Version": _object(
                {
                    **VERSION_SUMMARY,
                    "document_id": {"type": "integer"},
                    "text": _nullable({"type": "string", "description": "Notes"}),
                    "fields": {
                        "description": "Assessments and agreements",
                        "oneOf": [
                            _ref("AssessmentFields"),
                            _ref("AgreementFields"),
                            {"type": "null"},
                        ],
                    },
                    "file": _nullable(_ref("FileInfo")),
                    "extracted_text": {
                        "type": "string",
                        "description": "The plain text search sees (from the file for uploads)",
                    },
                }
            ),
            "FileInfo": _object(
                {
                    "filename": {"type": "string"},
                    "media_type": {
                        "type": "string",
                        "enum": [
                            "application/pdf",
                            "application/vnd.openxmlformats-officedocument"
                            ".wordprocessingml.document",
                            "application/vnd.oasis.opendocument.text",
                            "text/plain",
                            "image/jpeg",
                            "image/png",
                            "image/tiff",
                        ],
                    },
                    "size": {"type": "integer"},
                    "sha256": SHA256,
                    "extraction": {
                        "type": "string",
                        "enum": ["none", "pending", "done", "unreadable"],
                    },
                    "extraction_note": {"type": "string"},
                }
            ),
            "AssessmentFields": _object(
                {
                    "languages": {
                        "type": "array",
                        "items": _object(
                            {
                                "language": {"type": "string", "minLength": 1},
                                "level": {"type": "string", "enum": list(LANGUAGE_LEVELS)},
                            },
                            closed=True,
                        ),
                    },
                    **{name: {"type": "string"} for name in ASSESSMENT_TEXT_FIELDS},
                },
                [],
                closed=True,
            ),
            "AgreementFields": _object(
                {
                    "goals": {"type": "array", "items": _ref("Goal")},
                    "signed_on": _nullable(DATE),
                    "signatories": TEXT_LIST,
                },
                [],
                closed=True,
            ),
            "Goal": _object(
                {
                    "area": {"type": "string"},
                    "goal": {"type": "string", "minLength": 1},
                    "measures": {"type": "string"},
                    "responsible_organisation_id": _nullable({"type": "integer"}),
                    "due_date": _nullable(DATE),
                    "status": {"type": "string", "enum": list(GOAL_STATUSES), "default": "open"},
                },
                ["goal"],
                closed=True,
            ),
            "NoteCreate": _object(
                {"type": {"const": "note"}, **TITLE_VISIBILITY, "text": NOTE_TEXT},
                ["type", "title", "text"],
                closed=True,
            ),
            "AssessmentCreate": _object(
                {
                    "type": {"const": "assessment"},
                    **TITLE_VISIBILITY,
                    "fields": _ref("AssessmentFields"),
                },
                ["type", "title", "fields"],
                closed=True,
            ),
            "AgreementCreate": _object(
                {
                    "type": {"const": "agreement"},
                    **TITLE_VISIBILITY,
                    "fields": _ref("AgreementFields"),
                },
                ["type", "title", "fields"],
                closed=True,
            ),
            "FileCreate": _object(
                {"type": {"const": "file"}, **TITLE_VISIBILITY},
                ["type"],
                closed=True,
            ),
            "FileUpload": _object(
                {"file": BINARY, **TITLE_VISIBILITY},
                ["file"],
                closed=True,
            ),
            "NoteVersion": _object(
                {"type": {"const": "note"}, **TITLE_VISIBILITY, **VERSION_INPUT, "text": NOTE_TEXT},
                ["base_version", "text"],
                closed=True,
            ),
            "AssessmentVersion": _object(
                {
                    "type": {"const": "assessment"},
                    **TITLE_VISIBILITY,
                    **VERSION_INPUT,
                    "fields": _ref("AssessmentFields"),
                },
                ["base_version", "fields"],
                closed=True,
            ),
            "AgreementVersion": _object(
                {
                    "type": {"const": "agreement"},
                    **TITLE_VISIBILITY,
                    **VERSION_INPUT,
                    "fields": _ref("AgreementFields"),
                },
                ["base_version", "fields"],
                closed=True,
            ),
            "FileVersionUpload": _object(
                {"file": BINARY, **TITLE_VISIBILITY, **VERSION_INPUT},
                ["file", "base_version"],
                closed=True,
            ),
            "Restore": _object(
                {
                    "version": {"type": "integer", "minimum": 1, "description": "To restore"},
                    "base_version": {"type": "integer", "minimum": 1},
                },
                closed=True,
            ),
            "Diff": _object(
                {
                    "document_id": {"type": "integer"},
                    "from": {"type": "integer"},
                    "to": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["text", "fields"]},
                    "unchanged": {"type": "boolean"},
                    "title": _nullable(
                        _object({"from": {"type": "string"}, "to": {"type": "string"}})
                    ),
                    "lines": {
                        "type": "array",
                        "description": "Side-by-side line diff (kind text)",
                        "items": _object(
                            {
                                "op": {
                                    "type": "string",
                                    "enum": ["equal", "insert", "delete", "replace"],
                                },
                                "old": _nullable({"type": "string"}),
                                "new": _nullable({"type": "string"}),
                            }
                        ),
                    },
                    "changes": {
                        "type": "array",
                        "description": "Changed fields by path, e.g. `goals[1].status`",
                        "items": _object({"field": {"type": "string"}, "from": {}, "to": {}}),
                    },
                    "file": _nullable(_object({"from": _ref("FileRef"), "to": _ref("FileRef")})),
                }
            ),
            "FileRef": _object(
                {"filename": _nullable({"type": "string"}), "sha256": _nullable(SHA256)}
            ),
            "OrganisationRef": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "Organisation": {
                "type": "object",
                "required": ["id", "name", "kind"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "kind": {
                        "type": "string",
                        "enum": [
                            "kommune",
                            "kreis",
                            "wohlfahrtsverband",
                            "jobcenter",
                            "ehrenamt",
                            "sonstige",
                        ],
                    },
                },
            },
            "User": {
                "type": "object",
                "required": ["id", "email", "name", "role", "organisation"],
                "properties": {
                    "id": {"type": "integer"},
                    "email": {"type": "string", "format": "email"},
                    "name": {"type": "string"},
                    "role": {
                        "type": "string",
                        "enum": ["admin", "coordinator", "caseworker", "readonly"],
                    },
                    "organisation": {"$ref": "#/components/schemas/OrganisationRef"},
                },
            },
        },
    },
}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document."""
    return jsonify(SPEC)
