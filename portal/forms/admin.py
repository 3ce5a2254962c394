"""Forms of the administration area."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import choices
from portal.labels import ORGANISATION_KIND_LABELS, ROLE_LABELS


class OrganisationForm(FlaskForm):
    """Name, kind, address, the letterhead of printouts, and whether the organisation takes part."""

    service_fields = {"too_large": "logo"}
    service_messages = {"too_large": _l("The logo may be at most 1 MB.")}

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(ORGANISATION_KIND_LABELS.items()))
    address = TextAreaField(_l("Address"), validators=[Length(max=1000)], render_kw={"rows": 3})
    contact = StringField(_l("Contact line"), validators=[Length(max=300)])
    logo = FileField(_l("Logo"), render_kw={"accept": "image/png,image/jpeg"})
    remove_logo = BooleanField(_l("Remove the logo"))
    active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    """A user's details; ``password`` is only shown when creating."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS.items()))
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordResetForm(FlaskForm):
    """A new password set by an administrator."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
