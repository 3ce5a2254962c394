"""Commands: schema, search index, retention, audit chain, consistency, the server."""

from __future__ import annotations

import sys

import click
from flask import current_app

from portal import jobs
from portal.cli import main
from portal.cli.app import check_database, make_app, with_app
from portal.db import database
from portal.services import audit


@main.command()
@with_app(needs_schema=False)
def init() -> None:
    """Create or upgrade the database and the search index."""
    from portal.migrate import upgrade_recorded

    before, after = upgrade_recorded(database())
    if before is None:
        click.echo("Datenbank angelegt. / Database created.")
    elif before != after:
        click.echo(f"Datenbank aktualisiert ({before} → {after}). / Database upgraded.")
    else:
        click.echo("Datenbank ist aktuell. / Database is up to date.")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only report what is due.")
@with_app()
def purge(dry_run: bool) -> None:
    """Delete what is past its retention date; print the deletion certificate. Remove
    client addresses older than PORTAL_AUDIT_ADDRESS_DAYS (90) from the audit trail, and
    ended login sessions and login attempts too old to count."""
    from portal.services import retention

    settings = current_app.extensions["portal.settings"]
    store = current_app.extensions["portal.blobs"]
    rule = retention.RetentionRule(settings.retention_years, settings.retention_years_by_type)
    with database().session() as session:
        report = retention.purge_due(session, store, rule, dry_run=dry_run)
    if not dry_run:
        retention.delete_unreferenced_blob_files(store, report.blobs_deleted)
        _prune_addresses(settings.audit_address_days)
        _prune_logins(settings)
    counts = ", ".join(f"{name}: {n}" for name, n in sorted(report.counts.items())) or "nichts"
    if dry_run:
        click.echo(f"Fällig / due (dry run, nothing deleted): {counts}")
    elif report.certificate_id is None:
        click.echo("Nichts fällig / nothing due.")
    else:
        click.echo(
            f"Gelöscht / deleted: {counts}; Löschprotokoll / certificate #{report.certificate_id}"
        )


def _prune_logins(settings) -> None:
    """Delete login sessions that can no longer be used and login attempts too old to
    count: both hold addresses, and nothing needs them any more."""
    from datetime import timedelta

    from portal.services import auth, sessions

    rule = auth.ThrottleRule(settings.login_max_failures,
                             timedelta(minutes=settings.login_window_minutes))  # fmt: skip
    with database().session() as session:
        ended = sessions.prune(session, timedelta(hours=settings.session_absolute_hours))
        attempts = auth.prune_attempts(session, rule)
    click.echo(f"Abgelaufene Sitzungen / ended sessions: {ended}; alte Anmeldeversuche /"
               f" old login attempts: {attempts}")  # fmt: skip


def _prune_addresses(days: int) -> None:
    """Remove client addresses older than ``days`` from the audit trail (staff data kept
    only as long as needed to trace misuse)."""
    with database().session() as session:
        try:
            removed = audit.prune_addresses(session, days)
        except audit.ChainBroken as exc:
            click.echo(
                f"Adressen NICHT entfernt: Audit-Kette gebrochen ({exc}); portal audit-verify."
                f" / Addresses NOT removed: audit chain broken.",
                err=True,
            )
            sys.exit(1)
    click.echo(
        f"Adressen älter als {days} Tage entfernt / addresses older than {days} days"
        f" removed: {removed}"
    )


@main.command("audit-checkpoint")
@click.option(
    "--file", "path", type=click.Path(dir_okay=False), help="Also append the line to this file."
)
@with_app()
def audit_checkpoint(path: str | None) -> None:
    """Print a sealed checkpoint of the audit chain (length and newest hash) as one line,
    to keep outside the database: run it daily and ship the line elsewhere."""
    with database().session() as session:
        line = audit.checkpoint(session).line()
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    click.echo(line)


@main.command("audit-verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    type=click.File(encoding="utf-8"),
    help="A file of lines from portal audit-checkpoint: the chain must still reach them.",
)
@with_app()
def audit_verify(checkpoints) -> None:
    """Check the audit hash chain (and checkpoints kept outside); exit 1 when broken."""
    with database().session() as session:
        report = audit.verify_chain(session)
        if report.ok and checkpoints is not None:
            lines = [line for line in checkpoints.read().splitlines() if line.strip()]
            against = audit.verify_checkpoints(session, lines)
            if not against.ok:
                report = against
            else:
                click.echo(f"Checkpoints erreicht / checkpoints reached: {against.checked}.")
    if not echo_chain(report):
        sys.exit(1)


def echo_chain(report) -> bool:
    """Print whether the audit chain verified (where not, to standard error)."""
    if report.ok:
        click.echo(f"Audit-Kette intakt / audit chain intact: {report.checked} events.")
        return True
    where = f"event {report.first_broken_id}" if report.first_broken_id else "chain head"
    click.echo(
        f"Audit-Kette GEBROCHEN / audit chain BROKEN at {where}: {report.reason}"
        f" ({report.checked} events verified before it).",
        err=True,
    )
    return False


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
    echo_check(report)
    if not report.ok and not repair:
        sys.exit(1)


def echo_check(report) -> None:
    """Print what ``portal check`` found (and repaired)."""
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


def _proxy_settings(proxy_count: int) -> dict:
    """Waitress behind ``PORTAL_PROXY_COUNT`` proxies: by default it drops X-Forwarded-*
    from peers it does not trust, so the app would see every client with the proxy's
    address. It trusts the last ``proxy_count`` entries, as the app's ProxyFix does (the
    same under any WSGI server); the portal must then be reachable only through them."""
    if not proxy_count:
        return {}
    return {
        "trusted_proxy": "*",
        "trusted_proxy_count": proxy_count,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        "clear_untrusted_proxy_headers": False,
    }


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the portal with the Waitress WSGI server."""
    import logging

    from waitress.server import create_server

    app = make_app()
    with app.app_context():
        check_database(needs_schema=True)
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
        server = create_server(
            app, host=host, port=port, threads=threads, ident="kim-portal",
            **_proxy_settings(app.extensions["portal.settings"].proxy_count),
        )  # fmt: skip
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
