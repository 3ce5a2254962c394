"""Forms of the consent, hand-over and data-subject pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import choices
from portal.labels import FOCUS_AREA_LABELS
from portal.models import DATA_CATEGORIES


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes (rendered inside a fieldset by the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConsentForm(FlaskForm):
    """A consent as signed by the person."""

    # A refused scan (too large, not a PDF or image, hostile) is shown at its field.
    service_fields = dict.fromkeys(("too_large", "unsupported_type", "invalid_upload"), "form_scan")

    organisation_ids = CheckboxesField(_l("Organisations released"), coerce=int)
    purpose = TextAreaField(
        _l("Purpose"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3}
    )
    data_categories = CheckboxesField(
        _l("Data categories"),
        choices=choices((c, FOCUS_AREA_LABELS[c]) for c in DATA_CATEGORIES),
    )
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)], render_kw={"rows": 2})
    form_scan = FileField(
        _l("Signed form (scan)"), render_kw={"accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff"}
    )


class RevokeForm(FlaskForm):
    """Why the consent ends; ``confirmed`` once the user has seen what it takes away."""

    note = StringField(_l("Reason or note"), validators=[Length(max=500)])
    confirmed = HiddenField()


class HandOverForm(FlaskForm):
    """The organisation that takes over the lead."""

    organisation_id = SelectField(_l("New lead organisation"), coerce=int)
    confirmed = HiddenField()  # once the user has seen what changes


class EraseForm(FlaskForm):
    """The case reference, typed again to confirm the erasure."""

    confirm_reference = StringField(
        _l("Type the case reference to confirm"), validators=[DataRequired(), Length(max=20)]
    )
