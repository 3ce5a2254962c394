"""API: full-text search over the documents the user may see, with facets."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import DEFAULT_PER_PAGE, bp
from portal.db import db_session
from portal.http import requester
from portal.services import search
from portal.services.errors import InvalidInput

FACETS = ("type", "phase", "focus", "organisation", "year")


@bp.get("/search")
def search_documents():
    """One page of hits for ``q`` and the filters, every hit re-checked with the access policy."""
    if not request.args.get("q", "").strip():
        raise InvalidInput(_l("Please enter a search term."), fields={"q": "required"})
    args = request.args.copy()
    if not args.get("per_page"):
        args["per_page"] = str(DEFAULT_PER_PAGE)
    query = search.parse_query(args)
    session = db_session()
    found, result = search.search(
        session, current_app.extensions["portal.search"], requester(), query
    )
    return {
        "total": result.total,
        "hits": [hit_json(f, f.document.case.reference) for f in found],
        "facets": {name: result.facets.get(name, {}) for name in FACETS},
        "page": query.page,
        "incomplete": result.incomplete,
    }


def hit_json(found: search.Found, case_reference: str) -> dict:
    """A hit: which document and version, where it matched («…» marks the matches), how well."""
    return {
        "document_id": found.document.id,
        "case_id": found.document.case_id,
        "case_reference": case_reference,
        "title": found.version.title,
        "type": found.document.type,
        "version": found.version.number,
        "highlights": list(found.highlights),
        "score": found.score,
    }
