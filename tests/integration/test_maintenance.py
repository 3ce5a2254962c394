"""``portal purge`` and scheduled maintenance (issue 18, item 5): the index worker does what
``portal purge`` does every PORTAL_MAINTENANCE_HOURS, one worker of several; orphan files
and stale uploads go too."""

from __future__ import annotations

import io
import os
import threading
import time
from datetime import timedelta

from sqlalchemy import update

from portal.models import Case, ScheduledTask, utcnow
from portal.services import cases, maintenance

MAINTAINED = "Wartung / maintenance"


def _case_past_retention(db, make_user, make_case, make_note) -> Case:
    worker = make_user()
    case = make_case(worker)
    make_note(worker, case)
    cases.update_case(db, worker, case, phase="abgeschlossen")
    case.closed_at = utcnow() - timedelta(days=4 * 365)
    db.commit()
    return case


def test_purge_dry_run_then_purge(runner, db, make_user, make_case, make_note):
    from portal.models import DeletionCertificate

    case = _case_past_retention(db, make_user, make_case, make_note)
    dry = runner("purge", "--dry-run")
    assert dry.exit_code == 0 and "cases: 1" in dry.output and "documents: 1" in dry.output
    assert db.get(Case, case.id) is not None
    real = runner("purge")
    assert real.exit_code == 0 and "certificate #" in real.output
    db.expunge_all()
    assert db.get(Case, case.id) is None
    assert db.query(DeletionCertificate).count() == 1
    assert "Nichts fällig" in runner("purge").output


def test_purge_removes_ended_sessions_and_old_login_attempts(runner, db, make_user):
    from datetime import timedelta

    from portal.models import LoginAttempt, LoginSession, utcnow
    from portal.services import sessions

    user = make_user()
    live = sessions.start(db, user)
    sessions.start(db, user)
    ended = sessions.start(db, user)
    sessions.end(db, ended)
    old = utcnow() - timedelta(days=2)
    db.add_all(
        [
            LoginAttempt(at=old, email="a@example.org", ip="10.0.0.1", success=False),
            LoginAttempt(at=utcnow(), email="a@example.org", ip="10.0.0.1", success=False),
        ]
    )
    db.execute(
        LoginSession.__table__.update()
        .where(LoginSession.token_hash != sessions.token_hash(live))
        .where(LoginSession.revoked_at.is_(None))
        .values(created_at=utcnow() - timedelta(days=1))
    )  # one beyond the absolute lifetime, one ended, one live
    db.commit()
    result = runner("purge")
    assert result.exit_code == 0 and "ended sessions: 2" in result.output
    assert "old login attempts: 1" in result.output
    db.expire_all()
    assert [s.token_hash for s in db.query(LoginSession)] == [sessions.token_hash(live)]
    assert db.query(LoginAttempt).count() == 1


def test_purge_removes_old_client_addresses(runner, db, monkeypatch):
    from portal.models import AuditEvent
    from portal.services import audit

    audit.record(db, "login", ip="198.51.100.23")
    db.commit()
    assert "removed: 0" in runner("purge").output  # 90 days by default
    monkeypatch.setenv("PORTAL_AUDIT_ADDRESS_DAYS", "0")
    result = runner("purge")
    assert result.exit_code == 0 and "removed: 1" in result.output
    db.expire_all()
    assert db.query(AuditEvent).filter(AuditEvent.ip != "").count() == 0
    assert runner("audit-verify").exit_code == 0


def test_the_worker_runs_due_maintenance_once_per_period(
    runner, db, make_user, make_case, make_note
):
    case = _case_past_retention(db, make_user, make_case, make_note)
    first = runner("index-worker", "--once")
    assert first.exit_code == 0, first.output
    assert f"{MAINTAINED}: Gelöscht / deleted: blobs: 0, cases: 1" in first.output
    db.expunge_all()
    assert db.get(Case, case.id) is None

    again = _case_past_retention(db, make_user, make_case, make_note)
    second = runner("index-worker", "--once")
    assert second.exit_code == 0 and MAINTAINED not in second.output  # next due in 24 hours
    assert db.get(Case, again.id) is not None

    db.execute(update(ScheduledTask).values(next_run_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    third = runner("index-worker", "--once")
    assert f"{MAINTAINED}: Gelöscht / deleted: blobs: 0, cases: 1" in third.output
    db.expunge_all()
    assert db.get(Case, again.id) is None


def test_no_maintenance_from_the_worker_when_switched_off(
    runner, db, make_user, make_case, make_note, monkeypatch
):
    monkeypatch.setenv("PORTAL_MAINTENANCE_HOURS", "0")
    case = _case_past_retention(db, make_user, make_case, make_note)
    result = runner("index-worker", "--once")
    assert result.exit_code == 0 and MAINTAINED not in result.output
    assert db.get(Case, case.id) is not None
    assert db.query(ScheduledTask).count() == 0


def test_of_several_workers_asking_at_once_exactly_one_runs_it(app):
    database = app.extensions["portal.db"]
    start = threading.Barrier(6)
    answers = []

    def ask() -> None:
        with database.session() as session:
            start.wait()
            answers.append(maintenance.claim(session, timedelta(hours=24)))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 5 + [True]


def test_orphan_files_and_stale_uploads_go_recent_ones_stay(runner, app):
    store = app.extensions["portal.blobs"]
    hour_ago = time.time() - 2 * 3600
    orphans = []
    for content in (b"left by a crash", b"just uploaded"):
        staged = store.stage(io.BytesIO(content), max_bytes=1024)
        store.commit(staged)
        orphans.append(staged.sha256)
    os.utime(store.path(orphans[0]), (hour_ago, hour_ago))
    stale = store.stage(io.BytesIO(b"half an upload"), max_bytes=1024)
    os.utime(stale.path, (hour_ago, hour_ago))
    fresh = store.stage(io.BytesIO(b"being received"), max_bytes=1024)

    result = runner("purge")
    assert result.exit_code == 0, result.output
    assert "orphan files: 1" in result.output and "stale uploads: 1" in result.output
    assert not store.exists(orphans[0]) and store.exists(orphans[1])
    assert not stale.path.exists() and fresh.path.exists()
