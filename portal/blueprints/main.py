"""Start page and language choice."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from portal.config import LANGUAGES
from portal.db import db_session
from portal.http import safe_local_path

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """The start page after login."""
    return render_template("main/index.html")


@bp.post("/language")
def set_language():
    """Switch the interface language; remembered for the session and, when logged in, the user."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.language = lang
            db_session().add(current_user)
    return redirect(safe_local_path(request.form.get("next")) or url_for("main.index"))


@bp.get("/health")
def health():
    """Liveness probe for load balancers: answers without touching the database."""
    return {"status": "ok"}
