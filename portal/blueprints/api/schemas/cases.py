"""Bodies of the persons check, cases and the token's user."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from portal.blueprints.api.schemas import (
    BIRTH_DATE,
    Answer,
    ErrorDetail,
    Moment,
    OrganisationRef,
    Query,
    QueryId,
    UserRef,
)
from portal.models import FOCUS_AREAS, GENDERS, PHASES, ROLES
from portal.models.org import ORGANISATION_KINDS
from portal.services.cases import SORTS, parse_birth_date
from portal.services.validation import Shape, choice, text


def _birth_date(value: object) -> object:
    try:
        parse_birth_date(value)
    except ValueError:
        raise PydanticCustomError("invalid_date", "not a birth date") from None
    return value


BirthDate = Annotated[
    str | None,
    BeforeValidator(_birth_date),
    Field(
        None,
        description="YYYY, YYYY-MM or YYYY-MM-DD (1900 until today); empty, null or absent "
        "when unknown",
        json_schema_extra={"pattern": r"^(\d{4}(-\d{2}(-\d{2})?)?)?$"},
    ),
]
Phase = choice(PHASES)
FocusAreas = list[choice(FOCUS_AREAS)]


# ---------------------------------------------------------------- input


# A name that is no text counts as missing.
Name = text(200, required=True, not_text="required")


class PersonCheck(Shape):
    given_name: Name
    family_name: Name
    birth_date: BirthDate


class PersonInput(Shape):
    given_name: Name
    family_name: Name
    birth_date: BirthDate
    nationality: text(100) | None = None
    languages: list[text(100)] | None = None
    gender: choice(GENDERS) | None = None
    aliases: list[text(200)] | None = None
    phone: text(50) | None = None
    email: text(254) | None = None
    address: text(1000) | None = None


class CaseCreate(Shape):
    person: PersonInput
    focus_areas: FocusAreas | None = None
    confirm_new_person: bool = False


class CaseUpdate(Shape):
    phase: Phase | None = None
    focus_areas: FocusAreas | None = None


class CaseListQuery(Query):
    phase: Phase | None = Field(None, description="Only this phase")
    focus: choice(FOCUS_AREAS) | None = Field(None, description="With this focus")
    organisation: QueryId | None = Field(None, description="Led by this organisation")
    q: text(200) = Field("", description="Part of the person's name or the reference")
    mine: choice(("0", "1", "true", "false")) = Field("0", description="Only cases you lead")
    sort: choice(SORTS) = Field("updated", description="Order of the list")


# ---------------------------------------------------------------- output


class Organisation(Answer):
    id: int
    name: str
    kind: Literal[ORGANISATION_KINDS]


class User(Answer):
    id: int
    email: str = Field(json_schema_extra={"format": "email"})
    name: str
    role: Literal[ROLES]
    organisation: OrganisationRef


class Candidate(Answer):
    person_id: int
    score: float
    case_refs: list[str]
    lead_organisation: OrganisationRef | None


class CandidateList(Answer):
    candidates: list[Candidate]


class DuplicateCandidatesError(Answer):
    error: ErrorDetail
    candidates: list[Candidate]


class Person(Answer):
    id: int
    given_name: str
    family_name: str
    aliases: list[str] | None
    birth_date: BIRTH_DATE | None
    nationality: str | None
    languages: list[str] | None
    gender: Literal[GENDERS] | None


class PhaseChange(Answer):
    from_phase: Literal[PHASES] | None
    to_phase: Literal[PHASES]
    at: Moment
    user: UserRef | None


class CaseSummary(Answer):
    id: int
    reference: str = Field(pattern=r"^KIM-\d{4}-\d{5}$")
    metadata_only: bool = Field(
        description="True for coordinators of other organisations without consent: they "
        "see reference, person name, phase and lead organisation; other values are null"
    )
    person: Person
    phase: Literal[PHASES]
    lead_organisation: OrganisationRef
    focus_areas: list[Literal[FOCUS_AREAS]] | None
    created_at: Moment
    updated_at: Moment
    closed_at: Moment | None


class Case(CaseSummary):
    organisations_with_access: list[OrganisationRef]
    phase_history: list[PhaseChange]
