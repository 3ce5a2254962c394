"""The user's own account: password and API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from portal.db import db_session
from portal.forms.account import ConfirmForm, PasswordChangeForm, TokenForm
from portal.http import client_ip
from portal.pipeline import shown_at
from portal.services import accounts, tokens
from portal.services.errors import ValidationFailed

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


@bp.get("/")
def index():
    """Account overview with the password form and the API tokens."""
    return _render()


@bp.post("/password")
def change_password():
    """Change the own password; every session ends, so the user logs in again."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        with shown_at(form, ValidationFailed):
            accounts.change_password(
                db_session(),
                current_user,
                current=form.current_password.data,
                new=form.new_password.data,
                ip=client_ip(),
            )
            logout_user()
            flash(_("Your password was changed. Please log in with the new password."), "success")
            return redirect(url_for("auth.login"))
    return _render(password_form=form), 422


@bp.post("/tokens")
def create_token():
    """Create an API token and show it once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(token_form=form), 422
    _token, plain = tokens.create(
        db_session(), current_user, name=form.name.data, actor=current_user, ip=client_ip()
    )
    return _render(new_token=plain), 201


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of the own tokens."""
    if ConfirmForm().validate_on_submit():
        tokens.revoke(db_session(), current_user, token_id, actor=current_user, ip=client_ip())
        flash(_("The token was revoked."), "success")
    return redirect(url_for("account.index"))


def _render(
    password_form: PasswordChangeForm | None = None,
    token_form: TokenForm | None = None,
    new_token: str | None = None,
) -> str:
    return render_template(
        "account/index.html",
        password_form=password_form or PasswordChangeForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        confirm_form=ConfirmForm(),
        tokens=tokens.list_for(db_session(), current_user, actor=current_user),
        new_token=new_token,
    )
