"""How an API view declares itself: what it does, what it takes, what it answers.

The declaration does what it describes: the view receives the query string and the JSON
body already validated by the declared models, and what it returns is serialised by the
declared response model. The OpenAPI document (``openapi.py``) is generated from the
same declarations, so the document and the server cannot disagree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError

from portal.blueprints.api.schemas import Paging
from portal.services.errors import InvalidInput
from portal.services.validation import validated

# The common error answers, by status; an operation may describe one more precisely.
ERRORS = {
    400: "The body is not a JSON object, or query parameters are invalid",
    401: "No, invalid or revoked token",
    403: "Known and visible, but this user may not do that (e.g. read-only)",
    404: "Unknown, or not visible to this user",
    409: "Conflicts with the current state",
    413: "The file is larger than the configured limit",
    415: "The content is none of PDF, DOCX, ODT, TXT, JPEG, PNG, TIFF",
    422: "Validation failed; `error.fields` names each field and why",
}


@dataclass(frozen=True)
class ListOf:
    """The list envelope ``{items, total, page}`` of ``item`` objects."""

    item: type[BaseModel]

    def dump(self, value: dict) -> dict:
        return {
            "items": [
                self.item.model_validate(item).model_dump(mode="json", by_alias=True)
                for item in value["items"]
            ],
            "total": value["total"],
            "page": value["page"],
        }


@dataclass(frozen=True)
class File:
    """A response that is a file (PDF, image, text), not JSON."""

    media_types: tuple[str, ...]
    headers: tuple[str, ...] = ("Content-Disposition",)


@dataclass(frozen=True)
class Body:
    """A request body the view validates itself, because its model depends on the request
    (a document's type, JSON or multipart): the models it chooses from, for the document."""

    json: tuple[type[BaseModel], ...]
    multipart: type[BaseModel] | None = None


@dataclass(frozen=True)
class Operation:
    """One endpoint's declaration."""

    summary: str
    description: str | None = None
    body: type[BaseModel] | Body | None = None
    query: type[BaseModel] | None = None
    paged: bool = False
    returns: type[BaseModel] | ListOf | File | None = None
    status: int = 200
    returns_description: str = "OK"
    errors: dict[int, Any] = field(default_factory=dict)
    public: bool = False
    operation_id: str | None = None
    location: bool = True  # a 201 answers with the new resource's URL in ``Location``

    def response(self, value: Any) -> Any:
        """``value`` serialised by the declared response model."""
        if isinstance(self.returns, ListOf):
            return self.returns.dump(value)
        if isinstance(self.returns, type) and issubclass(self.returns, BaseModel):
            return self.returns.model_validate(value).model_dump(mode="json", by_alias=True)
        return value


def operation(summary: str, **declared: Any):
    """Declare an API view (see :class:`Operation`); put it just above the view function,
    below the route and the loaders, so that access is decided before input is read.

    ``body`` and ``query`` models arrive as the keyword arguments of the same names.
    """
    spec = Operation(summary, **declared)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if spec.query is not None:
                kwargs["query"] = validated(spec.query, request.args.to_dict(), error=InvalidInput)
            if isinstance(spec.body, type):
                kwargs["body"] = validated(spec.body, json_object())
            result = view(*args, **kwargs)
            if isinstance(result, tuple):
                return (spec.response(result[0]), *result[1:])
            return spec.response(result)

        wrapper.operation = spec
        return wrapper

    return decorate


def json_object() -> dict:
    """The request body as a JSON object; InvalidInput (400) for anything else."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise InvalidInput(_l("The request body must be a JSON object."))
    return data


def page_args() -> Paging:
    """The paging the query string asks for; InvalidInput (400) when it is not a valid one."""
    try:
        return Paging.model_validate(request.args.to_dict())
    except ValidationError:
        raise InvalidInput(_l("page must be at least 1 and per_page between 1 and 200.")) from None
