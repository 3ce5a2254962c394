"""What is overdue in the network: goals of current agreements, follow-ups."""

from __future__ import annotations

from collections import Counter
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from portal.models import Case, Document, DocumentVersion, FollowUp, Organisation
from portal.services.goals import ACTIVE_GOAL_STATUSES, Goal
from portal.services.statistics.cases import CLOSED
from portal.services.statistics.tables import Row, by_size

NO_ORGANISATION = ""  # key of the goals without a (known) responsible organisation


def overdue_goals(session: Session, today: date) -> list[Row]:
    """Overdue goals of the current agreement versions of open cases, per responsible organisation.

    One query reads the goals of those versions: the database unpacks the JSON,
    keeps the candidates (active, due before today) and counts them per organisation,
    status and due date; ``Goal.is_overdue`` has the last word on each group.
    Goals without a (known) responsible organisation form their own group.
    """
    counts: Counter = Counter()
    for org_id, status, due, count in session.execute(_goal_statement(session, today)):
        if Goal.from_fields({"status": status, "due_date": due}).is_overdue(today):
            counts[org_id] += count
    ids = [key for key in counts if isinstance(key, int)]
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        ).all()
    )
    named: Counter = Counter()
    for org_id, count in counts.items():
        named[names.get(org_id, NO_ORGANISATION)] += count
    unnamed = str(_l("No responsible organisation"))
    return [
        Row(row.key, unnamed, row.value, row.members) if row.key == NO_ORGANISATION else row
        for row in by_size(named.items())
    ]


def _goal_statement(session: Session, today: date):
    """(organisation id, status, due date, count) of the candidate overdue goals."""
    if session.get_bind().dialect.name == "sqlite":
        goals = func.json_each(DocumentVersion.fields, "$.goals").table_valued("value")

        def field(name):
            return func.json_extract(goals.c.value, f"$.{name}")

        organisation = field("responsible_organisation_id")
    else:
        # JSONB: the version's JSON text is parsed once, not again for every field read.
        fields = cast(DocumentVersion.fields, JSONB)
        goals = func.jsonb_array_elements(fields["goals"]).table_valued("value")

        def field(name):
            return goals.c.value.op("->>")(name)

        organisation = cast(field("responsible_organisation_id"), Integer)
    status, due = field("status"), field("due_date")
    return (
        select(organisation, status, due, func.count())
        .select_from(DocumentVersion)
        .join(
            Document,
            and_(
                Document.id == DocumentVersion.document_id,
                Document.current_version == DocumentVersion.number,
            ),
        )
        .join(Case, Case.id == Document.case_id)
        .join(goals, true())
        .where(
            Document.type == "agreement",
            Case.phase != CLOSED,
            due < today.isoformat(),
            func.coalesce(status, "open").in_(ACTIVE_GOAL_STATUSES),
        )
        .group_by(organisation, status, due)
    )


def overdue_followups(session: Session, today: date) -> list[Row]:
    """Follow-ups not done and due before today, per assigned organisation."""
    statement = (
        select(Organisation.name, func.count(FollowUp.id))
        .join(FollowUp, FollowUp.assignee_organisation_id == Organisation.id)
        .where(FollowUp.done_at.is_(None), FollowUp.due_on < today)
        .group_by(Organisation.id, Organisation.name)
    )
    return by_size(session.execute(statement).all())
