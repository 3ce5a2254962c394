"""The application a command runs in, with its database checked first."""

from __future__ import annotations

import functools
from contextlib import contextmanager

import click
from flask import Flask, current_app
from sqlalchemy.exc import ArgumentError

from portal import create_app
from portal.db import DatabaseUnavailable, database
from portal.services import audit
from portal.services.errors import PortalError


def make_app() -> Flask:
    """The application from the environment; a configuration error is a user error."""
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
            app = make_app()
            with app.app_context():
                check_database(needs_schema)
                with refusals_as_messages():
                    return func(*args, **kwargs)

        return wrapper

    return decorate


@contextmanager
def refusals_as_messages():
    """A domain error ends the command with its message (and fields), exit 1."""
    try:
        yield
    except PortalError as exc:
        detail = ", ".join(f"{k}: {v}" for k, v in exc.fields.items())
        message = str(exc.message) + (f" ({detail})" if detail else "")
        raise click.ClickException(message) from exc


def check_database(needs_schema: bool) -> None:
    """Stop unless the database is reachable, (if ``needs_schema``) current, and the audit
    key is the one its trail was written with."""
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
