"""Start page, language choice, health probes and metrics."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from portal import metrics
from portal.config import LANGUAGES
from portal.db import db_session
from portal.http import safe_local_path
from portal.services import access, cases, followups, health
from portal.services.cases import CaseQuery

bp = Blueprint("main", __name__)

RECENT_CASES = 5
START_PAGE_FOLLOWUPS = 5  # the first items of the urgent follow-up buckets


@bp.get("/")
@login_required
def index():
    """The start page: my most recently changed cases, and my follow-ups by urgency."""
    session = db_session()
    mine = cases.case_list_statement(current_user, CaseQuery(mine=True, sort="updated"))
    overview = None
    if access.can(current_user, access.WORK_WITH_CASES):
        buckets = followups.open_for(session, current_user)
        overview = {"buckets": buckets, "first": START_PAGE_FOLLOWUPS}
    return render_template(
        "main/index.html",
        recent=list(session.scalars(mine.limit(RECENT_CASES))),
        overview=overview,
    )


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
@bp.get("/health/live")
def health_live():
    """Liveness probe: the process answers (without touching the database)."""
    return {"status": "ok"}


@bp.get("/health/ready")
def health_ready():
    """Readiness probe: 200 when the portal can serve, 503 with what fails otherwise."""
    settings = current_app.extensions["portal.settings"]
    checks = health.readiness(
        current_app.extensions["portal.db"],
        current_app.extensions["portal.search"],
        settings.data_dir,
        health.Thresholds.from_settings(settings),
    )
    ready = all(check.ok for check in checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: {"ok": c.ok, **c.detail} for name, c in checks.items()},
    }
    return body, 200 if ready else 503


@bp.get("/metrics")
def metrics_text():
    """Prometheus metrics: for loopback scrapes, or with ``PORTAL_METRICS_TOKEN``."""
    settings = current_app.extensions["portal.settings"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    through_proxy = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    bearer = given.strip() if scheme.lower() == "bearer" else ""
    if not access.may_read_metrics(
        request.remote_addr or "", through_proxy, bearer, settings.metrics_token
    ):
        abort(403)
    body = metrics.exposition(
        current_app.extensions["portal.db"],
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )
    return Response(body, content_type=metrics.CONTENT_TYPE)
