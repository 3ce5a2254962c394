"""The JSON search API: word forms, text in files, facets, filters, paging, access, bad queries."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import jobs
from portal.models import AuditEvent
from portal.models.base import local_today
from portal.services import consents
from portal.services.errors import SearchUnavailable
from tests.conftest import REALDOCS
from tests.integration.test_api import assert_error, assert_matches, response_schema

FACETS = {"type", "phase", "focus", "organisation", "year"}

# tantivy on SQLite, the PostgreSQL search backend on PostgreSQL.
pytestmark = pytest.mark.usefixtures("search_backend")


@pytest.fixture
def worker(make_user, make_org):
    """A caseworker of the organisation that leads the cases."""
    return make_user(org=make_org(name="Stadt Rietberg"))


@pytest.fixture
def partner(make_user, make_org):
    """A caseworker of another organisation."""
    return make_user(org=make_org(name="Caritasverband Gütersloh", kind="wohlfahrtsverband"))


def _search(api, user, status: int = 200, **query) -> dict:
    response = api(user).get("/api/v1/search", query_string=query)
    assert response.status_code == status, response.text
    return response.get_json()


def _ids(result: dict) -> list[int]:
    return [hit["document_id"] for hit in result["hits"]]


def _upload(api, user, case_id: int, name: str) -> dict:
    response = api(user).post(
        f"/api/v1/cases/{case_id}/documents",
        data={"file": (io.BytesIO((REALDOCS / name).read_bytes()), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    return response.get_json()


# ---------------------------------------------------------------- finding


def test_word_forms_find_each_other(app, api, db, spec, worker, make_case, make_note):
    case = make_case(worker, given_name="Oleksandr", family_name="Kovalenko")
    note = make_note(worker, case, title="Wohnung", text="Die Räume sind <b>feucht</b>.")
    make_note(worker, case, title="Sprachkurs", text="Anmeldung zum B1-Kurs.")
    jobs.drain(app)
    for q in ("Räume", "Raeume", "Raum", "räume", "RAEUME", "Raume"):
        result = _search(api, worker, q=q)
        assert _ids(result) == [note.id], q
    assert_matches(spec, response_schema(spec, "/search", "get", 200), result)
    hit = result["hits"][0]
    assert hit == {
        "document_id": note.id,
        "case_id": case.id,
        "case_reference": case.reference,
        "title": "Wohnung",
        "type": "note",
        "version": 1,
        "highlights": hit["highlights"],
        "score": hit["score"],
    }
    assert hit["score"] > 0
    # plain text with «» marks: the client escapes, the API does not turn text into HTML
    assert len(hit["highlights"]) == 1
    assert hit["highlights"][0].startswith("Die «Räume» sind <b>feucht</b")
    assert (result["total"], result["page"], result["incomplete"]) == (1, 1, False)
    assert result["facets"]["type"] == {"note": 1}


def test_search_is_audited_without_its_words(app, api, db, worker, make_case, make_note):
    make_note(worker, make_case(worker), text="Die Räume sind feucht.")
    jobs.drain(app)
    _search(api, worker, q="Raeume feucht", phase="erstberatung")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "search"))
    assert (event.user_id, event.organisation_id, event.object_type) == (
        worker.id,
        worker.organisation_id,
        "search",
    )
    assert event.case_id is None
    assert "Raeume" not in event.detail and "feucht" not in event.detail
    assert '"hits": 1' in event.detail and '"via": "api"' in event.detail
    for detail in db.scalars(select(AuditEvent.detail)):
        assert "Raeume" not in detail and "feucht" not in detail


def test_text_inside_uploaded_files_is_found(api, worker, make_case):
    case = make_case(worker)
    odt = _upload(api, worker, case.id, "source.odt")
    pdf = _upload(api, worker, case.id, "GeoTopo-komprimiert.pdf")
    lorem = _search(api, worker, q="Lorem ipsum")
    assert _ids(lorem) == [odt["id"]]
    assert any("«Lorem»" in passage for passage in lorem["hits"][0]["highlights"])
    assert lorem["hits"][0]["type"] == "file"
    found = _search(api, worker, q="Mannigfaltigkeit")
    assert _ids(found) == [pdf["id"]]
    assert any("«Mannigfaltigkeit" in passage for passage in found["hits"][0]["highlights"])
    assert _ids(_search(api, worker, q="mannigfaltigkeiten")) == [pdf["id"]]


def test_arabic_without_vowel_marks_finds_the_marked_word(app, api, worker, make_case, make_note):
    case = make_case(worker, given_name="Rania", family_name="Haddad")
    note = make_note(worker, case, title="Gespräch", text="Sie sagte: حَبيبي، أهلاً")
    jobs.drain(app)
    pdf = _upload(api, worker, case.id, "habibi.pdf")
    result = _search(api, worker, q="حبيبي")
    assert sorted(_ids(result)) == sorted([note.id, pdf["id"]])
    assert _ids(_search(api, worker, q="حَبيبي")) == _ids(result)


def test_person_names_are_found_with_typos(app, api, worker, make_case, make_note):
    case = make_case(worker, given_name="Mohammed", family_name="Hassan")
    note = make_note(worker, case, text="Termin vereinbart.")
    jobs.drain(app)
    assert _ids(_search(api, worker, q="Mohamed Hasan")) == [note.id]  # one typo per word
    assert _ids(_search(api, worker, q="hassan")) == [note.id]


def test_hyphenated_words_and_references_are_found(app, api, worker, make_case, make_note):
    case = make_case(worker)
    note = make_note(worker, case, text="Anmeldung zum B1-Kurs.")
    jobs.drain(app)
    assert _ids(_search(api, worker, q="B1-Kurs")) == [note.id]
    assert _ids(_search(api, worker, q=case.reference)) == [note.id]


# ---------------------------------------------------------------- facets, filters, paging


@pytest.fixture
def housing(app, api, worker, make_case, make_note):
    """Two cases with five documents about a flat ("Wohnung"), and one about something else."""
    first = make_case(worker)
    second = make_case(worker)
    lead = api(worker)
    patch = {"phase": "bestandsaufnahme", "focus_areas": ["wohnen", "sprache"]}
    assert lead.patch(f"/api/v1/cases/{second.id}", json=patch).status_code == 200
    focus = {"focus_areas": ["wohnen"]}
    assert lead.patch(f"/api/v1/cases/{first.id}", json=focus).status_code == 200
    documents = "/api/v1/cases/{}/documents"
    created = [
        make_note(worker, first, text="Sucht eine Wohnung.").id,
        make_note(worker, first, text="Wohnung besichtigt.").id,
        make_note(worker, second, text="Wohnung zu klein.").id,
        make_note(worker, second, text="Kein Treffer hier.").id,
    ]
    assessment = {
        "type": "assessment",
        "title": "Bestandsaufnahme",
        "fields": {"housing": "Wohnung in Rietberg, zu teuer"},
    }
    agreement = {
        "type": "agreement",
        "title": "Vereinbarung",
        "fields": {"goals": [{"area": "wohnen", "goal": "Eigene Wohnung finden"}]},
    }
    created.append(lead.post(documents.format(first.id), json=assessment).get_json()["id"])
    created.append(lead.post(documents.format(second.id), json=agreement).get_json()["id"])
    jobs.drain(app)
    return first, second, created


def test_facets_count_every_match(api, spec, worker, housing):
    *_cases, created = housing
    result = _search(api, worker, q="Wohnung")
    assert result["total"] == 5
    assert sorted(_ids(result)) == sorted(created[:3] + created[4:])
    assert result["facets"] == {
        "type": {"note": 3, "assessment": 1, "agreement": 1},
        "phase": {"erstberatung": 3, "bestandsaufnahme": 2},
        "focus": {"wohnen": 5, "sprache": 2},
        "organisation": {str(worker.organisation_id): 5},
        "year": {str(local_today().year): 5},
    }
    assert_matches(spec, response_schema(spec, "/search", "get", 200), result)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"type": "note"}, 3),
        ({"type": ["note", "agreement"]}, 4),
        ({"type": "file"}, 0),
        ({"phase": "bestandsaufnahme"}, 2),
        ({"phase": "monitoring"}, 0),
        ({"focus": "sprache"}, 2),
        ({"focus": "wohnen", "type": "note"}, 3),
        ({"from": "TODAY"}, 5),
        ({"to": "TODAY"}, 5),
        ({"from": "TOMORROW"}, 0),
        ({"to": "YESTERDAY"}, 0),
        ({"organisation": "OWN"}, 5),
        ({"organisation": "999999"}, 0),
        ({"case": "FIRST"}, 3),
    ],
)
def test_filters_narrow_hits_and_facets(api, worker, housing, query, expected):
    first, _second, _created = housing
    today = local_today()
    words = {
        "TODAY": today.isoformat(),
        "TOMORROW": (today + timedelta(days=1)).isoformat(),
        "YESTERDAY": (today - timedelta(days=1)).isoformat(),
        "OWN": str(worker.organisation_id),
        "FIRST": str(first.id),
    }
    query = {k: words.get(v, v) if isinstance(v, str) else v for k, v in query.items()}
    result = _search(api, worker, q="Wohnung", **query)
    assert result["total"] == len(result["hits"]) == expected, query
    assert sum(result["facets"]["type"].values()) == expected
    if "type" in query:
        types = query["type"] if isinstance(query["type"], list) else [query["type"]]
        assert {hit["type"] for hit in result["hits"]} <= set(types)


def test_paging_and_sorting(api, worker, housing):
    _first, _second, created = housing
    pages = [_search(api, worker, q="Wohnung", per_page=2, page=n) for n in (1, 2, 3)]
    assert [len(p["hits"]) for p in pages] == [2, 2, 1]
    assert [(p["total"], p["page"]) for p in pages] == [(5, 1), (5, 2), (5, 3)]
    seen = [i for p in pages for i in _ids(p)]
    assert sorted(seen) == sorted(created[:3] + created[4:])  # each once
    beyond = _search(api, worker, q="Wohnung", per_page=2, page=4)
    assert (beyond["hits"], beyond["total"], beyond["page"]) == ([], 5, 4)
    assert len(_search(api, worker, q="Wohnung")["hits"]) == 5  # 50 a page by default
    newest = _search(api, worker, q="Wohnung", sort="date")
    assert _ids(newest) == sorted(_ids(newest), reverse=True)  # created in id order


def test_old_versions_only_when_asked(api, worker, make_case):
    case = make_case(worker)
    lead = api(worker)
    body = {"type": "note", "title": "Wohnort", "text": "Wohnt im Altbau."}
    note = lead.post(f"/api/v1/cases/{case.id}/documents", json=body).get_json()
    new = {"text": "Wohnt im Neubau.", "base_version": 1}
    assert lead.post(f"/api/v1/documents/{note['id']}/versions", json=new).status_code == 201
    assert _search(api, worker, q="Altbau")["hits"] == []
    old = _search(api, worker, q="Altbau", all="1")
    assert [(h["document_id"], h["version"]) for h in old["hits"]] == [(note["id"], 1)]
    assert [h["version"] for h in _search(api, worker, q="Neubau")["hits"]] == [2]


# ---------------------------------------------------------------- only what the user may see


def test_only_allowed_hits(
    app, api, db, worker, partner, make_user, make_org, make_case, make_note
):
    case = make_case(worker)
    shared = make_note(worker, case, title="Geteilt", text="Einzigartigeswort steht hier.")
    internal = make_note(
        worker, case, title="Intern", text="Einzigartigeswort intern.", visibility="internal"
    )
    jobs.drain(app)
    empty = {name: {} for name in FACETS}
    outsiders = [
        partner,
        make_user(role="coordinator", org=partner.organisation),
        make_user(role="admin", org=worker.organisation),
    ]
    for user in outsiders:
        for q in ("Einzigartigeswort", case.reference, "Amina", "acl:o1", "*"):
            response = api(user).get("/api/v1/search", query_string={"q": q})
            assert response.status_code in (200, 400), (q, response.text)
            if response.status_code == 200:
                result = response.get_json()
                assert (result["total"], result["hits"], result["facets"]) == (0, [], empty), q
    reader = make_user(role="readonly", org=worker.organisation)
    assert sorted(_ids(_search(api, reader, q="Einzigartigeswort"))) == [shared.id, internal.id]

    url = f"/api/v1/cases/{case.id}/consents"
    api(worker).post(url, json={"organisation_ids": [partner.organisation_id]})
    result = _search(api, partner, q="Einzigartigeswort")
    assert _ids(result) == [shared.id]  # never the internal note
    assert result["total"] == 1 and result["facets"]["type"] == {"note": 1}


def test_revoked_consent_hides_hits_before_the_index_catches_up(
    app, api, db, worker, partner, make_case, make_note
):
    case = make_case(worker)
    make_note(worker, case, text="Einzigartigeswort steht hier.")
    consent = consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    db.commit()
    jobs.drain(app)
    assert _search(api, partner, q="Einzigartigeswort")["total"] == 1
    consents.revoke(db, worker, case, consent.id)
    db.commit()  # not drained: the policy re-check alone must hide it
    result = _search(api, partner, q="Einzigartigeswort")
    assert (result["hits"], result["total"]) == ([], 0)


def test_revoked_consent_leaves_no_counts_before_the_index_catches_up(
    app, api, db, worker, partner, make_case, make_note
):
    case = make_case(worker)
    make_note(worker, case, text="Einzigartigeswort steht hier.")
    make_note(worker, case, text="Einzigartigeswort steht auch hier.")
    consent = consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    db.commit()
    jobs.drain(app)
    consents.revoke(db, worker, case, consent.id)
    db.commit()
    result = _search(api, partner, q="Einzigartigeswort", per_page=1)
    assert (result["hits"], result["total"]) == ([], 0)
    assert result["facets"] == {name: {} for name in FACETS}


def test_reindexed_documents_are_found_once_and_as_they_are_now(
    app, api, worker, make_case, make_note
):
    case = make_case(worker)
    note = make_note(worker, case, text="Wohnung gesucht.")
    jobs.drain(app)
    assert _ids(_search(api, worker, q="Wohnung")) == [note.id]
    api(worker).patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"})  # reindexes
    assert _ids(_search(api, worker, q="Wohnung")) == [note.id]
    assert _search(api, worker, q="Wohnung", phase="erstberatung")["hits"] == []


# ---------------------------------------------------------------- bad queries


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({}, {"q": "required"}),
        ({"q": ""}, {"q": "required"}),
        ({"q": "   "}, {"q": "required"}),
        ({"q": "x" * 10_000}, {"q": "too_long"}),
        ({"q": "ab*"}, {"q": "short_prefix"}),
        ({"q": "-nur"}, {"q": "nothing_to_search"}),
        ({"q": "Wohnung", "phase": "x"}, {"phase": "invalid"}),
        ({"q": "Wohnung", "type": "memo"}, {"type": "invalid"}),
        ({"q": "Wohnung", "focus": "kochen"}, {"focus": "invalid"}),
        ({"q": "Wohnung", "from": "31.12.2026"}, {"from": "invalid_date"}),
        ({"q": "Wohnung", "to": "2026-02-30"}, {"to": "invalid_date"}),
        ({"q": "Wohnung", "sort": "name"}, {"sort": "invalid"}),
        ({"q": "Wohnung", "page": "0"}, {"page": "invalid"}),
        ({"q": "Wohnung", "page": "1001"}, {"page": "invalid"}),
        ({"q": "Wohnung", "page": "zwei"}, {"page": "invalid"}),
        ({"q": "Wohnung", "per_page": "101"}, {"per_page": "invalid"}),
        ({"q": "Wohnung", "organisation": "abc"}, {"organisation": "invalid"}),
        ({"q": "Wohnung", "case": "-1"}, {"case": "invalid"}),
        ({"q": "Wohnung", "case": "99999999999999999999"}, {"case": "invalid"}),
        ({"q": "Wohnung", "case": "0"}, {"case": "invalid"}),
        ({"q": "Wohnung", "page": "1.5"}, {"page": "invalid"}),
        ({"q": "Wohnung", "type": ["note", "memo"]}, {"type": "invalid"}),
        ({"q": "Wohnung", "phase": "x", "from": "x"}, {"phase": "invalid", "from": "invalid_date"}),
        ({"phase": "x", "page": "0"}, {"q": "required"}),  # the search term first
    ],
)
def test_bad_queries_are_400(api, worker, query, fields):
    response = api(worker).get("/api/v1/search", query_string=query)
    error = assert_error(response, 400, "invalid_input")
    assert error["fields"] == fields


def test_bad_query_messages_come_from_the_service(api, worker):
    def message(q: str, language: str = "de") -> str:
        response = api(worker).get(
            "/api/v1/search", query_string={"q": q}, headers={"Accept-Language": language}
        )
        return assert_error(response, 400, "invalid_input")["message"]

    assert message("-nur").startswith("Suchanfrage ungültig")
    assert message("-nur", "en") == "Invalid search query. Check quotes and brackets."
    assert message("") == "Bitte geben Sie einen Suchbegriff ein."
    response = api(worker).get("/api/v1/search", query_string={"q": " ", "phase": "x"})
    assert assert_error(response, 400)["message"] == "Bitte geben Sie einen Suchbegriff ein."
    assert message("ab*") == "Vor einem Platzhalter müssen mindestens 3 Buchstaben stehen."


ODD_QUERIES = [
    '"Wohnung',
    "(Wohnung",
    "Wohnung)",
    "AND",
    "OR OR",
    "NOT",
    "*",
    "?",
    "~",
    "Wohnung~5",
    "title:Wohnung",
    "acl:o1",
    "Woh?ung",
    "Wohn*",
    "'",
    "\\",
    "{}",
    "[a TO z]",
    "%",
    "😀",
    "\u202e",
    "x" * 500,
    " ".join(["Wohnung"] * 80),
]


def test_odd_queries_never_fail_the_server(app, api, worker, make_case, make_note):
    make_note(worker, make_case(worker), text="Wohnung gesucht.")
    jobs.drain(app)
    for q in ODD_QUERIES:
        response = api(worker).get("/api/v1/search", query_string={"q": q})
        assert response.status_code in (200, 400), (q, response.text)
        if response.status_code == 400:
            assert_error(response, 400, "invalid_input")


def test_search_needs_a_token(client):
    assert_error(client.get("/api/v1/search?q=Wohnung"), 401, "unauthenticated")


def test_an_engine_failure_is_503_with_a_message_on_api_and_page(app, api, auth, client, worker):
    def broken(*_args, **_kwargs):
        raise SearchUnavailable()

    app.extensions["portal.search"].search = broken
    response = api(worker).get("/api/v1/search", query_string={"q": "Wohnung"})
    assert assert_error(response, 503, "search_unavailable")["message"].startswith(
        "Die Suche ist gerade nicht verfügbar"
    )
    auth.login(worker.email)
    page = client.get("/search?q=Wohnung")
    assert page.status_code == 503 and "Suche ist gerade nicht verfügbar" in page.text
