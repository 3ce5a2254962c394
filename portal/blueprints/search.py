"""The search page: full text over everything the user may see, with facets."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import login_required
from sqlalchemy import select

from portal.db import db_session
from portal.http import requester
from portal.models import Case, Organisation
from portal.services import search
from portal.services.errors import InvalidInput
from portal.services.paging import page_count

bp = Blueprint("search", __name__)


@bp.get("/search")
@login_required
def results():
    """Search results for ``q`` with filters; without ``q`` just the form."""
    if not request.args.get("q", "").strip():
        return render_template("search/results.html", query=None, found=[], result=None)
    try:
        query = search.parse_query(request.args)
        found, result = search.search(
            db_session(), current_app.extensions["portal.search"], requester(), query
        )
    except InvalidInput as exc:
        return render_template(
            "search/results.html", query=None, found=[], result=None, error=exc.message
        ), 400
    return render_template(
        "search/results.html", query=query, found=found, result=result,
        cases=_cases(found), organisations=_organisation_names(),
        pages=page_count(result.total, query.per_page),
    )  # fmt: skip


def _cases(found) -> dict[int, Case]:
    ids = {f.document.case_id for f in found}
    if not ids:
        return {}
    return {c.id: c for c in db_session().scalars(select(Case).where(Case.id.in_(ids)))}


def _organisation_names() -> dict[str, str]:
    return {str(o.id): o.name for o in db_session().scalars(select(Organisation))}
