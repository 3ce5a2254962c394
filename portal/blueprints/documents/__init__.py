"""Document pages: writing, versions, diff, restore, conflicts, uploads and downloads.

Every view loads the document (or case) through the pipeline's loaders, which check
access and answer NotFound for what the user may not see; saving goes through the
services. ``editor`` writes (new documents, new versions, conflicts), ``versions``
reads (a version, the diff, downloads) and restores.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from portal.db import db_session
from portal.models import Document, DocumentVersion
from portal.services import accounts, agreements, documents

bp = Blueprint("documents", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user."""


def signature_of(document: Document | None, version: DocumentVersion | None = None):
    """How an agreement's ``version`` (default: the current one) stands with its signature."""
    if document is None or document.type != "agreement":
        return None
    session = db_session()
    version = version or documents.get_version(session, document, document.current_version)
    return agreements.signature(session, document, version)


def organisation_names(document: Document) -> dict[int, str]:
    if document.type != "agreement":
        return {}
    return {org.id: org.name for org in accounts.list_organisations(db_session())}


from portal.blueprints.documents import editor, versions  # noqa: E402,F401  (routes)
