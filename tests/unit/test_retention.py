"""Retention and purge: closed cases disappear completely, leaving only a certificate."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Blob,
    Case,
    Consent,
    Document,
    DocumentVersion,
    Person,
    PhaseChange,
    utcnow,
)
from portal.models.retention import DeletionCertificate
from portal.services import audit, cases, consents, documents, retention
from portal.services.errors import AccessDenied

RULE = retention.RetentionRule(default_years=3)


@pytest.fixture
def closed_case(db, make_user, make_case, make_note, save_ctx):
    """A closed case with a note, an uploaded file, a consent; closed ``years_ago`` later."""
    worker, partner = make_user(), make_user()
    case = make_case(worker, given_name="Yonas", family_name="Tesfay")
    make_note(worker, case, text="Einzigartiges Wort: Quellenwasserspiegel")
    upload = documents.Upload(io.BytesIO(b"Bescheinigung ueber Kursbesuch"), "kurs.txt")
    documents.create_document(
        db, worker, case, doc_type="file", title="Kurs", content=documents.Content(upload=upload),
        ctx=save_ctx,
    )  # fmt: skip
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    cases.update_case(db, worker, case, phase="abgeschlossen")
    db.commit()
    return worker, case


def _close_years_ago(db, case, years: float) -> None:
    case.closed_at = utcnow() - timedelta(days=365.25 * years)
    db.commit()


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_open_and_recent_cases_are_not_due(db, closed_case, make_user, make_case):
    _worker, case = closed_case
    make_case(make_user())  # open
    _close_years_ago(db, case, 2.9)
    cases_due, documents_due = retention.due(db, RULE)
    assert (cases_due, documents_due) == ([], [])


def test_dry_run_reports_and_changes_nothing(db, app, closed_case):
    _worker, case = closed_case
    _close_years_ago(db, case, 3.1)
    report = retention.purge_due(db, app.extensions["portal.blobs"], RULE, dry_run=True)
    assert report.case_ids == [case.id]
    assert report.counts["documents"] == 2 and report.counts["blobs"] == 1
    db.expire_all()
    assert db.get(Case, case.id) is not None
    assert _count(db, DeletionCertificate) == 0


def test_purge_leaves_no_row_or_file_behind_but_a_certificate(db, app, closed_case):
    _worker, case = closed_case
    _close_years_ago(db, case, 3.1)
    store = app.extensions["portal.blobs"]
    blob_paths = [store.path(sha) for sha in db.scalars(select(Blob.sha256))]
    assert all(p.exists() for p in blob_paths)
    report = retention.purge_due(db, store, RULE)
    db.commit()
    retention.delete_unreferenced_blob_files(store, report.blobs_deleted)
    for model in (Case, Person, Document, DocumentVersion, Consent, PhaseChange, Blob):
        assert _count(db, model) == 0, model.__name__
    assert not any(p.exists() for p in blob_paths)
    certificate = db.get(DeletionCertificate, report.certificate_id)
    assert certificate.reason == "retention"
    assert certificate.case_ids == [case.id]
    assert certificate.counts["persons"] == 1
    tombstone = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "delete", AuditEvent.object_type == "case")
    )
    assert "Tesfay" not in tombstone.detail and "Quellenwasserspiegel" not in tombstone.detail
    assert audit.verify_chain(db).ok


def test_blob_shared_with_another_case_survives(
    db, app, closed_case, make_user, make_case, save_ctx
):
    worker, case = closed_case
    other = make_case(worker)
    upload = documents.Upload(io.BytesIO(b"Bescheinigung ueber Kursbesuch"), "kopie.txt")
    documents.create_document(
        db, worker, other, doc_type="file", title="Kopie", content=documents.Content(upload=upload),
        ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    _close_years_ago(db, case, 4)
    report = retention.purge_due(db, app.extensions["portal.blobs"], RULE)
    db.commit()
    assert report.blobs_deleted == []
    assert _count(db, Blob) == 1


def test_shorter_retention_for_one_type_deletes_only_those_documents(db, app, closed_case):
    _worker, case = closed_case
    _close_years_ago(db, case, 1.5)
    rule = retention.RetentionRule(default_years=3, by_type={"note": 1})
    report = retention.purge_due(db, app.extensions["portal.blobs"], rule)
    db.commit()
    assert report.case_ids == [] and report.counts["documents"] == 1
    assert [d.type for d in db.scalars(select(Document))] == ["file"]


def test_longer_retention_for_a_type_keeps_the_whole_case(db, app, closed_case):
    _worker, case = closed_case
    _close_years_ago(db, case, 4)
    rule = retention.RetentionRule(default_years=3, by_type={"file": 10})
    cases_due, documents_due = retention.due(db, rule)
    assert cases_due == []
    assert [d.type for d in documents_due] == ["note"]


def test_erasure_request_uses_the_same_path_and_needs_the_lead(db, app, closed_case, make_user):
    worker, case = closed_case
    store = app.extensions["portal.blobs"]
    with pytest.raises(AccessDenied):
        retention.erase_case(db, store, make_user(role="readonly", org=worker.organisation), case)
    report = retention.erase_case(db, store, worker, case)
    db.commit()
    assert db.get(DeletionCertificate, report.certificate_id).reason == "erasure_request"
    assert _count(db, Case) == 0


def test_erasure_removes_what_failed_uploads_of_the_case_left(db, app, closed_case, save_ctx):
    """A request that died after storing its file (no row names it) and one that died
    while receiving it: the case's erasure removes both files at once, not a grace period
    later; a file another case also holds stays."""
    worker, case = closed_case
    store = app.extensions["portal.blobs"]
    owner = documents.case_owner(case.id)
    orphan = store.stage(io.BytesIO(b"Nie gespeichert: Kontoauszug"), 1024, owner)
    store.commit(orphan, owner)
    half = store.tmp / f"upload-{owner}-abgebrochen"
    half.write_bytes(b"halb empfangen")
    other = cases.create_case(db, worker, person={"given_name": "Ana", "family_name": "Lopes"})
    shared = documents.Upload(io.BytesIO(b"Gemeinsame Anlage"), "anlage.txt")
    for target in (case, other):
        content = documents.Content(upload=shared)
        documents.create_document(
            db, worker, target, doc_type="file", title="Anlage", content=content, ctx=save_ctx
        )
        shared.stream.seek(0)
    db.commit()
    shared_sha = db.scalar(select(Blob.sha256).where(Blob.size == len(b"Gemeinsame Anlage")))
    assert store.exists(orphan.sha256) and half.exists()
    retention.erase_case(db, store, worker, case)
    db.commit()
    assert not store.exists(orphan.sha256) and not half.exists()
    assert store.exists(shared_sha)  # the other case's file too
    assert not (store.root / "owners" / owner).exists()
