"""``portal backup`` and ``portal restore``: a seeded portal round-trips on SQLite and
PostgreSQL (every row, every file, the audit chain, the search index), also from an older
schema revision; damaged backups, foreign keys and non-empty targets are refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from portal.cli import main
from portal.db import Database
from portal.migrate import alembic_config, head_revision, upgrade_recorded
from portal.models import AuditEvent, Base
from portal.services import backup
from portal.services.search import make_backend
from portal.services.storage import BlobStore
from tests.conftest import TEST_AUDIT_KEY
from tests.databases import create_postgres_database, drop_postgres_database

PASSPHRASE = "Kreishaus-Gütersloh-Nachtsicherung"
# A revision before one that changes data (0012 turns roles into a new set).
OLDER_REVISION = "0011"


def portal(env: dict, *args: str, input: str | None = None):
    """Run ``portal`` with this environment (PORTAL_* names without the prefix)."""
    environment = {f"PORTAL_{name.upper()}": str(value) for name, value in env.items()}
    return CliRunner().invoke(main, list(args), input=input, env=environment)


@pytest.fixture
def source(app_config, database_url) -> dict:
    """The environment of a portal with the demo network, its outbox drained."""
    env = {**app_config, "search_backend": _backend_for(database_url)}
    for command_line in (("seed-demo",), ("index-worker", "--once")):
        result = portal(env, *command_line)
        assert result.exit_code == 0, result.output
    return env


@pytest.fixture
def empty_target(database_url, tmp_path) -> Iterator[dict]:
    """The environment of an empty portal: a new database, data directory and index."""
    env = {
        "data_dir": tmp_path / "restored-data",
        "search_index": tmp_path / "restored-index",
        "search_backend": _backend_for(database_url),
    }
    with _new_database(database_url, tmp_path) as url:
        yield {**env, "database_url": url}


def _backend_for(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgresql") else "tantivy"


class _new_database:
    """An empty database of the same kind as ``like``, dropped afterwards."""

    def __init__(self, like: str, tmp_path: Path) -> None:
        self.postgres = like.startswith("postgresql")
        self.name = f"kim_restore_{uuid.uuid4().hex[:10]}"
        self.path = tmp_path / f"{self.name}.db"

    def __enter__(self) -> str:
        if not self.postgres:
            return f"sqlite:///{self.path}"
        return create_postgres_database(self.name)

    def __exit__(self, *exc) -> None:
        if self.postgres:
            drop_postgres_database(self.name)


# ---------------------------------------------------------------- round trips


def test_a_restore_gives_back_every_row_file_and_the_audit_chain(source, empty_target, tmp_path):
    made = portal(source, "backup", str(tmp_path / "nightly"))
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "nightly" / "manifest.json").read_text())
    assert manifest["keys_included"] is False
    assert not (tmp_path / "nightly" / "keys.enc").exists()

    assert _last_actions(source["database_url"], 1) == ["backup_created"]

    target = {**empty_target, "audit_key": TEST_AUDIT_KEY, "secret_key": "test-secret-key"}
    restored = portal(target, "restore", str(tmp_path / "nightly"))
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output

    events = manifest["counts"]["audit_events"]
    _assert_same_rows(source["database_url"], target["database_url"], events)
    _assert_same_files(source, target)
    _assert_searchable(target)
    assert _last_actions(target["database_url"], 1) == ["backup_restored"]
    for command_line in (("check",), ("audit-verify",)):
        result = portal(target, *command_line)
        assert result.exit_code == 0, result.output


def test_with_keys_the_backup_alone_restores_the_portal(source, empty_target, tmp_path):
    dest = tmp_path / "with-keys"
    made = portal(source, "backup", str(dest), "--with-keys", input=PASSPHRASE + "\n")
    assert made.exit_code == 0, made.output
    sealed = (dest / "keys.enc").read_text()
    assert TEST_AUDIT_KEY not in sealed and "test-secret-key" not in sealed

    wrong = portal(
        empty_target, "restore", str(dest), "--with-keys", input="falsch-falsch-falsch\n"
    )
    assert wrong.exit_code == 1
    assert "wrong passphrase" in wrong.output
    assert not Path(empty_target["data_dir"]).exists()  # nothing written, no key generated

    restored = portal(empty_target, "restore", str(dest), "--with-keys", input=PASSPHRASE + "\n")
    assert restored.exit_code == 0, restored.output
    assert (_data_dir(empty_target) / "audit_key").read_text() == TEST_AUDIT_KEY
    assert (_data_dir(empty_target) / "secret_key").read_text() == "test-secret-key"
    events = json.loads((dest / "manifest.json").read_text())["counts"]["audit_events"]
    _assert_same_rows(source["database_url"], empty_target["database_url"], events)


def test_a_backup_of_an_older_schema_is_restored_and_brought_forward(
    source, empty_target, tmp_path
):
    """What an upgrade in place makes of the older database is what the restore gives."""
    older = Database(source["database_url"], audit_key=TEST_AUDIT_KEY)
    newest = head_revision(older)
    command.downgrade(alembic_config(older), OLDER_REVISION)
    older.engine.dispose()
    made = portal(source, "backup", str(tmp_path / "before-upgrade"))
    assert made.exit_code == 0, made.output
    assert "Schema 0011" in made.output

    target = {**empty_target, "audit_key": TEST_AUDIT_KEY}
    restored = portal(target, "restore", str(tmp_path / "before-upgrade"))
    assert restored.exit_code == 0, restored.output
    assert f"Schema {OLDER_REVISION} → {newest}" in restored.output

    upgraded = Database(source["database_url"], audit_key=TEST_AUDIT_KEY)
    assert upgrade_recorded(upgraded) == (OLDER_REVISION, newest)
    upgraded.engine.dispose()
    events = json.loads((tmp_path / "before-upgrade" / "manifest.json").read_text())
    _assert_same_rows(
        source["database_url"], target["database_url"], events["counts"]["audit_events"]
    )
    assert _last_actions(target["database_url"], 2) == ["schema_upgrade", "backup_restored"]


def test_keep_deletes_the_oldest_backups(source, tmp_path):
    nightly = tmp_path / "nightly"
    nightly.mkdir()
    (nightly / "notes.txt").write_text("not a backup: kept")
    for night in ("2026-12-01", "2026-12-02", "2026-12-03"):
        result = portal(source, "backup", str(nightly / night), "--keep", "2")
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in nightly.iterdir()) == ["2026-12-02", "2026-12-03", "notes.txt"]


# ---------------------------------------------------------------- refusals


def test_a_damaged_or_incomplete_backup_is_refused_before_anything_is_written(
    source, empty_target, tmp_path
):
    dest = tmp_path / "b"
    assert portal(source, "backup", str(dest)).exit_code == 0
    target = {**empty_target, "audit_key": TEST_AUDIT_KEY}
    blob = next(path for path in (dest / "blobs").rglob("*") if path.is_file())
    good = blob.read_bytes()
    blob.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    (dest / "stray.txt").write_text("?")

    refused = portal(target, "restore", str(dest))
    assert refused.exit_code == 1
    assert "does not match its manifest" in refused.output
    assert "changed: blobs/" in refused.output and "unlisted: stray.txt" in refused.output
    assert not Path(target["data_dir"]).exists()

    blob.unlink()
    (dest / "stray.txt").unlink()
    refused = portal(target, "restore", str(dest))
    assert "missing: blobs/" in refused.output
    not_a_backup = portal(target, "restore", str(tmp_path))
    assert not_a_backup.exit_code == 1 and "has no manifest.json" in not_a_backup.output
    manifest = json.loads((dest / "manifest.json").read_text())
    del manifest["audit_key_check"]
    (dest / "manifest.json").write_text(json.dumps(manifest))
    incomplete = portal(target, "restore", str(dest))
    assert incomplete.exit_code == 1, incomplete.output
    assert "incomplete manifest.json (missing: audit_key_check)" in incomplete.output


def test_restore_refuses_another_audit_key_and_a_missing_one(source, empty_target, tmp_path):
    dest = tmp_path / "b"
    assert portal(source, "backup", str(dest)).exit_code == 0

    missing = portal(empty_target, "restore", str(dest))
    assert missing.exit_code == 1 and "No audit key" in missing.output
    assert not Path(empty_target["data_dir"]).exists()

    foreign = portal({**empty_target, "audit_key": "another-key"}, "restore", str(dest))
    assert foreign.exit_code == 1
    assert "not the one this backup's audit trail was written with" in foreign.output
    assert _tables(empty_target["database_url"]) == set()


def test_restore_only_into_an_empty_portal(source, tmp_path):
    dest = tmp_path / "b"
    assert portal(source, "backup", str(dest)).exit_code == 0
    before = _rows(source["database_url"])

    refused = portal(source, "restore", str(dest))
    assert refused.exit_code == 1
    assert "target database is not empty" in refused.output
    assert _rows(source["database_url"]) == before


def test_backup_refuses_a_used_destination_and_a_missing_file(source, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    result = portal(source, "backup", str(used))
    assert result.exit_code == 1 and "not an empty directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    store = BlobStore(Path(source["data_dir"]) / "blobs")
    sha256, path = next(store.iter_blobs())
    path.unlink()
    result = portal(source, "backup", str(tmp_path / "b"))
    assert result.exit_code == 1
    assert "1 files missing" in result.output and sha256 in result.output
    assert not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_short_passphrase_is_refused(source, tmp_path):
    result = portal(source, "backup", str(tmp_path / "b"), "--with-keys", input="kurz\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert not (tmp_path / "b").exists()


def test_sealed_keys_open_only_with_their_passphrase(tmp_path):
    keys = backup.Keys(secret_key="s" * 64, audit_key="a" * 64)
    (tmp_path / backup.KEYS).write_text(json.dumps(backup.seal_keys(keys, PASSPHRASE)))
    assert backup.open_keys(tmp_path, PASSPHRASE) == keys
    with pytest.raises(backup.BackupRefused, match="wrong passphrase"):
        backup.open_keys(tmp_path, PASSPHRASE + "x")
    sealed = json.loads((tmp_path / backup.KEYS).read_text())
    sealed["ciphertext"] = sealed["ciphertext"][:-8] + "AAAAAAA="
    (tmp_path / backup.KEYS).write_text(json.dumps(sealed))
    with pytest.raises(backup.BackupRefused):
        backup.open_keys(tmp_path, PASSPHRASE)


# ---------------------------------------------------------------- comparing portals


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the portal's schema, in primary-key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _assert_same_rows(source_url: str, target_url: str, events: int) -> None:
    """The same rows, but for the audit events after the backup's ``events`` (the backup's
    own, the restore's, an upgrade's) and the chain's head, which they moved on."""
    source, target = _rows(source_url), _rows(target_url)
    for rows in (source, target):
        rows["audit_events"] = rows["audit_events"][:events]
        rows.pop("audit_chain_head")
    assert len(target["audit_events"]) == events
    assert sum(len(rows) for rows in source.values()) > 500
    for name in source:
        assert target[name] == source[name], name


def _assert_same_files(source: dict, target: dict) -> None:
    original = dict(BlobStore(Path(source["data_dir"]) / "blobs").iter_blobs())
    restored = dict(BlobStore(_data_dir(target) / "blobs").iter_blobs())
    assert len(original) >= 5
    assert restored.keys() == original.keys()
    for sha256, path in original.items():
        assert restored[sha256].read_bytes() == path.read_bytes()


def _assert_searchable(target: dict) -> None:
    """Every version of the restored database is in the rebuilt index."""
    engine = create_engine(target["database_url"])
    backend = make_backend(target["search_backend"], Path(target["search_index"]), engine)
    with engine.connect() as connection:
        versions = set(connection.scalars(text("SELECT id FROM document_versions")))
    assert versions and backend.version_ids() == versions
    engine.dispose()


def _last_actions(url: str, n: int) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        actions = connection.scalars(
            select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(n)
        )
        result = list(actions)[::-1]
    engine.dispose()
    return result


def _tables(url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _data_dir(env: dict) -> Path:
    return Path(env["data_dir"])
