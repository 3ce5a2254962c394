"""Draining the outbox: jobs written with a change are done after its commit.

A job is deleted in the same transaction as its work, so a crash in between
leaves it in the table and the next drain (or ``portal index-worker``) does it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.models import utcnow
from portal.models.outbox import OutboxJob

MAX_ATTEMPTS = 5
log = logging.getLogger(__name__)

Handler = Callable[[Session, int], None]


def enqueue(session: Session, kind: str, object_id: int) -> None:
    """Add a job in the caller's transaction; ``session.info`` remembers to wake a drainer."""
    session.add(OutboxJob(kind=kind, object_id=object_id))
    session.info["outbox_dirty"] = True


def drain(sessionmaker, handlers: dict[str, Handler], limit: int = 100) -> int:
    """Run up to ``limit`` due jobs, each in its own transaction; return how many ran."""
    done = 0
    while done < limit:
        with sessionmaker() as session:
            job = session.scalar(
                select(OutboxJob)
                .where(OutboxJob.not_before <= utcnow())
                .order_by(OutboxJob.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return done
            _run(session, job, handlers)
        done += 1
    return done


def pending(session: Session) -> int:
    """How many jobs wait (due or not)."""
    return session.scalar(select(func.count()).select_from(OutboxJob))


def _run(session: Session, job: OutboxJob, handlers: dict[str, Handler]) -> None:
    handler = handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for outbox job kind {job.kind!r}")
        handler(session, job.object_id)
        session.execute(delete(OutboxJob).where(OutboxJob.id == job.id))
        session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("outbox job %s (%s %s) failed", job.id, job.kind, job.object_id)
        job = session.get(OutboxJob, job.id)
        if job is None:
            return
        job.attempts += 1
        job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        # Back off, and park jobs that keep failing so they do not block the rest.
        delay = (
            timedelta(minutes=2**job.attempts) if job.attempts < MAX_ATTEMPTS else timedelta(days=1)
        )
        job.not_before = utcnow() + delay
        session.commit()
