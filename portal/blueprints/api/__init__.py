"""The JSON API (``/api/v1``): bearer-token authentication and shared helpers."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from portal.blueprints.api.operations import page_args
from portal.db import db_session
from portal.models import User
from portal.pipeline import refuse_ids_beyond_integers
from portal.services import access, paging, tokens
from portal.services.errors import AccessDenied, PortalError

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}


class Unauthenticated(PortalError):
    """No valid bearer token."""

    code = "unauthenticated"
    status = 401


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, plain = request.headers.get("Authorization", "").partition(" ")
    user = tokens.authenticate(db_session(), plain.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthenticated(_l("Missing, invalid or revoked API token."))
    if not access.can(user, access.USE_PORTAL):
        raise AccessDenied(
            _l("Your password was set by an administrator: choose your own in the portal first.")
        )
    g.api_user = user
    refuse_ids_beyond_integers()


def api_user() -> User:
    """The user the request's token belongs to."""
    return g.api_user


def requested_page(statement: Select) -> paging.Page:
    """The page of ``statement``'s rows that the query string asks for."""
    asked = page_args()
    return paging.page_of(db_session(), statement, asked.page, asked.per_page)


def list_envelope(statement: Select, serialise) -> dict:
    """Run ``statement`` for the requested page: ``{"items", "total", "page"}``."""
    page = requested_page(statement)
    return {
        "items": [serialise(row) for row in page.items],
        "total": page.total,
        "page": page.number,
    }


def list_page(items: list, serialise) -> dict:
    """The requested page of an already loaded list: ``{"items", "total", "page"}``."""
    asked = page_args()
    start = (asked.page - 1) * asked.per_page
    chosen = items[start : start + asked.per_page]
    return {"items": [serialise(item) for item in chosen], "total": len(items), "page": asked.page}


from portal.blueprints.api import (  # noqa: E402,F401  (routes)
    agreements,
    audit_trail,
    cases,
    consents,
    documents,
    followups,
    openapi,
    organisations,
    printing,
    search,
)
