"""API: the token's user and the organisations of the network."""

from __future__ import annotations

from sqlalchemy import select

from portal.blueprints.api import api_user, bp, list_envelope
from portal.models import Organisation, User


@bp.get("/me")
def me():
    """The token's user."""
    return user_json(api_user())


@bp.get("/organisations")
def organisations():
    """All organisations (id, name, kind), by name."""
    statement = select(Organisation).order_by(Organisation.name, Organisation.id)
    return list_envelope(statement, organisation_json)


def user_json(user: User) -> dict:
    """A user as the API shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "organisation": {"id": user.organisation.id, "name": user.organisation.name},
    }


def organisation_json(org: Organisation) -> dict:
    """An organisation as the API shows it."""
    return {"id": org.id, "name": org.name, "kind": org.kind}
