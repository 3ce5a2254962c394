"""Forms of the follow-up pages: a new follow-up on a case, done and undo buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal.forms import choices
from portal.models.followup import MAX_FOLLOWUP_NOTE
from portal.services import followups


class FollowUpForm(FlaskForm):
    """Due date, note and who is to act: me, a colleague, or an organisation."""

    # Messages for the error codes of ``services.followups`` (ValidationFailed.fields).
    service_messages = {
        "required": _l("Please enter a due date."),
        "invalid_date": _l("Please enter a valid date."),
        "too_early": _l("The due date lies more than a year in the past."),
        "too_late": _l("The due date lies too far in the future."),
        "too_long": _l("The note may be at most 2,000 characters long."),
        "unknown_or_inactive": _l("This person or organisation cannot be chosen."),
        "no_access": _l("This person or organisation has no access to this case."),
        "not_the_users_organisation": _l("The person does not belong to this organisation."),
    }
    service_fields = {"assignee_user_id": "assignee", "assignee_organisation_id": "assignee"}

    due_on = DateField(_l("Due on"), validators=[InputRequired()])
    note = TextAreaField(
        _l("What is to be done?"),
        validators=[Length(max=MAX_FOLLOWUP_NOTE)],
        render_kw={"rows": 2, "maxlength": MAX_FOLLOWUP_NOTE},
    )
    assignee = SelectField(_l("For"))

    def set_assignees(self, me, users, organisations) -> None:
        """Offer ``me`` first, then the colleagues and organisations with access."""
        options = [(f"user:{me.id}", _l("Me (%(name)s)", name=me.name))]
        options += [
            (f"user:{u.id}", f"{u.name} ({u.organisation.name})") for u in users if u.id != me.id
        ]
        options += [
            (f"org:{o.id}", _l("Anyone at %(organisation)s", organisation=o.name))
            for o in organisations
        ]
        self.assignee.choices = choices(options)

    def assignee_ids(self) -> tuple[int | None, int | None]:
        """(user id, organisation id) of the chosen assignee."""
        kind, _, number = (self.assignee.data or "").partition(":")
        value = int(number) if number.isascii() and number.isdigit() else None
        return (value, None) if kind == "user" else (None, value)


class DoneForm(FlaskForm):
    """A done or undo button; ``next`` is the page to return to."""

    next = HiddenField()


def followup_form(session, me, case, *, fresh: bool = False) -> FollowUpForm:
    """The new-follow-up form of ``case`` (``fresh``: ignoring the request), its choices filled."""
    form = FollowUpForm(formdata=None) if fresh else FollowUpForm()
    form.set_assignees(
        me,
        followups.assignable_users(session, case),
        followups.assignable_organisations(session, case),
    )
    return form
