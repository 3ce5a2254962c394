"""API: full-text search over the documents the user may see, with facets."""

from __future__ import annotations

from flask import current_app, request

from portal.blueprints.api import bp
from portal.blueprints.api.operations import operation
from portal.blueprints.api.schemas.sharing import FACETS, SearchParameters, SearchResult
from portal.db import db_session
from portal.http import requester
from portal.services import search


@bp.get("/search")
@operation(
    "Full-text search over the documents you may see",
    description="Titles, texts (also extracted from uploaded files), person names and case "
    "references. Every hit is checked with the access policy. The search is audited "
    "without its words.",
    query=SearchParameters,
    returns=SearchResult,
    errors={
        400: "Invalid query or filters; `error.fields.q` is `required`, `too_long`, `syntax`, "
        "`short_prefix` or `nothing_to_search`; `from` and `to` `invalid_date`; other "
        "fields `invalid`"
    },
    operation_id="search",
)
def search_documents(query: SearchParameters):
    """One page of hits for ``q`` and the filters, every hit re-checked with the access policy."""
    args = request.args.copy()
    args["per_page"] = str(query.per_page)  # the API's default, not the web page's
    wanted = search.parse_query(args)
    found, result = search.search(
        db_session(), current_app.extensions["portal.search"], requester(), wanted
    )
    return {
        "total": result.total,
        "hits": [hit_json(f, f.document.case.reference) for f in found],
        "facets": {name: result.facets.get(name, {}) for name in FACETS},
        "page": wanted.page,
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
