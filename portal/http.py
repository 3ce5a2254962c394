"""Helpers for the current request, shared by every blueprint: who is asking and from where,
where uploads go, and how an error is answered (JSON for the API, a page for people).

Imports no blueprint, so that any blueprint can import it.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user

from portal.services.audit import Requester
from portal.services.documents import SaveContext


def client_ip() -> str:
    """The client's address (behind a proxy, as ProxyFix resolved it)."""
    return request.remote_addr or ""


def requester() -> Requester:
    """Who makes this request: on the API the token's user, on pages the logged-in one."""
    if wants_json():
        return Requester(g.api_user, client_ip(), "api")
    return Requester(current_user._get_current_object(), client_ip(), "web")


def safe_local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def save_context() -> SaveContext:
    """Where this app stores uploads, and their size limit."""
    settings = current_app.extensions["portal.settings"]
    return SaveContext(current_app.extensions["portal.blobs"], settings.max_upload_mb * 2**20)


def wants_json() -> bool:
    """True for API requests, which get the JSON error object instead of a page."""
    return request.path.startswith("/api/")


def error_response(
    status: int, code: str, message, fields: dict | None = None, extra: dict | None = None
):
    """The JSON error object for the API (``extra`` beside it), or the error page for people."""
    if wants_json():
        body = {"error": {"code": code, "message": str(message)}, **(extra or {})}
        if fields:
            body["error"]["fields"] = fields
        response = jsonify(body)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kim-portal"'
        return response
    html = render_template("errors/error.html", status=status, message=message)
    return html, status
