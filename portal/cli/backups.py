"""Commands: ``portal backup`` and ``portal restore`` (see services/backup.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from portal.cli import main
from portal.cli.app import check_database, make_app, refusals_as_messages, with_app
from portal.cli.maintenance import echo_chain, echo_check
from portal.config import Settings
from portal.db import database
from portal.migrate import current_revision, is_current
from portal.services import audit, backup


@main.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--with-keys", is_flag=True,
    help="Also the secret and audit keys, encrypted with a passphrase read from standard input.",
)  # fmt: skip
@click.option(
    "--keep", type=click.IntRange(min=1),
    help="Then delete the oldest backups beside DEST, so that this many remain.",
)  # fmt: skip
@with_app(needs_schema=False)
def backup_command(dest: Path, with_keys: bool, keep: int | None) -> None:
    """Write a backup of database and files to the new directory DEST (also of an older
    schema revision: before an upgrade). The keys stay out unless --with-keys."""
    db = database()
    if current_revision(db) is None:
        raise click.ClickException("Datenbank leer / database empty: nothing to back up.")
    settings = current_app.extensions["portal.settings"]
    keys = backup.Keys(settings.secret_key, settings.audit_key) if with_keys else None
    manifest = backup.create(
        db, current_app.extensions["portal.blobs"], dest, audit_key=settings.audit_key,
        keys=keys, passphrase=_passphrase(confirm=True) if with_keys else "",
    )  # fmt: skip
    if is_current(db):  # an older schema cannot take today's events
        with db.session() as session:
            audit.record(session, "backup_created", detail={"with_keys": with_keys})
    size = sum(entry["size"] for entry in manifest["files"].values())
    click.echo(
        f"Sicherung / backup {dest}: {len(manifest['files'])} Dateien / files,"
        f" {size / 2**20:.1f} MB, Schema {manifest['schema_revision']}"
        + (", mit Schlüsseln / with keys" if with_keys else ", ohne Schlüssel / without keys")
    )
    if keep:
        for removed in backup.prune(Path(dest).absolute().parent, keep):
            click.echo(f"Alte Sicherung gelöscht / old backup deleted: {removed}")


@main.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--with-keys", is_flag=True,
    help="Take the keys from the backup (its passphrase read from standard input).",
)  # fmt: skip
def restore_command(src: Path, with_keys: bool) -> None:
    """Restore the backup SRC into an empty database and data directory: its files are
    verified first; then the schema is brought forward, the search index rebuilt, and the
    result checked (portal check, portal audit-verify). Exit 1 if a check fails."""
    with refusals_as_messages():
        manifest = backup.verify(src)
        click.echo(
            f"Sicherung geprüft / backup verified: {len(manifest['files'])} files, made"
            f" {manifest['created_at']} by portal {manifest['portal_version']}."
        )
        _keys_in_place(src, with_keys)
    app = make_app()
    with app.app_context(), refusals_as_messages():
        check_database(needs_schema=False)
        report = backup.restore(
            src, manifest, database(), app.extensions["portal.blobs"],
            app.extensions["portal.search"], audit_key=app.extensions["portal.settings"].audit_key,
        )  # fmt: skip
    click.echo(
        f"Wiederhergestellt / restored: Schema {report.revision_before} → {report.revision_after},"
        f" Suchindex / search index: {report.entries_indexed} Einträge / entries."
    )
    echo_check(report.check)
    chain_ok = echo_chain(report.chain)
    if not (report.check.ok and chain_ok):
        sys.exit(1)


def _keys_in_place(src: Path, with_keys: bool) -> None:
    """The keys from the backup (--with-keys) or from the environment or data directory;
    never newly generated: a new audit key could not verify the restored trail."""
    try:
        settings = Settings.from_overrides(None)
    except ValueError as exc:
        raise click.ClickException(
            f"Konfiguration ungültig / invalid configuration: {exc}"
        ) from exc
    if with_keys:
        keys = backup.open_keys(src, _passphrase(confirm=False))
        configured = backup.Keys(settings.secret_key, settings.audit_key)
        backup.install_keys(settings.data_dir, keys, configured)
    elif not settings.audit_key and not (settings.data_dir / "audit_key").is_file():
        raise click.ClickException(
            f"Kein Audit-Schlüssel: PORTAL_AUDIT_KEY setzen, ihn nach {settings.data_dir}/audit_key"
            " legen oder --with-keys verwenden. / No audit key: set PORTAL_AUDIT_KEY, put it in"
            f" {settings.data_dir}/audit_key, or use --with-keys."
        )


def _passphrase(confirm: bool) -> str:
    """The passphrase: asked for on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return sys.stdin.readline().rstrip("\r\n")
