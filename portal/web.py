"""The request pipeline: extensions, login, locale, security headers, errors, blueprints."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask import (
    Flask,
    current_app,
    has_request_context,
    make_response,
    request,
    session,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import pipeline, presentation
from portal.config import LANGUAGES
from portal.db import db_session
from portal.extensions import babel, csrf, login_manager
from portal.http import error_response, wants_json
from portal.services import sessions
from portal.services.errors import PortalError

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_ERROR_MESSAGES = {
    400: _l("The request could not be processed."),
    401: _l("Please log in."),
    403: _l("You are not allowed to do this."),
    404: _l("This page does not exist, or you may not see it."),
    405: _l("This method is not allowed here."),
    409: _l("The change conflicts with a newer state."),
    413: _l("The upload is too large."),
    415: _l("This file type is not supported."),
    422: _l("Please check the input."),
    429: _l("Too many attempts. Please wait a moment."),
    500: _l("Something went wrong on our side. Your last change was not saved; please try again."),
    503: _l("The search is unavailable for a moment. Please try again shortly."),
}


def init_app(app: Flask) -> None:
    """Wire extensions, hooks, error handlers and blueprints into ``app``."""
    settings = app.extensions["portal.settings"]
    # First in, last out (after_request hooks run in reverse): every request has its id
    # before CSRF or login look at it, and its access-log line after everything else.
    app.before_request(pipeline.begin_request)
    app.after_request(pipeline.log_request)
    _init_access_log(settings.log_format)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    _init_login(app, settings)
    presentation.init_app(app)
    app.jinja_env.autoescape = True

    app.before_request(pipeline.refuse_unstorable_input)
    app.before_request(pipeline.own_password_first)
    app.after_request(pipeline.finish)
    app.after_request(_security_headers)

    _register_error_handlers(app)
    _register_blueprints(app)


def select_locale() -> str:
    """The language chosen in this session, then the user's preference, then the default.

    API clients choose with ``Accept-Language``; commands use the configured default.
    """
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if wants_json():
        return (
            request.accept_languages.best_match(LANGUAGES)
            or current_app.config["BABEL_DEFAULT_LOCALE"]
        )
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_login(app: Flask, settings) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)

    @login_manager.user_loader
    def _load_user(token: str):
        return sessions.load(db_session(), token, idle=idle, absolute=absolute)


class AccessLogFormat(logging.Formatter):
    """An access-log line: ``key=value`` words, or one JSON object (PORTAL_LOG_FORMAT=json)."""

    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None) or {"message": record.getMessage()}
        fields = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), **access}
        if self.as_json:
            return json.dumps(fields, ensure_ascii=False)
        return " ".join(f"{key}={value}" for key, value in fields.items())


_ACCESS_HANDLER = logging.StreamHandler()  # to standard error


def _init_access_log(log_format: str) -> None:
    """The access log's own handler (once per process), in the configured format."""
    log = logging.getLogger("portal.access")
    if _ACCESS_HANDLER not in log.handlers:
        log.addHandler(_ACCESS_HANDLER)
        log.setLevel(logging.INFO)
        log.propagate = False
    _ACCESS_HANDLER.setFormatter(AccessLogFormat(log_format == "json"))


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def _portal_error(exc: PortalError):
        pipeline.refused(exc)
        candidates = getattr(exc, "candidates", None)
        return error_response(
            exc.status,
            exc.code,
            exc.message or _ERROR_MESSAGES.get(exc.status, ""),
            exc.fields,
            extra={"candidates": candidates} if candidates is not None else None,
        )

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        pipeline.refused(exc)
        message = _l(
            "The form has expired or was not sent from this portal. Please reload the page"
            " and try again."
        )
        return error_response(400, "csrf", message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        pipeline.refused(exc)
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        response = make_response(
            error_response(status, code, _ERROR_MESSAGES.get(status, exc.description))
        )
        for name, value in exc.get_headers():  # e.g. Allow on 405, Retry-After on 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        pipeline.refused(exc)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", _ERROR_MESSAGES[500])


def _register_blueprints(app: Flask) -> None:
    from portal.blueprints.account import bp as account_bp
    from portal.blueprints.admin import bp as admin_bp
    from portal.blueprints.api import bp as api_bp
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.cases import bp as cases_bp
    from portal.blueprints.dashboard import bp as dashboard_bp
    from portal.blueprints.documents import bp as documents_bp
    from portal.blueprints.followups import bp as followups_bp
    from portal.blueprints.main import bp as main_bp
    from portal.blueprints.monitoring import bp as monitoring_bp
    from portal.blueprints.printing import bp as printing_bp
    from portal.blueprints.privacy import bp as privacy_bp
    from portal.blueprints.search import bp as search_bp

    csrf.exempt(api_bp)  # bearer tokens only, no cookies: nothing to forge
    blueprints = (
        auth_bp, main_bp, account_bp, admin_bp, cases_bp, documents_bp, privacy_bp, search_bp,
        printing_bp, monitoring_bp, followups_bp, dashboard_bp, api_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
