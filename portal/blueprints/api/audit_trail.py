"""API: a case's audit trail (who did what, when), for its lead organisation and coordinators."""

from __future__ import annotations

from sqlalchemy import select

from portal.blueprints.api import api_user, bp, requested_page
from portal.blueprints.api.operations import ListOf, operation
from portal.blueprints.api.schemas import sharing as schemas
from portal.blueprints.api.serialise import org_ref
from portal.db import db_session
from portal.models import AuditEvent, Case, Organisation, User
from portal.pipeline import with_case
from portal.services import access, audit


@bp.get("/cases/<int:case_id>/audit")
@with_case(visible=access.READ_CASE_METADATA)
@operation(
    "The case's audit trail: who did what, when",
    description="Newest first. For the lead organisation and coordinators of the network. "
    "Events name the action, the object and the organisation, never document contents or "
    "addresses; `user` is named only for the lead organisation, and only for its own staff "
    "(null otherwise): the trail shows what happened, not which colleague did it.",
    paged=True,
    returns=ListOf(schemas.AuditEvent),
    errors={
        400: "Invalid paging parameters",
        403: "The case is visible (through a consent), but not its trail",
    },
    operation_id="listCaseAudit",
)
def case_audit(case: Case):
    """The case's audit events, newest first; 403 for partners, 404 for strangers."""
    session = db_session()
    page = requested_page(audit.case_events(session, api_user(), case))
    events = page.items
    users = audit.named_actors(session, api_user(), case, events)
    org_ids = {event.organisation_id for event in events if event.organisation_id is not None}
    rows = (
        session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))) if org_ids else []
    )
    organisations = {org.id: org for org in rows}
    items = [
        event_json(event, users.get(event.user_id), organisations.get(event.organisation_id))
        for event in events
    ]
    return {"items": items, "total": page.total, "page": page.number}


def event_json(event: AuditEvent, user: User | None, organisation: Organisation | None) -> dict:
    """An audit event without its details or address: who, which organisation, what, when."""
    return {
        "id": event.id,
        "at": event.at,
        "action": event.action,
        "user": None if user is None else {"id": user.id, "email": user.email, "name": user.name},
        "organisation": org_ref(organisation),
        "object_type": event.object_type,
        "object_id": event.object_id,
        "case_id": event.case_id,
    }
