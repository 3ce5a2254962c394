"""The case folder: everything one user sees of one case, gathered (and audited) in one place.

The folder page shows what ``open_folder`` returns and queries nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.models import (
    DOCUMENT_TYPES,
    Case,
    Document,
    DocumentVersion,
    FollowUp,
    Organisation,
    PhaseChange,
    User,
)
from portal.services import access, audit, cases, documents, followups, goals

TIMELINE_LENGTH = 20


@dataclass
class TimelineEntry:
    """A phase change or a saved version, with who made it."""

    at: datetime
    user: User | None
    organisation: Organisation | None
    kind: str  # "phase" or "version"
    change: PhaseChange | None = None
    version: DocumentVersion | None = None
    document: Document | None = None


@dataclass
class Folder:
    """A case as its folder shows it to one user."""

    case: Case
    documents: dict[str, list[tuple[Document, DocumentVersion]]]  # by type, all types present
    timeline: list[TimelineEntry]
    open_goals: list[goals.OpenGoal]
    open_followups: list[FollowUp]


def open_folder(session: Session, who: audit.Requester, case: Case, *, today: date) -> Folder:
    """The folder of a case ``who`` may read in full; the view is audited."""
    user = who.user
    access.require(user, access.READ_CASE, case)
    audit.record_read(session, who, "view", "case", case.id, case.id)
    listed = documents.list_documents(session, user, case)
    by_type: dict[str, list] = {doc_type: [] for doc_type in DOCUMENT_TYPES}
    for document, version in listed:
        by_type[document.type].append((document, version))
    return Folder(
        case=case,
        documents=by_type,
        timeline=_timeline(session, case, [document for document, _version in listed]),
        open_goals=goals.open_goals(session, user, case, today),
        open_followups=list(session.scalars(followups.case_statement(user, case))),
    )


def _timeline(session: Session, case: Case, shown: list[Document]) -> list[TimelineEntry]:
    """Phase changes and versions of the ``shown`` documents, newest first.

    A fixed number of queries, however many documents the folder holds: the
    versions come in one query with their authors, the remaining people in another.
    """
    by_id = {document.id: document for document in shown}
    versions = []
    if by_id:
        versions = session.scalars(
            select(DocumentVersion)
            .options(joinedload(DocumentVersion.author), joinedload(DocumentVersion.organisation))
            .where(DocumentVersion.document_id.in_(by_id))
            .order_by(DocumentVersion.created_at.desc(), DocumentVersion.id.desc())
            .limit(TIMELINE_LENGTH)
        ).all()
    changes = cases.phase_history(session, case)[-TIMELINE_LENGTH:]
    user_ids = {change.user_id for change in changes if change.user_id}
    if user_ids:  # into the identity map, so that change.user needs no query of its own
        session.scalars(select(User).where(User.id.in_(user_ids))).all()
    entries = [_phase_entry(change) for change in changes]
    entries += [
        TimelineEntry(
            version.created_at,
            version.author,
            version.organisation,
            "version",
            version=version,
            document=by_id[version.document_id],
        )
        for version in versions
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:TIMELINE_LENGTH]


def _phase_entry(change: PhaseChange) -> TimelineEntry:
    organisation = change.user.organisation if change.user else None
    return TimelineEntry(change.at, change.user, organisation, "phase", change=change)
