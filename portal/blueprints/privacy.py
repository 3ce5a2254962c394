"""Consents, hand-over, the audit trail, and data-subject requests (Art. 15 and 17 GDPR)."""

from __future__ import annotations

import tempfile

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.db import db_session
from portal.downloads import content_disposition
from portal.forms import choices
from portal.forms.privacy import ConsentForm, EraseForm, HandOverForm, RevokeForm
from portal.http import client_ip, requester, save_context
from portal.models import Case, Organisation
from portal.models.base import local_today
from portal.pipeline import after_commit, refused, shown_at, with_case
from portal.presentation import render_printout
from portal.services import access, audit, consents, export, printouts, retention
from portal.services.documents import Upload
from portal.services.errors import ValidationFailed
from portal.services.filetypes import HostileFile, UnsupportedFile
from portal.services.paging import page_of
from portal.services.storage import UploadTooLarge

bp = Blueprint("privacy", __name__)
PER_PAGE = 50


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.route("/cases/<int:case_id>/consents", methods=["GET", "POST"])
@with_case()
def consent_list(case: Case):
    """The case's consents, and (for the lead organisation) the form to record one."""
    form = _consent_form(case)
    status = 200
    if request.method == "POST":
        access.require(current_user, access.MANAGE_CONSENT, case)
        if form.validate_on_submit():
            # Invalid fields, or a refused scan (type, size).
            with shown_at(form, ValidationFailed, UploadTooLarge, UnsupportedFile, HostileFile):
                consents.record(
                    db_session(), current_user, case,
                    organisation_ids=form.organisation_ids.data,
                    valid_from=form.valid_from.data, valid_until=form.valid_until.data,
                    purpose=form.purpose.data, data_categories=form.data_categories.data,
                    note=form.note.data or "", form=_scan(form), ctx=save_context(),
                    ip=client_ip(),
                )  # fmt: skip
                flash(_("The consent was recorded."), "success")
                return redirect(url_for("privacy.consent_list", case_id=case.id))
        status = 422
    return _consents_page(case, form=form), status


@bp.post("/cases/<int:case_id>/consents/<int:consent_id>/revoke")
@with_case()
def revoke(case: Case, consent_id: int):
    """Revoke a consent once the user has confirmed what it takes away; access ends at once."""
    form = RevokeForm()
    if form.validate_on_submit() and form.confirmed.data != "yes":
        effects = consents.revocation_effects(db_session(), current_user, case, consent_id)
        return render_template(
            "privacy/revoke_confirm.html", case=case, consent_id=consent_id, effects=effects,
            form=form,
        )  # fmt: skip
    if form.validate_on_submit():
        consents.revoke(
            db_session(), current_user, case, consent_id, note=form.note.data or "", ip=client_ip()
        )
        flash(_("The consent was revoked. Access ends now."), "success")
    return redirect(url_for("privacy.consent_list", case_id=case.id))


@bp.post("/cases/<int:case_id>/handover")
@with_case(access.MANAGE_CONSENT)
def hand_over(case: Case):
    """Pass the lead to an organisation with a current consent, once the user has confirmed
    what changes."""
    form = HandOverForm()
    form.organisation_id.choices = _handover_choices(case)
    if form.validate_on_submit():
        try:
            if form.confirmed.data != "yes":
                effects = consents.handover_effects(
                    db_session(), current_user, case, organisation_id=form.organisation_id.data
                )
                return render_template(
                    "privacy/handover_confirm.html", case=case, effects=effects, form=form
                )
            consents.hand_over(
                db_session(), current_user, case, organisation_id=form.organisation_id.data,
                ip=client_ip(),
            )  # fmt: skip
        except ValidationFailed as exc:
            refused(exc)
            flash(str(exc.message), "error")
            return redirect(url_for("privacy.consent_list", case_id=case.id))
        flash(_("The lead was handed over."), "success")
        if not access.can(current_user, access.READ_CASE, case):
            return redirect(url_for("main.index"))
    return redirect(url_for("privacy.consent_list", case_id=case.id))


@bp.get("/cases/<int:case_id>/audit")
@with_case(visible=access.READ_CASE_METADATA)
def case_audit(case: Case):
    """Who did what with this case (lead organisation and coordinators)."""
    statement = audit.case_events(db_session(), current_user, case)
    return events_page(
        "privacy/audit.html",
        statement,
        lambda db, events: audit.named_actors(db, current_user, case, events),
        case=case,
    )


@bp.get("/cases/<int:case_id>/audit.csv")
@with_case(visible=access.READ_CASE_METADATA)
def case_audit_csv(case: Case):
    """The case's audit trail as CSV (the export itself is audited)."""
    response = Response(
        audit.export_case_events(db_session(), requester(), case), mimetype="text/csv"
    )
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", f"audit-{case.reference}.csv"
    )
    return response


@bp.get("/account/activity")
def own_activity():
    """Everything the user did, newest first."""
    return events_page("privacy/activity.html", audit.own_events(current_user), audit.actors)


@bp.get("/admin/security")
def security_log():
    """The administrators' security log: logins, account changes and client addresses
    (until pruned); reading it is audited."""
    who = requester()
    statement = audit.security_events(who)
    audit.record_read(db_session(), who, "view", "security_log", None, None)
    return events_page(
        "admin/security.html",
        statement,
        audit.actors,
        address_days=current_app.extensions["portal.settings"].audit_address_days,
    )


@bp.get("/cases/<int:case_id>/data-request")
@with_case(access.EXPORT_PERSON_DATA)
def data_request(case: Case):
    """Export (Art. 15) and erasure (Art. 17) for the person of this case."""
    return render_template(
        "privacy/data_request.html",
        case=case,
        erase_form=EraseForm(),
        language=export.language_for(case.person),
    )


@bp.post("/cases/<int:case_id>/export")
@with_case()
def export_case(case: Case):
    """Everything about the person as one ZIP (Art. 15 GDPR)."""
    session, store = db_session(), current_app.extensions["portal.blobs"]
    language = request.form.get("language", "")
    if language not in export.LANGUAGES:
        language = export.language_for(case.person)
    data = export.collect(session, requester(), case)
    summary = printouts.print_disclosure(
        session, current_user, data, language, store, render_printout
    )
    out = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115  (send_file closes it)
    export.write_zip(data, store, summary, out, language)
    out.seek(0)
    response = send_file(out, mimetype="application/zip", max_age=0)
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", f"auskunft-{case.reference}.zip"
    )
    return response


@bp.post("/cases/<int:case_id>/erase")
@with_case(access.EXPORT_PERSON_DATA)
def erase(case: Case):
    """Erase the case and the person on request (Art. 17 GDPR), after typing the reference."""
    db = db_session()
    form = EraseForm()
    if not form.validate_on_submit() or form.confirm_reference.data.strip() != case.reference:
        form.confirm_reference.errors = [_("The reference does not match. Nothing was deleted.")]
        return render_template("privacy/data_request.html", case=case, erase_form=form), 422
    store = current_app.extensions["portal.blobs"]
    report = retention.erase_case(db, store, current_user, case, ip=client_ip())
    # The files go only once the erasure is committed: a failed commit keeps them.
    after_commit(lambda: retention.delete_unreferenced_blob_files(store, report.blobs_deleted))
    flash(
        _("The case was erased. Deletion certificate no. %(n)d.", n=report.certificate_id),
        "success",
    )
    return redirect(url_for("main.index"))


def _consent_form(case) -> ConsentForm:
    form = ConsentForm()
    organisations = db_session().scalars(
        select(Organisation).where(Organisation.active).order_by(Organisation.name)
    )
    form.organisation_ids.choices = choices(
        (org.id, org.name) for org in organisations if org.id != case.lead_organisation_id
    )
    return form


def _handover_choices(case) -> list:
    ids = access.organisations_with_access(case) - {case.lead_organisation_id}
    if not ids:
        return []
    rows = db_session().scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return choices((org.id, org.name) for org in rows)


def _consents_page(case, form: ConsentForm) -> str:
    handover = HandOverForm()
    handover.organisation_id.choices = _handover_choices(case)
    return render_template(
        "privacy/consents.html",
        case=case,
        form=form,
        revoke_form=RevokeForm(formdata=None),
        handover_form=handover,
        today=local_today(),
        can_manage=access.can(current_user, access.MANAGE_CONSENT, case),
    )


def _scan(form: ConsentForm) -> Upload | None:
    upload = form.form_scan.data
    if not upload or not upload.filename:
        return None
    return Upload(stream=upload.stream, filename=upload.filename)


def events_page(template: str, statement, named, **context) -> str:
    """A page of ``statement``'s events; ``named(session, events)`` gives the users shown by
    name."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    db = db_session()
    events = page_of(db, statement, page, PER_PAGE)
    organisations = {o.id: o.name for o in db.scalars(select(Organisation))}
    return render_template(
        template, events=events.items, users=named(db, events.items),
        organisations=organisations, page=page, pages=events.pages, total=events.total,
        **context,
    )  # fmt: skip
