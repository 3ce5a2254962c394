"""API: the token's user and the organisations of the network."""

from __future__ import annotations

from sqlalchemy import select

from portal.blueprints.api import api_user, bp, list_envelope
from portal.blueprints.api.operations import ListOf, operation
from portal.blueprints.api.schemas.cases import Organisation, User
from portal.models import Organisation as OrganisationRow
from portal.models import User as UserRow


@bp.get("/me")
@operation("The token's user", returns=User)
def get_me():
    """The token's user."""
    return user_json(api_user())


@bp.get("/organisations")
@operation("All organisations of the network", paged=True, returns=ListOf(Organisation))
def list_organisations():
    """All organisations (id, name, kind), by name."""
    statement = select(OrganisationRow).order_by(OrganisationRow.name, OrganisationRow.id)
    return list_envelope(statement, organisation_json)


def user_json(user: UserRow) -> dict:
    """A user as the API shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "organisation": {"id": user.organisation.id, "name": user.organisation.name},
    }


def organisation_json(org: OrganisationRow) -> dict:
    """An organisation as the API shows it."""
    return {"id": org.id, "name": org.name, "kind": org.kind}
