"""Administration: organisations and user accounts (admins only; no case contents)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from portal.db import db_session
from portal.forms import choices
from portal.forms.account import ConfirmForm
from portal.forms.admin import OrganisationForm, PasswordResetForm, UserForm
from portal.http import client_ip, save_context
from portal.models import Blob
from portal.pipeline import shown_at
from portal.services import access, accounts, tokens
from portal.services.documents import Upload
from portal.services.errors import NotFound, ValidationFailed
from portal.services.storage import UploadTooLarge

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _require_admin() -> None:
    """Every page here is for administrators only."""
    access.require(current_user, access.MANAGE_ACCOUNTS)


@bp.get("/organisations")
def organisations():
    """All organisations."""
    return render_template(
        "admin/organisations.html", organisations=accounts.list_organisations(db_session())
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
def organisation(org_id: int | None = None):
    """Create or edit an organisation (an organisation's administrator: only its own)."""
    org = accounts.get_organisation(db_session(), org_id) if org_id is not None else None
    if org is not None:
        access.require_visible(current_user, access.MANAGE_ORGANISATION, org)
    access.require(current_user, access.MANAGE_ORGANISATION, org)
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        with shown_at(form, ValidationFailed, UploadTooLarge):
            accounts.save_organisation(
                db_session(),
                actor=current_user,
                org=org,
                name=form.name.data,
                kind=form.kind.data,
                address=form.address.data or "",
                active=form.active.data,
                ip=client_ip(),
                letterhead=_letterhead(form),
            )
            flash(_("The organisation was saved."), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, org=org), _status(form)


@bp.get("/organisations/<int:org_id>/logo")
def organisation_logo(org_id: int):
    """The organisation's letterhead logo, for the preview on its form."""
    org = accounts.get_organisation(db_session(), org_id)
    access.require_visible(current_user, access.MANAGE_ORGANISATION, org)
    if not org.logo_sha256:
        raise NotFound()
    blob = db_session().get(Blob, org.logo_sha256)
    store = current_app.extensions["portal.blobs"]
    response = send_file(store.path(blob.sha256), mimetype=blob.media_type, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _letterhead(form: OrganisationForm) -> accounts.Letterhead:
    """The letterhead fields of the form; a chosen file replaces the logo."""
    upload = form.logo.data
    chosen = isinstance(upload, FileStorage) and bool(upload.filename)
    return accounts.Letterhead(
        contact=form.contact.data or "",
        logo=Upload(upload.stream, upload.filename) if chosen else None,
        remove_logo=bool(form.remove_logo.data),
        ctx=save_context(),
    )


@bp.get("/users")
def users():
    """All users, grouped by organisation."""
    users = accounts.list_users(db_session(), current_user)
    return render_template("admin/users.html", users=users)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user with an initial password."""
    form = _user_form()
    if form.validate_on_submit():
        with shown_at(form, ValidationFailed):
            accounts.create_user(
                db_session(),
                actor=current_user,
                email=form.email.data,
                name=form.name.data,
                organisation=accounts.get_organisation(db_session(), form.organisation_id.data),
                role=form.role.data,
                password=form.password.data,
                ip=client_ip(),
            )
            flash(
                _("The user was created. At the first login they choose their own password."),
                "success",
            )
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), _status(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Edit a user; deactivation ends their sessions at once."""
    user = accounts.get_user(db_session(), user_id, current_user)
    form = _user_form(obj=user)
    del form.password
    if form.validate_on_submit():
        with shown_at(form, ValidationFailed):
            accounts.update_user(
                db_session(),
                user,
                actor=current_user,
                email=form.email.data,
                name=form.name.data,
                organisation=accounts.get_organisation(db_session(), form.organisation_id.data),
                role=form.role.data,
                active=form.active.data,
                ip=client_ip(),
            )
            flash(_("The user was saved."), "success")
            return redirect(url_for("admin.users"))
    return _user_page(user, form), _status(form)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    """Set a new password for a user; their sessions end."""
    user = accounts.get_user(db_session(), user_id, current_user)
    form = PasswordResetForm()
    if form.validate_on_submit():
        with shown_at(form, ValidationFailed):
            accounts.set_password(
                db_session(), user, form.password.data, actor=current_user, ip=client_ip()
            )
            flash(
                _("The password was set. Tell the user in person or by phone; at the next"
                  " login they choose their own."),
                "success",
            )  # fmt: skip
            return redirect(url_for("admin.edit_user", user_id=user.id))
    edit_form = _user_form(obj=user)
    del edit_form.password
    return _user_page(user, edit_form, reset_form=form), 422


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
def revoke_token(user_id: int, token_id: int):
    """Revoke one of a user's API tokens."""
    user = accounts.get_user(db_session(), user_id, current_user)
    if ConfirmForm().validate_on_submit():
        tokens.revoke(db_session(), user, token_id, actor=current_user, ip=client_ip())
        flash(_("The token was revoked."), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


def _user_form(obj=None) -> UserForm:
    """The user form, offering only the organisations and roles the admin may give."""
    form = UserForm(obj=obj)
    form.organisation_id.choices = choices(
        (org.id, org.name)
        for org in accounts.list_organisations(db_session())
        if access.can(current_user, access.MANAGE_ACCOUNT, access.AccountOf(org.id, "readonly"))
    )
    form.role.choices = [
        choice
        for choice in form.role.choices
        if access.can(
            current_user,
            access.MANAGE_ACCOUNT,
            access.AccountOf(current_user.organisation_id, choice.value),
        )
    ]
    return form


def _user_page(user, form: UserForm, reset_form: PasswordResetForm | None = None) -> str:
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        reset_form=reset_form or PasswordResetForm(formdata=None),
        confirm_form=ConfirmForm(),
        tokens=tokens.list_for(db_session(), user, actor=current_user),
    )


def _status(form) -> int:
    """422 when the form was sent and has errors, else 200."""
    return 422 if any(field.errors for field in form) else 200
