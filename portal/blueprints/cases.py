"""Case pages: the case list, opening a case, the case folder, phase changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from portal.db import db_session
from portal.forms.cases import (
    CaseFilterForm,
    CaseForm,
    FocusForm,
    PhaseForm,
)
from portal.http import client_ip
from portal.labels import LABEL_HELPERS
from portal.models import DOCUMENT_TYPES, PHASES, DocumentVersion, User
from portal.pipeline import shown_at
from portal.services import access, accounts, audit, cases, documents
from portal.services.cases import CaseQuery, DuplicateCandidates
from portal.services.errors import ValidationFailed

bp = Blueprint("cases", __name__, url_prefix="/cases")

PER_PAGE = 50
TIMELINE_LENGTH = 20
RECENT_CASES = 5

for _name, _helper in LABEL_HELPERS.items():
    bp.add_app_template_global(_helper, _name)


@bp.app_template_global()
def can_create_cases(user) -> bool:
    """True when ``user`` may open cases."""
    return access.can(user, access.CREATE_CASE)


@bp.app_template_global()
def my_recent_cases() -> list:
    """The current user's most recently changed cases that they lead (start page)."""
    statement = cases.case_list_statement(current_user, CaseQuery(mine=True, sort="updated"))
    return list(db_session().scalars(statement.limit(RECENT_CASES)))


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
    session = db_session()
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    query.page = min(query.page, pages)
    rows = session.scalars(statement.limit(PER_PAGE).offset((query.page - 1) * PER_PAGE)).all()
    return render_template(
        "cases/list.html",
        form=form,
        rows=[(case, access.can(current_user, access.READ_CASE, case)) for case in rows],
        total=total,
        page=query.page,
        page_links=_page_links(query.page, pages),
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
def folder(case_id: int):
    """The case folder; coordinators of other organisations see its metadata only."""
    session = db_session()
    case = cases.get_case(session, current_user, case_id, access.READ_CASE_METADATA)
    if not access.can(current_user, access.READ_CASE, case):
        return render_template("cases/folder.html", case=case, full=False, phases=PHASES)
    audit.record(
        session, "view", actor=current_user, object_type="case", object_id=case.id,
        case_id=case.id, ip=client_ip(),
    )  # fmt: skip
    listed = documents.list_documents(session, current_user, case)
    groups = {doc_type: [] for doc_type in DOCUMENT_TYPES}
    for document, version in listed:
        groups[document.type].append((document, version))
    can_edit = access.can(current_user, access.EDIT_CASE, case)
    return render_template(
        "cases/folder.html",
        case=case,
        full=True,
        groups=groups,
        timeline=_timeline(session, case, listed),
        can_edit=can_edit,
        phase_form=PhaseForm(formdata=None, phase=case.phase) if can_edit else None,
        focus_form=FocusForm(formdata=None, focus_areas=case.focus_areas) if can_edit else None,
        phases=PHASES,
    )


@bp.post("/<int:case_id>/phase")
def change_phase(case_id: int):
    """Move the case to another phase; moving back is allowed."""
    case = _case_to_edit(case_id)
    form = PhaseForm()
    if form.validate_on_submit():
        cases.update_case(db_session(), current_user, case, phase=form.phase.data, ip=client_ip())
        flash(_("The phase was changed."), "success")
    else:
        flash(_("The phase could not be changed. Please try again."), "error")
    return redirect(url_for("cases.folder", case_id=case.id), 303)


@bp.post("/<int:case_id>/focus")
def change_focus(case_id: int):
    """Set the case's focus areas."""
    case = _case_to_edit(case_id)
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


def _case_to_edit(case_id: int):
    """The case if the user may see it (else 404) and change it (else 403)."""
    case = cases.get_case(db_session(), current_user, case_id)
    access.require(current_user, access.EDIT_CASE, case)
    return case


def _timeline(session, case, listed) -> list[dict]:
    """Phase changes and document versions of the visible documents, newest first.

    A fixed number of queries, however many documents the folder holds: the
    versions come in one query with their authors, the remaining people in another.
    """
    titles = {document.id: document for document, _version in listed}
    versions = []
    if titles:
        versions = session.scalars(
            select(DocumentVersion)
            .options(joinedload(DocumentVersion.author), joinedload(DocumentVersion.organisation))
            .where(DocumentVersion.document_id.in_(titles))
            .order_by(DocumentVersion.created_at.desc(), DocumentVersion.id.desc())
            .limit(TIMELINE_LENGTH)
        ).all()
    changes = cases.phase_history(session, case)[-TIMELINE_LENGTH:]
    user_ids = {change.user_id for change in changes if change.user_id}
    if user_ids:  # into the identity map, so that change.user needs no query of its own
        session.scalars(select(User).where(User.id.in_(user_ids))).all()
    entries = [
        {
            "at": change.at,
            "user": change.user,
            "organisation": change.user.organisation if change.user else None,
            "kind": "phase",
            "change": change,
        }
        for change in changes
    ]
    entries += [
        {
            "at": version.created_at,
            "user": version.author,
            "organisation": version.organisation,
            "kind": "version",
            "version": version,
            "document": titles[version.document_id],
        }
        for version in versions
    ]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:TIMELINE_LENGTH]


def _page_links(page: int, pages: int) -> list[int | None]:
    """Page numbers to link: the first, the last and two around the current; None is a gap."""
    wanted = {1, pages, *range(page - 2, page + 3)}
    numbers = sorted(n for n in wanted if 1 <= n <= pages)
    links: list[int | None] = []
    for number in numbers:
        if links and number - links[-1] > 1:
            links.append(None)
        links.append(number)
    return links
