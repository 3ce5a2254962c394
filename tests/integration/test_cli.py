"""The ``portal`` command line: set-up, accounts, demo data, the audit check and start-up errors."""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import func, select, text

from portal.db import Database
from portal.migrate import alembic_config
from portal.models import AuditEvent, Organisation, User
from tests.conftest import TEST_AUDIT_KEY, TEST_PASSWORD, Auth

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/x"
UNREACHABLE = "Datenbank nicht erreichbar / database unreachable"
INIT_HINT = "portal init"
PORTAL = Path(sys.executable).with_name("portal")  # the console script of this venv


def fresh(db):
    """Forget what the test session has loaded, so that the commands' commits are visible."""
    db.rollback()
    db.expire_all()
    return db


def assert_user_error(result, *messages: str) -> None:
    """A clean failure: non-zero exit, the messages on stderr, no traceback."""
    assert result.exit_code != 0, result.output
    for message in messages:
        assert message in result.stderr, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- init


def test_init_is_idempotent(runner):
    for _ in range(2):
        result = runner("init")
        assert result.exit_code == 0, result.output
        assert "Datenbank ist aktuell. / Database is up to date." in result.stdout


def test_a_new_audit_key_is_refused_for_an_existing_audit_trail(
    runner, app_config, tmp_path, monkeypatch
):
    """Run from another directory, a command would make a new audit key and write events
    the chain can never verify: it refuses instead, and leaves no key behind."""
    monkeypatch.delenv("PORTAL_AUDIT_KEY")
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "first"))
    assert runner("create-org", "Stadt Rietberg", "--kind", "kommune").exit_code == 0
    assert (tmp_path / "first" / "audit_key").is_file()
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("PORTAL_DATA_DIR", str(elsewhere))
    result = runner("create-org", "Caritas", "--kind", "wohlfahrtsverband")
    assert_user_error(result, "Kein Audit-Schlüssel", "audit trail")
    assert not (elsewhere / "audit_key").exists()
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "first"))
    assert "intakt" in runner("audit-verify").stdout.lower()


def test_init_says_when_it_created_or_upgraded_the_database(runner, tmp_path, monkeypatch):
    empty = tmp_path / "empty.db"
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{empty}")
    created = runner("init")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "Datenbank angelegt. / Database created."

    database = Database(f"sqlite:///{empty}", audit_key=TEST_AUDIT_KEY)
    command.downgrade(alembic_config(database), "-1")
    database.engine.dispose()
    upgraded = runner("init")
    assert upgraded.exit_code == 0, upgraded.output
    assert "Datenbank aktualisiert (" in upgraded.stdout
    assert runner("init").stdout.strip() == "Datenbank ist aktuell. / Database is up to date."


def test_init_creates_the_schema_of_an_empty_database(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'neu.db'}")
    before = runner("create-org", "Stadt Rietberg", "--kind", "kommune")
    assert_user_error(before, INIT_HINT)
    assert runner("init").exit_code == 0
    assert runner("init").exit_code == 0
    created = runner("create-org", "Stadt Rietberg", "--kind", "kommune")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "1"


# ---------------------------------------------------------------- create-org


def test_create_org_prints_its_id(runner, db):
    result = runner(
        "create-org", "Stadt Rietberg", "--kind", "kommune", "--address", "Rügenstraße 1"
    )
    assert result.exit_code == 0, result.output
    org_id = int(result.stdout.strip())
    org = fresh(db).get(Organisation, org_id)
    assert (org.name, org.kind, org.address) == ("Stadt Rietberg", "kommune", "Rügenstraße 1")
    event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "organisation")).one()
    assert (event.action, event.object_id, event.user_id, event.ip) == (
        "create",
        org_id,
        None,
        "cli",
    )
    second = runner("create-org", "Jobcenter Kreis Gütersloh", "--kind", "jobcenter")
    assert int(second.stdout.strip()) != org_id


def test_create_org_with_a_bad_kind_fails_cleanly(runner, db):
    result = runner("create-org", "Stadt Rietberg", "--kind", "stadt")
    assert_user_error(result, "kommune")  # the usage error lists the valid kinds
    assert fresh(db).scalar(select(func.count()).select_from(Organisation)) == 0


def test_create_org_twice_fails_cleanly(runner, db):
    assert runner("create-org", "Stadt Rietberg", "--kind", "kommune").exit_code == 0
    result = runner("create-org", "stadt rietberg", "--kind", "kommune")
    assert_user_error(result, "Die Organisation konnte nicht gespeichert werden.")
    assert fresh(db).scalar(select(func.count()).select_from(Organisation)) == 1


# ---------------------------------------------------------------- create-user


def test_create_user_reads_the_password_from_stdin(runner, client, db, make_org):
    org = make_org(name="Stadt Rietberg")
    result = runner(
        "create-user",
        "It@Rietberg.example",
        "--org",
        "stadt rietberg",
        "--role",
        "admin",
        "--name",
        "IT-Abteilung",
        "--password-stdin",
        input=TEST_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user_id = int(result.stdout.strip())
    user = fresh(db).get(User, user_id)
    assert (user.email, user.name, user.role, user.organisation_id) == (
        "it@rietberg.example",
        "IT-Abteilung",
        "admin",
        org.id,
    )
    assert TEST_PASSWORD not in result.output
    assert Auth(client).login("it@rietberg.example").status_code == 302


def test_create_user_prompts_for_the_password(runner, db, make_org):
    make_org(name="Stadt Rietberg")
    result = runner(
        "create-user",
        "s.hoffmann@rietberg.example",
        "--org",
        "Stadt Rietberg",
        "--role",
        "caseworker",
        input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = fresh(db).get(User, int(result.stdout.strip().splitlines()[-1]))
    assert user.email == "s.hoffmann@rietberg.example" and user.name == "s.hoffmann"


CREATE_USER_REFUSALS = {
    "unknown org": ("neu@example.org", "Gibt es nicht", "caseworker", TEST_PASSWORD, "Keine Org"),
    "duplicate": (
        "VORHANDEN@example.org",
        "Stadt Rietberg",
        "caseworker",
        TEST_PASSWORD,
        "Es gibt",
    ),
    "weak": ("neu@example.org", "Stadt Rietberg", "caseworker", "passwort1234", "zu leicht"),
    "short": ("neu@example.org", "Stadt Rietberg", "caseworker", "kurz", "mindestens 12 Zeichen"),
    "empty": ("neu@example.org", "Stadt Rietberg", "caseworker", "", "mindestens 12 Zeichen"),
    "bad e-mail": ("keine-adresse", "Stadt Rietberg", "caseworker", TEST_PASSWORD, "Bitte prüfen"),
    "bad role": ("neu@example.org", "Stadt Rietberg", "chef", TEST_PASSWORD, "coordinator"),
}


def test_create_user_refusals_are_clean(runner, db, make_user, make_org):
    make_user(org=make_org(name="Stadt Rietberg"), email="vorhanden@example.org")
    for case, (email, org, role, password, message) in CREATE_USER_REFUSALS.items():
        result = runner(
            "create-user", email, "--org", org, "--role", role, "--password-stdin",
            input=password + "\n",
        )  # fmt: skip
        assert result.exit_code != 0, case
        assert message in result.stderr, (case, result.output)
        assert_user_error(result)
    assert fresh(db).scalar(select(func.count()).select_from(User)) == 1


# ---------------------------------------------------------------- create-token


def test_create_token_prints_a_working_token(runner, client, make_user):
    user = make_user()
    result = runner("create-token", user.email.upper())
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("kim_")
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["email"] == user.email
    other = runner("create-token", user.email).stdout.strip()
    assert other != token


def test_create_token_for_unknown_or_inactive_user_fails(runner, db, make_user):
    assert_user_error(runner("create-token", "niemand@example.org"), "niemand@example.org")
    user = make_user()
    user.active = False
    db.commit()
    assert_user_error(runner("create-token", user.email), "Kein aktives Konto")


# ---------------------------------------------------------------- seed-demo

DEMO_LOGIN = re.compile(r"^\s+(\S+@\S+)\s+(\S+)\s+\((.+)\)$", re.MULTILINE)


def test_seed_demo_is_idempotent_and_its_logins_work(app, runner, db):
    first = runner("seed-demo")
    assert first.exit_code == 0, first.output
    logins = DEMO_LOGIN.findall(first.stdout)
    assert len(logins) >= 4
    counts = (
        fresh(db).scalar(select(func.count()).select_from(Organisation)),
        db.scalar(select(func.count()).select_from(User)),
    )
    assert counts[1] == len(logins)

    second = runner("seed-demo")
    assert second.exit_code == 0, second.output
    assert DEMO_LOGIN.findall(second.stdout) == logins
    assert (
        fresh(db).scalar(select(func.count()).select_from(Organisation)),
        db.scalar(select(func.count()).select_from(User)),
    ) == counts

    roles = set()
    for email, password, label in logins:
        browser = app.test_client()
        response = Auth(browser).login(email, password)
        assert response.status_code == 302, f"demo login {email} does not work"
        assert browser.get("/").status_code == 200
        roles.add(label.split(",")[0])
    assert {"network_admin", "coordinator", "caseworker", "readonly"} <= roles


# ---------------------------------------------------------------- audit-verify


def _some_events(runner) -> None:
    assert runner("create-org", "Stadt Rietberg", "--kind", "kommune").exit_code == 0
    assert runner("create-org", "Kreis Gütersloh", "--kind", "kreis").exit_code == 0
    assert runner("create-org", "Diakonie Gütersloh", "--kind", "wohlfahrtsverband").exit_code == 0


def _event_ids(db) -> list[int]:
    return list(fresh(db).scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_audit_verify_accepts_an_intact_chain(runner):
    empty = runner("audit-verify")
    assert empty.exit_code == 0, empty.output
    _some_events(runner)
    result = runner("audit-verify")
    assert result.exit_code == 0, result.output
    assert "intakt" in result.stdout and "3" in result.stdout


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_events SET action = 'view' WHERE id = :id",
        "UPDATE audit_events SET detail = '{}' WHERE id = :id",
        "UPDATE audit_events SET user_id = 42 WHERE id = :id",
        "UPDATE audit_events SET prev_hash = hash WHERE id = :id",
    ],
    ids=["action", "detail", "user", "link"],
)
def test_audit_verify_names_an_altered_event(runner, db, change):
    _some_events(runner)
    altered = _event_ids(db)[1]
    db.execute(text(change), {"id": altered})
    db.commit()
    result = runner("audit-verify")
    assert result.exit_code == 1, result.output
    assert f"event {altered}" in result.stderr
    assert "GEBROCHEN" in result.stderr and "Traceback" not in result.output


def test_a_checkpoint_kept_outside_notices_a_cut_chain(runner, db, tmp_path):
    """The operator's daily line, kept elsewhere: after the newest events are cut and an
    older head is put back (what someone with the database and an old copy of it can
    do), audit-verify --checkpoint fails where audit-verify alone cannot tell."""
    _some_events(runner)
    old_head = fresh(db).execute(text("SELECT length, last_hash, seal FROM audit_chain_head")).one()
    assert runner("create-org", "Caritas Gütersloh", "--kind", "wohlfahrtsverband").exit_code == 0
    checkpoints = tmp_path / "checkpoints.jsonl"
    written = runner("audit-checkpoint", "--file", str(checkpoints))
    assert written.exit_code == 0 and written.stdout.strip() == checkpoints.read_text().strip()
    assert runner("audit-verify", "--checkpoint", str(checkpoints)).exit_code == 0
    db.execute(text("DELETE FROM audit_events WHERE id > 3"))
    db.execute(text("UPDATE audit_chain_head SET length = :l, last_hash = :h, seal = :s"),
               {"l": old_head[0], "h": old_head[1], "s": old_head[2]})  # fmt: skip
    db.commit()
    assert runner("audit-verify").exit_code == 0
    cut = runner("audit-verify", "--checkpoint", str(checkpoints))
    assert cut.exit_code == 1 and "removed" in cut.stderr


def test_audit_verify_notices_a_deleted_newest_event(runner, db):
    _some_events(runner)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": _event_ids(db)[-1]})
    db.commit()
    result = runner("audit-verify")
    assert result.exit_code == 1, result.output
    assert "GEBROCHEN" in result.stderr


def test_audit_verify_notices_a_deleted_middle_event(runner, db):
    _some_events(runner)
    ids = _event_ids(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
    db.commit()
    result = runner("audit-verify")
    assert result.exit_code == 1, result.output
    assert f"event {ids[2]}" in result.stderr


# ---------------------------------------------------------------- start-up failures


@pytest.fixture
def plain_runner(monkeypatch, tmp_path):
    """A command-line runner whose environment the test sets itself (no test database)."""
    for key in [k for k in os.environ if k.startswith("PORTAL_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORTAL_SEARCH_INDEX", str(tmp_path / "search_index"))
    cli_runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        from portal.cli import main

        return cli_runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.mark.parametrize(
    "command", [["init"], ["create-org", "X", "--kind", "kommune"], ["audit-verify"]]
)
def test_unreachable_database_is_a_clear_error(plain_runner, monkeypatch, command):
    monkeypatch.setenv("PORTAL_DATABASE_URL", UNREACHABLE_PG)
    result = plain_runner(*command)
    assert_user_error(result, UNREACHABLE, "127.0.0.1:1")


@pytest.mark.parametrize(
    "url", ["nonsense", "mysql+nosuchdriver://u@h/db", "sqlite:////nonexistent-dir/x/portal.db"]
)
def test_unusable_database_url_is_a_clear_error(plain_runner, monkeypatch, url):
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    result = plain_runner("init")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "database" in result.stderr.lower() or "datenbank" in result.stderr.lower()


def test_invalid_setting_is_a_clear_error(plain_runner, monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("PORTAL_LANGUAGE", "fr")
    assert_user_error(plain_runner("init"), "PORTAL_LANGUAGE")


def _serve_command(tmp_path: Path, database_url: str, *args: str) -> tuple[list[str], dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=database_url,
        PORTAL_DATA_DIR=str(tmp_path / "data"),
        PORTAL_SEARCH_INDEX=str(tmp_path / "search_index"),
        PORTAL_SECRET_KEY="test-secret-key",
        PORTAL_AUDIT_KEY=TEST_AUDIT_KEY,
        PYTHONUNBUFFERED="1",
    )
    return [str(PORTAL), "serve", "--host", "127.0.0.1", "--port", "0", *args], env


def _serve(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``portal serve`` in its own process; it must give up quickly, not serve."""
    command, env = _serve_command(tmp_path, database_url, *args)
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("`portal serve` started serving instead of refusing")


def test_serve_refuses_an_unreachable_database(tmp_path):
    result = _serve(tmp_path, UNREACHABLE_PG)
    assert result.returncode != 0
    assert UNREACHABLE in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_uninitialised_database(tmp_path):
    result = _serve(tmp_path, f"sqlite:///{tmp_path / 'leer.db'}")
    assert result.returncode != 0
    assert INIT_HINT in result.stderr and "Traceback" not in result.stderr


def test_serve_serves_an_initialised_database(tmp_path, sqlite_template):
    database = tmp_path / "portal.db"
    shutil.copyfile(sqlite_template, database)
    command, env = _serve_command(tmp_path, f"sqlite:///{database}")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=60), "`portal serve` printed nothing"
        line = process.stdout.readline()
        match = re.search(r"KIM Portal: (http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        base = match.group(1)
        with urllib.request.urlopen(base + "/health", timeout=10) as response:  # noqa: S310
            assert response.status == 200
            assert json.load(response) == {"status": "ok"}
        with urllib.request.urlopen(base + "/login", timeout=10) as response:  # noqa: S310
            assert "Anmelden" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_reports_a_busy_port_without_traceback(tmp_path, sqlite_template):
    database = tmp_path / "portal.db"
    shutil.copyfile(sqlite_template, database)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _serve(tmp_path, f"sqlite:///{database}", "--port", str(port))
    assert result.returncode != 0
    assert str(port) in result.stderr
    assert "Traceback" not in result.stderr


def test_index_worker_once_drains_pending_extractions(runner, db, make_user, make_case, save_ctx):
    import io

    from portal.models import DocumentVersion
    from portal.services import documents, outbox

    worker = make_user()
    case = make_case(worker)
    upload = documents.Upload(io.BytesIO(b"Bescheid vom Amt"), "b.txt")
    document = documents.create_document(
        db, worker, case, doc_type="file", title="Bescheid", ctx=save_ctx,
        content=documents.Content(upload=upload),
    )  # fmt: skip
    db.commit()
    assert outbox.pending(db) == 2  # extract the text, then index the document
    result = runner("index-worker", "--once")
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert outbox.pending(db) == 0
    version = db.query(DocumentVersion).filter_by(document_id=document.id).one()
    assert (version.extraction, version.extracted_text) == ("done", "Bescheid vom Amt")


def test_reindex_restores_search_results(runner, app, db, make_user, make_case, make_note):
    import shutil

    from portal.services import search
    from portal.services.audit import Requester
    from portal.services.search import make_backend
    from portal.services.search.backend import SearchQuery

    worker = make_user()
    make_note(worker, make_case(worker), text="Der Einstufungstest ist bestanden.")
    index_dir = app.extensions["portal.settings"].search_index
    shutil.rmtree(index_dir, ignore_errors=True)
    result = runner("reindex")
    assert result.exit_code == 0 and "1 Einträge" in result.output
    query = SearchQuery(text="Einstufungstests")
    backend = make_backend("tantivy", index_dir)  # the default, in a directory removed above
    found, _ = search.search(db, backend, Requester(worker), query)
    assert [f.document.title for f in found] == ["Beratungsvermerk"]


def test_check_finds_and_repairs_orphans_and_index_gaps(
    runner, app, make_user, make_case, make_note
):
    import os
    import time

    from portal import jobs
    from portal.services import documents

    worker = make_user()
    note = make_note(worker, make_case(worker), text="Ein Vermerk")
    jobs.drain(app)
    assert runner("check").exit_code == 0
    store = app.extensions["portal.blobs"]
    orphan = store.path("ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left over by a failed save")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    with app.extensions["portal.db"].session() as session:
        version_id = documents.get_version(session, note, 1).id
    app.extensions["portal.search"].update([], [version_id])  # drop its entry from the index
    found = runner("check")
    assert found.exit_code == 1
    assert "orphan files (no database row): 1" in found.output
    assert "versions missing from the search index: 1" in found.output
    repaired = runner("check", "--repair")
    assert repaired.exit_code == 0 and "repaired:" in repaired.output
    assert not orphan.exists()
    assert runner("check").exit_code == 0
