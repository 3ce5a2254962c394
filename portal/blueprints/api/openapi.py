"""The OpenAPI 3.1 document of ``/api/v1``, generated from the routes and their declarations.

Every route of the blueprint is described by the :class:`~operations.Operation` its view
declares (summary, parameters, bodies, responses); the component schemas are the pydantic
models that validate the input and serialise the output.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from werkzeug.routing import Rule

from portal.blueprints.api import bp
from portal.blueprints.api.operations import (
    ERRORS,
    Body,
    File,
    ListOf,
    Operation,
    Paging,
    operation,
)
from portal.blueprints.api.schemas import Error

COMPONENTS = "#/components/schemas/{model}"
PATH_PARAMETERS = {
    "case_id": "The case",
    "document_id": "The document",
    "number": "The version number (1..current_version)",
    "consent_id": "The consent",
    "followup_id": "The follow-up",
}
INFO = {
    "title": "KIM Portal API",
    "version": "1",
    "description": "Cases, documents, consents and search of the KIM Portal. "
    "Every endpoint applies the same access rule as the web pages.",
}


class _Schemas(GenerateJsonSchema):
    """JSON Schema without the titles pydantic derives from field names (noise for readers)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


@bp.get("/openapi.json")
@operation("This document", public=True, operation_id="getOpenApi")
def openapi():
    """The OpenAPI document; its server is where this request came (under a proxy's
    sub-path such as ``/kim``, that too)."""
    return {**_document(bp.url_prefix), "servers": [{"url": request.script_root + bp.url_prefix}]}


def _document(prefix: str) -> dict:
    """Built once per application (its routes do not change while it runs)."""
    if "portal.openapi" not in current_app.extensions:
        rules = [
            (rule, current_app.view_functions[rule.endpoint])
            for rule in current_app.url_map.iter_rules()
            if rule.rule.startswith(prefix + "/")
        ]
        current_app.extensions["portal.openapi"] = _build(prefix, rules)
    return current_app.extensions["portal.openapi"]


def _build(prefix: str, rules) -> dict:
    """The document for ``rules`` (route, view) below ``prefix``."""
    paths: dict[str, dict] = {}
    models: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]
    for rule, view in sorted(rules, key=lambda item: item[0].rule):
        path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule[len(prefix) :])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            method = method.lower()
            spec: Operation = view.operation  # every API view declares itself
            paths.setdefault(path, {})[method] = _operation(spec, view.__name__, rule, models)
    _, schemas = models_json_schema(models, ref_template=COMPONENTS, schema_generator=_Schemas)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas.get("$defs", {}),
        },
    }


def _operation(spec: Operation, name: str, rule: Rule, models: list) -> dict:
    """One operation object; the models it names are added to ``models``."""
    result: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": spec.operation_id or _camel(name),
    }
    if spec.description:
        result["description"] = spec.description
    parameters = [_path_parameter(arg) for arg in rule.arguments if arg in PATH_PARAMETERS]
    parameters += _query_parameters(spec)
    if parameters:
        result["parameters"] = parameters
    if spec.body is not None:
        result["requestBody"] = _request_body(spec.body, models)
    if spec.public:
        result["security"] = []
    result["responses"] = _responses(spec, rule, models)
    return result


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _path_parameter(name: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": PATH_PARAMETERS[name],
        "schema": {"type": "integer", "minimum": 1},
    }


def _query_parameters(spec: Operation) -> list[dict]:
    parameters = []
    for model in (spec.query, Paging if spec.paged else None):
        if model is None:
            continue
        schema = model.model_json_schema(schema_generator=_Schemas)
        required = set(schema.get("required", []))
        for name, field_schema in schema["properties"].items():
            description = field_schema.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required}
            if description:
                parameter["description"] = description
            parameters.append({**parameter, "schema": _not_null(field_schema)})
    return parameters


def _not_null(schema: dict) -> dict:
    """A query parameter's schema: a query string has no null (absent is the default)."""
    choices = [choice for choice in schema.get("anyOf", []) if choice != {"type": "null"}]
    if len(choices) == 1:
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **choices[0]}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _ref(model: type[BaseModel], mode: str, models: list) -> dict:
    models.append((model, mode))
    return {"$ref": COMPONENTS.format(model=model.__name__)}


def _request_body(body: type[BaseModel] | Body, models: list) -> dict:
    if isinstance(body, Body):
        choices = [_ref(model, "validation", models) for model in body.json]
        content = (
            {}
            if not choices
            else {
                "application/json": {
                    "schema": choices[0] if len(choices) == 1 else {"oneOf": choices}
                }
            }
        )
        if body.multipart is not None:
            content["multipart/form-data"] = {"schema": _ref(body.multipart, "validation", models)}
    else:
        content = {"application/json": {"schema": _ref(body, "validation", models)}}
    return {"required": True, "content": content}


def _responses(spec: Operation, rule: Rule, models: list) -> dict:
    responses = {str(spec.status): _success(spec, models)}
    statuses = dict.fromkeys(
        status
        for status, applies in (
            (400, spec.body is not None or spec.query is not None or spec.paged),
            (401, not spec.public),
            (404, any(arg in PATH_PARAMETERS for arg in rule.arguments)),
            (422, isinstance(spec.body, (type, Body))),
        )
        if applies
    )
    statuses.update(dict.fromkeys(spec.errors))
    for status in sorted(statuses):
        declared = spec.errors.get(status)
        responses[str(status)] = _error(declared, status, models)
    return responses


def _success(spec: Operation, models: list) -> dict:
    returns = spec.returns
    if isinstance(returns, File):
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {
            "description": spec.returns_description,
            "headers": {header: {"schema": {"type": "string"}} for header in returns.headers},
            "content": {media_type: binary for media_type in returns.media_types},
        }
    if isinstance(returns, ListOf):
        schema = {
            "type": "object",
            "required": ["items", "total", "page"],
            "properties": {
                "items": {"type": "array", "items": _ref(returns.item, "serialization", models)},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
            },
        }
    elif returns is None:
        schema = {"type": "object"}
    else:
        schema = _ref(returns, "serialization", models)
    response = {
        "description": spec.returns_description,
        "content": {"application/json": {"schema": schema}},
    }
    if spec.status == 201 and spec.location:
        response["headers"] = {
            "Location": {"description": "URL of the new resource", "schema": {"type": "string"}}
        }
    return response


def _error(declared: Any, status: int, models: list) -> dict:
    """An error response: the API's error object, or ``(model, description)`` when declared."""
    model: type[BaseModel] = Error
    description = declared
    if isinstance(declared, tuple):
        model, description = declared
    return {
        "description": description or ERRORS[status],
        "content": {"application/json": {"schema": _ref(model, "serialization", models)}},
    }
