"""API: persons check, cases, phases."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.blueprints.api import (
    api_user,
    bp,
    check,
    json_object,
    list_envelope,
    unknown_fields,
    whole_number,
)
from portal.blueprints.api.serialise import org_ref
from portal.db import db_session
from portal.http import client_ip, requester
from portal.models import Case, Organisation, Person, PhaseChange
from portal.pipeline import with_case
from portal.services import access, cases, dedup
from portal.services.errors import InvalidInput

CHECK_FIELDS = {"given_name", "family_name", "birth_date"}
CREATE_FIELDS = {"person", "focus_areas", "confirm_new_person"}
UPDATE_FIELDS = {"phase", "focus_areas"}
MINE_VALUES = {"": False, "0": False, "false": False, "1": True, "true": True}


@bp.post("/persons/check")
def check_person():
    """Likely existing persons with this name and birth date: metadata only."""
    access.require(api_user(), access.CREATE_CASE)
    data = json_object()
    errors = unknown_fields(data, CHECK_FIELDS)
    person: dict = {}
    for name in ("given_name", "family_name"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "required"
        else:
            person[name] = " ".join(value.split())
    try:
        birth = cases.parse_birth_date(data.get("birth_date"))
    except ValueError:
        errors["birth_date"] = "invalid_date"
    else:
        person["birth_year"], person["birth_month"], person["birth_day"] = birth
    check(errors)
    return {"candidates": dedup.find_candidates(db_session(), person)}


@bp.post("/cases")
def create_case():
    """Open a case; 409 with ``candidates`` when the person probably has one already."""
    access.require(api_user(), access.CREATE_CASE)
    data = json_object()
    errors = unknown_fields(data, CREATE_FIELDS)
    confirm = data.get("confirm_new_person", False)
    if not isinstance(confirm, bool):
        errors["confirm_new_person"] = "must_be_boolean"
    _check_list(data, "focus_areas", errors)
    check(errors)
    case = cases.create_case(
        db_session(), api_user(), person=data.get("person"), focus_areas=data.get("focus_areas"),
        confirm_new_person=confirm, ip=client_ip(),
    )  # fmt: skip
    return case_json(case), 201, {"Location": url_for("api.get_case", case_id=case.id)}


@bp.get("/cases")
def list_cases():
    """The cases whose metadata the user may see, filtered, a page at a time."""
    user = api_user()
    errors = {}
    organisation = request.args.get("organisation", "")
    if organisation and whole_number(organisation) is None:
        errors["organisation"] = "invalid"
        organisation = ""  # ids are 1..9 ASCII digits; "²" passes isdigit() but not int()
    query = cases.parse_case_query({**request.args.to_dict(), "organisation": organisation}, user)
    errors.update(query.errors)
    if request.args.get("sort", "") not in {"", *cases.SORTS}:
        errors["sort"] = "invalid"
    mine = request.args.get("mine", "").lower()
    if mine not in MINE_VALUES:
        errors["mine"] = "invalid"
    query.mine = MINE_VALUES.get(mine, False)
    if errors:
        raise InvalidInput(_l("Please check the input."), fields=errors)
    return list_envelope(cases.case_list_statement(user, query), case_summary_json)


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    """A case's metadata (also for coordinators of other organisations)."""
    return case_json(cases.read_case(db_session(), requester(), case_id))


@bp.patch("/cases/<int:case_id>")
# Whoever may see the case here (coordinators too) learns "forbidden", others "not found".
@with_case(access.EDIT_CASE, visible=access.READ_CASE_METADATA)
def update_case(case: Case):
    """Change the phase and/or focus areas."""
    user = api_user()
    data = json_object()
    errors = unknown_fields(data, UPDATE_FIELDS)
    if data.get("phase") is not None and not isinstance(data["phase"], str):
        errors["phase"] = "invalid"
    _check_list(data, "focus_areas", errors)
    check(errors)
    cases.update_case(
        db_session(), user, case, phase=data.get("phase"), focus_areas=data.get("focus_areas"),
        ip=client_ip(),
    )  # fmt: skip
    return case_json(case)


def _check_list(data: dict, name: str, errors: dict[str, str]) -> None:
    """An optional list must be a list (or null) when given."""
    if data.get(name) is not None and not isinstance(data[name], list):
        errors[name] = "must_be_list"


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
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
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
        "at": change.at.isoformat(),
        "user": None if user is None else {"id": user.id, "name": user.name},
    }
