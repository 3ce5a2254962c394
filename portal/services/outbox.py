"""Draining the outbox: jobs written with a change are done after its commit.

A job is deleted in the same transaction as its work, so a crash in between
leaves it in the table and the next drain (or ``portal index-worker``) does it.
Kinds with a batch handler (search index updates) are done together: every due
job of that kind in one piece of work, so the index commits once per drain
instead of once per job; should the batch fail, its jobs are retried one by one.
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
BatchHandler = Callable[[Session, list[int]], None]
BATCH_LIMIT = 500


def enqueue(session: Session, kind: str, object_id: int) -> None:
    """Add a job in the caller's transaction; ``session.info`` remembers to wake a drainer."""
    session.add(OutboxJob(kind=kind, object_id=object_id))
    session.info["outbox_dirty"] = True


def drain(
    sessionmaker,
    handlers: dict[str, Handler],
    limit: int = 100,
    batch_handlers: dict[str, BatchHandler] | None = None,
) -> int:
    """Run up to ``limit`` due jobs, each in its own transaction, or with the other due jobs
    of its kind when that kind has a batch handler; return how many ran."""
    batch_handlers = batch_handlers or {}
    done = 0
    while done < limit:
        with sessionmaker() as session:
            job = session.scalar(_due().limit(1))
            if job is None:
                return done
            if job.kind in batch_handlers:
                batch = list(session.scalars(_due(job.kind).limit(BATCH_LIMIT)))
                if _run_batch(session, batch, batch_handlers[job.kind]):
                    done += len(batch)
                    continue
                for single in batch:  # the batch failed: find the job that fails
                    with sessionmaker() as own:
                        own_job = own.scalar(_due(job.kind).where(OutboxJob.id == single.id))
                        if own_job is not None:
                            _run(own, own_job, handlers)
                    done += 1
                continue
            _run(session, job, handlers)
        done += 1
    return done


def _due(kind: str | None = None):
    """Due jobs (of ``kind``), oldest first, locked for this drain."""
    query = select(OutboxJob).where(OutboxJob.not_before <= utcnow())
    if kind is not None:
        query = query.where(OutboxJob.kind == kind)
    return query.order_by(OutboxJob.id).with_for_update(skip_locked=True)


def _run_batch(session: Session, jobs: list[OutboxJob], handler: BatchHandler) -> bool:
    """Do ``jobs`` in one piece of work and delete them; False (nothing done) on failure."""
    try:
        handler(session, sorted({job.object_id for job in jobs}))
        session.execute(delete(OutboxJob).where(OutboxJob.id.in_([job.id for job in jobs])))
        session.commit()
        return True
    except Exception:
        session.rollback()
        log.exception("outbox batch of %d %s jobs failed; one at a time", len(jobs), jobs[0].kind)
        return False


def pending(session: Session) -> int:
    """How many jobs wait (due or not)."""
    return session.scalar(select(func.count()).select_from(OutboxJob))


def backlog(session: Session) -> tuple[int, int]:
    """How many jobs wait, and the oldest one's age in seconds (0 when none waits)."""
    jobs, oldest = session.execute(
        select(func.count(), func.min(OutboxJob.created_at)).select_from(OutboxJob)
    ).one()
    return jobs, int((utcnow() - oldest).total_seconds()) if oldest else 0


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
