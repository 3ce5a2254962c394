"""Forms of the monitoring pages: goal statuses, and the signed scan of a printed agreement."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FieldList, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange
from wtforms.widgets import HiddenInput

from portal.forms import choices
from portal.forms.rows import DateInputField, valid_date
from portal.labels import GOAL_STATUS_LABELS
from portal.services.document_fields import MAX_GOALS

SCAN_ACCEPT = ".pdf,.jpg,.jpeg,.png"


class GoalStatusForm(FlaskForm):
    """One status per goal of the version the update starts from."""

    base_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    statuses = FieldList(
        SelectField(_l("Status"), choices=choices(GOAL_STATUS_LABELS.items())),
        min_entries=0,
        max_entries=MAX_GOALS,
    )


class SignedScanForm(FlaskForm):
    """Which version was printed and signed, when, and the scan of the signed paper."""

    # The services' objections: to the version (stale, signed already, a newer one saved
    # meanwhile) and to the file (too large, not a PDF or image, hostile).
    service_fields = {
        **dict.fromkeys(("current_version", "already_signed", "version_conflict"), "version"),
        **dict.fromkeys(("too_large", "unsupported_type", "invalid_upload"), "file"),
    }

    version = IntegerField(
        _l("Printed version"),
        validators=[InputRequired(_l("Please enter the version number.")), NumberRange(min=1)],
    )
    signed_on = DateInputField(
        _l("Signed on"),
        validators=[DataRequired(_l("Please enter the date of signing.")), valid_date],
    )
    file = FileField(
        _l("Scan of the signed agreement"),
        validators=[FileRequired(_l("Please choose a file."))],
        render_kw={"accept": SCAN_ACCEPT},
    )
