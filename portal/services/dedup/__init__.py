"""„Gibt es die Person schon?“ — finding persons who probably exist already.

A new case must not open a parallel file for someone the network already looks
after. Names of newly arrived people reach the portal in many spellings
(passport transliteration, German phonetic spelling, typos, the article
``al-`` dropped or fused, given and family name swapped), so the check compares

* **names**, normalised: case, accents and umlauts folded, hyphens and particles
  (``al-``/``el-``/``Al ``, sun-letter forms like ``ad-``, ``bin``/``ben``/``ibn``)
  handled, and transliteration variants mapped to one canonical spelling
  (``sch``/``sh``, ``tsch``/``ch``, ``kh``/``ch``, ``w``/``v``, ``y``/``j``,
  ``ou``/``u``, ``ei``/``ai``, double letters, ...), plus a small table of
  national forms of the same given name (Oleksandr/Aleksandr/Alexander);
* **fuzzy similarity** of the canonical names and of vowel skeletons (rapidfuzz),
  because transliterations of Arabic and Tigrinya mostly differ in the vowels
  (Mohammed/Muhammad, Khaled/Khalid), together with the **Kölner Phonetik** code;
* the stored **other spellings** (``Person.aliases``) and **swapped** given and
  family names;
* **birth dates**: exact, day and month swapped, or the same year when a part is
  unknown (year only, year and month, the ``01.01.`` placeholder); a different
  year rules the person out;
* the **gender**, when both sides know it, as a mild counter-indication.

The scoring is a pure function on dicts (:func:`match_score`, :func:`rank`) so that
the benchmark (``bench/dedup.py``) and the unit tests run it without a database;
:func:`find_candidates` adds the two queries. Only metadata leaves this module
(person id, score, case references, lead organisation): the check works across
agencies without revealing any document content.

Modules: ``phonetics`` (Kölner Phonetik), ``names`` (normal forms and name similarity),
``dates`` (birth dates), ``scoring`` (a pair's score, ranking), ``prefilter`` (which stored
persons are scored at all); this one asks the database.
"""

from __future__ import annotations

import json

from sqlalchemy import Text, cast, exists, or_, select
from sqlalchemy.orm import Session

from portal.models import Case, Organisation, Person
from portal.services.dedup.dates import birth_date_agreement, birth_dates_agree
from portal.services.dedup.names import name_part, normalise_name
from portal.services.dedup.phonetics import koelner_digits, koelner_phonetik
from portal.services.dedup.scoring import (
    MAX_CANDIDATES,
    THRESHOLD,
    _Columns,
    _rank,
    match_score,
    name_similarity,
    rank,
)

__all__ = [
    "MAX_CANDIDATES",
    "THRESHOLD",
    "birth_date_agreement",
    "birth_dates_agree",
    "find_candidates",
    "koelner_digits",
    "koelner_phonetik",
    "match_score",
    "name_part",
    "name_similarity",
    "normalise_name",
    "prefilter_passes",
    "rank",
]


def find_candidates(session: Session, person_values: dict) -> list[dict]:
    """Persons who are probably ``person_values`` already, best first, with metadata only.

    Each candidate: ``person_id``, ``score`` (0..1, two decimals), ``case_refs`` (all
    cases of the person) and ``lead_organisation`` ``{id, name}`` of the newest case,
    the organisation to contact. Two queries: the persons (only the columns needed,
    narrowed to the birth year when known), then the cases of the candidates.
    """
    has_case = exists().where(Case.person_id == Person.id)
    statement = select(
        Person.id,
        Person.given_name,
        Person.family_name,
        cast(Person.aliases, Text),  # decoded below only when not empty
        Person.birth_year,
        Person.birth_month,
        Person.birth_day,
        Person.gender,
    ).where(has_case)
    year = person_values.get("birth_year")
    if year is not None:
        statement = statement.where(or_(Person.birth_year == year, Person.birth_year.is_(None)))
    connection = session.connection()
    # column by column, in chunks: rows die young, so none reaches the old GC generation
    ids: list[int] = []
    values: tuple[list, ...] = ([], [], [], [], [], [], [])
    for chunk in connection.execute(statement).partitions(250):
        chunk_ids, *chunk_values = zip(*chunk, strict=True)
        ids.extend(chunk_ids)
        for column, chunk_column in zip(values, chunk_values, strict=True):
            column.extend(chunk_column)
    if not ids:
        return []
    given, family, alias_texts, years, months, days, genders = values
    aliases = [json.loads(text) if text and text != "[]" else () for text in alias_texts]
    columns = _Columns(given, family, aliases, years, months, days, genders)
    ranked = _rank(person_values, columns, None, MAX_CANDIDATES, True)
    if not ranked:
        return []
    chosen = [ids[i] for _score, i in ranked]
    cases = connection.execute(
        select(Case.person_id, Case.reference, Organisation.id, Organisation.name)
        .join(Organisation, Organisation.id == Case.lead_organisation_id)
        .where(Case.person_id.in_(chosen))
        .order_by(Case.person_id, Case.created_at, Case.id)
    )
    refs: dict[int, list[str]] = {}
    lead: dict[int, dict] = {}
    for person_id, reference, org_id, org_name in cases:
        refs.setdefault(person_id, []).append(reference)
        lead[person_id] = {"id": org_id, "name": org_name}  # the newest case wins
    return [
        {
            "person_id": person_id,
            "score": round(score, 2),
            "case_refs": refs.get(person_id, []),
            "lead_organisation": lead.get(person_id),
        }
        for person_id, (score, _i) in zip(chosen, ranked, strict=True)
    ]
