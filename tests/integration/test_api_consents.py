"""The JSON API for consents: recording opens a case to partners, revoking closes it at once."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Consent
from portal.models.base import local_today
from tests.conftest import REALDOCS
from tests.integration.test_api import assert_error, assert_matches, response_schema

CONSENTS = "/cases/{case_id}/consents"
ONE_CONSENT = "/cases/{case_id}/consents/{consent_id}"


@pytest.fixture
def case(worker, make_case):
    return make_case(worker, given_name="Rania", family_name="Haddad")


def _url(case, consent_id: int | None = None) -> str:
    base = f"/api/v1/cases/{case.id}/consents"
    return base if consent_id is None else f"{base}/{consent_id}"


def _record(api, user, case, status=201, **body) -> dict:
    response = api(user).post(_url(case), json=body)
    assert response.status_code == status, response.text
    return response.get_json()


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _documents(api, worker, case) -> dict[str, dict]:
    """A shared note, an internal note and an uploaded ODT, written through the API."""
    lead = api(worker)
    url = f"/api/v1/cases/{case.id}/documents"
    note = {"type": "note", "title": "Erstgespräch", "text": "Sucht eine Wohnung in Rietberg."}
    shared = lead.post(url, json=note).get_json()
    internal = lead.post(url, json={**note, "title": "Intern", "visibility": "internal"})
    upload = lead.post(
        url,
        data={"file": (io.BytesIO((REALDOCS / "source.odt").read_bytes()), "source.odt")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.text
    return {"note": shared, "internal": internal.get_json(), "upload": upload.get_json()}


def _partner_urls(case, documents: dict[str, dict]) -> list[str]:
    """What the partner reads once the case is released (the internal note excepted)."""
    note, upload = documents["note"]["id"], documents["upload"]["id"]
    return [
        f"/api/v1/cases/{case.id}",
        f"/api/v1/cases/{case.id}/documents",
        f"/api/v1/cases/{case.id}/consents",
        f"/api/v1/documents/{note}",
        f"/api/v1/documents/{note}/versions/1",
        f"/api/v1/documents/{upload}/versions/1/content",
    ]


# ---------------------------------------------------------------- recording


def test_recording_a_consent_opens_the_case_to_the_partner(api, db, spec, worker, partner, case):
    documents = _documents(api, worker, case)
    for url in _partner_urls(case, documents):
        assert_error(api(partner).get(url), 404, "not_found")

    response = api(worker).post(
        _url(case),
        json={
            "organisation_ids": [partner.organisation_id],
            "valid_until": "2099-12-31",
            "purpose": "Beratung Arbeit und Wohnen",
            "data_categories": ["wohnen", "arbeit"],
            "note": "Unterschrieben in der Sprechstunde.",
        },
    )
    assert response.status_code == 201, response.text
    consent = response.get_json()
    assert_matches(spec, response_schema(spec, CONSENTS, "post", 201), consent)
    assert consent == {
        "id": consent["id"],
        "case_id": case.id,
        "organisations": [{"id": partner.organisation_id, "name": "Caritasverband Gütersloh"}],
        "purpose": "Beratung Arbeit und Wohnen",
        "data_categories": ["arbeit", "wohnen"],  # canonical order
        "released_categories": ["arbeit", "wohnen"],
        "valid_from": local_today().isoformat(),  # today when not given
        "valid_until": "2099-12-31",
        "note": "Unterschrieben in der Sprechstunde.",
        "recorded_at": consent["recorded_at"],
        "recorded_by": {"id": worker.id, "name": "Sabine Hoffmann"},
        "revoked_at": None,
        "status": "in_force",
    }
    assert consent["recorded_at"].endswith("+00:00")

    for url in _partner_urls(case, documents):
        assert api(partner).get(url).status_code == 200, url
    listing = api(partner).get(f"/api/v1/cases/{case.id}/documents").get_json()
    ids = {d["id"] for d in listing["items"]}
    assert ids == {documents["note"]["id"], documents["upload"]["id"]}  # not the internal note
    assert_error(api(partner).get(f"/api/v1/documents/{documents['internal']['id']}"), 404)
    content = api(partner).get(f"/api/v1/documents/{documents['upload']['id']}/versions/1/content")
    assert content.data == (REALDOCS / "source.odt").read_bytes()
    shown = api(partner).get(f"/api/v1/cases/{case.id}").get_json()
    assert {o["id"] for o in shown["organisations_with_access"]} == {
        worker.organisation_id,
        partner.organisation_id,
    }

    share = db.scalar(select(AuditEvent).where(AuditEvent.action == "share"))
    assert (share.user_id, share.object_type, share.object_id, share.case_id) == (
        worker.id,
        "consent",
        consent["id"],
        case.id,
    )


def test_minimal_body_and_nulls(api, spec, worker, partner, case):
    consent = _record(
        api, worker, case, organisation_ids=[partner.organisation_id], note=None, purpose=None,
        data_categories=None, valid_from=None, valid_until=None,
    )  # fmt: skip
    assert (consent["purpose"], consent["note"], consent["data_categories"]) == ("", "", [])
    assert consent["valid_until"] is None and consent["status"] == "in_force"


def test_consent_list_shows_history_newest_first(api, spec, worker, partner, case, make_org):
    other = make_org(name="Jobcenter Kreis Gütersloh", kind="jobcenter")
    first = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    second = _record(api, worker, case, organisation_ids=[other.id, partner.organisation_id])
    api(worker).delete(_url(case, first["id"]))
    response = api(worker).get(_url(case))
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, response_schema(spec, CONSENTS, "get", 200), body)
    assert body["total"] == 2 and body["page"] == 1
    assert [(c["id"], c["status"]) for c in body["items"]] == [
        (second["id"], "in_force"),
        (first["id"], "revoked"),
    ]
    assert [o["name"] for o in body["items"][0]["organisations"]] == [
        "Caritasverband Gütersloh",
        "Jobcenter Kreis Gütersloh",
    ]
    page = api(worker).get(_url(case), query_string={"per_page": 1, "page": 2}).get_json()
    assert [c["id"] for c in page["items"]] == [first["id"]]
    assert_error(api(worker).get(_url(case), query_string={"per_page": 0}), 400, "invalid_input")


def test_future_and_expired_consents_do_not_open_the_case(api, worker, partner, case):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    future = _record(
        api, worker, case, organisation_ids=[partner.organisation_id], valid_from=tomorrow
    )
    assert future["status"] == "not_yet_in_force"
    past = _record(
        api, worker, case, organisation_ids=[partner.organisation_id],
        valid_from="2020-01-01", valid_until="2020-12-31",
    )  # fmt: skip
    assert past["status"] == "expired"
    assert_error(api(partner).get(f"/api/v1/cases/{case.id}"), 404, "not_found")
    assert_error(api(partner).get(_url(case)), 404, "not_found")


# ---------------------------------------------------------------- invalid bodies


@pytest.fixture
def inactive_org(make_org, db):
    org = make_org(name="Aufgelöster Verein")
    org.active = False
    db.commit()
    return org


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"organisation_ids": []}, {"organisation_ids": "required"}),
        ({"organisation_ids": "PARTNER"}, {"organisation_ids": "required"}),
        ({"organisation_ids": ["1"]}, {"organisation_ids": "required"}),
        ({"organisation_ids": [True]}, {"organisation_ids": "required"}),
        ({"organisation_ids": [1.5]}, {"organisation_ids": "required"}),
        ({"organisation_ids": [999_999]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"organisation_ids": ["PARTNER", 999_999]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"organisation_ids": [10**20]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"organisation_ids": [2**31]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"organisation_ids": [-(2**40)]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"organisation_ids": ["INACTIVE"]}, {"organisation_ids": "unknown_or_inactive"}),
        ({"valid_from": "31.12.2026"}, {"valid_from": "invalid_date"}),
        ({"valid_until": "31.12.2026"}, {"valid_until": "invalid_date"}),
        ({"valid_until": "2026-02-30"}, {"valid_until": "invalid_date"}),
        ({"valid_until": 20261231}, {"valid_until": "invalid_date"}),
        ({"valid_until": "2026-12-31T00:00:00"}, {"valid_until": "invalid_date"}),
        (
            {"valid_from": "2026-06-01", "valid_until": "2026-05-31"},
            {"valid_until": "before_valid_from"},
        ),
        ({"valid_until": "2000-01-01"}, {"valid_until": "before_valid_from"}),  # before today
        ({"data_categories": "arbeit"}, {"data_categories": "must_be_list"}),
        ({"data_categories": [1]}, {"data_categories": "must_be_list"}),
        ({"data_categories": ["arbeit", "kochen"]}, {"data_categories": "unknown: ['kochen']"}),
        ({"purpose": 5}, {"purpose": "invalid"}),
        ({"note": "x" * 5001}, {"note": "invalid"}),
        ({"note": ["a"]}, {"note": "invalid"}),
        ({"expires": "2026-12-31"}, {"expires": "unknown_field"}),
        ({"organisation_id": 1}, {"organisation_id": "unknown_field"}),
        ({"organisation_ids": [0]}, {"organisation_ids": "unknown_or_inactive"}),
        (
            {"organisation_ids": [2**31], "expires": "2026-12-31"},
            {"organisation_ids": "unknown_or_inactive", "expires": "unknown_field"},
        ),
        ({"organisation_ids": None}, {"organisation_ids": "required"}),
        ({"valid_from": 1}, {"valid_from": "invalid_date"}),
        (
            {"organisation_ids": [], "valid_until": "x", "data_categories": ["kochen"]},
            {
                "organisation_ids": "required",
                "valid_until": "invalid_date",
                "data_categories": "unknown: ['kochen']",
            },
        ),
    ],
)
def test_invalid_consents_are_422_with_fields(
    api, db, worker, partner, case, inactive_org, body, fields
):
    names = {"PARTNER": partner.organisation_id, "INACTIVE": inactive_org.id}
    body = {"organisation_ids": ["PARTNER"], **body}
    if isinstance(body["organisation_ids"], list):
        body["organisation_ids"] = [names.get(i, i) for i in body["organisation_ids"]]
    error = assert_error(api(worker).post(_url(case), json=body), 422, "validation_failed")
    assert error["fields"] == fields
    assert _count(db, Consent) == 0
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "share")) is None


def test_missing_organisations_are_required(api, worker, case):
    error = assert_error(api(worker).post(_url(case), json={"note": "x"}), 422)
    assert error["fields"] == {"organisation_ids": "required"}
    assert error["message"] == "Die Einwilligung konnte nicht erfasst werden."


@pytest.mark.parametrize("body", [b"[]", b"null", b'"text"', b"{", b""])
def test_consent_body_must_be_a_json_object(api, worker, case, body):
    response = api(worker).post(_url(case), data=body, content_type="application/json")
    assert_error(response, 400, "invalid_input")


# ---------------------------------------------------------------- who may record and revoke


def test_who_may_record_and_revoke(api, db, worker, partner, case, make_user, make_org):
    consent = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    body = {"organisation_ids": [partner.organisation_id]}
    stranger_org = make_org()
    expected = {
        "partner with a consent": (partner, 403),
        "read-only colleague": (make_user(role="readonly", org=worker.organisation), 403),
        "coordinator elsewhere": (make_user(role="coordinator", org=stranger_org), 403),
        "stranger": (make_user(org=stranger_org), 404),
        "read-only stranger": (make_user(role="readonly", org=stranger_org), 404),
        "admin of the lead": (make_user(role="admin", org=worker.organisation), 404),
    }
    for who, (user, status) in expected.items():
        code = "forbidden" if status == 403 else "not_found"
        for response in (
            api(user).post(_url(case), json=body),
            api(user).delete(_url(case, consent["id"])),
        ):
            assert response.status_code == status, who
            assert_error(response, status, code)
    assert _count(db, Consent) == 1
    db.expire_all()
    assert db.get(Consent, consent["id"]).revoked_at is None
    coordinator = make_user(role="coordinator", org=worker.organisation)
    assert _record(api, coordinator, case, organisation_ids=[stranger_org.id])["id"]


def test_unknown_cases_and_consents_are_404(api, worker, partner, case, make_case):
    consent = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    other_case = make_case(worker)
    body = {"organisation_ids": [partner.organisation_id]}
    for url in ("/api/v1/cases/424242/consents", "/api/v1/cases/99999999999999999999/consents"):
        assert_error(api(worker).post(url, json=body), 404, "not_found")
        assert_error(api(worker).get(url), 404, "not_found")
    for url in (
        _url(case, 424242),
        _url(case, 99999999999999999999),
        _url(other_case, consent["id"]),  # a consent of another case
        f"/api/v1/cases/424242/consents/{consent['id']}",
    ):
        assert_error(api(worker).delete(url), 404, "not_found")
    assert api(partner).get(f"/api/v1/cases/{case.id}").status_code == 200  # still in force


def test_consents_need_a_token(client, case):
    assert_error(client.get(_url(case)), 401, "unauthenticated")
    assert_error(client.post(_url(case), json={"organisation_ids": [1]}), 401, "unauthenticated")
    assert_error(client.delete(_url(case, 1)), 401, "unauthenticated")


# ---------------------------------------------------------------- revoking


def test_revoking_ends_access_at_once_everywhere(api, db, spec, worker, partner, case):
    documents = _documents(api, worker, case)
    consent = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    reader = api(partner)
    for url in _partner_urls(case, documents):
        assert reader.get(url).status_code == 200, url
    found = reader.get("/api/v1/search", query_string={"q": "Wohnung"}).get_json()
    assert [h["document_id"] for h in found["hits"]] == [documents["note"]["id"]]
    assert reader.get("/api/v1/search", query_string={"q": "Lorem"}).get_json()["total"] == 1

    response = api(worker).delete(_url(case, consent["id"]))
    assert response.status_code == 200, response.text
    revoked = response.get_json()
    assert_matches(spec, response_schema(spec, ONE_CONSENT, "delete", 200), revoked)
    assert revoked["status"] == "revoked" and revoked["revoked_at"].endswith("+00:00")
    assert {k: v for k, v in revoked.items() if k not in ("status", "revoked_at")} == {
        k: v for k, v in consent.items() if k not in ("status", "revoked_at")
    }

    for url in _partner_urls(case, documents):
        assert_error(reader.get(url), 404, "not_found")
    note_id = documents["note"]["id"]
    for url, body in (
        (f"/api/v1/cases/{case.id}/documents", {"type": "note", "title": "x", "text": "x"}),
        (f"/api/v1/documents/{note_id}/versions", {"text": "x", "base_version": 1}),
    ):
        assert_error(reader.post(url, json=body), 404, "not_found")
    assert_error(reader.patch(f"/api/v1/cases/{case.id}", json={"phase": "monitoring"}), 404)
    for q in ("Wohnung", "Lorem", "Haddad", case.reference):
        result = reader.get("/api/v1/search", query_string={"q": q}).get_json()
        assert (result["total"], result["hits"]) == (0, []), q
    # the lead organisation keeps everything, the consent stays in the history
    assert api(worker).get(f"/api/v1/documents/{documents['note']['id']}").status_code == 200
    history = api(worker).get(_url(case)).get_json()["items"]
    assert [(c["id"], c["status"]) for c in history] == [(consent["id"], "revoked")]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "revoke"))
    assert (event.user_id, event.object_type, event.object_id, event.case_id) == (
        worker.id,
        "consent",
        consent["id"],
        case.id,
    )

    again = api(worker).delete(_url(case, consent["id"]))
    assert again.status_code == 200
    assert again.get_json()["revoked_at"] == revoked["revoked_at"]  # revoked once, not twice
    revokes = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "revoke")
    assert db.scalar(revokes) == 1


def test_revoking_one_of_two_consents_keeps_the_other(api, worker, partner, case):
    first = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    _record(api, worker, case, organisation_ids=[partner.organisation_id], purpose="Zweite")
    api(worker).delete(_url(case, first["id"]))
    assert api(partner).get(f"/api/v1/cases/{case.id}").status_code == 200


def test_revoked_documents_leave_no_facet_counts(api, worker, partner, case):
    documents = _documents(api, worker, case)
    consent = _record(api, worker, case, organisation_ids=[partner.organisation_id])
    reader = api(partner)
    assert reader.get("/api/v1/search", query_string={"q": "Wohnung"}).get_json()["total"] == 1
    api(worker).delete(_url(case, consent["id"]))  # the test app reindexes the case inline
    result = reader.get("/api/v1/search", query_string={"q": "Wohnung"}).get_json()
    assert result["hits"] == [] and documents
    assert result["facets"] == {name: {} for name in result["facets"]}
