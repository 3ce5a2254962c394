"""The JSON API (``/api/v1``): bearer-token authentication and shared helpers."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from portal.db import db_session
from portal.models import User
from portal.services import tokens
from portal.services.errors import InvalidInput, PortalError

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
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
    g.api_user = user


def api_user() -> User:
    """The user the request's token belongs to."""
    return g.api_user


def page_args() -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1..200) from the query string."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError as exc:
        raise InvalidInput(_l("page and per_page must be whole numbers.")) from exc
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(_l("page must be at least 1 and per_page between 1 and 200."))
    return page, per_page


def list_envelope(statement: Select, serialise) -> dict:
    """Run ``statement`` for the requested page: ``{"items", "total", "page"}``."""
    page, per_page = page_args()
    session = db_session()
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    offset = (page - 1) * per_page
    # A page past the end is empty; asking the database would overflow its integer offset.
    rows = session.scalars(statement.limit(per_page).offset(offset)) if offset < total else []
    return {"items": [serialise(row) for row in rows], "total": total, "page": page}


from portal.blueprints.api import cases, documents, openapi, organisations  # noqa: E402,F401  (routes)
