"""The OpenAPI 3.1 description of ``/api/v1``; a test checks it matches the routes."""

from __future__ import annotations

from portal.blueprints.api.openapi_agreements import AGREEMENT_PATHS, AGREEMENT_SCHEMAS
from portal.blueprints.api.openapi_common import (
    CASE_ID,
    INVALID,
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
from portal.blueprints.api.openapi_followups import FOLLOWUP_PATHS, FOLLOWUP_SCHEMAS
from portal.blueprints.api.openapi_printing import PRINTING_PATHS, PRINTING_SCHEMAS
from portal.blueprints.api.openapi_schemas import SCHEMAS, ref
from portal.blueprints.api.openapi_sharing import SHARING_PATHS, SHARING_SCHEMAS
from portal.models import FOCUS_AREAS, PHASES
from portal.services.cases import SORTS

DOCUMENT_ID = id_param("document_id", "The document")
VERSION_NUMBER = id_param("number", "The version number (1..current_version)")
UPLOAD_ERRORS = {
    "413": error("The file is larger than the configured limit"),
    "415": error("The content is none of PDF, DOCX, ODT, TXT, JPEG, PNG, TIFF"),
}
CONFLICT = error(
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
                    "200": json_response({"$ref": "#/components/schemas/User"}),
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
                    "200": json_response(list_of("#/components/schemas/Organisation")),
                    "400": error("Invalid paging parameters"),
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
                "requestBody": request_body(ref("PersonCheck")),
                "responses": {
                    "200": json_response(ref("CandidateList")),
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
                    query_param(
                        "phase", {"type": "string", "enum": list(PHASES)}, "Only this phase"
                    ),
                    query_param(
                        "focus", {"type": "string", "enum": list(FOCUS_AREAS)}, "With this focus"
                    ),
                    query_param(
                        "organisation",
                        {"type": "integer", "minimum": 0},
                        "Led by this organisation",
                    ),
                    query_param(
                        "q",
                        {"type": "string", "maxLength": 200},
                        "Part of the person's name or the reference",
                    ),
                    query_param(
                        "mine",
                        {"type": "string", "enum": ["0", "1", "true", "false"]},
                        "Only cases you lead",
                    ),
                    query_param(
                        "sort",
                        {"type": "string", "enum": list(SORTS), "default": "updated"},
                        "Order of the list",
                    ),
                    *PAGING,
                ],
                "responses": {
                    "200": json_response(list_of("#/components/schemas/CaseSummary")),
                    "400": error("Invalid filter or paging parameters; `error.fields`"),
                    "401": UNAUTHENTICATED,
                },
            },
            "post": {
                "summary": "Open a case",
                "description": "If the person probably has a case already and "
                "`confirm_new_person` is not true, nothing is created: 409 with `candidates`.",
                "operationId": "createCase",
                "requestBody": request_body(ref("CaseCreate")),
                "responses": {
                    "201": created(ref("Case"), "The new case"),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "409": json_response(ref("DuplicateCandidatesError"), "Likely duplicates"),
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
                    "200": json_response(ref("Case")),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            },
            "patch": {
                "summary": "Change the phase or the focus areas",
                "operationId": "updateCase",
                "parameters": [CASE_ID],
                "requestBody": request_body(ref("CaseUpdate")),
                "responses": {
                    "200": json_response(ref("Case")),
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
                    "200": json_response(list_of("#/components/schemas/DocumentSummary")),
                    "400": error("Invalid paging parameters"),
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
                "requestBody": request_body(
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
                    "201": created(ref("Document"), "The new document"),
                    "400": error("The body is not a JSON object, or the file is hostile"),
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
                    "200": json_response(ref("Document")),
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
                "requestBody": request_body(
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
                    "201": created(ref("Version"), "The new version"),
                    "400": error("The body is not a JSON object, or the file is hostile"),
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
                    "200": json_response(ref("Version")),
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
                    "404": error("Unknown, not visible, or not an upload"),
                },
            }
        },
        "/documents/{document_id}/diff": {
            "get": {
                "summary": "What changed between two versions",
                "operationId": "diffVersions",
                "parameters": [
                    DOCUMENT_ID,
                    query_param("from", {"type": "integer", "minimum": 1}, "Older version", True),
                    query_param("to", {"type": "integer", "minimum": 1}, "Newer version", True),
                ],
                "responses": {
                    "200": json_response(ref("Diff")),
                    "400": error("`from` or `to` missing or not a number; `error.fields`"),
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
                "requestBody": request_body(ref("Restore")),
                "responses": {
                    "201": created(ref("Version"), "The new version, equal to the old one"),
                    "400": NOT_OBJECT,
                    "401": UNAUTHENTICATED,
                    "403": NOT_ALLOWED,
                    "404": error("Unknown or invisible document, or no such version"),
                    "409": CONFLICT,
                    "422": INVALID,
                },
            }
        },
        **SHARING_PATHS,
        **PRINTING_PATHS,
        **AGREEMENT_PATHS,
        **FOLLOWUP_PATHS,
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenApi",
                "security": [],
                "responses": {"200": json_response({"type": "object"})},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            **SCHEMAS,
            **SHARING_SCHEMAS,
            **PRINTING_SCHEMAS,
            **AGREEMENT_SCHEMAS,
            **FOLLOWUP_SCHEMAS,
        },
    },
}
