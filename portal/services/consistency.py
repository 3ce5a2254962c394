"""``portal check``: compare database, blob store and search index; repair what can be repaired.

Orphans arise legitimately: an upload whose save then failed (version conflict,
validation) leaves its file in the store; a crash between commit and index update
leaves the index behind until the outbox drains. Nothing here touches contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from portal.models import Blob, Consent, DocumentVersion, Organisation, OutboxJob, utcnow
from portal.services import outbox, search
from portal.services.storage import BlobStore

# Files younger than this may belong to an upload still being saved.
GRACE = timedelta(hours=1)


@dataclass
class CheckReport:
    """What does not fit together; ``repaired`` says what was fixed."""

    orphan_files: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    unreferenced_blobs: list[str] = field(default_factory=list)
    unindexed_versions: list[int] = field(default_factory=list)
    stale_index_entries: list[int] = field(default_factory=list)
    failing_jobs: list[int] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        problems = (
            self.orphan_files, self.missing_files, self.unreferenced_blobs,
            self.unindexed_versions, self.stale_index_entries, self.failing_jobs,
        )  # fmt: skip
        return not any(problems)


def check(session: Session, store: BlobStore, backend, *, repair: bool = False) -> CheckReport:
    """Compare the three stores; with ``repair``, fix orphans and re-index what is missing."""
    report = CheckReport(orphan_files=orphan_files(session, store))
    known = set(session.scalars(select(Blob.sha256)))
    report.missing_files = sorted(h for h in known if not store.exists(h))
    referenced = set(
        session.scalars(
            union(
                select(DocumentVersion.blob_sha256).where(DocumentVersion.blob_sha256.is_not(None)),
                select(Consent.form_blob_sha256).where(Consent.form_blob_sha256.is_not(None)),
                select(Organisation.logo_sha256).where(Organisation.logo_sha256.is_not(None)),
            )
        )
    )
    report.unreferenced_blobs = sorted(known - referenced)
    in_db = set(session.scalars(select(DocumentVersion.id)))
    in_index = backend.version_ids()
    report.unindexed_versions = sorted(in_db - in_index)
    report.stale_index_entries = sorted(in_index - in_db)
    report.failing_jobs = list(
        session.scalars(select(OutboxJob.id).where(OutboxJob.attempts >= outbox.MAX_ATTEMPTS))
    )
    if repair:
        _repair(session, store, backend, report)
    return report


def orphan_files(session: Session, store: BlobStore) -> list[str]:
    """Stored files no database row names, older than ``GRACE`` (younger ones may belong to
    an upload still being saved)."""
    known = set(session.scalars(select(Blob.sha256)))
    cutoff = (utcnow() - GRACE).timestamp()
    return [
        sha256
        for sha256, path in store.iter_blobs()
        if sha256 not in known and path.stat().st_mtime < cutoff
    ]


def _repair(session: Session, store: BlobStore, backend, report: CheckReport) -> None:
    for sha256 in report.orphan_files:
        store.delete(sha256)
    if report.orphan_files:
        report.repaired.append(f"orphan files deleted: {len(report.orphan_files)}")
    if report.unreferenced_blobs:
        session.execute(delete(Blob).where(Blob.sha256.in_(report.unreferenced_blobs)))
        session.commit()
        for sha256 in report.unreferenced_blobs:
            store.delete(sha256)
        report.repaired.append(f"unreferenced blobs deleted: {len(report.unreferenced_blobs)}")
    if report.unindexed_versions or report.stale_index_entries:
        backend.update([], report.stale_index_entries)
        documents = set(
            session.scalars(
                select(DocumentVersion.document_id).where(
                    DocumentVersion.id.in_(report.unindexed_versions)
                )
            )
        )
        for document_id in documents:
            search.index_document(session, backend, document_id)
        report.repaired.append(
            f"index: {len(documents)} documents re-indexed,"
            f" {len(report.stale_index_entries)} stale entries removed"
        )
