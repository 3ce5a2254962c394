"""Forms of the case pages: list filters, opening a case, phase and focus areas."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    FormField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms.admin import choices
from portal.labels import FOCUS_AREA_LABELS, GENDER_LABELS, PHASE_LABELS

# 17.05.1990, 7.5.1990 and 05.1990, as people in Germany write dates.
_GERMAN_DATE = re.compile(r"^(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})$")


SORT_LABELS = {
    "updated": _l("Last change"),
    "created": _l("Newest first"),
    "reference": _l("Reference"),
    "name": _l("Family name"),
}


def normalise_birth_date(value: str) -> str:
    """German ``17.05.1990`` / ``05.1990`` → ISO ``1990-05-17`` / ``1990-05``; else unchanged."""
    value = " ".join(value.split())
    match = _GERMAN_DATE.match(value)
    if not match:
        return value
    day, month, year = match.groups()
    iso = f"{year}-{int(month):02d}"
    return f"{iso}-{int(day):02d}" if day else iso


def split_list(value: str | None) -> list[str]:
    """Comma- or line-separated entries, without blanks."""
    return [part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip()]


class BirthDateField(StringField):
    """A possibly partial birth date; German input is converted to ISO for the service."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = normalise_birth_date(self.data or "")


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered inside a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PersonForm(Form):
    """The person a new case is for."""

    given_name = StringField(
        _l("Given name"), validators=[Length(max=200)], render_kw={"autocomplete": "off"}
    )
    family_name = StringField(
        _l("Family name"), validators=[Length(max=200)], render_kw={"autocomplete": "off"}
    )
    aliases = StringField(_l("Other spellings"), validators=[Length(max=2000)])
    birth_date = BirthDateField(_l("Birth date"), validators=[Length(max=20)])
    nationality = StringField(_l("Nationality"), validators=[Length(max=100)])
    languages = StringField(_l("Languages"), validators=[Length(max=2000)])
    gender = SelectField(
        _l("Gender"), choices=choices(GENDER_LABELS.items()), default="unspecified"
    )
    phone = TelField(_l("Phone"), validators=[Length(max=50)])
    email = EmailField(_l("E-mail address"), validators=[Length(max=254)])
    address = TextAreaField(_l("Address"), validators=[Length(max=1000)], render_kw={"rows": 3})

    def service_data(self) -> dict:
        """The person as services.cases.create_case expects it."""
        return {
            "given_name": self.given_name.data or "",
            "family_name": self.family_name.data or "",
            "aliases": split_list(self.aliases.data),
            "birth_date": self.birth_date.data or None,
            "nationality": self.nationality.data or "",
            "languages": split_list(self.languages.data),
            "gender": self.gender.data,
            "phone": self.phone.data or "",
            "email": self.email.data or "",
            "address": self.address.data or "",
        }


class CaseForm(FlaskForm):
    """Opening a case: the person, the focus areas, and the answer to the duplicate check."""

    # Messages for the error codes the case services put into ValidationFailed.fields.
    service_messages = {
        "required": _l("Please fill in this field."),
        "invalid_date": _l("Please enter the birth date as 1990, 05.1990 or 17.05.1990."),
    }

    person = FormField(PersonForm, separator="-")
    focus_areas = CheckboxesField(_l("Focus areas"), choices=choices(FOCUS_AREA_LABELS.items()))
    confirm_new_person = BooleanField(
        _l("This is a different person – open a new case anyway"), default=False
    )


class PhaseForm(FlaskForm):
    """Move a case to another phase (backwards too)."""

    phase = SelectField(_l("New phase"), choices=choices(PHASE_LABELS.items()))


class FocusForm(FlaskForm):
    """The focus areas of a case."""

    focus_areas = CheckboxesField(_l("Focus areas"), choices=choices(FOCUS_AREA_LABELS.items()))


class CaseFilterForm(Form):
    """Filters of the case list; sent by GET (bookmarkable), so no CSRF token."""

    q = SearchField(_l("Name or reference"), validators=[Length(max=200)])
    phase = SelectField(_l("Phase"))
    focus = SelectField(_l("Focus area"))
    organisation = SelectField(_l("Lead organisation"))
    mine = BooleanField(_l("Only cases I lead"))
    sort = SelectField(_l("Sort by"), choices=choices(SORT_LABELS.items()), default="updated")

    def set_choices(self, organisations) -> None:
        """Fill the selects; the empty choice means "all"."""
        everything = [("", _l("All"))]
        self.phase.choices = choices([*everything, *PHASE_LABELS.items()])
        self.focus.choices = choices([*everything, *FOCUS_AREA_LABELS.items()])
        self.organisation.choices = choices(
            [*everything, *((str(org.id), org.name) for org in organisations)]
        )
