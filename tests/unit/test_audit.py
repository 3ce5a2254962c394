"""The audit chain: appends link up, tampering and removal are detected, concurrency is safe."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import delete, select, update

from portal.models import AuditEvent
from portal.services import audit


def _append(db, n: int, action: str = "view") -> None:
    for i in range(n):
        audit.record(db, action, object_type="test", object_id=i, ip="127.0.0.1")
    db.commit()


def test_chain_of_appended_events_verifies(db):
    _append(db, 5)
    report = audit.verify_chain(db)
    assert report.ok
    assert report.checked == 5
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_empty_chain_verifies(db):
    assert audit.verify_chain(db).ok


def test_altered_event_is_reported_by_id(db):
    _append(db, 4)
    victim = db.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(2)).first()
    db.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(action="print"))
    db.commit()
    db.expire_all()
    report = audit.verify_chain(db)
    assert not report.ok
    assert report.first_broken_id == victim.id
    assert "altered" in report.reason


def test_removed_middle_event_breaks_the_link(db):
    _append(db, 4)
    ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    db.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    db.commit()
    report = audit.verify_chain(db)
    assert not report.ok
    assert report.first_broken_id == ids[2]


def test_removed_newest_event_is_detected_at_the_head(db):
    _append(db, 3)
    newest = db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
    db.execute(delete(AuditEvent).where(AuditEvent.id == newest))
    db.commit()
    report = audit.verify_chain(db)
    assert not report.ok
    assert report.first_broken_id is None


def test_recomputed_hash_without_the_key_does_not_verify(app, db):
    """Someone with database access but without the audit key cannot forge a row."""
    _append(db, 2)
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    event.action = "delete"
    event.hash = audit.event_hash(b"guessed-key", event)
    db.commit()
    assert not audit.verify_chain(db).ok


def test_concurrent_appends_keep_one_unbroken_chain(app):
    """Writers in parallel threads (separate connections) must not fork the chain."""
    sessionmaker = app.extensions["portal.db"].sessionmaker
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                with sessionmaker() as session:
                    audit.record(session, "view", object_type="test")
                    session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with sessionmaker() as session:
        report = audit.verify_chain(session)
    assert report.ok, report
    assert report.checked == 40
