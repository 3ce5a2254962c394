"""Commands: schema, search index, retention, audit chain, consistency, the server."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app

from portal import jobs, serving
from portal.cli import main
from portal.cli.app import make_app, with_app
from portal.db import database
from portal.services import audit

log = logging.getLogger(__name__)


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
    client addresses older than PORTAL_AUDIT_ADDRESS_DAYS (90) from the audit trail, ended
    login sessions, login attempts too old to count and orphan files. (portal index-worker
    does the same every PORTAL_MAINTENANCE_HOURS.)"""
    from portal.services import maintenance, retention

    settings = current_app.extensions["portal.settings"]
    store = current_app.extensions["portal.blobs"]
    policy = maintenance.policy_from(settings)
    if dry_run:
        with database().session() as session:
            due = retention.purge_due(session, store, policy.retention, dry_run=True)
        click.echo(f"Fällig / due (dry run, nothing deleted): {_counted(due.counts)}")
        return
    report = maintenance.run(database(), store, policy)
    for line in report_lines(report, settings.audit_address_days):
        click.echo(line)
    if report.chain_broken:
        click.echo(
            f"Adressen NICHT entfernt: Audit-Kette gebrochen ({report.chain_broken}); portal"
            " audit-verify. / Addresses NOT removed: audit chain broken.",
            err=True,
        )
        sys.exit(1)


def report_lines(report, address_days: int) -> list[str]:
    """What a maintenance run did, in the words of ``portal purge``."""
    purged = report.purge
    counts = report.counts
    return [
        f"Gelöscht / deleted: {_counted(purged.counts)}; Löschprotokoll / certificate"
        f" #{purged.certificate_id}"
        if purged.certificate_id is not None
        else "Nichts fällig / nothing due.",
        f"Abgelaufene Sitzungen / ended sessions: {counts['sessions']}; alte Anmeldeversuche /"
        f" old login attempts: {counts['login_attempts']}",
        f"Verwaiste Dateien / orphan files: {counts['orphan_files']}; abgebrochene Uploads /"
        f" stale uploads: {counts['stale_uploads']}",
        f"Adressen älter als {address_days} Tage entfernt / addresses older than"
        f" {address_days} days removed: {counts.get('addresses', 0)}",
    ]


def _counted(counts) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(counts.items())) or "nichts"


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
@click.option("--once", is_flag=True, help="Do what is due (jobs, maintenance), then stop.")
@with_app()
def index_worker(interval: float, once: bool) -> None:
    """Drain the outbox (text extraction, index updates) continuously, and run the
    maintenance of portal purge every PORTAL_MAINTENANCE_HOURS (one worker of several)."""
    import time

    settings = current_app.extensions["portal.settings"]
    next_look = 0.0
    while True:
        done = jobs.drain(current_app)
        if done:
            click.echo(f"{done} Aufträge erledigt / jobs done")
        if settings.maintenance_hours and time.monotonic() >= next_look:
            next_look = time.monotonic() + MAINTENANCE_POLL_SECONDS
            _scheduled_maintenance(settings)
        if once:
            return
        if not done:
            time.sleep(interval)


# How often a worker asks whether maintenance is due (it runs every PORTAL_MAINTENANCE_HOURS).
MAINTENANCE_POLL_SECONDS = 60


def _scheduled_maintenance(settings) -> None:
    """Run maintenance if it is due and this worker claims it; a failure is reported and
    the worker goes on draining."""
    from datetime import timedelta

    from portal.services import maintenance

    db = database()
    try:
        with db.session() as session:
            if not maintenance.claim(session, timedelta(hours=settings.maintenance_hours)):
                return
        report = maintenance.run(db, current_app.extensions["portal.blobs"],
                                 maintenance.policy_from(settings))  # fmt: skip
    except Exception:  # the database away for a moment: the next claim tries again
        log.exception("scheduled maintenance failed")
        return
    for line in report_lines(report, settings.audit_address_days):
        click.echo(f"Wartung / maintenance: {line}")
    if report.chain_broken:
        log.error("maintenance left client addresses: audit chain broken (%s)", report.chain_broken)


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
    serving.prepare(app)
    serving.warm_up(app)
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
