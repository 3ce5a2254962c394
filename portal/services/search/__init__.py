"""Search: what goes into the index, keeping it in step (outbox jobs), and querying it.

The index narrows results by ``acl`` tokens: an entry carries one per right to find it,
and a search matches the rights in force at that moment (``access.user_search_tokens``),
so consent days and revocations are exact in hits, totals and facets without
reindexing. Every hit is re-checked with the access policy as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from portal import metrics
from portal.models import (
    DOCUMENT_TYPES,
    FOCUS_AREAS,
    PHASES,
    Case,
    Consent,
    Document,
    DocumentVersion,
    OutboxJob,
    User,
)
from portal.models.base import LOCAL_TIMEZONE
from portal.services import access, audit
from portal.services.errors import InvalidInput
from portal.services.search.backend import (
    IndexEntry,
    SearchBackend,
    SearchQuery,
    SearchResult,
)

log = logging.getLogger(__name__)
INDEX_DOCUMENT_JOB = "index_document"
INDEX_CASE_JOB = "index_case"
REINDEX_BATCH = 200


def backend_name(backend: SearchBackend) -> str:
    """``tantivy``, ``whoosh`` or ``postgres``: the backend's name in settings and metrics."""
    return type(backend).__name__.removesuffix("Backend").lower()


def make_backend(kind: str, path: Path, engine=None) -> SearchBackend:
    """The configured backend: ``tantivy`` (default) or ``whoosh`` (an index in directory
    ``path``), or ``postgres`` (tables in the portal's own PostgreSQL database ``engine``)."""
    if kind == "tantivy":
        from portal.services.search.tantivy_backend import TantivyBackend

        return TantivyBackend(path)
    if kind == "whoosh":
        from portal.services.search.whoosh_backend import WhooshBackend

        return WhooshBackend(path)
    if kind == "postgres":
        from portal.services.search.pg_backend import PostgresBackend

        if engine is None:
            raise ValueError("PORTAL_SEARCH_BACKEND=postgres needs the portal's database engine")
        return PostgresBackend(engine)
    raise ValueError(f"unknown search backend {kind!r}")


def entries_for(
    session: Session, document: Document, versions: list[DocumentVersion] | None = None
) -> list[IndexEntry]:
    """Index entries for every version of a document (``versions``, when already loaded)."""
    case = document.case
    person = case.person
    names = " ".join([person.given_name, person.family_name, *person.aliases])
    acl = access.document_search_tokens(case, document)
    if versions is None:
        versions = session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document.id)
        )
    return [
        IndexEntry(
            version_id=v.id,
            document_id=document.id,
            number=v.number,
            current=v.number == document.current_version,
            case_id=case.id,
            case_reference=case.reference,
            title=v.title,
            body=v.extracted_text or "",
            names=names,
            type=document.type,
            phase=case.phase,
            focus=list(case.focus_areas),
            organisation_id=document.author_organisation_id,
            date=v.created_at,
            acl=acl,
        )
        for v in versions
    ]


def index_document(session: Session, backend: SearchBackend, document_id: int) -> None:
    """Outbox job: (re)index every version of a document."""
    document = session.get(Document, document_id)
    if document is not None:
        backend.update(entries_for(session, document), [])


def index_documents(session: Session, backend: SearchBackend, document_ids: list[int]) -> None:
    """Outbox batch: (re)index every version of these documents, in one index commit."""
    entries = _entries_of(session, Document.id.in_(document_ids))
    if entries:
        backend.update(entries, [])


def index_case(session: Session, backend: SearchBackend, case_id: int) -> None:
    """Outbox job: reindex a case's documents (after consent, phase or lead changes, or
    deletions); a case that no longer exists leaves the index."""
    backend.replace_case(case_id, _entries_of(session, Document.case_id == case_id))


def reindex_all(session: Session, backend: SearchBackend) -> int:
    """Rebuild the index from the database; return the number of entries."""
    return backend.rebuild(_all_entries(session))


# What the access policy reads of a document's case, loaded with the documents.
_WITH_CASE_ACCESS = (
    selectinload(Document.case).selectinload(Case.consents).selectinload(Consent.organisations)
)


_WITHOUT_TEXTS = (
    defer(DocumentVersion.text),
    defer(DocumentVersion.extracted_text),
    defer(DocumentVersion.fields),
)


def _all_entries(session: Session) -> Iterator[list[IndexEntry]]:
    """Every document's entries, REINDEX_BATCH documents at a time."""
    last_id = 0
    while True:
        ids = session.scalars(
            select(Document.id)
            .where(Document.id > last_id)
            .order_by(Document.id)
            .limit(REINDEX_BATCH)
        ).all()
        if not ids:
            return
        yield _entries_of(session, Document.id.in_(ids))
        session.expunge_all()
        last_id = ids[-1]


def _entries_of(session: Session, condition) -> list[IndexEntry]:
    """The entries of the documents matching ``condition``: documents, cases with their
    consents, and versions loaded in one query each."""
    documents = list(
        session.scalars(
            select(Document).where(condition).options(_WITH_CASE_ACCESS).order_by(Document.id)
        )
    )
    versions: dict[int, list[DocumentVersion]] = {}
    for version in session.scalars(
        select(DocumentVersion).where(DocumentVersion.document_id.in_([d.id for d in documents]))
    ):
        versions.setdefault(version.document_id, []).append(version)
    return [
        entry
        for document in documents
        for entry in entries_for(session, document, versions.get(document.id, []))
    ]


def parse_query(args) -> SearchQuery:
    """A SearchQuery from request arguments (``q``, ``type``, ``phase``, ``focus``,
    ``organisation``, ``from``, ``to``, ``case``, ``all``, ``sort``, ``page``, ``per_page``)."""
    errors: dict[str, str] = {}

    def number(name: str, default: int | None, low: int = 1, high: int = 10**9) -> int | None:
        raw = args.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            errors[name] = "invalid"
            return default
        return value

    def day(name: str, end: bool = False) -> datetime | None:
        raw = args.get(name)
        if not raw:
            return None
        try:
            chosen = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "invalid_date"
            return None
        # A calendar day in Germany, as the user means it (the index holds UTC).
        moment = datetime.combine(chosen, time.max if end else time.min, LOCAL_TIMEZONE)
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 1 January of year 1 starts before UTC's year 1
            return datetime.min.replace(tzinfo=UTC)

    types = [t for t in _values(args, "type") if t]
    if set(types) - set(DOCUMENT_TYPES):
        errors["type"] = "invalid"
    phase = args.get("phase") or None
    if phase and phase not in PHASES:
        errors["phase"] = "invalid"
    focus = args.get("focus") or None
    if focus and focus not in FOCUS_AREAS:
        errors["focus"] = "invalid"
    sort = args.get("sort") or "relevance"
    if sort not in ("relevance", "date"):
        errors["sort"] = "invalid"
    query = SearchQuery(
        text=args.get("q", ""), types=types, phase=phase, focus=focus,
        organisation_id=number("organisation", None), date_from=day("from"),
        date_to=day("to", end=True), case_id=number("case", None),
        all_versions=args.get("all") in ("1", "true", "on"), sort=sort,
        page=number("page", 1, high=1000), per_page=number("per_page", 20, high=100),
    )  # fmt: skip
    if errors:
        raise InvalidInput(_l("Please check the search filters."), fields=errors)
    return query


def _stale_for(session: Session, user: User) -> list[int]:
    """The cases whose index entries may still carry rights the user no longer has: those
    with an index update pending (a consent revoked, a hand-over, a document's categories
    changed, a purge), but for the cases the user's organisation leads, whose right does
    not come from a consent."""
    pending = set(
        session.scalars(select(OutboxJob.object_id).where(OutboxJob.kind == INDEX_CASE_JOB))
    ) | set(
        session.scalars(
            select(Document.case_id)
            .join(OutboxJob, OutboxJob.object_id == Document.id)
            .where(OutboxJob.kind == INDEX_DOCUMENT_JOB)
        )
    )
    if not pending:
        return []
    leads = {
        c.id: c.lead_organisation_id
        for c in session.scalars(select(Case).where(Case.id.in_(pending)))
    }
    return sorted(c for c in pending if leads.get(c) != user.organisation_id)


def _values(args, name: str) -> list[str]:
    if hasattr(args, "getlist"):
        return args.getlist(name)
    value = args.get(name)
    return value if isinstance(value, list) else [value] if value else []


@dataclass
class Found:
    """A hit the user may see, with its document and version."""

    document: Document
    version: DocumentVersion
    score: float
    highlights: list[str]


def search(
    session: Session, backend: SearchBackend, who: audit.Requester, query: SearchQuery
) -> tuple[list[Found], SearchResult]:
    """Run ``query`` for ``who``; every hit re-checked with the access policy. That a search
    happened is audited (how many hits), never what was searched for.

    Cases with a pending index update (a consent just revoked, a hand-over, a purge)
    may still carry old acl tokens in the index; those the user may no longer read
    are excluded from the query itself, so that totals and facet counts do not
    reveal them either.
    """
    found, result = _search(session, backend, who.user, query)
    audit.record_read(
        session, who, "search", "search", hits=result.total, incomplete=result.incomplete
    )
    return found, result


def _search(
    session: Session, backend: SearchBackend, user: User, query: SearchQuery
) -> tuple[list[Found], SearchResult]:
    query.exclude_case_ids = _stale_for(session, user)
    tokens = access.user_search_tokens(session, user)
    with metrics.SEARCH_SECONDS.labels(backend_name(backend)).time():
        result = backend.search(query, tokens)
    version_ids = [hit.version_id for hit in result.hits]
    versions = {
        v.id: v
        for v in session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.id.in_(version_ids))
            .options(*_WITHOUT_TEXTS)  # a page of hits needs no document texts
        )
    }
    documents = {
        d.id: d
        for d in session.scalars(
            select(Document)
            .where(Document.id.in_({v.document_id for v in versions.values()}))
            .options(_WITH_CASE_ACCESS)
        )
    }
    found = []
    for hit in result.hits:
        version = versions.get(hit.version_id)
        document = documents.get(version.document_id) if version else None
        if document is not None and access.can(user, access.FIND_DOCUMENT, document):
            found.append(Found(document, version, hit.score, hit.highlights))
    hidden = len(result.hits) - len(found)
    if hidden:  # the index is behind the database (a job still queued): say so, count right
        log.warning("search: %d hits of a page hidden by the policy re-check", hidden)
        result.total = max(0, result.total - hidden)
    return found, result


def similar(
    session: Session, backend: SearchBackend, user: User, version: DocumentVersion, limit: int = 5
) -> list[Document]:
    """ "Ähnliche Dokumente": other documents with the most key terms in common, that
    ``user`` may read (re-checked with the policy like every search hit)."""
    hits = backend.similar(version.id, access.user_search_tokens(session, user), limit)
    found = {
        d.id: d
        for d in session.scalars(
            select(Document).where(Document.id.in_([h.document_id for h in hits]))
        )
    }
    return [
        found[h.document_id]
        for h in hits
        if h.document_id in found and access.can(user, access.FIND_DOCUMENT, found[h.document_id])
    ]
