"""Monitoring an integration agreement: goal status over time, overdue goals, signed scans."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.db import db_session
from portal.forms.monitoring import GoalStatusForm, SignedScanForm
from portal.forms.rows import parse_date
from portal.http import client_ip, requester, save_context
from portal.models import Document
from portal.models.base import local_today
from portal.pipeline import refused, shown_at, with_agreement
from portal.services import access, accounts, agreements, documents, goals
from portal.services.documents import Upload, VersionConflict
from portal.services.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from portal.services.filetypes import HostileFile, UnsupportedFile
from portal.services.storage import UploadTooLarge

bp = Blueprint("monitoring", __name__)
SCAN_ERRORS = (Conflict, ValidationFailed, UploadTooLarge, UnsupportedFile, HostileFile)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


# ---------------------------------------------------------------- goal statuses


@bp.get("/documents/<int:document_id>/goals")
def goal_statuses(document_id: int):
    """The goals of the current version with their status history, and the status form."""
    document, versions = agreements.read_goals(db_session(), requester(), document_id)
    current = versions[-1]
    statuses = [goal.status for goal in goals.goals_of(current.fields)]
    form = GoalStatusForm(formdata=None, data={"base_version": current.number,
                                                "statuses": statuses})  # fmt: skip
    return _goals_page(document, current, form, versions=versions)


@bp.post("/documents/<int:document_id>/goals")
@with_agreement(access.READ_DOCUMENT)
def save_goal_statuses(document: Document):
    """Save changed statuses as a new version; a stale base shows the merge, nothing is lost.
    Who may set which goal's status, the service asks the policy (403 otherwise)."""
    session = db_session()
    current = documents.get_version(session, document, document.current_version)
    form = GoalStatusForm()
    if not form.validate_on_submit():
        if form.base_version.errors:
            raise InvalidInput(_("The form is incomplete. Please reload the page."))
        return _goals_page(document, current, form, status=422)
    chosen = [entry.data for entry in form.statuses]
    try:
        saved = agreements.update_statuses(
            session, current_user, document, base_version=form.base_version.data,
            statuses=chosen, ctx=save_context(), ip=client_ip(),
        )  # fmt: skip
    except VersionConflict as exc:
        refused(exc)
        return _goals_conflict(document, form.base_version.data, chosen)
    except ValidationFailed as exc:
        refused(exc)
        flash(str(exc.message), "error")
        return _goals_page(document, current, form, status=422)
    if saved is None:
        flash(_("No status was changed; nothing was saved."), "info")
    else:
        flash(_("The statuses were saved as version %(n)d.", n=saved.number), "success")
    return redirect(url_for("monitoring.goal_statuses", document_id=document.id))


def _goals_conflict(document: Document, base_number: int, chosen: list[str]):
    """Someone saved meanwhile: the current goals with this user's choices carried over."""
    session = db_session()
    session.refresh(document)
    current = documents.get_version(session, document, document.current_version)
    try:
        base_goals = goals.goals_of(documents.get_version(session, document, base_number).fields)
    except NotFound:
        base_goals = []
    proposed = goals.rebase_statuses(base_goals, chosen, goals.goals_of(current.fields))
    statuses = [status for status, _who in proposed]
    form = GoalStatusForm(formdata=None, data={"base_version": current.number,
                                                "statuses": statuses})  # fmt: skip
    return _goals_page(document, current, form, status=409,
                       changed_by=[who for _s, who in proposed])  # fmt: skip


def _goals_page(document, current, form, *, status=200, changed_by=None, versions=None):
    """The goals page: statuses (a form for editors), history per goal (``versions``,
    oldest first, when the caller has them already)."""
    if versions is None:
        versions = list(reversed(documents.list_versions(db_session(), document)))
    shown = goals.goals_of(current.fields)
    return render_template(
        "monitoring/goals.html",
        document=document,
        case=document.case,
        version=current,
        goals=shown,
        histories=goals.history(versions),
        form=form,
        can_edit=goals.may_change(current_user, document, current),
        settable=goals.settable(current_user, document, shown),
        changed_by=changed_by or [],
        conflict=status == 409,
        org_names={org.id: org.name for org in accounts.list_organisations(db_session())},
    ), status


# ---------------------------------------------------------------- signed scans


@bp.route("/documents/<int:document_id>/signed", methods=["GET", "POST"])
@with_agreement(access.EDIT_DOCUMENT)
def signed_scan(document: Document):
    """Upload the scan of the signed printout: it becomes the agreement's next version."""
    session = db_session()
    current = documents.get_version(session, document, document.current_version)
    form = SignedScanForm(data={"version": current.number})
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            with shown_at(form, *SCAN_ERRORS) as refusal:
                saved = agreements.attach_signed_scan(
                    session, current_user, document, printed_version=form.version.data,
                    signed_on=parse_date(form.signed_on.data),
                    upload=Upload(form.file.data.stream, form.file.data.filename or ""),
                    ctx=save_context(), today=local_today(), ip=client_ip(),
                )  # fmt: skip
                flash(_("The signed scan was saved as version %(n)d.", n=saved.number),
                      "success")  # fmt: skip
                return redirect(url_for("documents.view", document_id=document.id))
            status = refusal.status
    return render_template(
        "monitoring/signed.html",
        document=document,
        case=document.case,
        version=current,
        short_hash=_short_hash(documents.content_hash(current)),
        signature=agreements.signature(session, document, current),
        form=form,
    ), status


def _short_hash(hex_digest: str) -> str:
    """The first 12 hex digits in groups of four, as the printout's footer shows them."""
    return " ".join(hex_digest[i : i + 4] for i in range(0, 12, 4))
