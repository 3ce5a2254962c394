"""Consent to the category (issue 16): a partner reads what the person released to it, and
nothing else, through the API, the pages, search and printouts."""

from __future__ import annotations

import io
import re

import pytest

from portal import jobs
from portal.services import consents, documents, pdf
from tests.conftest import Auth, csrf_token

# Each document has a unique word; the assessment one per section.
GENERAL = {"type": "note", "title": "Termin Rathaus", "text": "Treffpunkt Glockenspiel.",
           "data_categories": []}  # fmt: skip
HOUSING = {"type": "note", "title": "Suche Unterkunft", "text": "Besichtigung Kastanienhof.",
           "data_categories": ["wohnen"]}  # fmt: skip
HEALTH = {"type": "note", "title": "Befundbericht", "text": "Diagnose Zitronenfalter.",
          "data_categories": ["gesundheit"]}  # fmt: skip
HOUSING_WORK = {"type": "note", "title": "Wohnung und Stelle", "text": "Pendeln Regenpfeifer.",
                "data_categories": ["wohnen", "arbeit"]}  # fmt: skip
ASSESSMENT = {
    "type": "assessment",
    "title": "Bestandsaufnahme",
    "fields": {
        "housing": "Notunterkunft Holunderweg",
        "health": "Bluthochdruck Eisvogel",
        "family": "Zwei Kinder Mondstein",
        "residence_status": "Duldung Feldlerche",
        "goals_text": "Eigene Wohnung Sonnentau",
    },
}
HIDDEN_WORDS = ("Eisvogel", "Feldlerche", "Bluthochdruck", "Duldung")


@pytest.fixture
def released(app, api, db, worker, partner, make_case):
    """A case with five documents; the partner holds a consent for housing and family."""
    case = make_case(worker)
    lead = api(worker)
    ids = {}
    for name, body in (("general", GENERAL), ("housing", HOUSING), ("health", HEALTH),
                       ("housing_work", HOUSING_WORK), ("assessment", ASSESSMENT)):  # fmt: skip
        response = lead.post(f"/api/v1/cases/{case.id}/documents", json=body)
        assert response.status_code == 201, response.text
        ids[name] = response.get_json()["id"]
    consent = lead.post(
        f"/api/v1/cases/{case.id}/consents",
        json={"organisation_ids": [partner.organisation_id],
              "data_categories": ["wohnen", "familie"]},
    )  # fmt: skip
    assert consent.status_code == 201
    jobs.drain(app)
    return case, ids


def _search(client, word: str) -> dict:
    response = client.get(f"/api/v1/search?q={word}&all=1")
    assert response.status_code == 200
    return response.get_json()


def test_a_partner_reads_exactly_the_released_categories(released, api, partner, worker):
    case, ids = released
    reader = api(partner)
    listed = reader.get(f"/api/v1/cases/{case.id}/documents").get_json()["items"]
    assert {item["id"] for item in listed} == {ids["general"], ids["housing"], ids["assessment"]}
    for name in ("health", "housing_work"):
        doc = ids[name]
        for url in (f"/api/v1/documents/{doc}", f"/api/v1/documents/{doc}/versions/1",
                    f"/api/v1/documents/{doc}/pdf?version=1"):  # fmt: skip
            assert reader.get(url).status_code == 404, url
    # The lead organisation reads everything.
    lead_listed = api(worker).get(f"/api/v1/cases/{case.id}/documents").get_json()["items"]
    assert len(lead_listed) == 5


def test_a_partner_reads_the_released_sections_of_an_assessment(released, api, partner, worker):
    _case, ids = released
    reader = api(partner)
    doc = ids["assessment"]
    version = reader.get(f"/api/v1/documents/{doc}/versions/1").get_json()
    fields = version["fields"]
    assert fields["housing"] == "Notunterkunft Holunderweg"
    assert fields["family"] == "Zwei Kinder Mondstein"
    assert fields["goals_text"] == "Eigene Wohnung Sonnentau"  # general case information
    assert fields["health"] == "" and fields["residence_status"] == ""
    assert not any(word in reader.get(f"/api/v1/documents/{doc}").text for word in HIDDEN_WORDS)
    assert not any(word in version["extracted_text"] for word in HIDDEN_WORDS)
    summary = reader.get(f"/api/v1/documents/{doc}").get_json()
    assert summary["data_categories"] == ["wohnen", "familie"]  # not what the rest touches
    full = api(worker).get(f"/api/v1/documents/{doc}").get_json()
    assert full["data_categories"] == ["wohnen", "gesundheit", "aufenthalt", "familie"]
    assert api(worker).get(f"/api/v1/documents/{doc}/versions/1").get_json()["fields"][
        "health"
    ] == ("Bluthochdruck Eisvogel")


def test_web_pages_and_printouts_show_only_released_content(released, client, partner, monkeypatch):
    case, ids = released
    Auth(client).login(partner.email)
    doc = ids["assessment"]
    page = client.get(f"/documents/{doc}")
    assert page.status_code == 200
    assert "Holunderweg" in page.text and "Mondstein" in page.text
    assert not any(word in page.text for word in HIDDEN_WORDS)
    assert "für Ihre Organisation nicht freigegeben" in page.text
    folder = client.get(f"/cases/{case.id}")
    assert "Suche Unterkunft" in folder.text
    assert "Befundbericht" not in folder.text and "Wohnung und Stelle" not in folder.text
    assert client.get(f"/documents/{ids['health']}").status_code == 404
    monkeypatch.setattr(pdf, "render_pdf", lambda html, resources=None: html.encode())
    printout = client.get(f"/documents/{doc}/versions/1/pdf")
    assert printout.status_code == 200 and "Holunderweg" in printout.text
    assert not any(word in printout.text for word in HIDDEN_WORDS)
    summary = client.get(f"/cases/{case.id}/summary.pdf")
    assert "Befundbericht" not in summary.text and "Suche Unterkunft" in summary.text


def test_search_finds_only_released_documents(released, api, partner, worker):
    """Hits, totals and facets: an unreleased document does not exist for the partner. An
    assessment read in part is not found by its words (search holds it whole)."""
    _case, ids = released
    reader = api(partner)
    found = _search(reader, "Kastanienhof")
    assert [hit["document_id"] for hit in found["hits"]] == [ids["housing"]]
    for word in ("Zitronenfalter", "Regenpfeifer", "Eisvogel", "Holunderweg"):
        result = _search(reader, word)
        assert result["total"] == 0 and result["hits"] == [], word
        assert not any(result["facets"].get(name) for name in result["facets"]), word
    for word in ("Zitronenfalter", "Regenpfeifer", "Eisvogel", "Holunderweg"):
        assert _search(api(worker), word)["total"] == 1, word


def test_a_consent_without_categories_releases_all_but_health(
    app, api, db, worker, partner, make_case
):
    case = make_case(worker)
    lead = api(worker)
    made = {
        name: lead.post(f"/api/v1/cases/{case.id}/documents", json=body).get_json()["id"]
        for name, body in (("health", HEALTH), ("housing_work", HOUSING_WORK))
    }
    answer = lead.post(
        f"/api/v1/cases/{case.id}/consents", json={"organisation_ids": [partner.organisation_id]}
    ).get_json()
    assert answer["data_categories"] == []
    assert "gesundheit" not in answer["released_categories"]
    assert len(answer["released_categories"]) == 7
    reader = api(partner)
    assert reader.get(f"/api/v1/documents/{made['housing_work']}").status_code == 200
    assert reader.get(f"/api/v1/documents/{made['health']}").status_code == 404
    lead.post(
        f"/api/v1/cases/{case.id}/consents",
        json={"organisation_ids": [partner.organisation_id], "data_categories": ["gesundheit"]},
    )
    assert reader.get(f"/api/v1/documents/{made['health']}").status_code == 200


def test_one_consent_must_release_every_category_of_a_document(api, db, worker, partner, make_case):
    """Two releases for different purposes do not add up to a third."""
    case = make_case(worker)
    lead = api(worker)
    both = dict(HOUSING, data_categories=["wohnen", "familie"])
    doc = lead.post(f"/api/v1/cases/{case.id}/documents", json=both).get_json()["id"]
    for category in ("wohnen", "familie"):
        lead.post(
            f"/api/v1/cases/{case.id}/consents",
            json={"organisation_ids": [partner.organisation_id], "data_categories": [category]},
        )
    assert api(partner).get(f"/api/v1/documents/{doc}").status_code == 404


def test_an_organisation_reads_what_it_wrote_whatever_it_touches(
    api, db, worker, partner, make_case
):
    case = make_case(worker)
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id],
                    data_categories=["wohnen"])  # fmt: skip
    db.commit()
    writer = api(partner)
    response = writer.post(f"/api/v1/cases/{case.id}/documents", json=HEALTH)
    assert response.status_code == 201
    assert response.get_json()["data_categories"] == ["gesundheit"]
    assert writer.get(f"/api/v1/documents/{response.get_json()['id']}").status_code == 200


def test_categories_left_out_are_proposed_and_can_be_changed(api, db, worker, make_case):
    case = make_case(worker)
    case.focus_areas = ["wohnen", "ehrenamt"]
    db.commit()
    lead = api(worker)
    url = f"/api/v1/cases/{case.id}/documents"
    note = {"type": "note", "title": "Arztbrief Klinikum", "text": "Kurz."}
    created = lead.post(url, json=note).get_json()
    assert created["data_categories"] == ["wohnen", "gesundheit"]
    assert lead.post(url, json=dict(note, data_categories=[])).get_json()["data_categories"] == []
    refused = lead.post(url, json=dict(note, data_categories=["geheim"]))
    assert refused.status_code == 422 and "data_categories" in refused.get_json()["error"]["fields"]
    by_sections = lead.post(url, json=dict(ASSESSMENT, data_categories=["wohnen"]))
    assert by_sections.status_code == 422
    versions = f"/api/v1/documents/{created['id']}/versions"
    kept = lead.post(versions, json={"text": "Länger.", "base_version": 1})
    assert kept.status_code == 201
    assert lead.get(f"/api/v1/documents/{created['id']}").get_json()["data_categories"] == [
        "wohnen", "gesundheit"
    ]  # fmt: skip
    lead.post(versions, json={"text": "Ohne.", "base_version": 2, "data_categories": ["arbeit"]})
    assert lead.get(f"/api/v1/documents/{created['id']}").get_json()["data_categories"] == [
        "arbeit", "wohnen", "gesundheit"
    ]  # fmt: skip
    goals = {"goals": [{"area": "Gesundheit", "goal": "Hausarzt finden"}]}
    agreement = {"type": "agreement", "title": "Integrationsvereinbarung", "fields": goals}
    assert lead.post(url, json=agreement).get_json()["data_categories"] == ["wohnen", "gesundheit"]
    multipart = lead.post(
        url,
        data={"file": (io.BytesIO(b"Text."), "lebenslauf.txt"),
              "data_categories": "arbeit,bildung"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert multipart.status_code == 201
    assert multipart.get_json()["data_categories"] == ["arbeit", "bildung"]


def test_the_editor_proposes_the_case_focus_and_saves_the_choice(client, db, worker, make_case):
    case = make_case(worker)
    case.focus_areas = ["gesundheit", "sonstiges"]
    db.commit()
    Auth(client).login(worker.email)
    page = client.get(f"/cases/{case.id}/documents/new?type=note")
    assert re.search(r'<input checked[^>]*value="gesundheit"', page.text)
    assert not re.search(r'<input checked[^>]*value="wohnen"', page.text)

    response = client.post(
        f"/cases/{case.id}/documents/new?type=note",
        data={"csrf_token": csrf_token(page.text), "title": "Notiz", "text": "Text.",
              "visibility": "case", "data_categories": ["wohnen", "familie"]},
    )  # fmt: skip
    assert response.status_code == 302
    db.expire_all()
    document = documents.list_documents(db, worker, case)[0][0]
    assert document.data_categories == ["wohnen", "familie"]
    assessment = client.get(f"/cases/{case.id}/documents/new?type=assessment")
    assert 'name="data_categories"' not in assessment.text  # its sections decide
    assert "Kategorie: Gesundheit" in assessment.text


def test_a_category_once_touched_stays_with_every_version(api, db, worker, partner, make_case):
    """Dropping "Gesundheit" from a note does not open its earlier, health-related
    versions to a partner released for housing only: the category stays."""
    case = make_case(worker)
    lead = api(worker)
    note = lead.post(f"/api/v1/cases/{case.id}/documents", json=HEALTH).get_json()
    versions = f"/api/v1/documents/{note['id']}/versions"
    answer = lead.post(versions, json={"text": "Neutral.", "base_version": 1,
                                       "data_categories": ["wohnen"]})  # fmt: skip
    assert answer.status_code == 201
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id],
                    data_categories=["wohnen"])  # fmt: skip
    db.commit()
    reader = api(partner)
    for url in (f"/api/v1/documents/{note['id']}", f"{versions}/1",
                f"/api/v1/documents/{note['id']}/diff?from=1&to=2"):  # fmt: skip
        assert reader.get(url).status_code == 404, url
    restored = lead.post(f"/api/v1/documents/{note['id']}/restore",
                         json={"version": 1, "base_version": 2})  # fmt: skip
    assert restored.status_code == 201
    assert reader.get(f"/api/v1/documents/{note['id']}").status_code == 404


def test_a_pending_reindex_hides_what_a_narrower_consent_no_longer_releases(
    app, api, db, worker, partner, make_case
):
    """Two consents (housing and health, housing only); the first revoked and the index not
    yet updated: the health note counts nowhere and the assessment is not found by a word
    of its health section, though the partner still reads the case."""
    case = make_case(worker)
    lead = api(worker)
    for body in (HEALTH, ASSESSMENT):
        assert lead.post(f"/api/v1/cases/{case.id}/documents", json=body).status_code == 201
    wide = consents.record(
        db,
        worker,
        case,
        organisation_ids=[partner.organisation_id],
        data_categories=["wohnen", "gesundheit", "familie", "aufenthalt"],
    )
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id],
                    data_categories=["wohnen"])  # fmt: skip
    db.commit()
    jobs.drain(app)
    reader = api(partner)
    assert _search(reader, "Zitronenfalter")["total"] == 1
    assert _search(reader, "Eisvogel")["total"] == 1
    consents.revoke(db, worker, case, wide.id)
    db.commit()  # the reindex job is queued, not run
    for word in ("Zitronenfalter", "Eisvogel"):
        result = _search(reader, word)
        assert result["total"] == 0 and result["hits"] == [], word
        assert not any(result["facets"].get(name) for name in result["facets"]), word
    jobs.drain(app)
    assert _search(reader, "Eisvogel")["total"] == 0
    assert _search(reader, "Holunderweg")["total"] == 0  # read in part: found in the folder
