"""Backups: a consistent snapshot of the database with the files it names, and a manifest.

A backup is a directory::

    manifest.json        what is in it: versions, schema revision, counts, SHA-256 of each file
    database.sqlite3     SQLite's online backup (or database.pgdump, pg_dump's custom format)
    blobs/ab/cdef…       every stored file the snapshot names (uploads, scans, logos)
    keys.enc             only with --with-keys: the keys, encrypted with a passphrase

It is written beside its destination under a hidden name and renamed into place when
complete, so a directory with a manifest is a whole backup. The search index is not in
it: a restore rebuilds it. Keys are not in it unless asked for; the manifest holds a
check value of the audit key, so that a restore refuses a key the trail was not written
with (the chain could never be verified again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from portal.db import Database
from portal.migrate import upgrade_recorded
from portal.models import utcnow
from portal.services import audit, consistency, search
from portal.services.audit import ChainReport
from portal.services.consistency import CheckReport
from portal.services.errors import PortalError
from portal.services.storage import BlobStore, fsync_dir

FORMAT = "kim-portal-backup/1"
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
BLOBS = "blobs"
KEYS = "keys.enc"
# The PostgreSQL search backend's schema: rebuilt on restore, so left out of the dump.
SEARCH_SCHEMA = "portal_search"
MIN_PASSPHRASE = 12
# scrypt at 2^17 × 8 × 128 bytes = 128 MiB per guess of the passphrase.
_SCRYPT = {"n": 2**17, "r": 8, "p": 1}
_CHECK_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class BackupRefused(PortalError):
    """A backup or restore that cannot be done as asked; nothing was changed."""

    code = "backup_refused"
    status = 409


@dataclass(frozen=True)
class Keys:
    """The portal's two secrets, as a backup may carry them."""

    secret_key: str
    audit_key: str


# ---------------------------------------------------------------- writing a backup


def create(
    database: Database, store: BlobStore, dest: Path, *, audit_key: str,
    keys: Keys | None = None, passphrase: str = "",
) -> dict:  # fmt: skip
    """Write a backup of ``database`` and ``store`` to the new directory ``dest``; with
    ``keys``, also the keys encrypted with ``passphrase``. Returns the manifest."""
    dest = Path(dest).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupRefused(f"{dest} exists and is not an empty directory")
    if keys is not None:
        _check_passphrase(passphrase)
    work = dest.parent / f".{dest.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(parents=True, mode=0o700)
    try:
        manifest = _write(database, store, work, audit_key, keys, passphrase)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    fsync_dir(dest.parent)
    return manifest


def _write(database, store, work, audit_key, keys, passphrase) -> dict:
    kind = database.engine.dialect.name
    database_file = work / DATABASE_FILES[kind]
    snapshot = _sqlite_snapshot if kind == "sqlite" else _postgres_snapshot
    with snapshot(database, database_file) as (connection, server):
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        counts = _counts(connection)
        hashes = sorted(connection.scalars(text("SELECT sha256 FROM blobs")))
    _copy_blobs(store, hashes, work / BLOBS)
    if keys is not None:
        (work / KEYS).write_text(json.dumps(seal_keys(keys, passphrase)))
    salt = secrets.token_hex(16)
    manifest = {
        "format": FORMAT,
        "portal_version": portal_version(),
        "created_at": utcnow().isoformat(timespec="seconds"),
        "database": {"kind": kind, "file": database_file.name, **server},
        "schema_revision": revision,
        "counts": counts,
        "keys_included": keys is not None,
        "audit_key_check": {"salt": salt, "value": key_check(audit_key, salt)},
        "files": _file_list(work),
    }
    path = work / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _fsync_file(path)
    return manifest


@contextmanager
def _sqlite_snapshot(database: Database, target: Path) -> Iterator[tuple[Connection, dict]]:
    """SQLite's online backup API into ``target`` (consistent while others write), then a
    read-only connection to the copy."""
    with database.engine.connect() as connection:
        copy = sqlite3.connect(target)
        try:
            connection.connection.driver_connection.backup(copy)
            # A self-contained file: no -wal or -shm files beside it when it is read.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    engine = _read_only_sqlite(target)
    try:
        with engine.connect() as snapshot:
            yield snapshot, {"server_version": sqlite3.sqlite_version}
    finally:
        engine.dispose()


def _read_only_sqlite(path: Path):
    return create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    )


@contextmanager
def _postgres_snapshot(database: Database, target: Path) -> Iterator[tuple[Connection, dict]]:
    """``pg_dump`` of an exported snapshot, and a transaction that sees the same snapshot:
    the counts and file hashes read there are those of the dump."""
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            server = int(connection.scalar(text("SHOW server_version_num"))) // 10000
            tool = _client_major("pg_dump")
            if tool < server:
                raise BackupRefused(
                    f"pg_dump {tool} cannot dump a PostgreSQL {server} server: install the"
                    f" client tools of version {server} or newer"
                )
            _run_pg(
                database.url, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                f"--exclude-schema={SEARCH_SCHEMA}", f"--snapshot={snapshot}",
                f"--file={target}",
            )  # fmt: skip
            yield connection, {"server_version": server, "dump_version": tool}


def _counts(connection: Connection) -> dict[str, int]:
    """Rows per table (the schema's own tables, whatever its revision)."""
    names = sorted(inspect(connection).get_table_names())
    return {
        name: connection.scalar(select(func.count()).select_from(table(name))) for name in names
    }


def _copy_blobs(store: BlobStore, hashes: list[str], target: Path) -> None:
    """Copy every named file, checking on the way that its bytes still have its hash."""
    missing, damaged = [], []
    for sha256 in hashes:
        if not store.exists(sha256):
            missing.append(sha256)
            continue
        copied = target / sha256[:2] / sha256[2:]
        copied.parent.mkdir(parents=True, exist_ok=True)
        with store.open(sha256) as source, copied.open("xb") as out:
            digest = _copy_hashing(source, out)
        if digest != sha256:
            damaged.append(sha256)
    if missing or damaged:
        raise BackupRefused(
            f"the file store does not match the database: {len(missing)} files missing,"
            f" {len(damaged)} damaged (portal check names them; a file deleted by portal"
            " purge during the backup: run it again)",
            fields={"missing": ", ".join(missing[:5]), "damaged": ", ".join(damaged[:5])},
        )


def _file_list(root: Path) -> dict[str, dict]:
    """SHA-256 and size of every file below ``root``, by its path relative to it."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        files[path.relative_to(root).as_posix()] = {"sha256": digest, "size": path.stat().st_size}
    return files


def prune(parent: Path, keep: int) -> list[Path]:
    """Delete the oldest complete backups in ``parent`` so that ``keep`` remain; the ones
    deleted. Only directories with a manifest of this format count."""
    backups = []
    for candidate in Path(parent).iterdir():
        try:
            manifest = json.loads((candidate / MANIFEST).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT:
            backups.append((str(manifest.get("created_at", "")), candidate.name, candidate))
    backups.sort()
    doomed = [path for _, _, path in backups[: max(len(backups) - keep, 0)]]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# ---------------------------------------------------------------- keys


def seal_keys(keys: Keys, passphrase: str) -> dict:
    """The keys encrypted with AES-256-GCM under a key derived from ``passphrase`` (scrypt)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = json.dumps({"secret_key": keys.secret_key, "audit_key": keys.audit_key}).encode()
    sealed = AESGCM(_derive(passphrase, salt, _SCRYPT)).encrypt(nonce, plain, FORMAT.encode())
    return {
        "cipher": "AES-256-GCM",
        "kdf": {"name": "scrypt", **_SCRYPT, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }


def open_keys(src: Path, passphrase: str) -> Keys:
    """The keys of the backup ``src``; refused when it has none or the passphrase is wrong."""
    path = Path(src) / KEYS
    if not path.is_file():
        raise BackupRefused("this backup holds no keys (it was made without --with-keys)")
    try:
        sealed = json.loads(path.read_text())
        kdf = sealed["kdf"]
        params = {name: int(kdf[name]) for name in ("n", "r", "p")}
        key = _derive(passphrase, base64.b64decode(kdf["salt"]), params)
        plain = AESGCM(key).decrypt(
            base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ciphertext"]),
            FORMAT.encode(),
        )  # fmt: skip
        values = json.loads(plain)
        return Keys(secret_key=values["secret_key"], audit_key=values["audit_key"])
    except InvalidTag:
        raise BackupRefused("wrong passphrase (or a damaged keys file)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupRefused(f"unreadable keys file: {exc}") from None


def key_check(audit_key: str, salt: str) -> str:
    """A check value of the audit key: shows on restore whether a key is the one the trail
    was written with, and costs an attacker scrypt work per guess of a weak key."""
    return _derive(audit_key, bytes.fromhex(salt), _CHECK_SCRYPT).hex()


def _derive(secret: str, salt: bytes, params: dict) -> bytes:
    return Scrypt(salt=salt, length=32, **params).derive(secret.encode())


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupRefused(f"the passphrase needs at least {MIN_PASSPHRASE} characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------- restoring


@dataclass
class RestoreReport:
    """What a restore did, and whether the restored portal checks out."""

    revision_before: str
    revision_after: str
    entries_indexed: int
    check: CheckReport
    chain: ChainReport

    @property
    def ok(self) -> bool:
        return self.check.ok and self.chain.ok


_MANIFEST_FIELDS = {
    "created_at": str, "portal_version": str, "schema_revision": str, "counts": dict,
    "database": dict, "audit_key_check": dict, "files": dict,
}  # fmt: skip


def verify(src: Path) -> dict:
    """The manifest of the backup ``src`` once every file has its recorded size and SHA-256
    and nothing unlisted is there; refused otherwise. Reads every byte."""
    src = Path(src)
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupRefused(f"{src} is not a backup: it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BackupRefused(f"unreadable {MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused(f"not a backup of format {FORMAT}")
    missing = [name for name, kind in _MANIFEST_FIELDS.items()
               if not isinstance(manifest.get(name), kind)]  # fmt: skip
    if missing:
        raise BackupRefused(f"incomplete {MANIFEST}", fields={"missing": ", ".join(missing)})
    listed, present = manifest.get("files") or {}, _file_list(src)
    present.pop(MANIFEST, None)
    problems = {
        "missing": sorted(set(listed) - set(present)),
        "unlisted": sorted(set(present) - set(listed)),
        "changed": sorted(n for n in set(listed) & set(present) if listed[n] != present[n]),
        "misnamed": sorted(n for n in present if n.startswith(f"{BLOBS}/")
                           and n.split("/", 1)[1].replace("/", "") != present[n]["sha256"]),
    }  # fmt: skip
    kind = (manifest.get("database") or {}).get("kind")
    if DATABASE_FILES.get(kind) not in listed:
        problems["missing"].append(DATABASE_FILES.get(kind, "database"))
    if any(problems.values()):
        raise BackupRefused(
            "the backup does not match its manifest",
            fields={name: ", ".join(files[:5]) for name, files in problems.items() if files},
        )
    return manifest


def install_keys(data_dir: Path, keys: Keys, configured: Keys) -> None:
    """Put the backup's keys where the portal reads them (``data_dir``), refusing to
    replace different ones already set in the environment or lying there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("secret_key", "audit_key"):
        value, already = getattr(keys, name), getattr(configured, name)
        path = data_dir / name
        if already and already != value:
            raise BackupRefused(f"PORTAL_{name.upper()} is set to another key than the backup's")
        if path.exists() and path.read_text().strip() != value:
            raise BackupRefused(f"{path} holds a different key than the backup's")
        if not already and not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(value)


def restore(
    src: Path, manifest: dict, database: Database, store: BlobStore, backend, *, audit_key: str
) -> RestoreReport:
    """Restore the verified backup ``src`` into an empty database and file store, bring the
    schema forward, rebuild the search index; then check the whole and the audit chain."""
    if not hmac.compare_digest(
        key_check(audit_key, manifest["audit_key_check"]["salt"]),
        manifest["audit_key_check"]["value"],
    ):
        raise BackupRefused(
            "the audit key is not the one this backup's audit trail was written with: set"
            " PORTAL_AUDIT_KEY (or PORTAL_DATA_DIR/audit_key) to it, or use --with-keys"
        )
    kind = manifest["database"]["kind"]
    if kind != database.engine.dialect.name:
        target = database.engine.dialect.name
        raise BackupRefused(f"a {kind} backup cannot be restored into {target}")
    _check_empty(database, store)
    database_file = Path(src) / DATABASE_FILES[kind]
    if kind == "sqlite":
        _restore_sqlite(database, database_file)
    else:
        _restore_postgres(database, database_file, manifest)
    with database.engine.connect() as connection:
        counts = _counts(connection)
    if counts != manifest["counts"]:
        raise BackupRefused("the restored database does not have the rows the manifest counts")
    _restore_blobs(Path(src), manifest, store)
    before, after = upgrade_recorded(database)
    with database.session() as session:
        audit.record(session, "backup_restored", detail={
            "created_at": manifest["created_at"], "portal_version": manifest["portal_version"],
            "schema_revision": manifest["schema_revision"],
        })  # fmt: skip
    with database.session() as session:
        indexed = search.reindex_all(session, backend)
        check = consistency.check(session, store, backend)
        chain = audit.verify_chain(session)
    return RestoreReport(before or "", after, indexed, check, chain)


def _check_empty(database: Database, store: BlobStore) -> None:
    tables = inspect(database.engine).get_table_names()
    if tables:
        raise BackupRefused(
            f"the target database is not empty ({len(tables)} tables): restore only into"
            " an empty database"
        )
    if next(store.iter_blobs(), None) is not None:
        raise BackupRefused(f"the file store {store.root} is not empty")


def _restore_sqlite(database: Database, dump: Path) -> None:
    database.engine.dispose()  # no connection of ours holds the file meanwhile
    source = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(make_url(database.url).database)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _restore_postgres(database: Database, dump: Path, manifest: dict) -> None:
    tool, made_by = _client_major("pg_restore"), int(manifest["database"]["dump_version"])
    if tool < made_by:
        raise BackupRefused(f"pg_restore {tool} cannot read a dump of pg_dump {made_by}")
    name = make_url(database.url).database
    _run_pg(database.url, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", f"--dbname={name}", str(dump))  # fmt: skip


def _restore_blobs(src: Path, manifest: dict, store: BlobStore) -> None:
    """Each file through the store's own staging: hashed again, renamed into place."""
    for name, listed in manifest["files"].items():
        if not name.startswith(f"{BLOBS}/"):
            continue
        with (src / name).open("rb") as source:
            staged = store.stage(source, max_bytes=listed["size"])
        if staged.sha256 != listed["sha256"]:
            staged.discard()
            raise BackupRefused(f"{name} changed while it was restored")
        store.commit(staged)


# ---------------------------------------------------------------- helpers


def portal_version() -> str:
    try:
        return version("kim-portal")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _client_major(program: str) -> int:
    """The major version of a PostgreSQL client tool (``pg_dump (PostgreSQL) 15.20`` → 15)."""
    try:
        result = subprocess.run(  # noqa: S603  (our own arguments, no shell)
            [program, "--version"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BackupRefused(f"{program} not found: install the PostgreSQL client tools") from exc
    found = re.search(r"\)\s*(\d+)", result.stdout)
    if not found:
        raise BackupRefused(f"unknown {program} version: {result.stdout.strip()}")
    return int(found.group(1))


def _run_pg(url: str, program: str, *args: str) -> None:
    """Run a PostgreSQL client tool against ``url``; connection and password through the
    environment, never on a command line that others can list."""
    parts = make_url(url)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", parts.host or parts.query.get("host")), ("PGPORT", parts.port),
        ("PGUSER", parts.username), ("PGPASSWORD", parts.password),
        ("PGDATABASE", parts.database), ("PGSSLMODE", parts.query.get("sslmode")),
    ):  # fmt: skip
        if value:
            env[variable] = str(value)
    result = subprocess.run(  # noqa: S603  (our own arguments, no shell)
        [program, *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        detail = " ".join(result.stderr.strip().splitlines()[-3:])
        raise BackupRefused(f"{program} failed: {detail}")


def _copy_hashing(source, out) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(1024 * 1024):
        digest.update(chunk)
        out.write(chunk)
    out.flush()
    os.fsync(out.fileno())
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
