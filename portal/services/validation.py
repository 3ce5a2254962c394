"""Declared input shapes (pydantic v2) and the field-error codes their failures read as.

A shape is declared once: the same model validates input and describes it (the API's
OpenAPI document is generated from these models). Failures become ``ValidationFailed``
(or ``InvalidInput`` for query strings) with one stable code per field path, e.g.
``{"fields.goals[0].status": "invalid_status"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from portal.services.errors import PortalError, ValidationFailed

# pydantic's error types → the codes the API has always answered with. Errors raised by
# our own validators (PydanticCustomError) carry their code as the type.
CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_type": "must_be_text",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "int_type": "must_be_integer",
    "int_parsing": "must_be_integer",
    "int_from_float": "must_be_integer",
    "greater_than_equal": "must_be_positive",
    "less_than_equal": "too_large",
    "bool_type": "must_be_boolean",
    "bool_parsing": "must_be_boolean",
    "list_type": "must_be_list",
    "dict_type": "must_be_object",
    "model_type": "must_be_object",
    "literal_error": "invalid",
    "enum": "invalid",
    "string_pattern_mismatch": "invalid",
}
# Whole numbers the database can store (SQL INTEGER): larger ids cannot name a row.
MAX_INTEGER = 2**31 - 1
M = TypeVar("M", bound=BaseModel)


class Shape(BaseModel):
    """An input object: exact JSON types (no "1" for 1), unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


def validated(
    model: type[M], data: Any, prefix: str = "", error: type[PortalError] = ValidationFailed
) -> M:
    """``data`` as ``model``; otherwise ``error`` (422; InvalidInput, 400, for query strings)
    naming each wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = field_errors(exc, prefix, model)
        raise error(_l("Please check the input."), fields=fields) from None


def field_errors(
    error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> dict[str, str]:
    """``{path: code}`` for each failure, the first one per path.

    A wrong item of a list of plain values makes the list ``must_be_list`` (``focus_areas``),
    a wrong object in a list by its index (``fields.goals[0]``); a missing object of
    ``model`` as ``must_be_object`` (like any other value that is not one).
    """
    errors: dict[str, str] = {}
    for item in error.errors():
        loc = list(item["loc"])
        code = CODES.get(item["type"], item["type"])
        if item["type"] == "missing" and _expects_object(model, loc):
            code = "must_be_object"
        if loc and isinstance(loc[-1], int) and item["type"] not in ("model_type", "dict_type"):
            loc.pop()
            code = "must_be_list"
        errors.setdefault(_path(prefix, loc), code)
    return errors


def _expects_object(model: type[BaseModel] | None, loc: list) -> bool:
    """Whether the field at ``loc`` (names of nested model fields) holds an object."""
    annotation: Any = model
    for name in loc:
        fields = getattr(annotation, "model_fields", {})
        if name not in fields:
            return False
        annotation = fields[name].annotation
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _path(prefix: str, loc: Iterable[str | int]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


# ---------------------------------------------------------------- reusable field types


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("required", "must not be empty")
    return value


def _one_of(values: tuple[str, ...], code: str):
    def check(value: Any) -> str:
        if value not in values:
            raise PydanticCustomError(code, "not one of the allowed values")
        return value

    return check


def choice(values: Iterable[str], code: str = "invalid", **field: Any) -> Any:
    """A text that must be one of ``values``; anything else fails with ``code``."""
    values = tuple(values)
    return Annotated[
        str,
        Field(json_schema_extra={"enum": list(values)}, **field),
        BeforeValidator(_one_of(values, code)),
    ]


def _is_text(code: str):
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise PydanticCustomError(code, "not a text")
        return value

    return check


def text(max_length: int, *, required: bool = False, not_text: str = "must_be_text", **field: Any):
    """A text of at most ``max_length`` characters; ``required``: not only white space.
    A value that is no text fails with ``not_text``."""
    minimum = {"min_length": 1} if required else {}
    checks: list[Any] = [Field(max_length=max_length, **minimum, **field)]
    checks.append(BeforeValidator(_is_text(not_text)))
    if required:
        checks.append(AfterValidator(_not_blank))
    return Annotated[str, *checks]
