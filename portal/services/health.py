"""Whether the portal can serve: the facts a load balancer or a monitoring system asks for
(``/health/ready``), none of them personal data."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from portal.db import Database
from portal.migrate import current_revision, head_revision
from portal.services import outbox
from portal.services.search.backend import SearchBackend, SearchQuery

log = logging.getLogger(__name__)
# An access token nobody holds: the probe reads the index and may find nothing.
PROBE_TOKEN = "health-probe"  # noqa: S105  (an index token, no secret)


@dataclass(frozen=True)
class Thresholds:
    """Beyond these the portal is not ready: work piles up, or the disk runs full."""

    outbox_jobs: int
    outbox_oldest_seconds: int
    free_disk_bytes: int

    @classmethod
    def from_settings(cls, settings) -> Thresholds:
        """The ``PORTAL_READY_*`` settings."""
        return cls(settings.ready_outbox_jobs, settings.ready_outbox_minutes * 60,
                   settings.ready_free_disk_mb * 2**20)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One part of readiness: whether it holds, and the numbers that say so."""

    ok: bool
    detail: dict = field(default_factory=dict)


def readiness(
    database: Database, backend: SearchBackend, data_dir: Path, thresholds: Thresholds
) -> dict[str, Check]:
    """Database reachable, schema current, search index readable, outbox keeping up, disk
    space left in the data directory."""
    checks = {"database": Check(False), "schema": Check(False), "outbox": Check(False)}
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = Check(True)
            jobs, age = outbox.backlog(session)
        checks["outbox"] = Check(
            jobs <= thresholds.outbox_jobs and age <= thresholds.outbox_oldest_seconds,
            {"jobs": jobs, "oldest_seconds": age},
        )
        revision, newest = current_revision(database), head_revision(database)
        checks["schema"] = Check(revision == newest, {"revision": revision, "newest": newest})
    except Exception:  # whatever keeps the database away: not ready, and why in the log
        log.warning("readiness: the database is not available", exc_info=True)
    checks["search"] = _search_readable(backend)
    existing = next(p for p in (data_dir, *data_dir.parents) if p.exists())  # made lazily
    free = shutil.disk_usage(existing).free
    checks["disk"] = Check(free >= thresholds.free_disk_bytes, {"free_bytes": free})
    return checks


def _search_readable(backend: SearchBackend) -> Check:
    try:
        backend.search(SearchQuery(text="probe", per_page=1), [PROBE_TOKEN])
    except Exception:  # an index that cannot be read: not ready, and why in the log
        log.warning("readiness: the search index is not readable", exc_info=True)
        return Check(False)
    return Check(True)
