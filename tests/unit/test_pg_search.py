"""The PostgreSQL search backend itself: its schema, concurrent writers, the time limit, set-up.

What it finds is tested by the search test modules, which run this backend on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from portal import create_app
from portal.services.search import make_backend
from portal.services.search.backend import IndexEntry, SearchQuery
from portal.services.search.pg_backend import PostgresBackend
from tests.conftest import TEST_AUDIT_KEY


@pytest.fixture
def engine(postgres_url):
    """An engine on the test run's PostgreSQL database, with an empty search schema."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS portal_search CASCADE"))
    yield engine
    engine.dispose()


def _entry(version_id: int, case_id: int = 1, body: str = "Wohnung gesucht") -> IndexEntry:
    return IndexEntry(
        version_id=version_id, document_id=version_id, number=1, current=True, case_id=case_id,
        case_reference=f"KIM-2026-{case_id:05d}", title=f"Vermerk {version_id}", body=body,
        names="Mohammed Al-Hassan", type="note", phase="erstberatung", focus=["wohnen"],
        organisation_id=1, date=datetime.now(UTC), acl=["o1"],
    )  # fmt: skip


def test_schema_is_created_once_even_by_servers_starting_together(engine):
    backends: list[PostgresBackend] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            backends.append(PostgresBackend(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(b.rebuilt for b in backends) == [False, False, True]  # one found it missing
    backends[0].update([_entry(1)], [])
    again = PostgresBackend(engine)
    assert not again.rebuilt and again.version_ids() == {1}  # opening keeps the entries


def test_writers_from_several_connections_lose_nothing(engine, postgres_url):
    """Two backends on their own engines (as two server processes) upsert overlapping
    entries and replace cases at once: no error, no lost or duplicated entry."""
    other_engine = create_engine(postgres_url)
    first, second = PostgresBackend(engine), PostgresBackend(other_engine)
    errors: list[BaseException] = []

    def write(backend: PostgresBackend, offset: int) -> None:
        try:
            for n in range(20):
                backend.update([_entry(n, case_id=n % 3), _entry(100 + offset + n)], [])
                if n % 5 == 0:
                    backend.replace_case(2, [_entry(v, case_id=2) for v in range(2, 20, 3)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b, o)) for b, o in ((first, 0), (second, 50))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_engine.dispose()
    assert errors == []
    expected = set(range(20)) | set(range(100, 120)) | set(range(150, 170))
    assert first.version_ids() == expected
    found = first.search(SearchQuery(text="Wohnung", per_page=100), ["o1"])
    assert found.total == len(expected)


def test_time_limit_returns_incomplete_instead_of_hanging(engine, postgres_url):
    backend = PostgresBackend(engine, time_limit=0.3)
    backend.update([_entry(1)], [])
    blocker = create_engine(postgres_url)
    with blocker.connect() as connection:  # holds the table until the search gave up
        connection.execute(text("LOCK TABLE portal_search.entries IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        result = backend.search(SearchQuery(text="Wohnung"), ["o1"])
        elapsed = time.monotonic() - started
        connection.rollback()
    blocker.dispose()
    assert result.incomplete and (result.hits, result.total) == ([], 0)
    assert elapsed < 2.0
    assert not backend.search(SearchQuery(text="Wohnung"), ["o1"]).incomplete


def test_without_pg_trgm_names_must_match_exactly(engine):
    backend = PostgresBackend(engine)
    backend.update([_entry(1)], [])
    assert backend.search(SearchQuery(text="Mohamed Hasan"), ["o1"]).total == 1
    backend.trigram = None  # as where the extension may not be installed
    assert backend.search(SearchQuery(text="Mohamed Hasan"), ["o1"]).total == 0
    assert backend.search(SearchQuery(text="Mohammed Hassan"), ["o1"]).total == 1


def test_search_schema_stays_out_of_the_migrated_schema(engine):
    PostgresBackend(engine)
    with engine.connect() as connection:
        schema = connection.scalar(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'entries'")
        )
    assert schema == "portal_search"


def test_make_backend_needs_a_postgresql_engine(tmp_path):
    sqlite = create_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        make_backend("postgres", tmp_path, sqlite)
    with pytest.raises(ValueError, match="database engine"):
        make_backend("postgres", tmp_path, None)
    with pytest.raises(ValueError, match="unknown search backend"):
        make_backend("elastic", tmp_path, sqlite)


def test_postgres_backend_on_sqlite_is_a_clear_error_at_start(tmp_path):
    config = {
        "database_url": f"sqlite:///{tmp_path / 'portal.db'}", "data_dir": tmp_path,
        "secret_key": "x", "audit_key": TEST_AUDIT_KEY, "search_backend": "postgres",
    }  # fmt: skip
    with pytest.raises(ValueError, match="PORTAL_SEARCH_BACKEND=postgres needs"):
        create_app(config)


def test_create_app_builds_the_postgres_backend(engine, postgres_url, tmp_path):
    config = {
        "database_url": postgres_url, "data_dir": tmp_path, "secret_key": "x",
        "audit_key": TEST_AUDIT_KEY, "search_backend": "postgres",
    }  # fmt: skip
    app = create_app(config)
    assert isinstance(app.extensions["portal.search"], PostgresBackend)
    app.extensions["portal.db"].engine.dispose()


@pytest.fixture
def postgres_runner(app_config, request):
    """The ``portal`` command line with PORTAL_SEARCH_BACKEND=postgres."""
    app_config["search_backend"] = "postgres"
    return request.getfixturevalue("runner")


def test_reindex_and_check_with_the_postgres_backend(postgres_runner, app_config):
    if app_config["database_url"].startswith("sqlite"):
        result = postgres_runner("reindex")
        assert result.exit_code == 1
        assert "PORTAL_SEARCH_BACKEND=postgres needs" in result.output
        return
    result = postgres_runner("reindex")
    assert result.exit_code == 0 and "0 Einträge" in result.output, result.output
    assert postgres_runner("check").exit_code == 0
