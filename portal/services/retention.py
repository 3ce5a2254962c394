"""Retention and deletion: what is due, and one consistent purge path for all of it.

Closed cases are deleted ``retention_years`` after closing (per document type
configurable); erasure requests (Art. 17 GDPR) use the same path at once. A purge
removes the person, case, documents, versions, consents, phase history, follow-ups,
pending jobs and no longer referenced blobs, leaves an audit tombstone and a deletion
certificate, and never any personal data in either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import (
    Blob,
    Case,
    Consent,
    Document,
    DocumentVersion,
    FollowUp,
    Organisation,
    OutboxJob,
    PhaseChange,
    User,
)
from portal.models.base import local_date, local_today
from portal.models.retention import DeletionCertificate
from portal.services import access, audit, outbox
from portal.services.documents import EXTRACT_JOB, case_owner
from portal.services.search import INDEX_CASE_JOB
from portal.services.storage import BlobStore


@dataclass(frozen=True)
class RetentionRule:
    """Years after closing, by default and per document type."""

    default_years: int = 3
    by_type: dict[str, int] = field(default_factory=dict)

    def years_for(self, doc_type: str) -> int:
        return self.by_type.get(doc_type, self.default_years)


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    case_ids: list[int] = field(default_factory=list)
    document_ids: list[int] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    blobs_deleted: list[str] = field(default_factory=list)
    certificate_id: int | None = None


def deletion_date(case: Case, rule: RetentionRule, doc_types: set[str]) -> date | None:
    """When a closed case is due: the longest retention among its document types."""
    if case.closed_at is None:
        return None
    years = max([rule.default_years, *(rule.years_for(t) for t in doc_types)])
    closed = local_date(case.closed_at)
    return _add_years(closed, years)


def due(
    session: Session, rule: RetentionRule, today: date | None = None
) -> tuple[list[Case], list[Document]]:
    """Closed cases whose deletion date has come, and documents of other closed cases
    whose (shorter) type retention has run out."""
    today = today or local_today()
    cases_due, documents_due = [], []
    closed = session.scalars(select(Case).where(Case.closed_at.is_not(None)).order_by(Case.id))
    for case in closed:
        docs = list(session.scalars(select(Document).where(Document.case_id == case.id)))
        when = deletion_date(case, rule, {d.type for d in docs})
        if when is not None and when <= today:
            cases_due.append(case)
            continue
        closed_on = local_date(case.closed_at)
        documents_due.extend(
            d for d in docs if _add_years(closed_on, rule.years_for(d.type)) <= today
        )
    return cases_due, documents_due


def purge_due(
    session: Session,
    store: BlobStore,
    rule: RetentionRule,
    *,
    dry_run: bool = False,
    today: date | None = None,
) -> PurgeReport:
    """Delete everything past its retention date (``dry_run``: only report it)."""
    cases_due, documents_due = due(session, rule, today)
    return _purge(session, store, cases_due, documents_due, reason="retention", actor=None,
                  dry_run=dry_run)  # fmt: skip


def erase_case(
    session: Session, store: BlobStore, actor: User, case: Case, *, ip: str = ""
) -> PurgeReport:
    """Erase a person's case on request (Art. 17 GDPR), through the same purge path."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    return _purge(session, store, [case], [], reason="erasure_request", actor=actor, ip=ip)


def delete_unreferenced_blob_files(store: BlobStore, hashes: list[str]) -> None:
    """After the purge committed: remove the files whose rows went with it."""
    for sha256 in hashes:
        store.delete(sha256)


def _purge(
    session: Session,
    store: BlobStore,
    cases: list[Case],
    docs: list[Document],
    *,
    reason: str,
    actor: User | None,
    dry_run: bool = False,
    ip: str = "",
) -> PurgeReport:
    report = PurgeReport()
    if not cases and not docs:
        return report
    blob_candidates: set[str] = set()
    for document in docs:
        blob_candidates |= _delete_document(session, document, report)
    for case in cases:
        for document in session.scalars(select(Document).where(Document.case_id == case.id)):
            blob_candidates |= _delete_document(session, document, report)
        blob_candidates |= _delete_case(session, case, report)
    session.flush()
    report.blobs_deleted = sorted(h for h in blob_candidates if not _referenced(session, h))
    report.counts["blobs"] = len(report.blobs_deleted)
    if dry_run:
        session.rollback()
        return report
    if report.blobs_deleted:
        session.execute(delete(Blob).where(Blob.sha256.in_(report.blobs_deleted)))
    certificate = DeletionCertificate(
        reason=reason, requested_by_id=actor.id if actor else None, case_ids=report.case_ids,
        counts=dict(report.counts),
    )  # fmt: skip
    session.add(certificate)
    session.flush()
    report.certificate_id = certificate.id
    # What failed uploads of the cases left in the store (no row names it) goes at once;
    # the files of the rows deleted here go once this is committed.
    deleted = set(report.blobs_deleted)
    for case_id in report.case_ids:
        store.release_owner(
            case_owner(case_id), lambda sha256: sha256 in deleted or _recorded(session, sha256)
        )
    for case_id in {d.case_id for d in docs} | set(report.case_ids):
        outbox.enqueue(session, INDEX_CASE_JOB, case_id)  # drop from the search index
    for case_id in report.case_ids:
        audit.record(
            session, "delete", actor=actor, object_type="case", object_id=case_id, case_id=case_id,
            ip=ip, detail={"reason": reason, "certificate": certificate.id},
        )  # fmt: skip
    for document_id in report.document_ids:
        audit.record(
            session, "delete", actor=actor, object_type="document", object_id=document_id, ip=ip,
            detail={"reason": reason, "certificate": certificate.id},
        )  # fmt: skip
    return report


def _delete_document(session: Session, document: Document, report: PurgeReport) -> set[str]:
    versions = list(
        session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
    )
    version_ids = [v.id for v in versions]
    if version_ids:
        session.execute(
            delete(OutboxJob).where(
                OutboxJob.kind == EXTRACT_JOB, OutboxJob.object_id.in_(version_ids)
            )
        )
        session.execute(delete(DocumentVersion).where(DocumentVersion.id.in_(version_ids)))
    session.delete(document)
    report.document_ids.append(document.id)
    report.counts["documents"] += 1
    report.counts["versions"] += len(versions)
    return {v.blob_sha256 for v in versions if v.blob_sha256}


def _delete_case(session: Session, case: Case, report: PurgeReport) -> set[str]:
    blobs = {c.form_blob_sha256 for c in case.consents if c.form_blob_sha256}
    report.counts["consents"] += len(case.consents)
    for consent in list(case.consents):
        session.delete(consent)  # with its organisation links
    session.execute(delete(PhaseChange).where(PhaseChange.case_id == case.id))
    followups = session.execute(delete(FollowUp).where(FollowUp.case_id == case.id))
    report.counts["followups"] += followups.rowcount
    person = case.person
    session.delete(case)
    session.flush()
    if not session.scalar(select(Case.id).where(Case.person_id == person.id).limit(1)):
        session.delete(person)
        report.counts["persons"] += 1
    report.case_ids.append(case.id)
    report.counts["cases"] += 1
    return blobs


def _recorded(session: Session, sha256: str) -> bool:
    return session.get(Blob, sha256) is not None


def _referenced(session: Session, sha256: str) -> bool:
    in_versions = session.scalar(
        select(DocumentVersion.id).where(DocumentVersion.blob_sha256 == sha256).limit(1)
    )
    in_consents = session.scalar(
        select(Consent.id).where(Consent.form_blob_sha256 == sha256).limit(1)
    )
    # An organisation's letterhead logo may be the same bytes as an upload in a purged case.
    in_logos = session.scalar(
        select(Organisation.id).where(Organisation.logo_sha256 == sha256).limit(1)
    )
    return in_versions is not None or in_consents is not None or in_logos is not None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
