"""Forms of the own-account pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PasswordChangeForm(FlaskForm):
    """Current password, and the new one twice."""

    service_fields = {"password": "new_password"}  # the password rules' objections

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField(
        _l("What is the token for?"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"placeholder": _l("e.g. Fachverfahren Ausländerbehörde")},
    )


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token matters (revoke buttons and the like)."""
