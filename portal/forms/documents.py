"""Forms of the document pages: the four editors, and the mapping to and from document content.

Their goal and language rows are in ``forms.rows``.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from portal.forms import choices
from portal.forms.cases import CheckboxesField
from portal.forms.rows import DateInputField, GoalRow, LanguageRow, parse_date, valid_date
from portal.labels import (
    AGREEMENT_LABELS,
    ASSESSMENT_LABELS,
    FOCUS_AREA_LABELS,
    VISIBILITY_LABELS,
)
from portal.models import DATA_CATEGORIES, Document, DocumentVersion
from portal.services.document_fields import (
    ASSESSMENT_TEXT_FIELDS,
    MAX_GOALS,
    MAX_LANGUAGES,
)
from portal.services.documents import MAX_NOTE_CHARS, MAX_TITLE, Content, Upload

ACCEPT = ".pdf,.docx,.odt,.txt,.jpg,.jpeg,.png,.tif,.tiff"

# The codes of refused uploads (too large, not an accepted type, hostile): shown at the file.
UPLOAD_ERROR_CODES = {"too_large", "unsupported_type", "invalid_upload"}
SERVICE_PATH = re.compile(r"^(?:fields\.)?(\w+)(?:\[(\d+)\](?:\.(\w+))?)?$")


class EditorForm(FlaskForm):
    """What every editor has: title, a comment on the version, the version the edit began from.

    Each editor adds ``content()``: the Content to save; it notes in ``kept_rows`` which form
    rows of each table were kept (blank rows are left out), so that the service's objection
    to saved row n is shown at the form row it came from.
    """

    service_messages = {
        "required": _l("Please fill in this field."),
        "invalid_date": _l("Please enter a valid date."),
        "too_long": _l("This text is too long."),
    }
    kept_rows: dict[str, list[int]] = {}

    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Please give the document a title.")), Length(max=MAX_TITLE)],
    )
    comment = StringField(_l("Comment on this version"), validators=[Length(max=500)])
    base_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    data_categories = CheckboxesField(
        _l("Data categories it touches"),
        choices=choices((c, FOCUS_AREA_LABELS[c]) for c in DATA_CATEGORIES),
    )

    def service_field(self, path: str):
        """The field that shows the service's objection to ``path``: the file for a refused
        upload (its code), ``goals[2].due_date`` at the form row that became row 2."""
        if path in UPLOAD_ERROR_CODES:
            return getattr(self, "file", None)
        match = SERVICE_PATH.match(path)
        if not match:
            return None
        name, index, sub = match.groups()
        field = self[name] if name in self else None  # noqa: SIM401  (a form has no .get)
        if field is None or index is None:
            return field
        rows = self.kept_rows.get(name, [])
        if int(index) >= len(rows):
            return field
        entry = field[rows[int(index)]].form
        return entry[sub] if sub and sub in entry else None


class NoteForm(EditorForm):
    """A consultation note (Beratungsvermerk): free text."""

    visibility = RadioField(
        _l("Who may read it?"), choices=choices(VISIBILITY_LABELS.items()), default="case"
    )

    text = TextAreaField(
        _l("Text"),
        validators=[DataRequired(_l("The note is empty.")), Length(max=MAX_NOTE_CHARS)],
        render_kw={"rows": 14},
    )

    def content(self):
        return Content(text=self.text.data)


class AssessmentForm(EditorForm):
    """The assessment (Bestandsaufnahme): languages and the areas of life."""

    languages = FieldList(FormField(LanguageRow), min_entries=1, max_entries=MAX_LANGUAGES)
    education = TextAreaField(ASSESSMENT_LABELS["education"], render_kw={"rows": 3})
    work_experience = TextAreaField(ASSESSMENT_LABELS["work_experience"], render_kw={"rows": 3})
    residence_status = TextAreaField(ASSESSMENT_LABELS["residence_status"], render_kw={"rows": 2})
    housing = TextAreaField(ASSESSMENT_LABELS["housing"], render_kw={"rows": 2})
    health = TextAreaField(ASSESSMENT_LABELS["health"], render_kw={"rows": 2})
    family = TextAreaField(ASSESSMENT_LABELS["family"], render_kw={"rows": 2})
    goals_text = TextAreaField(ASSESSMENT_LABELS["goals_text"], render_kw={"rows": 3})

    def content(self):
        kept = [i for i, entry in enumerate(self.languages) if not entry.form.is_blank()]
        fields: dict = {
            "languages": [
                {
                    "language": self.languages[i].form.language.data.strip(),
                    "level": self.languages[i].form.level.data,
                }
                for i in kept
            ]
        }
        for name in ASSESSMENT_TEXT_FIELDS:
            fields[name] = getattr(self, name).data or ""
        self.kept_rows = {"languages": kept}
        return Content(fields=fields)


class AgreementForm(EditorForm):
    """The integration agreement: a table of goals, who signs it and when."""

    goals = FieldList(FormField(GoalRow), min_entries=1, max_entries=MAX_GOALS)
    signatories = TextAreaField(_l("Signatories"), render_kw={"rows": 3})
    signed_on = DateInputField(_l("Signed on"), validators=[valid_date])

    def content(self):
        kept = [i for i, entry in enumerate(self.goals) if not entry.form.is_blank()]
        goals = []
        for i in kept:
            row = self.goals[i].form
            goals.append(
                {
                    "area": row.area.data or "",
                    "goal": row.goal.data or "",
                    "measures": row.measures.data or "",
                    "responsible_organisation_id": row.responsible_organisation_id.data,
                    "due_date": parse_date(row.due_date.data),
                    "status": row.status.data,
                }
            )
        fields = {
            "goals": goals,
            "signatories": [s for s in (self.signatories.data or "").splitlines() if s.strip()],
            "signed_on": parse_date(self.signed_on.data),
        }
        self.kept_rows = {"goals": kept}
        return Content(fields=fields)


class FileForm(EditorForm):
    """An upload; the title defaults to the file name."""

    title = StringField(_l("Title"), validators=[Length(max=MAX_TITLE)])
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Please choose a file."))],
        render_kw={"accept": ACCEPT},
    )
    visibility = RadioField(
        _l("Who may read it?"), choices=choices(VISIBILITY_LABELS.items()), default="case"
    )

    def content(self):
        upload = self.file.data
        return Content(upload=Upload(stream=upload.stream, filename=upload.filename or ""))


EDITORS = {
    "note": NoteForm,
    "assessment": AssessmentForm,
    "agreement": AgreementForm,
    "file": FileForm,
}


def editor_form(
    doc_type: str, *, editing: bool, organisations=(), data: dict | None = None, **kwargs
) -> EditorForm:
    """The editor for ``doc_type``: from the request, or (``formdata=None``) from ``data``."""
    form = EDITORS[doc_type](data=data, **kwargs)
    if editing and "visibility" in form:
        del form.visibility  # chosen once, when the document is created
    if not editing:
        del form.base_version
    if doc_type == "assessment":
        del form.data_categories  # its sections decide
    if doc_type == "agreement":
        keep = {row.form.responsible_organisation_id.data for row in form.goals}
        org_choices = choices(
            [("", "–")]
            + [(org.id, org.name) for org in organisations if org.active or org.id in keep]
        )
        for row in form.goals:
            row.form.responsible_organisation_id.choices = org_choices
    return form


def form_data(document: Document, version: DocumentVersion, base_version: int) -> dict:
    """Editor values prefilled from a saved version."""
    doc_type = document.type
    data: dict = {
        "title": version.title,
        "base_version": base_version,
        "comment": "",
        "data_categories": list(document.data_categories),
    }
    if doc_type == "note":
        data["text"] = version.text or ""
    elif doc_type == "assessment":
        fields = version.fields or {}
        data["languages"] = list(fields.get("languages") or [])
        data.update({name: fields.get(name) or "" for name in ASSESSMENT_TEXT_FIELDS})
    elif doc_type == "agreement":
        fields = version.fields or {}
        data["goals"] = [
            dict(goal, due_date=goal.get("due_date") or "") for goal in fields.get("goals") or []
        ]
        data["signatories"] = "\n".join(fields.get("signatories") or [])
        data["signed_on"] = fields.get("signed_on") or ""
    return data


def error_summary(form) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error, rows included, for the summary at the top."""
    out = []
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                for sub in entry.form:
                    out.extend((sub.id, _row_label(field, entry, sub), e) for e in sub.errors)
        elif field.errors and field.type != "CSRFTokenField":
            out.extend((field.id, str(field.label.text), str(e)) for e in field.errors)
    return out


def _row_label(field_list, entry, sub) -> str:
    row = int(entry.id.rsplit("-", 1)[1]) + 1
    return (
        f"{AGREEMENT_LABELS['goal' if field_list.name == 'goals' else 'language']} {row}: "
        + str(sub.label.text)
    )


class RestoreForm(FlaskForm):
    """Restore an old version on top of the current one."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    base_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
