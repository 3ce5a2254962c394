"""Fixtures: the app on SQLite and on PostgreSQL, clients, and factories for test data.

Every test that uses ``app`` runs twice, once per database. The PostgreSQL half
needs the server at 127.0.0.1:5432 (user postgres); without it those tests are
skipped with a visible message, unless PORTAL_TEST_REQUIRE_POSTGRES=1 (set by
.ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, text

from portal import create_app
from portal.db import Database
from portal.migrate import upgrade
from portal.models import Base, Case, Document, Organisation, User
from portal.services import access, accounts, cases, documents, passwords, tokens
from portal.services.documents import SaveContext
from portal.services.search import make_backend
from tests.databases import PG_ADMIN_URL, create_postgres_database, drop_postgres_database

REQUIRE_POSTGRES = os.environ.get("PORTAL_TEST_REQUIRE_POSTGRES") == "1"
TEST_PASSWORD = "Lindenblatt-Emsufer-Kanal-7"
TEST_AUDIT_KEY = "test-audit-key"
# Real files made by other tools (origin, licence and purpose in its SOURCES.md).
REALDOCS = Path(__file__).resolve().parent / "data" / "realdocs"

_postgres_skip_reason: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Argon2 with minimal cost in tests: the algorithm is the same, the suite much faster."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied for every test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "portal.db"
    database = Database(f"sqlite:///{path}", audit_key=TEST_AUDIT_KEY)
    upgrade(database)
    database.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh throw-away PostgreSQL database for this test run, migrated to head."""
    name = f"kim_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        url = create_postgres_database(name)
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (PORTAL_TEST_REQUIRE_POSTGRES=1)", pytrace=False)
        _postgres_skip_reason.append(reason)
        pytest.skip(reason)
    database = Database(url, audit_key=TEST_AUDIT_KEY)
    upgrade(database)
    database.engine.dispose()
    yield url
    drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The database URL for one test: a copy of the SQLite template, or the emptied PG database."""
    if request.param == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # The PostgreSQL search backend's index (its own schema, outside the migrations).
        if connection.scalar(text("SELECT to_regclass('portal_search.entries')")) is not None:
            connection.execute(text("TRUNCATE portal_search.entries, portal_search.case_names"))
    engine.dispose()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say loudly when the PostgreSQL half did not run."""
    if _postgres_skip_reason:
        terminalreporter.write_sep("!", "PostgreSQL tests SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_postgres_skip_reason[0])


# ---------------------------------------------------------------- app and clients


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Settings overrides of the test app; tests may change them before ``app`` is built."""
    return {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "search_index": tmp_path / "search_index",
        "secret_key": "test-secret-key",
        "audit_key": TEST_AUDIT_KEY,
    }


@pytest.fixture
def app(app_config):
    """The portal app on this test's database."""
    app = create_app(app_config)
    app.config.update(TESTING=True, OUTBOX_INLINE=True)
    yield app
    app.extensions["portal.db"].engine.dispose()


@pytest.fixture
def search_backend(app):
    """The app's search backend: tantivy (the default) on SQLite, the PostgreSQL backend on
    PostgreSQL (Whoosh and every backend on both: tests/unit/test_search_contract.py)."""
    engine = app.extensions["portal.db"].engine
    if engine.dialect.name == "postgresql":
        app.extensions["portal.search"] = make_backend("postgres", None, engine)
    return app.extensions["portal.search"]


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def db(app):
    """A session on the app's database for arranging and checking data; committed by the test."""
    session = app.extensions["portal.db"].sessionmaker()
    yield session
    session.close()


@pytest.fixture
def runner(app_config, monkeypatch):
    """Invoke the ``portal`` command line against this test's database."""
    for key, value in app_config.items():
        monkeypatch.setenv(f"PORTAL_{key.upper()}", str(value))
    cli_runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        from portal.cli import main

        return cli_runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


# ---------------------------------------------------------------- factories


@pytest.fixture
def make_org(db) -> Callable[..., Organisation]:
    """Create an organisation: ``make_org(name=..., kind=...)``."""
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, kind: str = "kommune") -> Organisation:
        org = accounts.save_organisation(
            db, actor=access.SYSTEM, name=name or f"Organisation {next(counter)}", kind=kind
        )
        db.commit()
        return org

    return make


@pytest.fixture
def make_user(db, make_org) -> Callable[..., User]:
    """Create a user: ``make_user(role="caseworker", org=None, email=None, password=...)``."""
    counter = iter(range(1, 10_000))

    def make(
        role: str = "caseworker",
        org: Organisation | None = None,
        email: str | None = None,
        password: str = TEST_PASSWORD,
        name: str | None = None,
    ) -> User:
        number = next(counter)
        user = accounts.create_user(
            db,
            actor=access.SYSTEM,
            email=email or f"{role}{number}@example.org",
            name=name or f"Test {role.title()} {number}",
            organisation=org or make_org(),
            role=role,
            password=password,
            chosen_by_user=True,
        )
        db.commit()
        return user

    return make


@pytest.fixture
def make_token(db) -> Callable[[User], str]:
    """Create an API token for a user and return the plain token."""

    def make(user: User) -> str:
        _token, plain = tokens.create(db, user, name="test", actor=user)
        db.commit()
        return plain

    return make


@pytest.fixture
def save_ctx(app) -> SaveContext:
    """Where the test app stores uploads, with the configured size limit."""
    settings = app.extensions["portal.settings"]
    return SaveContext(app.extensions["portal.blobs"], settings.max_upload_mb * 1024 * 1024)


@pytest.fixture
def make_case(db) -> Callable[..., Case]:
    """Open a case as ``actor``: ``make_case(actor, given_name=..., family_name=...)``."""
    counter = iter(range(1, 10_000))

    def make(actor: User, **person) -> Case:
        number = next(counter)
        person = {"given_name": "Amina", "family_name": f"Haddad{number}", **person}
        case = cases.create_case(db, actor, person=person, confirm_new_person=True)
        db.commit()
        return case

    return make


@pytest.fixture
def make_note(db, save_ctx) -> Callable[..., Document]:
    """Write a note into a case: ``make_note(actor, case, text=..., visibility=...)``."""

    def make(actor: User, case: Case, text: str = "Erstgespräch geführt.", **kwargs) -> Document:
        document = documents.create_document(
            db, actor, case, doc_type="note", title=kwargs.pop("title", "Beratungsvermerk"),
            content=documents.Content(text=text), ctx=save_ctx, **kwargs,
        )  # fmt: skip
        db.commit()
        return document

    return make


# ---------------------------------------------------------------- helpers


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _CSRF.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


@dataclass
class Auth:
    """Log a test client in and out through the real forms."""

    client: object

    def login(self, email: str, password: str = TEST_PASSWORD, follow: bool = False):
        page = self.client.get("/login")
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
            follow_redirects=follow,
        )

    def post(self, url: str, data: dict | None = None, follow: bool = False, page: str = "/"):
        """POST a form with the CSRF token taken from ``page``."""
        token = csrf_token(self.client.get(page).text)
        return self.client.post(
            url, data={**(data or {}), "csrf_token": token}, follow_redirects=follow
        )

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    """Login helper bound to ``client``."""
    return Auth(client)


def index_jobs_done(db) -> None:
    """Remove the queued index jobs, for tests that indexed by hand what the worker would
    have: search leaves cases with pending index jobs out of partners' searches."""
    from portal.models import OutboxJob
    from portal.services.search import INDEX_CASE_JOB, INDEX_DOCUMENT_JOB

    db.execute(delete(OutboxJob).where(OutboxJob.kind.in_((INDEX_CASE_JOB, INDEX_DOCUMENT_JOB))))
    db.commit()
