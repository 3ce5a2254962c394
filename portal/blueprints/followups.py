"""Follow-ups (Wiedervorlagen): dated tasks on a case, and "Meine Wiedervorlagen"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.db import db_session
from portal.forms.followups import DoneForm, followup_form
from portal.http import client_ip, safe_local_path
from portal.models import Case, FollowUp
from portal.models.base import local_today
from portal.pipeline import shown_at, with_case, with_followup
from portal.services import access, followups
from portal.services.errors import ValidationFailed

bp = Blueprint("followups", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.get("/followups")
def mine():
    """Meine Wiedervorlagen: open ones by urgency, and those done in the last 30 days."""
    access.require(current_user, access.WORK_WITH_CASES)
    scope = request.args.get("scope", "mine")
    if scope not in followups.SCOPES:
        scope = "mine"
    session = db_session()
    return render_template(
        "followups/mine.html",
        scope=scope,
        buckets=followups.open_for(session, current_user, scope),
        done=followups.recently_done(session, current_user, scope),
        button_form=DoneForm(formdata=None),
        today=local_today(),
    )


@bp.route("/cases/<int:case_id>/followups", methods=["GET", "POST"])
@with_case()
def for_case(case: Case):
    """The case's follow-ups, open and done, and (for writers) the form for a new one."""
    session = db_session()
    form = followup_form(session, current_user, case)
    status = 200
    if request.method == "POST":
        access.require(current_user, access.EDIT_CASE, case)
        if form.validate_on_submit():
            user_id, organisation_id = form.assignee_ids()
            with shown_at(form, ValidationFailed):
                followups.create(
                    session, current_user, case, due_on=form.due_on.data, note=form.note.data,
                    assignee_user_id=user_id, assignee_organisation_id=organisation_id,
                    ip=client_ip(),
                )  # fmt: skip
                flash(_("The follow-up was saved."), "success")
                return redirect(url_for("cases.folder", case_id=case.id), 303)
        status = 422
    return render_template(
        "followups/case.html",
        case=case,
        form=form if access.can(current_user, access.EDIT_CASE, case) else None,
        open_items=list(session.scalars(followups.case_statement(current_user, case))),
        done_items=list(session.scalars(followups.case_statement(current_user, case, "done"))),
        button_form=DoneForm(formdata=None),
        today=local_today(),
    ), status


@bp.post("/followups/<int:followup_id>/done")
@with_followup(access.EDIT_FOLLOWUP)
def done(followup: FollowUp):
    """Mark a follow-up done, then go back to where the button was."""
    return _set_done(followup, True, _("The follow-up is done."))


@bp.post("/followups/<int:followup_id>/undo")
@with_followup(access.EDIT_FOLLOWUP)
def undo(followup: FollowUp):
    """Open a done follow-up again."""
    return _set_done(followup, False, _("The follow-up is open again."))


def _set_done(followup: FollowUp, done_flag: bool, message: str):
    session = db_session()
    form = DoneForm()
    if form.validate_on_submit():
        followups.set_done(session, current_user, followup, done_flag, ip=client_ip())
        flash(message, "success")
    back = safe_local_path(form.next.data) or url_for("followups.mine")
    return redirect(back, 303)
