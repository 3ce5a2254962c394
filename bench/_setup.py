"""Shared set-up for the benchmarks: a throw-away app on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text

from portal import create_app
from portal.db import Database
from portal.migrate import upgrade
from portal.services import access, accounts

PG_ADMIN = os.environ.get(
    "PORTAL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "Bench-Lindenblatt-Emsufer-9"  # noqa: S105  (throw-away benchmark account)


def machine() -> str:
    """One line describing this machine, for RESULTS.md."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()};"
        f" Python loop of 10M additions {python_speed():.2f} s"
    )


def python_speed() -> float:
    """Seconds for a pure-Python loop of 10 million additions (best of three): virtual
    machines of one kind differ, so that numbers of two sessions can be compared."""
    best = float("inf")
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best


def make_app(backend: str):
    """(app, cleanup) with a fresh, migrated database of the given backend."""
    tmp = Path(tempfile.mkdtemp(prefix="kim-bench-"))
    cleanup = []
    if backend == "postgresql":
        name = f"kim_bench_{uuid.uuid4().hex[:8]}"
        url = create_pg_database(name)
        cleanup.append(lambda: drop_pg_database(name))
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(Database(url, audit_key="bench"))
    app = create_app(
        {"database_url": url, "data_dir": tmp, "search_index": tmp / "idx",
         "secret_key": "bench", "audit_key": "bench"}
    )  # fmt: skip
    app.config.update(OUTBOX_INLINE=True)
    return app, lambda: [app.extensions["portal.db"].engine.dispose(), *[c() for c in cleanup]]


def pg_url(name: str) -> str:
    """The URL of database ``name`` on the benchmark's PostgreSQL server."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def create_pg_database(name: str) -> str:
    """Create an empty database ``name`` (dropping one left over); return its URL."""
    drop_pg_database(name)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    """Drop database ``name`` if it exists, closing its connections."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def process_memory(pid: int) -> dict[str, int]:
    """Resident memory of process ``pid`` in MB from /proc: VmRSS (now), VmHWM (peak),
    RssAnon (its own memory) and RssFile (mapped files, e.g. index segments)."""
    wanted = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    memory = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            memory[key] = round(int(value.split()[0]) / 1024)
    return memory


def make_worker(app, email: str = "bench@example.org"):
    """An organisation and a caseworker in it."""
    with app.extensions["portal.db"].session() as session:
        org = accounts.save_organisation(
            session, actor=access.SYSTEM, name="Bench-Stadt", kind="kommune"
        )
        user = accounts.create_user(
            session, actor=access.SYSTEM, email=email, name="Bench Worker", organisation=org,
            role="caseworker", password=PASSWORD, chosen_by_user=True,  # logs in through the form
        )  # fmt: skip
        return user.id


def login(client, email: str = "bench@example.org") -> None:
    """Log the test client in through the real form."""
    import re

    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code


class QueryCounter:
    """Counts SQL statements sent through an engine."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._hit)

    def _hit(self, *args) -> None:
        self.count += 1


def timed(fn, repeat: int) -> list[float]:
    """Milliseconds per call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    """``median / p95 / max`` in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"
