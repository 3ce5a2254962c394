"""Case pages: the case list, opening a case, the case folder, phase changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from portal.db import db_session
from portal.forms.cases import (
    CaseFilterForm,
    CaseForm,
    FocusForm,
    PhaseForm,
)
from portal.forms.followups import DoneForm, followup_form
from portal.http import client_ip, requester
from portal.models import PHASES, Case
from portal.models.base import local_today
from portal.pipeline import shown_at, with_case
from portal.services import access, accounts, cases
from portal.services.cases import DuplicateCandidates
from portal.services.errors import ValidationFailed
from portal.services.folder import open_folder
from portal.services.paging import page_of

bp = Blueprint("cases", __name__, url_prefix="/cases")

PER_PAGE = 50


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.get("/", endpoint="list")
def list_cases():
    """The cases the user may see, filtered, sorted and paged."""
    args = request.args.to_dict()
    if not (args.get("organisation") or "0").isascii():  # "²" passes isdigit() but not int()
        del args["organisation"]
    query = cases.parse_case_query(args, current_user)
    query.page = max(request.args.get("page", 1, type=int), 1)
    form = CaseFilterForm(MultiDict(args))
    form.set_choices(accounts.list_organisations(db_session()))
    statement = cases.case_list_statement(current_user, query)
    page = page_of(db_session(), statement, query.page, PER_PAGE, last_if_past=True)
    return render_template(
        "cases/list.html",
        form=form,
        rows=[(case, access.can(current_user, access.READ_CASE, case)) for case in page.items],
        total=page.total,
        page=page.number,
        page_links=page.links,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Open a case for a new person, after the duplicate check."""
    access.require(current_user, access.CREATE_CASE)
    form = CaseForm()
    candidates = None
    if form.validate_on_submit():
        try:
            with shown_at(form, ValidationFailed):
                case = cases.create_case(
                    db_session(),
                    current_user,
                    person=form.person.form.service_data(),
                    focus_areas=form.focus_areas.data or [],
                    confirm_new_person=form.confirm_new_person.data,
                    ip=client_ip(),
                )
                flash(_("The case %(reference)s was opened.", reference=case.reference), "success")
                return redirect(url_for("cases.folder", case_id=case.id), 303)
        except DuplicateCandidates as exc:
            candidates = exc.candidates  # answered 409: nothing is saved
    status = 409 if candidates else 422 if form.errors else 200
    return render_template("cases/new.html", form=form, candidates=candidates), status


@bp.get("/<int:case_id>")
@with_case(visible=access.READ_CASE_METADATA)
def folder(case: Case):
    """The case folder; coordinators of other organisations see its metadata only."""
    session = db_session()
    if not access.can(current_user, access.READ_CASE, case):
        return render_template("cases/folder.html", case=case, full=False, phases=PHASES)
    can_edit = access.can(current_user, access.EDIT_CASE, case)
    return render_template(
        "cases/folder.html",
        case=case,
        full=True,
        folder=open_folder(session, requester(), case, today=local_today()),
        can_edit=can_edit,
        phase_form=PhaseForm(formdata=None, phase=case.phase) if can_edit else None,
        focus_form=FocusForm(formdata=None, focus_areas=case.focus_areas) if can_edit else None,
        followup_form=followup_form(session, current_user, case, fresh=True) if can_edit else None,
        button_form=DoneForm(formdata=None),
        phases=PHASES,
    )


@bp.post("/<int:case_id>/phase")
@with_case(access.EDIT_CASE)
def change_phase(case: Case):
    """Move the case to another phase; moving back is allowed."""
    form = PhaseForm()
    if form.validate_on_submit():
        cases.update_case(db_session(), current_user, case, phase=form.phase.data, ip=client_ip())
        flash(_("The phase was changed."), "success")
    else:
        flash(_("The phase could not be changed. Please try again."), "error")
    return redirect(url_for("cases.folder", case_id=case.id), 303)


@bp.post("/<int:case_id>/focus")
@with_case(access.EDIT_CASE)
def change_focus(case: Case):
    """Set the case's focus areas."""
    form = FocusForm()
    if form.validate_on_submit():
        cases.update_case(
            db_session(), current_user, case, focus_areas=form.focus_areas.data or [],
            ip=client_ip(),
        )  # fmt: skip
        flash(_("The focus areas were saved."), "success")
    else:
        flash(_("The focus areas could not be saved. Please try again."), "error")
    return redirect(url_for("cases.folder", case_id=case.id), 303)
