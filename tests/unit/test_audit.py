"""The audit chain: appends link up, tampering and removal are detected, concurrency is safe."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import delete, select, update

from portal.models import AuditChainHead, AuditEvent
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


# ---------------------------------------------------------------- addresses


def _as_version_1(db) -> str:
    """Turn the chain into one written before migration 0010 (addresses hashed as they
    are); return its head hash."""
    key = audit._key(db)
    previous = "0" * 64
    for event in db.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        event.hash_version, event.ip_digest, event.prev_hash = 1, "", previous
        event.hash = previous = audit.event_hash(key, event)
    length = db.get(AuditChainHead, 1).length
    db.execute(
        update(AuditChainHead).values(
            last_hash=previous, seal=audit.head_seal(key, length, previous)
        )
    )
    db.commit()
    return previous


def test_addresses_are_removed_and_the_chain_still_verifies(db):
    _append(db, 3)
    assert audit.prune_addresses(db, days=30) == 0  # none is old enough
    assert audit.prune_addresses(db, days=0) == 3
    db.commit()
    db.expire_all()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.ip for e in events] == ["", "", "", ""]
    assert events[-1].action == "prune_addresses" and '"addresses": 3' in events[-1].detail
    assert all(e.ip_digest for e in events[:3])  # what the chain hashed stays
    assert audit.verify_chain(db).ok


def test_a_changed_address_is_detected(db):
    _append(db, 2)
    db.execute(update(AuditEvent).where(AuditEvent.id == 1).values(ip="10.9.8.7"))
    db.commit()
    report = audit.verify_chain(db)
    assert not report.ok and report.first_broken_id == 1
    assert report.reason == "client address altered"


def test_older_events_are_resealed_before_their_addresses_go(db):
    _append(db, 3)
    old_head = _as_version_1(db)
    assert audit.verify_chain(db).ok  # version 1 verifies as it always did
    assert audit.prune_addresses(db, days=0) == 3
    db.commit()
    db.expire_all()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert {e.hash_version for e in events} == {2}
    reseal = next(e for e in events if e.action == "reseal")
    assert old_head in reseal.detail and '"events": 3' in reseal.detail
    assert audit.verify_chain(db).ok


def test_a_broken_chain_is_not_resealed(db):
    _append(db, 3)
    _as_version_1(db)
    db.execute(update(AuditEvent).where(AuditEvent.id == 2).values(action="print"))
    db.commit()
    with pytest.raises(audit.ChainBroken):
        audit.prune_addresses(db, days=0)
    db.rollback()
    db.expire_all()
    assert [e.ip for e in db.scalars(select(AuditEvent))] == ["127.0.0.1"] * 3


# ---------------------------------------------------------------- head seal and checkpoints


def _head(db) -> tuple[int, str, str]:
    head = db.get(AuditChainHead, 1)
    db.refresh(head)
    return head.length, head.last_hash, head.seal


def test_a_head_moved_back_without_the_key_is_detected(db):
    _append(db, 4)
    ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    third = db.get(AuditEvent, ids[2])
    db.execute(delete(AuditEvent).where(AuditEvent.id == ids[3]))
    db.execute(update(AuditChainHead).values(length=3, last_hash=third.hash))
    db.commit()
    report = audit.verify_chain(db)
    assert not report.ok and report.reason == "chain head not sealed with the audit key"


def test_a_checkpoint_kept_outside_detects_a_replayed_head(db):
    """Who can write the database and kept an old head (length, hash, seal) can cut the
    newest events and put that head back: the chain verifies, a later checkpoint not."""
    _append(db, 3)
    old_head = _head(db)
    _append(db, 2)
    point = audit.checkpoint(db)
    db.commit()
    assert point.length == 6  # five events and the checkpoint's own
    assert audit.verify_checkpoints(db, [point.line()]).ok
    db.execute(delete(AuditEvent).where(AuditEvent.id > 3))
    length, last_hash, seal = old_head
    db.execute(update(AuditChainHead).values(length=length, last_hash=last_hash, seal=seal))
    db.commit()
    db.expire_all()
    assert audit.verify_chain(db).ok  # what the database alone cannot show
    report = audit.verify_checkpoints(db, [point.line()])
    assert not report.ok and "removed" in report.reason


def test_a_checkpoint_needs_the_audit_key(db):
    _append(db, 2)
    point = audit.checkpoint(db)
    db.commit()
    forged = point.line().replace(point.last_hash, "f" * 64)
    report = audit.verify_checkpoints(db, [forged])
    assert not report.ok and "not sealed" in report.reason
    assert not audit.verify_checkpoints(db, ["not json"]).ok
