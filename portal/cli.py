"""The ``portal`` command line (see shared API.md). User errors: a message, exit 1, no traceback."""

from __future__ import annotations

import functools
import sys

import click
from flask import Flask, current_app
from sqlalchemy.exc import ArgumentError

from portal import create_app, jobs
from portal.db import DatabaseUnavailable, database
from portal.models import ORGANISATION_KINDS, ROLES
from portal.services import access, accounts, audit, tokens
from portal.services.errors import PortalError


def _app() -> Flask:
    try:
        return create_app()
    except ArgumentError as exc:  # includes an unknown database driver
        raise click.ClickException(
            f"PORTAL_DATABASE_URL ungültig / invalid database URL: {exc}"
        ) from exc
    except (ValueError, OSError) as exc:
        raise click.ClickException(
            f"Konfiguration ungültig / invalid configuration: {exc}"
        ) from exc


def with_app(needs_schema: bool = True):
    """Run the command inside an app context with a reachable, initialised database."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            app = _app()
            with app.app_context():
                _check_database(needs_schema)
                try:
                    return func(*args, **kwargs)
                except PortalError as exc:
                    detail = ", ".join(f"{k}: {v}" for k, v in exc.fields.items())
                    message = str(exc.message) + (f" ({detail})" if detail else "")
                    raise click.ClickException(message) from exc

        return wrapper

    return decorate


def _check_database(needs_schema: bool) -> None:
    from portal.migrate import is_current

    db = database()
    try:
        db.check_connection()
    except DatabaseUnavailable as exc:
        raise click.ClickException(
            f"Datenbank nicht erreichbar / database unreachable ({_safe_url(db.url)}): {exc}"
        ) from exc
    if needs_schema and not is_current(db):
        raise click.ClickException(
            "Datenbank nicht initialisiert oder veraltet: bitte `portal init` ausführen."
            " / Database not initialised or outdated: run `portal init`."
        )
    _check_audit_key(db)


def _check_audit_key(db) -> None:
    """Refuse a newly generated audit key for a database that already has an audit trail:
    the chain could never be verified again (a command run from another directory, a data
    directory not restored). The new key file goes again."""
    from flask import current_app

    if "audit_key" not in current_app.extensions["portal.created_secrets"]:
        return
    with db.session() as session:
        if not audit.has_events(session):
            return
    key = current_app.extensions["portal.settings"].data_dir / "audit_key"
    key.unlink(missing_ok=True)
    raise click.ClickException(
        f"Kein Audit-Schlüssel in {key.parent}, aber die Datenbank hat schon einen Audit-Trail:"
        " PORTAL_DATA_DIR (oder PORTAL_AUDIT_KEY) auf den bisherigen Schlüssel setzen."
        f" / No audit key in {key.parent}, but the database already has an audit trail:"
        " point PORTAL_DATA_DIR (or PORTAL_AUDIT_KEY) at the portal's key."
    )


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def main() -> None:
    """KIM Portal – Kommunales Integrationsmanagement."""


@main.command()
@with_app(needs_schema=False)
def init() -> None:
    """Create or upgrade the database and the search index."""
    from portal.migrate import head_revision, upgrade

    db = database()
    before = upgrade(db)
    if before is None:
        click.echo("Datenbank angelegt. / Database created.")
    elif before != head_revision(db):
        click.echo(f"Datenbank aktualisiert ({before} → {head_revision(db)}). / Database upgraded.")
    else:
        click.echo("Datenbank ist aktuell. / Database is up to date.")


@main.command("create-org")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(ORGANISATION_KINDS))
@click.option("--address", default="", help="Postal address for letterheads.")
@with_app()
def create_org(name: str, kind: str, address: str) -> None:
    """Create an organisation and print its id."""
    with database().session() as session:
        org = accounts.save_organisation(
            session, actor=access.SYSTEM, name=name, kind=kind, address=address, ip="cli"
        )
        org_id = org.id
    click.echo(org_id)


@main.command("create-user")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="Name of the organisation.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="", help='Full name, e.g. "Anna Schmidt".')
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_app()
def create_user(email: str, org_name: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a user; the password comes from stdin or a prompt."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Passwort / password", hide_input=True, confirmation_prompt=True)
    with database().session() as session:
        org = accounts.find_organisation(session, org_name)
        user = accounts.create_user(
            session,
            actor=access.SYSTEM,
            email=email,
            name=name or email.split("@")[0],
            organisation=org,
            role=role,
            password=password,
            ip="cli",
        )
        user_id = user.id
    click.echo(user_id)


@main.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
@with_app()
def create_token(email: str, name: str) -> None:
    """Print a new API token for the user (shown once)."""
    with database().session() as session:
        user = accounts.find_user_by_email(session, email)
        if user is None or not user.active:
            raise click.ClickException(
                f"Kein aktives Konto mit dieser E-Mail-Adresse / no active user: {email}"
            )
        _token, plain = tokens.create(session, user, name=name, actor=access.SYSTEM, ip="cli")
    click.echo(plain)


@main.command("seed-demo")
@with_app()
def seed_demo() -> None:
    """Load realistic German demo data (only into an empty database)."""
    from portal.http import save_context
    from portal.services import demo

    with database().session() as session:
        logins = demo.seed(session, save_context())
    jobs.drain(current_app)  # extract the demo files' text now, not at the first request
    click.echo("Demo-Zugänge / demo logins:")
    for email, password, label in logins:
        click.echo(f"  {email:<40} {password}   ({label})")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only report what is due.")
@with_app()
def purge(dry_run: bool) -> None:
    """Delete what is past its retention date; print the deletion certificate."""
    from portal.services import retention

    settings = current_app.extensions["portal.settings"]
    store = current_app.extensions["portal.blobs"]
    rule = retention.RetentionRule(settings.retention_years, settings.retention_years_by_type)
    with database().session() as session:
        report = retention.purge_due(session, store, rule, dry_run=dry_run)
    if not dry_run:
        retention.delete_unreferenced_blob_files(store, report.blobs_deleted)
    counts = ", ".join(f"{name}: {n}" for name, n in sorted(report.counts.items())) or "nichts"
    if dry_run:
        click.echo(f"Fällig / due (dry run, nothing deleted): {counts}")
    elif report.certificate_id is None:
        click.echo("Nichts fällig / nothing due.")
    else:
        click.echo(
            f"Gelöscht / deleted: {counts}; Löschprotokoll / certificate #{report.certificate_id}"
        )


@main.command("audit-verify")
@with_app()
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 when it is broken."""
    with database().session() as session:
        report = audit.verify_chain(session)
    if report.ok:
        click.echo(f"Audit-Kette intakt / audit chain intact: {report.checked} events.")
        return
    where = f"event {report.first_broken_id}" if report.first_broken_id else "chain head"
    click.echo(
        f"Audit-Kette GEBROCHEN / audit chain BROKEN at {where}: {report.reason}"
        f" ({report.checked} events verified before it).",
        err=True,
    )
    sys.exit(1)


@main.command()
@with_app()
def reindex() -> None:
    """Rebuild the search index from the database."""
    from portal.services import search

    with database().session() as session:
        count = search.reindex_all(session, current_app.extensions["portal.search"])
    click.echo(f"Suchindex neu aufgebaut / search index rebuilt: {count} Einträge / entries.")


@main.command()
@click.option("--repair", is_flag=True, help="Delete orphans and re-index what is missing.")
@with_app()
def check(repair: bool) -> None:
    """Compare database, file store and search index; exit 1 while something is wrong."""
    from portal.services import consistency

    with database().session() as session:
        store, backend = (
            current_app.extensions["portal.blobs"],
            current_app.extensions["portal.search"],
        )
        report = consistency.check(session, store, backend, repair=repair)
    lines = {
        "orphan files (no database row)": report.orphan_files,
        "files missing from the store": report.missing_files,
        "blobs no version or consent uses": report.unreferenced_blobs,
        "versions missing from the search index": report.unindexed_versions,
        "index entries of deleted versions": report.stale_index_entries,
        "outbox jobs that keep failing": report.failing_jobs,
    }
    for label, items in lines.items():
        click.echo(f"{label}: {len(items)}")
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    if not report.ok and not repair:
        sys.exit(1)


@main.command("index-worker")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@click.option("--once", is_flag=True, help="Drain what is due, then stop.")
@with_app()
def index_worker(interval: float, once: bool) -> None:
    """Drain the outbox (text extraction, index updates) continuously."""
    import time

    while True:
        done = jobs.drain(current_app)
        if done:
            click.echo(f"{done} Aufträge erledigt / jobs done")
        if once:
            return
        if not done:
            time.sleep(interval)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the portal with the Waitress WSGI server."""
    import logging

    from waitress.server import create_server

    app = _app()
    with app.app_context():
        _check_database(needs_schema=True)
        # The index was unreadable or of an older schema (Whoosh), or missing (PostgreSQL).
        if app.extensions["portal.search"].rebuilt:
            from portal.services import search

            with database().session() as session:
                search.reindex_all(session, app.extensions["portal.search"])
        # Work left by a process that died after committing (e.g. text extraction).
        app.extensions["portal.drainer"].wake()
        # Facet and date columns etc.: not on the first coordinator's search.
        app.extensions["portal.search"].warm_up()
    # The PDF workers take seconds to start: not on the first caseworker's print.
    from portal.services import pdf

    pdf.warm_up()
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="kim-portal")
    except OSError as exc:  # port taken, no permission, unknown host name
        raise click.ClickException(
            f"Adresse {host}:{port} nicht verfügbar / cannot listen on {host}:{port}:"
            f" {exc.strerror or exc}"
        ) from exc
    logging.basicConfig()  # Waitress reports its warnings through logging
    # With --port 0 only the server knows the port; a host name may give several sockets.
    listening = getattr(server, "effective_listen", None) or [
        (server.effective_host, server.effective_port)
    ]
    for address, bound_port in listening:
        shown = f"[{address}]" if ":" in str(address) else address
        click.echo(f"KIM Portal: http://{shown}:{bound_port}/")
    server.run()
