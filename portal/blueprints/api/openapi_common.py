"""Building blocks of the OpenAPI document: responses, parameters, the list envelope."""

from __future__ import annotations


def error(description: str) -> dict:
    """A response carrying the API's error object."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def json_response(schema: dict, description: str = "OK") -> dict:
    """A JSON response with ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def list_of(item_ref: str) -> dict:
    """The list envelope ``{items, total, page}`` of ``item_ref`` items."""
    return {
        "type": "object",
        "required": ["items", "total", "page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
        },
    }


def request_body(schema: dict, multipart: dict | None = None) -> dict:
    """A required JSON body, optionally also accepted as multipart/form-data."""
    content = {"application/json": {"schema": schema}}
    if multipart:
        content["multipart/form-data"] = {"schema": multipart}
    return {"required": True, "content": content}


def id_param(name: str, description: str) -> dict:
    """A positive integer path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


def query_param(name: str, schema: dict, description: str, required: bool = False) -> dict:
    """A query-string parameter."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def created(schema: dict, description: str) -> dict:
    """A 201 response with the new resource and its ``Location``."""
    return {
        **json_response(schema, description),
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
UNAUTHENTICATED = error("No, invalid or revoked token")
NOT_OBJECT = error("The body is not a JSON object, or query parameters are invalid")
NOT_ALLOWED = error("Known and visible, but this user may not do that (e.g. read-only)")
NOT_FOUND = error("Unknown, or not visible to this user")
INVALID = error("Validation failed; `error.fields` names each field and why")
CASE_ID = id_param("case_id", "The case")
