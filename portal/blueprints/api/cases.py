"""API: persons check, cases, phases."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from portal.blueprints.api import api_user, bp, list_envelope
from portal.blueprints.api.operations import ListOf, operation
from portal.blueprints.api.schemas import cases as schemas
from portal.blueprints.api.schemas.cases import (
    CandidateList,
    CaseCreate,
    CaseListQuery,
    CaseSummary,
    CaseUpdate,
    DuplicateCandidatesError,
    PersonCheck,
)
from portal.blueprints.api.serialise import org_ref
from portal.db import db_session
from portal.http import client_ip, requester
from portal.models import Case, Organisation, Person, PhaseChange
from portal.pipeline import requires, with_case
from portal.services import access, cases, dedup


@bp.post("/persons/check")
@requires(access.CREATE_CASE)
@operation(
    "Find persons who probably have a case already",
    description="Spelling variants, transliterations and swapped day/month are found. "
    "Only metadata is returned. For caseworkers and coordinators.",
    body=PersonCheck,
    returns=CandidateList,
    errors={403: None},
)
def check_person(body: PersonCheck):
    """Likely existing persons with this name and birth date: metadata only."""
    year, month, day = cases.parse_birth_date(body.birth_date)
    person = {
        "given_name": " ".join(body.given_name.split()),
        "family_name": " ".join(body.family_name.split()),
        "birth_year": year,
        "birth_month": month,
        "birth_day": day,
    }
    return {"candidates": dedup.find_candidates(db_session(), person)}


@bp.post("/cases")
@requires(access.CREATE_CASE)
@operation(
    "Open a case",
    description="If the person probably has a case already and `confirm_new_person` is not "
    "true, nothing is created: 409 with `candidates`.",
    body=CaseCreate,
    returns=schemas.Case,
    status=201,
    returns_description="The new case",
    errors={403: None, 409: (DuplicateCandidatesError, "Likely duplicates")},
)
def create_case(body: CaseCreate):
    """Open a case; 409 with ``candidates`` when the person probably has one already."""
    case = cases.create_case(
        db_session(), api_user(), person=body.person.model_dump(exclude_none=True),
        focus_areas=body.focus_areas, confirm_new_person=body.confirm_new_person,
        ip=client_ip(),
    )  # fmt: skip
    return case_json(case), 201, {"Location": url_for("api.get_case", case_id=case.id)}


@bp.get("/cases")
@operation(
    "Cases whose metadata you may see",
    query=CaseListQuery,
    paged=True,
    returns=ListOf(CaseSummary),
    errors={400: "Invalid filter or paging parameters; `error.fields`"},
)
def list_cases(query: CaseListQuery):
    """The cases whose metadata the user may see, filtered, a page at a time."""
    user = api_user()
    wanted = cases.CaseQuery(
        phase=query.phase, focus=query.focus, lead_organisation_id=query.organisation,
        mine=query.mine in ("1", "true"), q=query.q, sort=query.sort,
    )  # fmt: skip
    return list_envelope(cases.case_list_statement(user, wanted), case_summary_json)


@bp.get("/cases/<int:case_id>")
@operation(
    "A case's metadata",
    description="Coordinators see this for every case of the network.",
    returns=schemas.Case,
)
def get_case(case_id: int):
    """A case's metadata (also for coordinators of other organisations)."""
    return case_json(cases.read_case(db_session(), requester(), case_id))


@bp.patch("/cases/<int:case_id>")
# Whoever may see the case here (coordinators too) learns "forbidden", others "not found".
@with_case(access.EDIT_CASE, visible=access.READ_CASE_METADATA)
@operation(
    "Change the phase or the focus areas", body=CaseUpdate, returns=schemas.Case, errors={403: None}
)
def update_case(case: Case, body: CaseUpdate):
    """Change the phase and/or focus areas."""
    cases.update_case(
        db_session(), api_user(), case, phase=body.phase, focus_areas=body.focus_areas,
        ip=client_ip(),
    )  # fmt: skip
    return case_json(case)


# ---------------------------------------------------------------- serialisers


def person_json(person: Person, full: bool = True) -> dict:
    """A person as case metadata shows it (no contact details).

    Without access to the contents (coordinators of other organisations) only the
    name is shown; the other values are null, not guessed.
    """
    return {
        "id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "aliases": list(person.aliases or []) if full else None,
        "birth_date": person.birth_date if full else None,
        "nationality": person.nationality if full else None,
        "languages": list(person.languages or []) if full else None,
        "gender": person.gender if full else None,
    }


def case_summary_json(case: Case) -> dict:
    """A case as the case list shows it; metadata only (DESIGN: reference, person name,
    phase, lead organisation) for those who may not read its contents."""
    full = access.can(api_user(), access.READ_CASE, case)
    return {
        "id": case.id,
        "reference": case.reference,
        "metadata_only": not full,
        "person": person_json(case.person, full),
        "phase": case.phase,
        "lead_organisation": org_ref(case.lead_organisation),
        "focus_areas": list(case.focus_areas or []) if full else None,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
    }


def case_json(case: Case) -> dict:
    """A case with who may see its documents and its phase history."""
    session = db_session()
    ids = access.organisations_with_access(case)
    orgs = session.scalars(
        select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
    )
    return {
        **case_summary_json(case),
        "organisations_with_access": [org_ref(org) for org in orgs],
        "phase_history": [phase_change_json(c) for c in cases.phase_history(session, case)],
    }


def phase_change_json(change: PhaseChange) -> dict:
    """One step of the phase history."""
    user = change.user
    return {
        "from_phase": change.from_phase,
        "to_phase": change.to_phase,
        "at": change.at,
        "user": None if user is None else {"id": user.id, "name": user.name},
    }
