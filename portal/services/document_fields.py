"""The structured contents of assessments and agreements: validation and normalisation.

The shapes are declared once, as the models below: they check and clean what the web
forms and the API save, and they describe ``fields`` in the API's OpenAPI document.
Unknown fields are refused (422), so that a typo in an integrating system never
silently drops data. Failures name the field by its path, e.g.
``{"fields.goals[0].status": "invalid_status"}``,
``{"fields.languages[0].level": "invalid_level"}``, ``{"fields.signed_on": "invalid_date"}``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from portal.services.errors import ValidationFailed
from portal.services.validation import Shape, choice, field_errors

LANGUAGE_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2", "Muttersprache")
GOAL_STATUSES = ("open", "in_progress", "done", "dropped")
MAX_TEXT = 20_000
MAX_GOALS = 500
MAX_LANGUAGES = 30
MAX_SIGNATORY = 200


def _failure(code: str) -> PydanticCustomError:
    return PydanticCustomError(code, code)  # the type is the code the API answers with


def _text(required: bool):
    def clean(value: Any) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise _failure("must_be_text")
        value = value.strip()
        if required and not value:
            raise _failure("required")
        if len(value) > MAX_TEXT:
            raise _failure("too_long")
        return value

    return clean


# Texts are saved without surrounding white space; null counts as empty.
Text = Annotated[
    str, BeforeValidator(_text(False)), Field(json_schema_extra={"maxLength": MAX_TEXT})
]
RequiredText = Annotated[
    str,
    BeforeValidator(_text(True)),
    Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TEXT}),
]


def _date(value: Any) -> str | None:
    """An ISO date ``YYYY-MM-DD``; empty and null are none."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _failure("invalid_date")


Date = Annotated[
    str | None,
    BeforeValidator(_date),
    WithJsonSchema({"type": ["string", "null"], "format": "date"}),
    Field(description="YYYY-MM-DD; empty or null: none"),
]


def _list(code: str, maximum: int | None = None, item: type | None = None):
    """A list (of at most ``maximum`` entries, of ``item``); anything else fails with ``code``."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise _failure(code)
        too_many = maximum is not None and len(value) > maximum
        if too_many or (item is not None and not all(isinstance(x, item) for x in value)):
            raise _failure(code)
        return value

    return BeforeValidator(check)


def _names(names: list[str]) -> list[str]:
    return [" ".join(name.split())[:MAX_SIGNATORY] for name in names if name.strip()]


class AssessmentLanguage(Shape):
    """A language the person speaks, and how well."""

    language: RequiredText
    level: choice(LANGUAGE_LEVELS, code="invalid_level")


class AssessmentFields(Shape):
    """The fields of an assessment (Bestandsaufnahme)."""

    languages: Annotated[
        list[AssessmentLanguage],
        _list("must_be_list", MAX_LANGUAGES),
        Field(max_length=MAX_LANGUAGES),
    ] = []
    education: Text = ""
    work_experience: Text = ""
    residence_status: Text = ""
    housing: Text = ""
    health: Text = ""
    family: Text = ""
    goals_text: Text = ""


class Goal(Shape):
    """A goal of an integration agreement (saved with its keys in this order)."""

    area: Text = ""
    goal: RequiredText
    measures: Text = ""
    responsible_organisation_id: int | None = None
    due_date: Date = None
    status: choice(GOAL_STATUSES, code="invalid_status") = "open"


class AgreementFields(Shape):
    """The fields of an integration agreement."""

    goals: Annotated[list[Goal], _list("must_be_list", MAX_GOALS), Field(max_length=MAX_GOALS)] = []
    signed_on: Date = None
    signatories: Annotated[
        list[str],
        _list("must_be_list_of_names", item=str),
        AfterValidator(_names),
        Field(description=f"Names; white space collapsed, at most {MAX_SIGNATORY} characters"),
    ] = []


ASSESSMENT_TEXT_FIELDS = tuple(
    name for name in AssessmentFields.model_fields if name != "languages"
)
# The data category of each section of the assessment: a partner sees a section when a
# consent releases its category to it. ``goals_text`` is general case information.
ASSESSMENT_SECTIONS = {
    "languages": "sprache",
    "education": "bildung",
    "work_experience": "arbeit",
    "residence_status": "aufenthalt",
    "housing": "wohnen",
    "health": "gesundheit",
    "family": "familie",
    "goals_text": None,
}
MODELS: dict[str, type[Shape]] = {"assessment": AssessmentFields, "agreement": AgreementFields}


def sections_touched(fields: dict | None) -> set[str]:
    """The categories of the assessment sections filled in."""
    return {
        category
        for name, category in ASSESSMENT_SECTIONS.items()
        if category and (fields or {}).get(name)
    }


def only_sections(fields: dict | None, released: set[str]) -> dict:
    """The assessment's ``fields`` with every section of a category not in ``released``
    left empty, as if nothing had been written there (which is all a reader without the
    release may learn of it)."""
    empty = AssessmentFields().model_dump()
    return {
        name: value if ASSESSMENT_SECTIONS.get(name) in (None, *released) else empty.get(name, "")
        for name, value in (fields or {}).items()
    }


def validate(doc_type: str, fields: object) -> dict:
    """Return the cleaned ``fields`` of an assessment or agreement; ValidationFailed otherwise."""
    model = MODELS[doc_type]
    try:
        return model.model_validate(fields).model_dump()
    except ValidationError as exc:
        errors = field_errors(exc, "fields", model)
        raise ValidationFailed(_l("Some fields are not valid."), fields=errors) from None


# Fields holding codes, dates and ids rather than words someone wrote: search leaves them
# out, so that no snippet reads "2026-11-30 done".
NOT_WORDS = frozenset({"status", "due_date", "signed_on", "responsible_organisation_id"})


def as_text(fields: dict) -> str:
    """All words in the fields, one value per line: what search sees of a form."""
    lines: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in NOT_WORDS:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value:
            lines.append(value)

    walk(fields)
    return "\n".join(lines)
