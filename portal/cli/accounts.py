"""Commands: organisations, users, API tokens, demo data."""

from __future__ import annotations

import sys

import click
from flask import current_app

from portal import jobs
from portal.cli import main
from portal.cli.app import with_app
from portal.db import database
from portal.models import ORGANISATION_KINDS, ROLES
from portal.services import access, accounts, tokens


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
