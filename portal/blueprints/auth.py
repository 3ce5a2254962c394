"""Login and logout."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.db import db_session
from portal.forms.auth import LoginForm
from portal.http import client_ip, safe_local_path
from portal.pipeline import refused
from portal.services import audit, sessions
from portal.services.auth import ThrottleRule, authenticate
from portal.services.errors import InvalidCredentials, TooManyAttempts

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on POST check the credentials and open a fresh session."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            user = authenticate(
                db, form.email.data, form.password.data, ip=client_ip(), rule=_throttle_rule()
            )
        except InvalidCredentials as exc:
            refused(exc)  # the failed attempt counts all the same (keeps_changes)
            form.password.errors = [str(exc.message)]
        except TooManyAttempts as exc:
            refused(exc)
            html = render_template("auth/login.html", form=form, throttled=exc.message)
            return html, 429, {"Retry-After": exc.fields.get("retry_after", "900")}
        else:
            next_url = safe_local_path(request.args.get("next"))
            lang = session.get("lang")
            session.clear()  # rotate: nothing from before the login survives
            if lang:
                session["lang"] = lang
            user.session_token = sessions.start(
                db, user, ip=client_ip(), user_agent=request.user_agent.string
            )
            login_user(user)
            return redirect(next_url or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session on the server, so the old cookie is worthless."""
    db = db_session()
    sessions.end(db, current_user.session_token)
    audit.record(
        db,
        "logout",
        actor=current_user,
        object_type="user",
        object_id=current_user.id,
        ip=client_ip(),
    )
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have been logged out."), "success")
    return redirect(url_for("auth.login"))


def _throttle_rule() -> ThrottleRule:
    settings = current_app.extensions["portal.settings"]
    return ThrottleRule(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )
