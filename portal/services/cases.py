"""Persons and cases: creation (with the duplicate check), listing, phases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from portal.db import insert_or_ignore
from portal.models import (
    FOCUS_AREAS,
    GENDERS,
    PHASES,
    Case,
    CaseNumberCounter,
    Person,
    PhaseChange,
    User,
    utcnow,
)
from portal.services import access, audit, dedup, outbox
from portal.services.errors import Conflict, ValidationFailed
from portal.services.search import INDEX_CASE_JOB

PERSON_FIELDS = {
    "given_name",
    "family_name",
    "birth_date",
    "nationality",
    "languages",
    "gender",
    "aliases",
    "phone",
    "email",
    "address",
}
_BIRTH_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
SORTS = {
    "updated": Case.updated_at.desc(),
    "created": Case.created_at.desc(),
    "reference": Case.reference.asc(),
    "name": Person.family_name.asc(),
}


class DuplicateCandidates(Conflict):
    """The person probably has a case already; ``candidates`` says where."""

    code = "duplicate_candidates"

    def __init__(self, candidates: list[dict]) -> None:
        super().__init__(_l("This person may already have a case in the network."))
        self.candidates = candidates


@dataclass
class CaseQuery:
    """Filters, sort and paging of the case list."""

    phase: str | None = None
    focus: str | None = None
    lead_organisation_id: int | None = None
    mine: bool = False
    q: str = ""
    sort: str = "updated"
    page: int = 1
    per_page: int = 50
    errors: dict[str, str] = field(default_factory=dict)


def parse_person(data: object) -> dict:
    """Validate person data from a form or the API; return model field values."""
    if not isinstance(data, dict):
        raise ValidationFailed(_l("Please check the input."), fields={"person": "must_be_object"})
    errors: dict[str, str] = {f"person.{k}": "unknown_field" for k in set(data) - PERSON_FIELDS}
    values: dict = {}
    for name in ("given_name", "family_name"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[f"person.{name}"] = "required"
        else:
            values[name] = " ".join(value.split())[:200]
    try:
        values["birth_year"], values["birth_month"], values["birth_day"] = parse_birth_date(
            data.get("birth_date")
        )
    except ValueError:
        errors["person.birth_date"] = "invalid_date"
    gender = data.get("gender") or "unspecified"
    if gender not in GENDERS:
        errors["person.gender"] = "invalid"
    values["gender"] = gender
    for name in ("languages", "aliases"):
        items = data.get(name) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            errors[f"person.{name}"] = "must_be_list_of_text"
            items = []
        values[name] = [" ".join(i.split())[:100] for i in items if i.strip()][:20]
    for name, limit in (("nationality", 100), ("phone", 50), ("email", 254), ("address", 1000)):
        value = data.get(name) or ""
        if not isinstance(value, str):
            errors[f"person.{name}"] = "must_be_text"
            value = ""
        values[name] = value.strip()[:limit]
    if errors:
        raise ValidationFailed(_l("Please check the input."), fields=errors)
    return values


def parse_birth_date(value: object) -> tuple[int | None, int | None, int | None]:
    """``None``/``""``, ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` → (year, month, day)."""
    if value in (None, ""):
        return None, None, None
    match = _BIRTH_DATE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError("invalid birth date")
    year, month, day = (int(part) if part else None for part in match.groups())
    if not 1900 <= year <= utcnow().year or (month is not None and not 1 <= month <= 12):
        raise ValueError("invalid birth date")
    if day is not None:
        date(year, month, day)  # raises ValueError for 2001-02-30
    return year, month, day


def parse_focus_areas(values: object) -> list[str]:
    """Focus area keys, deduplicated, in the canonical order."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(
            _l("Please check the input."), fields={"focus_areas": "must_be_list"}
        )
    wanted = {v.strip().lower() for v in values}
    unknown = wanted - set(FOCUS_AREAS)
    if unknown:
        raise ValidationFailed(
            _l("Please check the input."), fields={"focus_areas": f"unknown: {sorted(unknown)}"}
        )
    return [area for area in FOCUS_AREAS if area in wanted]


def create_case(
    session: Session,
    actor: User,
    *,
    person: dict,
    focus_areas: list[str] | None = None,
    confirm_new_person: bool = False,
    ip: str = "",
) -> Case:
    """Open a case for a new person, led by the actor's organisation.

    Raises DuplicateCandidates when the person probably exists already, unless
    the caller confirmed after seeing the candidates.
    """
    access.require(actor, access.CREATE_CASE)
    values = parse_person(person)
    areas = parse_focus_areas(focus_areas or [])
    if not confirm_new_person:
        candidates = dedup.find_candidates(session, values)
        if candidates:
            raise DuplicateCandidates(candidates)
    person_row = Person(**values)
    case = Case(
        reference=next_reference(session),
        person=person_row,
        lead_organisation_id=actor.organisation_id,
        lead_user_id=actor.id,
        phase="erstberatung",
        focus_areas=areas,
        created_by_id=actor.id,
    )
    session.add(case)
    session.flush()
    session.add(PhaseChange(case_id=case.id, from_phase=None, to_phase="erstberatung", user=actor))
    audit.record(
        session, "create", actor=actor, object_type="case", object_id=case.id, case_id=case.id,
        ip=ip, detail={"confirmed_new_person": confirm_new_person},
    )  # fmt: skip
    return case


def next_reference(session: Session) -> str:
    """The next free reference ``KIM-<year>-<5 digits>``, unique under concurrency.

    The counter row is locked by the UPDATE until the creating transaction ends.
    """
    year = utcnow().year
    bump = (
        update(CaseNumberCounter)
        .where(CaseNumberCounter.year == year)
        .values(last_number=CaseNumberCounter.last_number + 1)
        .returning(CaseNumberCounter.last_number)
    )
    number = session.execute(bump).scalar()
    if number is None:
        insert_or_ignore(session, CaseNumberCounter, {"year": year, "last_number": 0}, ["year"])
        number = session.execute(bump).scalar_one()
    return f"KIM-{year}-{number:05d}"


def get_case(session: Session, user: User, case_id: int, action: str = access.READ_CASE) -> Case:
    """The case, if ``user`` may do ``action`` on it; NotFound otherwise."""
    case = session.get(Case, case_id)
    access.require_visible(user, action, case)
    return case


def read_case(session: Session, who: audit.Requester, case_id: int) -> Case:
    """A case's metadata for ``who`` (coordinators of other organisations too); audited."""
    case = get_case(session, who.user, case_id, access.READ_CASE_METADATA)
    audit.record_read(session, who, "view", "case", case.id, case.id)
    return case


def case_list_statement(user: User, query: CaseQuery) -> Select:
    """The SELECT for the cases ``user`` may see, filtered and sorted by ``query``."""
    statement = select(Case).join(Case.person).where(access.case_metadata_filter(user))
    if query.phase:
        statement = statement.where(Case.phase == query.phase)
    if query.lead_organisation_id:
        statement = statement.where(Case.lead_organisation_id == query.lead_organisation_id)
    if query.mine:
        statement = statement.where(Case.lead_user_id == user.id)
    if query.focus:
        # Focus areas are contents, not metadata: the filter only matches readable cases.
        # JSON arrays are stored as text on both databases; keys are plain words.
        statement = statement.where(access.case_contents_filter(user)).where(
            cast(Case.focus_areas, Text).like(f'%"{query.focus}"%')
        )
    if query.q:
        pattern = f"%{query.q.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Person.given_name).like(pattern),
                func.lower(Person.family_name).like(pattern),
                func.lower(Case.reference).like(pattern),
            )
        )
    return statement.order_by(SORTS.get(query.sort, SORTS["updated"]), Case.id.desc())


def parse_case_query(args: dict, user: User) -> CaseQuery:
    """A CaseQuery from request arguments; bad values become ``errors`` and are ignored."""
    query = CaseQuery()
    phase = args.get("phase") or None
    if phase in PHASES:
        query.phase = phase
    elif phase:
        query.errors["phase"] = "invalid"
    focus = (args.get("focus") or "").lower() or None
    if focus in FOCUS_AREAS:
        query.focus = focus
    elif focus:
        query.errors["focus"] = "invalid"
    organisation = args.get("organisation") or ""
    if organisation.isascii() and organisation.isdigit() and len(organisation) <= 9:
        query.lead_organisation_id = int(organisation)
    elif organisation:
        query.errors["organisation"] = "invalid"
    query.mine = args.get("mine") in ("1", "true", "on")
    query.q = (args.get("q") or "")[:200]
    query.sort = args.get("sort") if args.get("sort") in SORTS else "updated"
    return query


def update_case(
    session: Session,
    actor: User,
    case: Case,
    *,
    phase: str | None = None,
    focus_areas: list[str] | None = None,
    ip: str = "",
) -> Case:
    """Change phase and/or focus areas; phase changes go into the history."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.EDIT_CASE, case)
    changed = []
    if phase is not None and phase != case.phase:
        if phase not in PHASES:
            raise ValidationFailed(_l("Please check the input."), fields={"phase": "invalid"})
        session.add(PhaseChange(case_id=case.id, from_phase=case.phase, to_phase=phase, user=actor))
        case.phase = phase
        case.closed_at = utcnow() if phase == "abgeschlossen" else None
        changed.append("phase")
    if focus_areas is not None:
        areas = parse_focus_areas(focus_areas)
        if areas != case.focus_areas:
            case.focus_areas = areas
            changed.append("focus_areas")
    if changed:
        case.updated_at = utcnow()
        outbox.enqueue(session, INDEX_CASE_JOB, case.id)  # phase and focus are search facets
        audit.record(
            session, "update", actor=actor, object_type="case", object_id=case.id,
            case_id=case.id, ip=ip, detail={"fields": changed, "phase": case.phase},
        )  # fmt: skip
    return case


def phase_history(session: Session, case: Case) -> list[PhaseChange]:
    """The case's phase changes, oldest first."""
    return list(
        session.scalars(
            select(PhaseChange).where(PhaseChange.case_id == case.id).order_by(PhaseChange.id)
        )
    )
