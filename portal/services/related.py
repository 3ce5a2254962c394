"""What is already known about a case's person elsewhere: the hint while drafting an assessment.

A caseworker about to write a Bestandsaufnahme should not start from nothing when a
partner already assessed the same person. "Elsewhere" means the person's other cases,
and the cases of persons the duplicate check finds likely to be the same person.
Documents there are listed when the user may read them; of the other cases only
metadata is shown (reference and lead organisation, the one to contact), as in the
duplicate check at case creation, so no contents cross an organisation's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.models import Case, Document, Person, User
from portal.services import access, dedup

MAX_DOCUMENTS = 10


@dataclass
class ElsewhereCase:
    """Another case of (probably) the same person, by its metadata only."""

    reference: str
    lead_organisation: str
    readable: bool


@dataclass
class RelatedElsewhere:
    """Readable documents in other cases of the person, and those other cases."""

    documents: list[Document] = field(default_factory=list)
    cases: list[ElsewhereCase] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.documents or self.cases)


def related_elsewhere(session: Session, user: User, case: Case) -> RelatedElsewhere:
    """Other cases of ``case``'s person (or a likely duplicate) and what ``user`` may read there."""
    other_cases = _other_cases(session, case)
    if not other_cases:
        return RelatedElsewhere()
    readable_ids = {c.id for c in other_cases if access.can(user, access.READ_CASE, c)}
    documents = (
        session.scalars(
            select(Document)
            .join(Case, Case.id == Document.case_id)
            .where(Document.case_id.in_(readable_ids), access.document_filter(user))
            .options(joinedload(Document.case))
            .order_by(Document.updated_at.desc(), Document.id.desc())
            .limit(MAX_DOCUMENTS)
        ).all()
        if readable_ids
        else []
    )
    cases = [
        ElsewhereCase(c.reference, c.lead_organisation.name, c.id in readable_ids)
        for c in other_cases
    ]
    return RelatedElsewhere(documents=list(documents), cases=cases)


def _other_cases(session: Session, case: Case) -> list[Case]:
    """The person's other cases and those of likely duplicates, newest first."""
    person = case.person
    candidates = dedup.find_candidates(session, _person_values(person))
    person_ids = {person.id} | {candidate["person_id"] for candidate in candidates}
    return list(
        session.scalars(
            select(Case)
            .where(Case.person_id.in_(person_ids), Case.id != case.id)
            .options(joinedload(Case.lead_organisation))
            .order_by(Case.created_at.desc(), Case.id.desc())
        ).all()
    )


def _person_values(person: Person) -> dict:
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "aliases": person.aliases or [],
        "birth_year": person.birth_year,
        "birth_month": person.birth_month,
        "birth_day": person.birth_day,
        "gender": person.gender,
    }
