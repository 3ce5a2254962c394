"""The structured contents of assessments and agreements: validation and normalisation.

Unknown fields are refused (422), so that a typo in an integrating system
never silently drops data.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from portal.services.errors import ValidationFailed
from portal.services.goals import GOAL_KEYS, Goal

LANGUAGE_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2", "Muttersprache")
GOAL_STATUSES = ("open", "in_progress", "done", "dropped")
ASSESSMENT_TEXT_FIELDS = (
    "education",
    "work_experience",
    "residence_status",
    "housing",
    "health",
    "family",
    "goals_text",
)
MAX_TEXT = 20_000
MAX_GOALS = 500
MAX_LANGUAGES = 30


def validate(doc_type: str, fields: object) -> dict:
    """Return the cleaned ``fields`` of an assessment or agreement; ValidationFailed otherwise."""
    if not isinstance(fields, dict):
        raise _failed({"fields": "must_be_object"})
    errors: dict[str, str] = {}
    cleaned = (_assessment if doc_type == "assessment" else _agreement)(fields, errors)
    if errors:
        raise _failed(errors)
    return cleaned


def as_text(fields: dict) -> str:
    """All text in the fields, one value per line: what search sees of a form."""
    lines: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value:
            lines.append(value)

    walk(fields)
    return "\n".join(lines)


def _failed(errors: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(_l("Some fields are not valid."), fields=errors)


def _assessment(fields: dict, errors: dict[str, str]) -> dict:
    _refuse_unknown(fields, {"languages", *ASSESSMENT_TEXT_FIELDS}, "fields", errors)
    cleaned: dict = {"languages": []}
    languages = fields.get("languages", [])
    if not isinstance(languages, list) or len(languages) > MAX_LANGUAGES:
        errors["fields.languages"] = "must_be_list"
        languages = []
    for i, entry in enumerate(languages):
        where = f"fields.languages[{i}]"
        if not isinstance(entry, dict):
            errors[where] = "must_be_object"
            continue
        _refuse_unknown(entry, {"language", "level"}, where, errors)
        language = _text(entry.get("language"), f"{where}.language", errors, required=True)
        level = entry.get("level")
        if level not in LANGUAGE_LEVELS:
            errors[f"{where}.level"] = "invalid_level"
        cleaned["languages"].append({"language": language, "level": level})
    for name in ASSESSMENT_TEXT_FIELDS:
        cleaned[name] = _text(fields.get(name), f"fields.{name}", errors)
    return cleaned


def _agreement(fields: dict, errors: dict[str, str]) -> dict:
    _refuse_unknown(fields, {"goals", "signed_on", "signatories"}, "fields", errors)
    goals = fields.get("goals", [])
    if not isinstance(goals, list) or len(goals) > MAX_GOALS:
        errors["fields.goals"] = "must_be_list"
        goals = []
    cleaned: dict = {"goals": [_goal(goal, i, errors) for i, goal in enumerate(goals)]}
    cleaned["signed_on"] = _date(fields.get("signed_on"), "fields.signed_on", errors)
    signatories = fields.get("signatories", [])
    if not isinstance(signatories, list) or not all(isinstance(s, str) for s in signatories):
        errors["fields.signatories"] = "must_be_list_of_names"
        signatories = []
    cleaned["signatories"] = [" ".join(s.split())[:200] for s in signatories if s.strip()]
    return cleaned


def _goal(goal: object, i: int, errors: dict[str, str]) -> dict:
    where = f"fields.goals[{i}]"
    if not isinstance(goal, dict):
        errors[where] = "must_be_object"
        return {}
    _refuse_unknown(goal, GOAL_KEYS, where, errors)
    responsible = goal.get("responsible_organisation_id")
    if responsible is not None and (
        not isinstance(responsible, int) or isinstance(responsible, bool)
    ):
        errors[f"{where}.responsible_organisation_id"] = "must_be_integer"
    status = goal.get("status", "open")
    if status not in GOAL_STATUSES:
        errors[f"{where}.status"] = "invalid_status"
    return Goal(
        area=_text(goal.get("area"), f"{where}.area", errors),
        goal=_text(goal.get("goal"), f"{where}.goal", errors, required=True),
        measures=_text(goal.get("measures"), f"{where}.measures", errors),
        responsible_organisation_id=responsible,
        due_date=_date(goal.get("due_date"), f"{where}.due_date", errors),
        status=status,
    ).as_fields()


def _refuse_unknown(data: dict, known: set[str], where: str, errors: dict[str, str]) -> None:
    for name in sorted(set(data) - known):
        errors[f"{where}.{name}"] = "unknown_field"


def _text(value: object, where: str, errors: dict[str, str], *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[where] = "must_be_text"
        return ""
    value = value.strip()
    if required and not value:
        errors[where] = "required"
    if len(value) > MAX_TEXT:
        errors[where] = "too_long"
    return value


def _date(value: object, where: str, errors: dict[str, str]) -> str | None:
    """An ISO date ``YYYY-MM-DD`` (or empty); anything else is an error."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    errors[where] = "invalid_date"
    return None
