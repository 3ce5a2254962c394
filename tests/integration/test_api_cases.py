"""The JSON API for persons and cases: duplicate check, creation, list, metadata, phases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Case, Person, utcnow
from portal.services import cases
from tests.integration.test_api import (
    assert_error,
    assert_matches,
    response_schema,
)

AMINA = {"given_name": "Amina", "family_name": "Haddad", "birth_date": "1990-05-07"}


@pytest.fixture
def worker(make_user):
    """A caseworker of the organisation that leads the cases below."""
    return make_user(role="caseworker")


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- creating cases


def test_create_case_answers_201_with_the_case(api, db, spec, worker):
    body = {
        "person": {
            **AMINA,
            "nationality": "syrisch",
            "languages": ["Arabisch", "Deutsch"],
            "gender": "female",
        },
        "focus_areas": ["wohnen", "sprache"],
    }
    response = api(worker).post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.text
    case = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases", "post", 201), case)
    assert re.fullmatch(rf"KIM-{utcnow().year}-\d{{5}}", case["reference"])
    assert response.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert case["person"] == {
        "id": case["person"]["id"],
        "given_name": "Amina",
        "family_name": "Haddad",
        "aliases": [],
        "birth_date": "1990-05-07",
        "nationality": "syrisch",
        "languages": ["Arabisch", "Deutsch"],
        "gender": "female",
    }
    assert case["phase"] == "erstberatung"
    assert case["focus_areas"] == ["sprache", "wohnen"]  # canonical order
    org = {"id": worker.organisation.id, "name": worker.organisation.name}
    assert case["lead_organisation"] == org
    assert case["organisations_with_access"] == [org]
    assert case["closed_at"] is None
    assert case["created_at"].endswith("+00:00")
    assert [(p["from_phase"], p["to_phase"]) for p in case["phase_history"]] == [
        (None, "erstberatung")
    ]
    assert case["phase_history"][0]["user"] == {"id": worker.id, "name": worker.name}
    assert api(worker).get(f"/api/v1/cases/{case['id']}").get_json() == case
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.object_type == "case")
    )
    assert (event.object_type, event.object_id, event.user_id) == ("case", case["id"], worker.id)


def test_references_count_up(api, worker):
    first = api(worker).post("/api/v1/cases", json={"person": AMINA}).get_json()
    other = {"given_name": "Olena", "family_name": "Kovalenko"}
    second = api(worker).post("/api/v1/cases", json={"person": other}).get_json()
    assert int(second["reference"][-5:]) == int(first["reference"][-5:]) + 1
    assert second["person"]["birth_date"] is None  # unknown birth dates are allowed


def test_duplicate_person_is_409_with_candidates_until_confirmed(
    api, db, spec, worker, make_user, make_org, make_case
):
    existing = make_case(
        worker, given_name="Mohammed", family_name="Al-Hassan", birth_date="1988-03-04"
    )
    other = make_user(org=make_org(name="Caritas Gütersloh", kind="wohlfahrtsverband"))
    # another spelling and day and month swapped: still the same person
    person = {"given_name": "mohammed", "family_name": "Al Hassan", "birth_date": "1988-04-03"}
    response = api(other).post("/api/v1/cases", json={"person": person})
    assert response.status_code == 409
    body = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases", "post", 409), body)
    assert body["error"]["code"] == "duplicate_candidates"
    assert body["candidates"] == [
        {
            "person_id": existing.person_id,
            "score": 1.0,
            "case_refs": [existing.reference],
            "lead_organisation": {
                "id": worker.organisation.id,
                "name": worker.organisation.name,
            },
        }
    ]
    assert _count(db, Case) == 1 and _count(db, Person) == 1
    confirmed = api(other).post(
        "/api/v1/cases", json={"person": person, "confirm_new_person": True}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.get_json()["person"]["id"] != existing.person_id
    assert confirmed.get_json()["lead_organisation"]["id"] == other.organisation.id
    assert _count(db, Case) == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"person": AMINA, "nickname": "A"}, {"nickname": "unknown_field"}),
        ({"person": AMINA, "confirm_new_person": "yes"}, {"confirm_new_person": "must_be_boolean"}),
        ({"person": AMINA, "confirm_new_person": 1}, {"confirm_new_person": "must_be_boolean"}),
        ({"person": AMINA, "focus_areas": "sprache"}, {"focus_areas": "must_be_list"}),
        ({"person": AMINA, "focus_areas": ["kochen"]}, {"focus_areas": None}),
        ({"person": AMINA, "focus_areas": [1]}, {"focus_areas": "must_be_list"}),
        ({}, {"person": "must_be_object"}),
        ({"person": "Amina Haddad"}, {"person": "must_be_object"}),
        ({"person": {"family_name": "Haddad"}}, {"person.given_name": "required"}),
        ({"person": {**AMINA, "birth_date": "07.05.1990"}}, {"person.birth_date": "invalid_date"}),
        ({"person": {**AMINA, "gender": "x"}}, {"person.gender": "invalid"}),
        ({"person": {**AMINA, "languages": "Arabisch"}}, {"person.languages": None}),
        ({"person": {**AMINA, "religion": "x"}}, {"person.religion": "unknown_field"}),
    ],
)
def test_invalid_case_bodies_are_422_with_fields(api, db, worker, body, fields):
    error = assert_error(api(worker).post("/api/v1/cases", json=body), 422, "validation_failed")
    assert set(error["fields"]) == set(fields)
    for name, reason in fields.items():
        if reason is not None:
            assert error["fields"][name] == reason
    assert _count(db, Case) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": []},
        {"json": "Amina"},
        {"json": None},
        {"data": "{not json", "content_type": "application/json"},
        {"data": "given_name=Amina", "content_type": "application/x-www-form-urlencoded"},
    ],
)
def test_case_body_that_is_no_json_object_is_400(api, worker, kwargs):
    error = assert_error(api(worker).post("/api/v1/cases", **kwargs), 400, "invalid_input")
    assert "JSON" in error["message"]


def test_400_message_follows_accept_language(api, worker):
    german = assert_error(api(worker).post("/api/v1/cases", json=[]), 400)
    english = assert_error(
        api(worker).post("/api/v1/cases", json=[], headers={"Accept-Language": "en"}), 400
    )
    assert german["message"] == "Der Inhalt der Anfrage muss ein JSON-Objekt sein."
    assert english["message"] == "The request body must be a JSON object."


@pytest.mark.parametrize("role", ["readonly", "admin"])
def test_readonly_and_admin_may_not_create_cases(api, db, make_user, role):
    user = make_user(role=role)
    assert_error(api(user).post("/api/v1/cases", json={"person": AMINA}), 403, "forbidden")
    assert _count(db, Case) == 0


# ---------------------------------------------------------------- the duplicate check


def test_person_check_finds_variants_with_metadata_only(
    api, spec, worker, make_user, make_org, make_case
):
    existing = make_case(worker, given_name="Jürgen", family_name="Müller", birth_date="1975")
    coordinator = make_user(role="coordinator", org=make_org())
    for user in (worker, coordinator):
        response = api(user).post(
            "/api/v1/persons/check",
            json={"given_name": "Juergen", "family_name": "Mueller", "birth_date": "1975-02-01"},
        )
        assert response.status_code == 200, response.text
        body = response.get_json()
        assert_matches(spec, response_schema(spec, "/persons/check", "post", 200), body)
        assert body == {
            "candidates": [
                {
                    "person_id": existing.person_id,
                    "score": 1.0,
                    "case_refs": [existing.reference],
                    "lead_organisation": {
                        "id": worker.organisation.id,
                        "name": worker.organisation.name,
                    },
                }
            ]
        }
    other_year = {"given_name": "Jürgen", "family_name": "Müller", "birth_date": "1980"}
    response = api(worker).post("/api/v1/persons/check", json=other_year)
    assert response.get_json() == {"candidates": []}
    nobody = {"given_name": "Olena", "family_name": "Kovalenko"}
    assert api(worker).post("/api/v1/persons/check", json=nobody).get_json() == {"candidates": []}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"family_name": "Haddad"}, {"given_name": "required"}),
        (
            {"given_name": " ", "family_name": 5},
            {"given_name": "required", "family_name": "required"},
        ),
        ({**AMINA, "birth_date": "1990-02-30"}, {"birth_date": "invalid_date"}),
        ({**AMINA, "birth_date": 1990}, {"birth_date": "invalid_date"}),
        ({**AMINA, "nationality": "syrisch"}, {"nationality": "unknown_field"}),
    ],
)
def test_person_check_validates(api, worker, body, fields):
    response = api(worker).post("/api/v1/persons/check", json=body)
    assert assert_error(response, 422, "validation_failed")["fields"] == fields


def test_person_check_needs_a_json_object_and_a_writer(api, worker, make_user):
    assert_error(api(worker).post("/api/v1/persons/check", json=["Amina"]), 400, "invalid_input")
    for role in ("readonly", "admin"):
        response = api(make_user(role=role)).post("/api/v1/persons/check", json=AMINA)
        assert_error(response, 403, "forbidden")
    assert_error(
        api(worker).post("/api/v1/persons/check", json=AMINA, headers={"Authorization": ""}), 401
    )


# ---------------------------------------------------------------- reading a case


def test_case_of_another_organisation_is_404_like_an_unknown_one(api, worker, make_user, make_case):
    case = make_case(worker)
    stranger = make_user(role="caseworker")
    readonly_stranger = make_user(role="readonly")
    for user in (stranger, readonly_stranger):
        assert_error(api(user).get(f"/api/v1/cases/{case.id}"), 404, "not_found")
    assert_error(api(worker).get("/api/v1/cases/999999"), 404, "not_found")
    assert_error(api(worker).get("/api/v1/cases/abc"), 404)


def test_admin_sees_no_cases(api, worker, make_user, make_case):
    case = make_case(worker)
    admin = make_user(role="admin", org=worker.organisation)
    assert_error(api(admin).get(f"/api/v1/cases/{case.id}"), 404, "not_found")
    assert api(admin).get("/api/v1/cases").get_json() == {"items": [], "total": 0, "page": 1}
    response = api(admin).patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})
    assert_error(response, 404, "not_found")


def test_coordinator_of_another_organisation_sees_the_metadata(
    api, db, worker, make_user, make_org, make_case
):
    case = make_case(worker, birth_date="1990")
    coordinator = make_user(role="coordinator", org=make_org())
    response = api(coordinator).get(f"/api/v1/cases/{case.id}")
    assert response.status_code == 200
    seen, full = response.get_json(), api(worker).get(f"/api/v1/cases/{case.id}").get_json()
    # Metadata (DESIGN): reference, person name, phase, lead organisation; nothing else.
    assert seen["metadata_only"] is True and full["metadata_only"] is False
    for key in ("reference", "phase", "lead_organisation"):
        assert seen[key] == full[key]
    assert seen["person"]["family_name"] == full["person"]["family_name"]
    assert seen["person"]["birth_date"] is None and full["person"]["birth_date"] == "1990"
    assert seen["focus_areas"] is None
    views = db.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert {(v.user_id, v.object_type, v.object_id) for v in views} == {
        (coordinator.id, "case", case.id),
        (worker.id, "case", case.id),
    }
    # seeing the case is not changing it
    response = api(coordinator).patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})
    assert_error(response, 403, "forbidden")


def test_readonly_colleague_reads_but_may_not_change(api, worker, make_user, make_case):
    case = make_case(worker)
    reader = make_user(role="readonly", org=worker.organisation)
    assert api(reader).get(f"/api/v1/cases/{case.id}").status_code == 200
    response = api(reader).patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})
    assert_error(response, 403, "forbidden")
    # refused for the role before the body is even looked at
    assert_error(api(reader).patch(f"/api/v1/cases/{case.id}", json=[]), 403)


# ---------------------------------------------------------------- changing a case


def test_phase_and_focus_changes(api, db, spec, worker, make_case):
    case = make_case(worker)
    colleague_api = api(worker)
    response = colleague_api.patch(
        f"/api/v1/cases/{case.id}",
        json={"phase": "bestandsaufnahme", "focus_areas": ["arbeit", "sprache"]},
    )
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases/{case_id}", "patch", 200), body)
    assert body["phase"] == "bestandsaufnahme"
    assert body["focus_areas"] == ["sprache", "arbeit"]
    assert [p["to_phase"] for p in body["phase_history"]] == ["erstberatung", "bestandsaufnahme"]
    closed = colleague_api.patch(f"/api/v1/cases/{case.id}", json={"phase": "abgeschlossen"})
    assert closed.get_json()["closed_at"] is not None
    assert closed.get_json()["focus_areas"] == ["sprache", "arbeit"]  # untouched
    reopened = colleague_api.patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})
    assert reopened.get_json()["closed_at"] is None
    unchanged = colleague_api.patch(f"/api/v1/cases/{case.id}", json={})
    assert unchanged.status_code == 200
    assert len(unchanged.get_json()["phase_history"]) == 4
    updates = db.scalars(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert len(updates) == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"phase": "fertig"}, {"phase": "invalid"}),
        ({"phase": 3}, {"phase": "invalid"}),
        ({"phase": ["monitoring"]}, {"phase": "invalid"}),
        ({"focus_areas": "arbeit"}, {"focus_areas": "must_be_list"}),
        ({"focus_areas": ["arbeit", "kochen"]}, {"focus_areas": None}),
        ({"lead_organisation_id": 3}, {"lead_organisation_id": "unknown_field"}),
        ({"phase": "monitoring", "reference": "KIM-1"}, {"reference": "unknown_field"}),
    ],
)
def test_invalid_case_changes_are_422_and_change_nothing(api, db, worker, make_case, body, fields):
    case = make_case(worker)
    response = api(worker).patch(f"/api/v1/cases/{case.id}", json=body)
    error = assert_error(response, 422, "validation_failed")
    assert set(error["fields"]) == set(fields)
    for name, reason in fields.items():
        if reason is not None:
            assert error["fields"][name] == reason
    db.expire_all()
    assert db.get(Case, case.id).phase == "erstberatung"


def test_case_change_needs_a_json_object(api, worker, make_case):
    case = make_case(worker)
    for body in ([], "monitoring", 1):
        response = api(worker).patch(f"/api/v1/cases/{case.id}", json=body)
        assert_error(response, 400, "invalid_input")


def test_case_of_another_organisation_cannot_be_changed(api, worker, make_user, make_case):
    case = make_case(worker)
    response = api(make_user()).patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})
    assert_error(response, 404, "not_found")
    assert_error(api(worker).patch("/api/v1/cases/424242", json={"phase": "monitoring"}), 404)


# ---------------------------------------------------------------- the case list


@pytest.fixture
def network(db, make_org, make_user, make_case):
    """Two organisations with cases in different phases and focus areas."""
    city = make_org(name="Stadt Rietberg")
    caritas = make_org(name="Caritas Gütersloh", kind="wohlfahrtsverband")
    worker = make_user(org=city)
    colleague = make_user(org=city)
    helper = make_user(org=caritas)
    made = {
        "amina": make_case(worker, given_name="Amina", family_name="Haddad"),
        "olena": make_case(colleague, given_name="Olena", family_name="Kovalenko"),
        "yusuf": make_case(worker, given_name="Yusuf", family_name="Demir"),
        "mariam": make_case(helper, given_name="Mariam", family_name="Haidari"),
    }
    cases.update_case(db, worker, made["amina"], phase="monitoring", focus_areas=["arbeit"])
    cases.update_case(db, worker, made["yusuf"], focus_areas=["arbeit", "wohnen"])
    db.commit()
    return {"city": city, "caritas": caritas, "worker": worker, "helper": helper, **made}


def _references(api, user, query: str = "") -> list[str]:
    response = api(user).get(f"/api/v1/cases?{query}")
    assert response.status_code == 200, response.text
    return sorted(item["reference"] for item in response.get_json()["items"])


def test_case_list_shows_what_you_may_see_with_filters(api, spec, network, make_user):
    worker = network["worker"]
    refs = {name: network[name].reference for name in ("amina", "olena", "yusuf", "mariam")}
    response = api(worker).get("/api/v1/cases")
    body = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases", "get", 200), body)
    assert body["total"] == 3 and body["page"] == 1
    assert sorted(i["reference"] for i in body["items"]) == sorted(
        refs[n] for n in ("amina", "olena", "yusuf")
    )
    assert _references(api, network["helper"]) == [refs["mariam"]]
    assert _references(api, worker, "phase=monitoring") == [refs["amina"]]
    assert _references(api, worker, "focus=arbeit") == sorted([refs["amina"], refs["yusuf"]])
    assert _references(api, worker, "focus=wohnen&phase=erstberatung") == [refs["yusuf"]]
    assert _references(api, worker, "q=kovalenko") == [refs["olena"]]
    assert _references(api, worker, f"q={refs['yusuf']}") == [refs["yusuf"]]
    assert _references(api, worker, "mine=1") == sorted([refs["amina"], refs["yusuf"]])
    assert _references(api, worker, "mine=false") == sorted(
        refs[n] for n in ("amina", "olena", "yusuf")
    )
    coordinator = make_user(role="coordinator", org=network["caritas"])
    assert _references(api, coordinator) == sorted(refs.values())
    city = network["city"].id
    assert _references(api, coordinator, f"organisation={city}") == sorted(
        refs[n] for n in ("amina", "olena", "yusuf")
    )
    assert _references(api, coordinator, "q=HA") == sorted([refs["amina"], refs["mariam"]])


def test_case_list_pages_and_sorts(api, network):
    worker = network["worker"]
    by_reference = sorted(network[n].reference for n in ("amina", "olena", "yusuf"))

    def page(query):
        body = api(worker).get(f"/api/v1/cases?sort=reference&{query}").get_json()
        return body["total"], body["page"], [i["reference"] for i in body["items"]]

    assert page("per_page=2") == (3, 1, by_reference[:2])
    assert page("per_page=2&page=2") == (3, 2, by_reference[2:])
    assert page("per_page=2&page=3") == (3, 3, [])
    assert page("") == (3, 1, by_reference)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("phase=fertig", "phase"),
        ("focus=kochen", "focus"),
        ("organisation=abc", "organisation"),
        ("organisation=-1", "organisation"),
        ("organisation=%C2%B2", "organisation"),  # "²" passes str.isdigit but not int()
        ("organisation=99999999999999999999", "organisation"),
        ("sort=random", "sort"),
        ("mine=maybe", "mine"),
    ],
)
def test_invalid_case_list_filters_are_400(api, worker, query, field):
    error = assert_error(api(worker).get(f"/api/v1/cases?{query}"), 400, "invalid_input")
    assert set(error["fields"]) == {field}


@pytest.mark.parametrize("query", ["page=0", "per_page=500", "page=x"])
def test_invalid_case_list_paging_is_400(api, worker, query):
    assert_error(api(worker).get(f"/api/v1/cases?{query}"), 400, "invalid_input")


@pytest.mark.parametrize("organisation", ["²", "9" * 20])
def test_parse_case_query_refuses_what_no_organisation_id_can_be(organisation):
    query = cases.parse_case_query({"organisation": organisation}, None)
    assert query.errors == {"organisation": "invalid"}
