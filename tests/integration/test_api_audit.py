"""The JSON API for a case's audit trail: who did what; for the lead and coordinators."""

from __future__ import annotations

import io

import pytest

from portal import jobs
from tests.conftest import REALDOCS
from tests.integration.test_api import assert_error, assert_matches, response_schema

NOTE_TEXT = "Vertrauliche Angaben zur Gesundheit von Frau Haddad."
SEARCH_WORD = "Sprachkursanmeldung"


@pytest.fixture
def story(api, worker, partner):
    """A case through the API: created, a note and a file, shared, read, searched, revoked."""
    lead, reader = api(worker), api(partner)
    person = {"given_name": "Rania", "family_name": "Haddad", "birth_date": "1991-02-03"}
    case = lead.post("/api/v1/cases", json={"person": person}).get_json()
    documents = f"/api/v1/cases/{case['id']}/documents"
    note_body = {
        "type": "note",
        "title": "Gesundheit",
        "text": f"{NOTE_TEXT} {SEARCH_WORD}",
        "data_categories": [],
    }  # general case information: every partner reads it
    note = lead.post(documents, json=note_body).get_json()
    upload = lead.post(
        documents,
        data={"file": (io.BytesIO((REALDOCS / "source.odt").read_bytes()), "source.odt")},
        content_type="multipart/form-data",
    ).get_json()
    consents = f"/api/v1/cases/{case['id']}/consents"
    consent = lead.post(consents, json={"organisation_ids": [partner.organisation_id]}).get_json()
    assert reader.get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert reader.get(f"/api/v1/documents/{note['id']}").status_code == 200
    content = f"/api/v1/documents/{upload['id']}/versions/1/content"
    assert reader.get(content).status_code == 200
    assert reader.get("/api/v1/search", query_string={"q": SEARCH_WORD}).get_json()["total"] == 1
    assert lead.delete(f"{consents}/{consent['id']}").status_code == 200
    return {"case": case, "note": note, "upload": upload, "consent": consent}


def _trail(api, user, case_id: int, **query):
    return api(user).get(f"/api/v1/cases/{case_id}/audit", query_string=query)


def test_trail_says_who_did_what_newest_first(api, spec, worker, partner, story):
    """The lead sees its own staff by name, the partner's only by organisation."""
    case, note, upload, consent = (story[k] for k in ("case", "note", "upload", "consent"))
    response = _trail(api, worker, case["id"])
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases/{case_id}/audit", "get", 200), body)
    events = body["items"]
    assert body["total"] == len(events) and body["page"] == 1
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert all(e["case_id"] == case["id"] for e in events)

    def who(user, named=True) -> tuple:
        org = user.organisation
        person = {"id": user.id, "email": user.email, "name": user.name} if named else None
        return (person, org.id, org.name)

    seen = {
        (e["action"], e["object_type"], e["object_id"]): (
            e["user"],
            e["organisation"]["id"],
            e["organisation"]["name"],
        )
        for e in events
    }
    assert seen[("create", "case", case["id"])] == who(worker)
    assert seen[("create", "document", note["id"])] == who(worker)
    assert seen[("create", "document", upload["id"])] == who(worker)
    assert seen[("share", "consent", consent["id"])] == who(worker)
    assert seen[("view", "case", case["id"])] == who(partner, named=False)
    assert seen[("view", "document", note["id"])] == who(partner, named=False)
    assert seen[("download", "document", upload["id"])] == who(partner, named=False)
    assert seen[("revoke", "consent", consent["id"])] == who(worker)
    assert events[0]["action"] == "revoke"  # the newest
    assert events[0]["organisation"] == {"id": worker.organisation_id, "name": "Stadt Rietberg"}


def test_coordinators_see_what_happened_not_which_colleague(
    api, worker, partner, story, make_user, make_org
):
    case_id = story["case"]["id"]
    elsewhere = make_user(role="coordinator", org=make_org(name="Kreis Gütersloh"))
    events = _trail(api, elsewhere, case_id, per_page=200).get_json()["items"]
    assert events and all(e["user"] is None for e in events)
    assert {e["organisation"]["id"] for e in events} == {
        worker.organisation_id,
        partner.organisation_id,
    }
    text = _trail(api, elsewhere, case_id, per_page=200).text
    for secret in (worker.name, worker.email, partner.name, partner.email):
        assert secret not in text
    colleague = make_user(role="coordinator", org=worker.organisation)  # of the lead
    named = {
        e["user"]["id"] for e in _trail(api, colleague, case_id).get_json()["items"] if e["user"]
    }
    assert named == {worker.id}


def test_trail_never_shows_contents_or_search_words(api, worker, story):
    text = _trail(api, worker, story["case"]["id"], per_page=200).text
    for secret in (NOTE_TEXT, "Vertrauliche", SEARCH_WORD, "Lorem", "Gesundheit"):
        assert secret not in text
    actions = {e["action"] for e in _trail(api, worker, story["case"]["id"]).get_json()["items"]}
    assert "search" not in actions  # searches belong to no case


def test_trail_pages(api, worker, story):
    everything = _trail(api, worker, story["case"]["id"]).get_json()
    total = everything["total"]
    assert total >= 8
    second = _trail(api, worker, story["case"]["id"], per_page=3, page=2).get_json()
    assert second["total"] == total and second["page"] == 2
    assert second["items"] == everything["items"][3:6]
    beyond = _trail(api, worker, story["case"]["id"], per_page=3, page=1000).get_json()
    assert beyond == {"items": [], "total": total, "page": 1000}
    for query in ({"page": 0}, {"per_page": 201}, {"page": "x"}):
        assert_error(_trail(api, worker, story["case"]["id"], **query), 400, "invalid_input")


def test_who_may_read_the_trail(api, worker, partner, story, make_user, make_org):
    case_id = story["case"]["id"]
    lead_org, elsewhere = worker.organisation, make_org(name="Jobcenter Kreis Gütersloh")
    expected = {
        "caseworker of the lead": (worker, 200),
        "read-only colleague": (make_user(role="readonly", org=lead_org), 200),
        "coordinator of the lead": (make_user(role="coordinator", org=lead_org), 200),
        "coordinator elsewhere": (make_user(role="coordinator", org=elsewhere), 200),
        "stranger": (make_user(org=elsewhere), 404),
        "read-only stranger": (make_user(role="readonly", org=elsewhere), 404),
        "admin of the lead": (make_user(role="admin", org=lead_org), 404),
        "former partner": (partner, 404),
    }
    for who, (user, status) in expected.items():
        response = _trail(api, user, case_id)
        assert response.status_code == status, who
        if status == 404:
            assert_error(response, 404, "not_found")
    assert_error(_trail(api, worker, 424242), 404, "not_found")


def test_partner_with_a_consent_sees_the_case_but_not_its_trail(api, worker, partner, make_case):
    case = make_case(worker)
    url = f"/api/v1/cases/{case.id}/consents"
    api(worker).post(url, json={"organisation_ids": [partner.organisation_id]})
    assert api(partner).get(f"/api/v1/cases/{case.id}").status_code == 200
    assert_error(_trail(api, partner, case.id), 403, "forbidden")


def test_events_of_factories_and_services_show_too(app, api, db, worker, make_case, make_note):
    case = make_case(worker)
    note = make_note(worker, case)
    jobs.drain(app)
    events = _trail(api, worker, case.id).get_json()["items"]
    assert [(e["action"], e["object_type"], e["object_id"]) for e in events] == [
        ("create", "document", note.id),
        ("create", "case", case.id),
    ]


def test_trail_needs_a_token(client, worker, make_case):
    case = make_case(worker)
    assert_error(client.get(f"/api/v1/cases/{case.id}/audit"), 401, "unauthenticated")
