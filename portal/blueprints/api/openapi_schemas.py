"""The component schemas of the OpenAPI document: what the API sends and accepts."""

from __future__ import annotations

from portal.models import DOCUMENT_TYPES, FOCUS_AREAS, GENDERS, PHASES, VISIBILITIES
from portal.services.document_fields import ASSESSMENT_TEXT_FIELDS, GOAL_STATUSES, LANGUAGE_LEVELS


def ref(name: str) -> dict:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """``schema`` or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    result = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def obj(properties: dict, required: list[str] | None = None, closed: bool = False) -> dict:
    """An object schema; ``required`` defaults to every property (responses)."""
    schema = {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


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
    "metadata_only": {
        "type": "boolean",
        "description": "True for coordinators of other organisations without consent: they "
        "see reference, person name, phase and lead organisation; other values are null",
    },
    "person": ref("Person"),
    "phase": PHASE,
    "lead_organisation": ref("OrganisationRef"),
    "focus_areas": nullable(FOCUS_LIST),
    "created_at": DATE_TIME,
    "updated_at": DATE_TIME,
    "closed_at": nullable(DATE_TIME),
}
DOCUMENT_SUMMARY = {
    "id": {"type": "integer"},
    "case_id": {"type": "integer"},
    "type": {"type": "string", "enum": list(DOCUMENT_TYPES)},
    "title": {"type": "string"},
    "visibility": {"type": "string", "enum": list(VISIBILITIES)},
    "current_version": {"type": "integer"},
    "author_organisation": ref("OrganisationRef"),
    "created_at": DATE_TIME,
    "updated_at": DATE_TIME,
}
VERSION_SUMMARY = {
    "number": {"type": "integer"},
    "title": {"type": "string"},
    "created_at": DATE_TIME,
    "author": nullable(ref("UserRef")),
    "organisation": ref("OrganisationRef"),
    "comment": {"type": "string"},
    "restored_from": nullable({"type": "integer"}),
    # set on an agreement version carrying the signed scan of the printed version
    "signed_from": nullable({"type": "integer"}),
}
ERROR_OBJECT = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True},
    },
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": ERROR_OBJECT},
    },
    "UserRef": obj({"id": {"type": "integer"}, "name": {"type": "string"}}),
    "PersonCheck": obj(
        {
            "given_name": {"type": "string", "minLength": 1},
            "family_name": {"type": "string", "minLength": 1},
            "birth_date": nullable(BIRTH_DATE),
        },
        ["given_name", "family_name"],
        closed=True,
    ),
    "Candidate": obj(
        {
            "person_id": {"type": "integer"},
            "score": {"type": "number"},
            "case_refs": {"type": "array", "items": {"type": "string"}},
            "lead_organisation": nullable(ref("OrganisationRef")),
        }
    ),
    "CandidateList": obj({"candidates": {"type": "array", "items": ref("Candidate")}}),
    "DuplicateCandidatesError": obj(
        {
            "error": ERROR_OBJECT,
            "candidates": {"type": "array", "items": ref("Candidate")},
        }
    ),
    "Person": obj(
        {
            "id": {"type": "integer"},
            "given_name": {"type": "string"},
            "family_name": {"type": "string"},
            "aliases": nullable(TEXT_LIST),
            "birth_date": nullable(BIRTH_DATE),
            "nationality": nullable({"type": "string"}),
            "languages": nullable(TEXT_LIST),
            "gender": nullable({"type": "string", "enum": list(GENDERS)}),
        }
    ),
    "PersonInput": obj(
        {
            "given_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "family_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "birth_date": nullable(BIRTH_DATE),
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
    "PhaseChange": obj(
        {
            "from_phase": nullable(PHASE),
            "to_phase": PHASE,
            "at": DATE_TIME,
            "user": nullable(ref("UserRef")),
        }
    ),
    "CaseSummary": obj(CASE_SUMMARY),
    "Case": obj(
        {
            **CASE_SUMMARY,
            "organisations_with_access": {
                "type": "array",
                "items": ref("OrganisationRef"),
            },
            "phase_history": {"type": "array", "items": ref("PhaseChange")},
        }
    ),
    "CaseCreate": obj(
        {
            "person": ref("PersonInput"),
            "focus_areas": FOCUS_LIST,
            "confirm_new_person": {"type": "boolean", "default": False},
        },
        ["person"],
        closed=True,
    ),
    "CaseUpdate": obj({"phase": PHASE, "focus_areas": FOCUS_LIST}, [], closed=True),
    "DocumentSummary": obj(DOCUMENT_SUMMARY),
    "Document": obj(
        {
            **DOCUMENT_SUMMARY,
            "versions": {
                "type": "array",
                "items": ref("VersionSummary"),
                "description": "Newest first",
            },
        }
    ),
    "VersionSummary": obj(VERSION_SUMMARY),
    "Version": obj(
        {
            **VERSION_SUMMARY,
            "document_id": {"type": "integer"},
            "text": nullable({"type": "string", "description": "Notes"}),
            "fields": {
                "description": "Assessments and agreements",
                "oneOf": [
                    ref("AssessmentFields"),
                    ref("AgreementFields"),
                    {"type": "null"},
                ],
            },
            "file": nullable(ref("FileInfo")),
            "extracted_text": {
                "type": "string",
                "description": "The plain text search sees (from the file for uploads)",
            },
        }
    ),
    "FileInfo": obj(
        {
            "filename": {"type": "string"},
            "media_type": {
                "type": "string",
                "enum": [
                    "application/pdf",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
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
    "AssessmentFields": obj(
        {
            "languages": {
                "type": "array",
                "items": obj(
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
    "AgreementFields": obj(
        {
            "goals": {"type": "array", "items": ref("Goal")},
            "signed_on": nullable(DATE),
            "signatories": TEXT_LIST,
        },
        [],
        closed=True,
    ),
    "Goal": obj(
        {
            "area": {"type": "string"},
            "goal": {"type": "string", "minLength": 1},
            "measures": {"type": "string"},
            "responsible_organisation_id": nullable({"type": "integer"}),
            "due_date": nullable(DATE),
            "status": {"type": "string", "enum": list(GOAL_STATUSES), "default": "open"},
        },
        ["goal"],
        closed=True,
    ),
    "NoteCreate": obj(
        {"type": {"const": "note"}, **TITLE_VISIBILITY, "text": NOTE_TEXT},
        ["type", "title", "text"],
        closed=True,
    ),
    "AssessmentCreate": obj(
        {
            "type": {"const": "assessment"},
            **TITLE_VISIBILITY,
            "fields": ref("AssessmentFields"),
        },
        ["type", "title", "fields"],
        closed=True,
    ),
    "AgreementCreate": obj(
        {
            "type": {"const": "agreement"},
            **TITLE_VISIBILITY,
            "fields": ref("AgreementFields"),
        },
        ["type", "title", "fields"],
        closed=True,
    ),
    "FileUpload": obj(
        {"file": BINARY, **TITLE_VISIBILITY},
        ["file"],
        closed=True,
    ),
    "NoteVersion": obj(
        {"type": {"const": "note"}, **TITLE_VISIBILITY, **VERSION_INPUT, "text": NOTE_TEXT},
        ["base_version", "text"],
        closed=True,
    ),
    "AssessmentVersion": obj(
        {
            "type": {"const": "assessment"},
            **TITLE_VISIBILITY,
            **VERSION_INPUT,
            "fields": ref("AssessmentFields"),
        },
        ["base_version", "fields"],
        closed=True,
    ),
    "AgreementVersion": obj(
        {
            "type": {"const": "agreement"},
            **TITLE_VISIBILITY,
            **VERSION_INPUT,
            "fields": ref("AgreementFields"),
        },
        ["base_version", "fields"],
        closed=True,
    ),
    "FileVersionUpload": obj(
        {"file": BINARY, **TITLE_VISIBILITY, **VERSION_INPUT},
        ["file", "base_version"],
        closed=True,
    ),
    "Restore": obj(
        {
            "version": {"type": "integer", "minimum": 1, "description": "To restore"},
            "base_version": {"type": "integer", "minimum": 1},
        },
        closed=True,
    ),
    "Diff": obj(
        {
            "document_id": {"type": "integer"},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "kind": {"type": "string", "enum": ["text", "fields"]},
            "unchanged": {"type": "boolean"},
            "title": nullable(obj({"from": {"type": "string"}, "to": {"type": "string"}})),
            "lines": {
                "type": "array",
                "description": "Side-by-side line diff (kind text)",
                "items": obj(
                    {
                        "op": {
                            "type": "string",
                            "enum": ["equal", "insert", "delete", "replace"],
                        },
                        "old": nullable({"type": "string"}),
                        "new": nullable({"type": "string"}),
                    }
                ),
            },
            "changes": {
                "type": "array",
                "description": "Changed fields by path, e.g. `goals[1].status`",
                "items": obj({"field": {"type": "string"}, "from": {}, "to": {}}),
            },
            "file": nullable(obj({"from": ref("FileRef"), "to": ref("FileRef")})),
        }
    ),
    "FileRef": obj({"filename": nullable({"type": "string"}), "sha256": nullable(SHA256)}),
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
}
