"""The API's bodies as pydantic models, named as the OpenAPI document's components.

Input models (``Shape``) validate what clients send; output models (``Answer``) serialise
what the views return. Both generate the component schemas of ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from portal.services.validation import MAX_INTEGER

# A moment as ISO 8601 with its UTC offset ("2026-12-04T10:00:00+00:00"), as always sent.
Moment = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
SHA256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
BIRTH_DATE = Annotated[
    str,
    Field(
        pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
        description="YYYY, YYYY-MM or YYYY-MM-DD; null or absent when unknown",
    ),
]


class Answer(BaseModel):
    """What the API sends: exactly the declared fields (a forgotten one fails in the tests)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Answer):
    code: str
    message: str
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Field path → reason, e.g. `fields.goals[0].status`"
    )


class Error(Answer):
    """The error object every failing request answers with."""

    error: ErrorDetail


class OrganisationRef(Answer):
    id: int
    name: str


class UserRef(Answer):
    id: int
    name: str


# ---------------------------------------------------------------- query strings


def _digits(value: Any) -> Any:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("must_be_integer", "not a whole number")
    return value


def query_int(**limits: Any) -> Any:
    """A whole number in a query string: ASCII digits only ("1.0", "5_000", "²" are
    refused), within ``limits`` (``ge``, ``le``, ``description``)."""
    return Annotated[int, Field(**limits), BeforeValidator(_digits)]


QueryId = query_int(ge=1, le=MAX_INTEGER)


class Query(BaseModel):
    """Filters from a query string: an empty value is no filter; other parameters (paging,
    a client's cache buster) are not this model's business."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {name: value for name, value in values.items() if value != ""}
        return values


class Paging(BaseModel):
    """Which page of a list: every list endpoint takes these."""

    page: query_int(ge=1, description="From 1") = 1
    per_page: query_int(ge=1, le=200, description="Items a page") = 50
