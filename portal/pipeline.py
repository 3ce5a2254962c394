"""The request pipeline: load -> check -> act -> commit, each step written once.

Load and check: a view names the object of its URL with a decorator (``with_case``,
``with_document``, ``with_agreement``, ``with_followup``): it is loaded through its
service for the requesting user, NotFound (404) unless they may see it, AccessDenied
(403) unless they may do the view's ``action`` to it; the view gets the object.

Act: the view calls a service (which asks the policy again for what it does).

Commit: every request works in one database session (``db_session()``). At its end the
session is committed when the request succeeded (a response under 400) and rolled back
otherwise. A request the services refused (``refused``: an error page, a form shown again
with the service's objections, a conflict page) ends its transaction at the refusal:
rolled back, so nothing a service changed before it refused is saved, and what the view
shows next is read afresh; committed only when the error ``keeps_changes`` (a failed
login counts towards the lock). Views never commit or roll back.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

from flask import Flask, current_app, flash, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import jobs, metrics
from portal.db import db_session
from portal.forms.errors import attach_service_errors
from portal.http import requester
from portal.services import access, agreements, audit, cases, documents, followups
from portal.services.errors import InvalidInput, NotFound, PortalError
from portal.services.validation import MAX_INTEGER


class Loader:
    """Loads the object a URL names, for the requesting user, and checks an action on it.

    ``@with_x(action)`` decorates a view: it gets the object instead of its id. Where no
    view runs (an error handler), ``with_x.load(id, action)`` does the same.
    """

    def __init__(self, param: str, name: str, load: Callable, visible: str) -> None:
        self.param, self.name, self._load, self.visible = param, name, load, visible

    def load(self, ident: int, action: str | None = None, visible: str | None = None):
        """The object ``ident``: NotFound unless visible, AccessDenied unless ``action``."""
        user = requester().user
        target = self._load(db_session(), user, ident, visible or self.visible)
        if action is not None:
            access.require(user, action, target)
        return target

    def __call__(self, action: str | None = None, *, visible: str | None = None):
        def decorate(view):
            @wraps(view)
            def load_then_view(**kwargs):
                target = self.load(kwargs.pop(self.param), action, visible)
                return view(**{self.name: target}, **kwargs)

            return load_then_view

        return decorate


# ``@with_case(access.EDIT_CASE)``: the view gets ``case``; 404 unless the user may read it
# (``visible=`` another action: e.g. READ_CASE_METADATA for coordinators), 403 unless they
# may edit it.
with_case = Loader("case_id", "case", cases.get_case, access.READ_CASE)
with_document = Loader("document_id", "document", documents.get_document, access.READ_DOCUMENT)
with_agreement = Loader("document_id", "document", agreements.get_agreement, access.READ_DOCUMENT)
with_followup = Loader("followup_id", "followup", followups.get_followup, access.READ_FOLLOWUP)


def requires(action: str):
    """``@requires(access.CREATE_CASE)``: 403 unless the user may do ``action`` at all
    (for views whose URL names no object)."""

    def decorate(view):
        @wraps(view)
        def check_then_view(**kwargs):
            access.require(requester().user, action)
            return view(**kwargs)

        return check_then_view

    return decorate


# What a user whose password someone else set may open before choosing their own.
OWN_ACCOUNT_ENDPOINTS = frozenset(
    {"account.index", "account.change_password", "auth.login", "auth.logout",
     "main.set_language", "main.health_live", "main.health_ready", "static"}
)  # fmt: skip


def own_password_first():
    """Before every page: a user who may not use the portal before changing the password an
    administrator set (``access.USE_PORTAL``) is sent to the account page. (The API
    refuses such a user's token in its own authentication.)"""
    if request.blueprint == "api" or request.endpoint in OWN_ACCOUNT_ENDPOINTS:
        return None
    if current_user.is_authenticated and not access.can(current_user, access.USE_PORTAL):
        flash(_l("Please choose your own password before you continue."), "info")
        return redirect(url_for("account.index"))
    return None


access_log = logging.getLogger("portal.access")
REQUEST_ID_FORMAT = re.compile(r"[A-Za-z0-9._-]{1,64}")

# What no text field may hold: NUL (PostgreSQL refuses it in text) and lone UTF-16
# surrogates (JSON can write "\ud800"; no database stores one).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableText(InvalidInput):
    """Text with a character no database can store."""

    code = "invalid_characters"


def begin_request() -> None:
    """First of all: the request's id (a proxy's ``X-Request-ID`` when it is a plain token,
    else a new one), for the access log, the audit events and the answer's header."""
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID_FORMAT.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    audit.REQUEST_ID.set(g.request_id)


def log_request(response):
    """Last of all: the request's id in the answer, and one line in the access log (method,
    route template, status, duration, request id, user id: never names, queries or
    contents)."""
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers["X-Request-ID"] = request_id
    user = g.get("api_user") or (current_user if current_user.is_authenticated else None)
    route = request.url_rule.rule if request.url_rule else "-"
    seconds = time.perf_counter() - g.request_started
    metrics.observe_request(request.method, route, response.status_code, seconds)
    access_log.info(
        "request",
        extra={"access": {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "ms": round(seconds * 1000, 1),
            "request_id": request_id,
            "user_id": getattr(user, "id", None),
        }},
    )  # fmt: skip
    audit.REQUEST_ID.set(None)
    return response


def refuse_unstorable_input() -> None:
    """Before every request: an id in the URL beyond the database's integers names nothing
    (404); the query string, form fields and JSON body must be text a database can store,
    and JSON no deeper than the parser can take (400 otherwise), before any view or service
    sees them. (File contents are bytes, not checked here.)"""
    if request.blueprint != "api":  # the API answers 401 first, then checks (its own hook)
        refuse_ids_beyond_integers()
    values = [
        text
        for fields in (request.args, request.form)
        for name, given in fields.lists()
        for text in (name, *given)
    ]
    forms = ("multipart/form-data", "application/x-www-form-urlencoded")
    if request.is_json or (request.blueprint == "api" and request.mimetype not in forms):
        try:
            body = request.get_json(force=True, silent=True)
        except RecursionError:
            raise InvalidInput(_l("The JSON body is nested too deeply.")) from None
        values += _strings_of(body)
    if any(UNSTORABLE.search(value) for value in values if isinstance(value, str)):
        raise UnstorableText(
            _l("The input contains a character that cannot be stored (NUL or an invalid one).")
        )


def refuse_ids_beyond_integers() -> None:
    """NotFound for a number in the URL beyond the database's integers: no row has it, and
    the database would overflow on it."""
    if any(isinstance(v, int) and v > MAX_INTEGER for v in (request.view_args or {}).values()):
        raise NotFound()


def _strings_of(data: object) -> list[str]:
    """Every string (keys too) inside a parsed JSON value, without recursion."""
    strings, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return strings


def refused(error: Exception) -> None:
    """End the request's changes at ``error``: rolled back, unless the error keeps them
    (then everything the request changed so far is committed: such errors are raised only
    where the refusal itself is the request's first write, the failed login)."""
    g.refusal = error
    if getattr(error, "keeps_changes", False):
        db_session().commit()
    else:
        db_session().rollback()


@dataclass
class Refusal:
    """What ``shown_at`` caught, if anything."""

    error: PortalError | None = None

    @property
    def status(self) -> int:
        """The error's HTTP status (for the page that shows the form again), else 200."""
        return self.error.status if self.error else 200


@contextmanager
def shown_at(form, *errors: type[PortalError]) -> Iterator[Refusal]:
    """Run a service call whose ``errors`` are shown at ``form``'s fields (the request is
    refused, the view goes on to show the form again); other errors go to the error pages."""
    refusal = Refusal()
    try:
        yield refusal
    except errors as error:
        refused(error)
        attach_service_errors(form, error)
        refusal.error = error


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the request's changes are committed (never if they are not):
    what cannot be rolled back, such as deleting files."""
    g.setdefault("after_commit", []).append(action)


def finish(response):
    """Commit or roll back the request's session (after the view and any error handler)."""
    if "db_session" not in g:
        return response
    refusal = g.pop("refusal", None)
    keep = response.status_code < 400 and refusal is None
    actions = g.pop("after_commit", [])
    queued = g.db_session.info.pop("outbox_dirty", False)
    if not keep:
        g.db_session.rollback()
        return response
    g.db_session.commit()
    if queued:
        _run_outbox(current_app)
    for action in actions:
        try:
            action()
        except Exception:  # the change is committed: the request succeeded all the same
            current_app.logger.exception("after-commit action failed")
    return response


def _run_outbox(app: Flask) -> None:
    """Work queued by this request: inline when testing (deterministic), else in the background."""
    if app.config.get("OUTBOX_INLINE"):
        jobs.drain(app)
    else:
        app.extensions["portal.drainer"].wake()
