"""Finding persons who probably exist already, so that no parallel file is opened.

Only metadata leaves this module (case reference, lead organisation): the check
works across agencies without revealing any document content.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, Person

_FOLD = str.maketrans({"ß": "ss", "ä": "ae", "ö": "oe", "ü": "ue"})


def normalise_name(name: str) -> str:
    """Lower case, umlauts spelled out, other accents and hyphens removed."""
    name = name.lower().translate(_FOLD)
    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c))
    return " ".join(name.replace("-", " ").split())


def birth_dates_agree(a: Person | dict, b: Person | dict) -> bool:
    """True unless both birth dates are known and clearly differ (allowing day/month swaps)."""
    ya, ma, da = _parts(a)
    yb, mb, db = _parts(b)
    if ya is None or yb is None:
        return True
    if ya != yb:
        return False
    if None in (ma, mb):
        return True
    if (ma, da) == (mb, db) or ((da is None or db is None) and ma == mb):
        return True
    return (ma, da) == (db, mb)


def find_candidates(session: Session, person: dict) -> list[dict]:
    """Persons with the same normalised name and a compatible birth date, with their cases."""
    family = normalise_name(person["family_name"])
    given = normalise_name(person["given_name"])
    candidates = []
    rows = session.execute(
        select(Person, Case).join(Case, Case.person_id == Person.id).order_by(Person.id, Case.id)
    )
    by_person: dict[int, dict] = {}
    for known, case in rows:
        if normalise_name(known.family_name) != family or normalise_name(known.given_name) != given:
            continue
        if not birth_dates_agree(known, person):
            continue
        entry = by_person.setdefault(
            known.id,
            {"person_id": known.id, "score": 1.0, "case_refs": [], "lead_organisation": None},
        )
        entry["case_refs"].append(case.reference)
        entry["lead_organisation"] = {
            "id": case.lead_organisation.id,
            "name": case.lead_organisation.name,
        }
    candidates.extend(by_person.values())
    return candidates


def _parts(person: Person | dict) -> tuple[int | None, int | None, int | None]:
    if isinstance(person, dict):
        return person.get("birth_year"), person.get("birth_month"), person.get("birth_day")
    return person.birth_year, person.birth_month, person.birth_day
