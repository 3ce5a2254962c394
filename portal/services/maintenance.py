"""Recurring maintenance: retention purge, pruning of addresses, sessions and login
attempts, removal of orphan files. ``portal purge`` runs it by hand (or from a timer);
``portal index-worker`` runs it on schedule, claimed so that of several workers one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.db import Database, insert_or_ignore
from portal.models import ScheduledTask, utcnow
from portal.services import audit, auth, consistency, retention, sessions
from portal.services.storage import BlobStore

TASK = "maintenance"


@dataclass(frozen=True)
class Policy:
    """How long what is kept (from the settings)."""

    retention: retention.RetentionRule
    audit_address_days: int
    session_lifetime: timedelta
    throttle: auth.ThrottleRule


def policy_from(settings) -> Policy:
    """The policy of the portal's ``Settings``."""
    years = retention.RetentionRule(settings.retention_years, settings.retention_years_by_type)
    return Policy(
        retention=years,
        audit_address_days=settings.audit_address_days,
        session_lifetime=timedelta(hours=settings.session_absolute_hours),
        throttle=auth.ThrottleRule(
            settings.login_max_failures, timedelta(minutes=settings.login_window_minutes)
        ),
    )


@dataclass
class Report:
    """What one run removed; ``chain_broken`` when addresses were left (chain broken)."""

    purge: retention.PurgeReport
    counts: dict[str, int] = field(default_factory=dict)
    chain_broken: str = ""


def run(database: Database, store: BlobStore, policy: Policy) -> Report:
    """One run, each step in its own transaction, so that one failing keeps the others."""
    with database.session() as session:
        purged = retention.purge_due(session, store, policy.retention)
    retention.delete_unreferenced_blob_files(store, purged.blobs_deleted)
    report = Report(purged)
    with database.session() as session:
        report.counts["sessions"] = sessions.prune(session, policy.session_lifetime)
        report.counts["login_attempts"] = auth.prune_attempts(session, policy.throttle)
    with database.session() as session:
        orphans = consistency.orphan_files(session, store)
    for sha256 in orphans:
        store.delete(sha256)
    report.counts["orphan_files"] = len(orphans)
    cutoff = (utcnow() - consistency.GRACE).timestamp()
    report.counts["stale_uploads"] = store.remove_stale_uploads(cutoff)
    try:
        with database.session() as session:
            report.counts["addresses"] = audit.prune_addresses(session, policy.audit_address_days)
    except audit.ChainBroken as exc:
        report.chain_broken = str(exc)
    return report


def claim(session: Session, every: timedelta) -> bool:
    """Take the next run of maintenance if it is due (then it is next due in ``every``):
    an atomic update, so that of several workers asking at once exactly one gets it."""
    now = utcnow()
    insert_or_ignore(session, ScheduledTask, {"name": TASK, "next_run_at": now}, ["name"])
    taken = session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.name == TASK, ScheduledTask.next_run_at <= now)
        .values(next_run_at=now + every)
    ).rowcount
    session.commit()
    return taken == 1
