"""The row lists of the editors (languages of an assessment, goals of an agreement) and the
date field they use.

Rows are added and removed by submit buttons that re-render the form without saving, so
the editors work without JavaScript.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError
from wtforms.widgets import DateInput

from portal.forms import choices
from portal.labels import FOCUS_AREA_LABELS, GOAL_STATUS_LABELS, LEVEL_LABELS
from portal.services.document_fields import MAX_TEXT

ROW_LISTS = ("languages", "goals")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` or ``DD.MM.YYYY`` as an ISO date; None when empty; ValueError otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    match = _GERMAN_DATE.match(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
        return date(year, month, day).isoformat()
    if len(value) != 10:
        raise ValueError(value)
    return date.fromisoformat(value).isoformat()


def valid_date(_form, field) -> None:
    """The field holds a date the portal can read (or nothing)."""
    try:
        parse_date(field.data)
    except ValueError:
        raise ValidationError(_l("Please enter the date as DD.MM.YYYY, e.g. 31.03.2027.")) from None


def _optional_int(value):
    return int(value) if value not in (None, "") else None


class DateInputField(StringField):
    """A date as text in an ``<input type="date">``: wrong input is kept and shown with an error."""

    widget = DateInput()


class LanguageRow(Form):
    """One language and how well the person speaks it."""

    language = StringField(_l("Language"), validators=[Length(max=100)])
    level = SelectField(
        _l("Level"),
        choices=choices([("", _l("– choose –")), *LEVEL_LABELS.items()]),
        default="",
    )

    def validate_language(self, field) -> None:
        if self.level.data and not (field.data or "").strip():
            raise ValidationError(_l("Please name the language."))

    def validate_level(self, field) -> None:
        if (self.language.data or "").strip() and not field.data:
            raise ValidationError(_l("Please choose a level."))

    def is_blank(self) -> bool:
        return not (self.language.data or "").strip() and not self.level.data


class GoalRow(Form):
    """One goal of an integration agreement."""

    area = SelectField(
        _l("Area"), choices=choices([("", "–"), *FOCUS_AREA_LABELS.items()]), default=""
    )
    goal = TextAreaField(_l("Goal"), validators=[Length(max=MAX_TEXT)], render_kw={"rows": 3})
    measures = TextAreaField(
        _l("Measures"), validators=[Length(max=MAX_TEXT)], render_kw={"rows": 3}
    )
    responsible_organisation_id = SelectField(_l("Responsible"), coerce=_optional_int, default=None)
    due_date = DateInputField(_l("Due date"), validators=[valid_date])
    status = SelectField(_l("Status"), choices=choices(GOAL_STATUS_LABELS.items()), default="open")

    def validate_goal(self, field) -> None:
        if not self.is_blank() and not (field.data or "").strip():
            raise ValidationError(_l("Please describe the goal."))

    def is_blank(self) -> bool:
        texts = (self.goal.data, self.measures.data, self.area.data, self.due_date.data)
        return (
            not any((t or "").strip() for t in texts) and not self.responsible_organisation_id.data
        )


def row_action(form, formdata) -> tuple[dict, str] | None:
    """For an "add row" or "remove row" button: the form data after that change, and the id
    of the element to focus; None when the form was sent to be saved."""
    add, remove = formdata.get("add_row"), formdata.get("remove_row")
    if not add and not remove:
        return None
    data = {field.short_name: field.data for field in form if field.short_name != "csrf_token"}
    if add in ROW_LISTS and add in data:
        if len(data[add]) < getattr(form, add).max_entries:
            data[add].append({})
        return data, f"{add}-{len(data[add]) - 1}-{'language' if add == 'languages' else 'area'}"
    name, _sep, index = (remove or "").rpartition("-")
    if name in ROW_LISTS and name in data and index.isdigit() and int(index) < len(data[name]):
        data[name].pop(int(index))
    return data, f"add-{name}"
