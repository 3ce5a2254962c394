"""The OpenAPI 3.1 description of ``/api/v1``; a test checks it matches the routes."""

from __future__ import annotations

from flask import jsonify

from portal.blueprints.api import bp


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


PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
]
UNAUTHENTICATED = _error("No, invalid or revoked token")

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
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "fields": {"type": "object", "additionalProperties": True},
                        },
                    }
                },
            },
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
