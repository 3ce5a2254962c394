"""Cases: creation with references, person validation, duplicates, phases, listing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Case
from portal.services import cases
from portal.services.cases import CaseQuery, DuplicateCandidates
from portal.services.errors import AccessDenied, NotFound, ValidationFailed


def test_case_gets_a_yearly_reference_and_starts_in_erstberatung(db, make_user, make_case):
    worker = make_user()
    first, second = make_case(worker), make_case(worker)
    assert first.reference.startswith("KIM-20") and len(first.reference) == 14
    assert int(second.reference[-5:]) == int(first.reference[-5:]) + 1
    assert first.phase == "erstberatung"
    assert first.lead_organisation_id == worker.organisation_id
    assert [c.to_phase for c in cases.phase_history(db, first)] == ["erstberatung"]


def test_concurrent_case_creation_gives_unique_references(app, make_user):
    worker = make_user()
    sessionmaker = app.extensions["portal.db"].sessionmaker
    references: list[str] = []
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            with sessionmaker() as session:
                actor = session.merge(worker)
                for j in range(5):
                    case = cases.create_case(
                        session, actor, person={"given_name": "P", "family_name": f"N{i}-{j}"},
                        confirm_new_person=True,
                    )  # fmt: skip
                    session.commit()
                    references.append(case.reference)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(references) == 20 == len(set(references))


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [(None, None), ("1990", "1990"), ("1990-05", "1990-05"), ("1990-05-17", "1990-05-17")],
)
def test_partial_birth_dates_are_kept(db, make_user, make_case, birth_date, expected):
    case = make_case(make_user(), birth_date=birth_date)
    assert case.person.birth_date == expected


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({"given_name": "", "family_name": "X"}, "person.given_name"),
        ({"given_name": "A", "family_name": "X", "birth_date": "17.05.1990"}, "person.birth_date"),
        ({"given_name": "A", "family_name": "X", "birth_date": "2001-02-30"}, "person.birth_date"),
        ({"given_name": "A", "family_name": "X", "gender": "x"}, "person.gender"),
        ({"given_name": "A", "family_name": "X", "shoe_size": 42}, "person.shoe_size"),
    ],
)
def test_invalid_person_data_is_refused_with_the_field(db, make_user, person, field):
    with pytest.raises(ValidationFailed) as caught:
        cases.create_case(db, make_user(), person=person)
    assert field in caught.value.fields


def test_same_person_again_is_caught_unless_confirmed(db, make_user):
    worker = make_user()
    person = {"given_name": "Mohammed", "family_name": "Al-Hassan", "birth_date": "1988-03-04"}
    existing = cases.create_case(db, worker, person=person)
    db.commit()
    again = {"given_name": "mohammed", "family_name": "Al Hassan", "birth_date": "1988-04-03"}
    with pytest.raises(DuplicateCandidates) as caught:
        cases.create_case(db, make_user(), person=again)
    (candidate,) = caught.value.candidates
    assert candidate["case_refs"] == [existing.reference]
    assert candidate["lead_organisation"]["id"] == worker.organisation_id
    confirmed = cases.create_case(db, worker, person=again, confirm_new_person=True)
    assert confirmed.person_id != existing.person_id


def test_readonly_and_admin_cannot_create_cases(db, make_user):
    for role in ("readonly", "admin"):
        with pytest.raises(AccessDenied):
            cases.create_case(
                db, make_user(role=role), person={"given_name": "A", "family_name": "B"}
            )


def test_phase_change_is_recorded_with_who_and_audited(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    cases.update_case(db, worker, case, phase="bestandsaufnahme")
    cases.update_case(db, worker, case, phase="erstberatung")  # going back is allowed
    db.commit()
    history = cases.phase_history(db, case)
    assert [(h.from_phase, h.to_phase) for h in history] == [
        (None, "erstberatung"),
        ("erstberatung", "bestandsaufnahme"),
        ("bestandsaufnahme", "erstberatung"),
    ]
    assert all(h.user_id == worker.id for h in history)
    assert db.scalar(
        select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.case_id == case.id)
    )


def test_closing_sets_the_closing_date(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    cases.update_case(db, worker, case, phase="abgeschlossen")
    assert case.closed_at is not None


def test_unknown_phase_and_focus_area_are_refused(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    with pytest.raises(ValidationFailed):
        cases.update_case(db, worker, case, phase="fertig")
    with pytest.raises(ValidationFailed):
        cases.update_case(db, worker, case, focus_areas=["sprache", "kochen"])


def test_other_organisation_can_neither_see_nor_change_the_case(db, make_user, make_case):
    case = make_case(make_user())
    stranger = make_user()
    with pytest.raises(NotFound):
        cases.get_case(db, stranger, case.id)
    with pytest.raises(NotFound):
        cases.update_case(db, stranger, case, phase="monitoring")


def test_readonly_colleague_reads_but_cannot_change(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    reader = make_user(role="readonly", org=worker.organisation)
    assert cases.get_case(db, reader, case.id).id == case.id
    with pytest.raises(AccessDenied):
        cases.update_case(db, reader, case, phase="monitoring")


def test_case_list_filters_and_visibility(db, make_user, make_case, make_org):
    worker = make_user()
    other = make_user()
    mine = make_case(worker, family_name="Kovalenko")
    cases.update_case(db, worker, mine, phase="monitoring", focus_areas=["arbeit", "sprache"])
    make_case(worker, family_name="Tesfay")
    foreign = make_case(other, family_name="Kovalenko-Other")
    db.commit()

    def refs(user, **filters) -> set[str]:
        query = CaseQuery(**filters)
        return {c.reference for c in db.scalars(cases.case_list_statement(user, query))}

    assert foreign.reference not in refs(worker)
    assert refs(worker, phase="monitoring") == {mine.reference}
    assert refs(worker, focus="arbeit") == {mine.reference}
    assert refs(worker, q="koval") == {mine.reference}
    coordinator = make_user(role="coordinator")
    assert {mine.reference, foreign.reference} <= refs(coordinator)
    assert refs(make_user(role="admin")) == set()
    assert db.scalar(select(Case).where(Case.id == mine.id)).focus_areas == ["sprache", "arbeit"]


def test_focus_filter_does_not_reveal_other_organisations_cases(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    cases.update_case(db, worker, case, focus_areas=["gesundheit"])
    db.commit()
    coordinator = make_user(role="coordinator")
    everything = {c.id for c in db.scalars(cases.case_list_statement(coordinator, CaseQuery()))}
    by_focus = {
        c.id
        for c in db.scalars(cases.case_list_statement(coordinator, CaseQuery(focus="gesundheit")))
    }
    assert case.id in everything and case.id not in by_focus
