"""Input no database can store, or no parser should try: a clear 400, never a 5xx, on both
databases, through pages and API alike (issue 17)."""

from __future__ import annotations

import pytest

from tests.conftest import Auth, csrf_token
from tests.integration.test_api import bearer

NUL = "Notiz\x00mit Nullbyte"


@pytest.fixture
def lead(make_user):
    return make_user()


@pytest.fixture
def case(lead, make_case):
    return make_case(lead)


def _api(client, make_token, user):
    headers = bearer(make_token(user))
    return lambda method, url, **kwargs: client.open(url, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "note", "title": NUL, "text": "x"},
        {"type": "note", "title": "Titel", "text": NUL},
        {"type": "note", "title": "Titel", "text": "lone \ud800 surrogate"},
        {"type": "assessment", "title": "B", "fields": {"housing": NUL}},
        {"type": "note", "title": "Titel", "text": "x", "data_categories": ["wohnen\x00"]},
    ],
    ids=["title-nul", "text-nul", "surrogate", "fields-nul", "category-nul"],
)
def test_unstorable_text_in_json_is_refused(client, make_token, lead, case, body):
    api = _api(client, make_token, lead)
    response = api("POST", f"/api/v1/cases/{case.id}/documents", json=body)
    assert response.status_code == 400, response.text
    assert response.get_json()["error"]["code"] == "invalid_characters"


def test_nul_in_query_strings_and_forms_is_refused(client, make_token, lead, case):
    api = _api(client, make_token, lead)
    for url in ("/api/v1/search?q=a%00b", "/api/v1/cases?q=%00"):
        assert api("GET", url).status_code == 400, url
    Auth(client).login(lead.email)
    for url in ("/search?q=a%00b", "/cases/?q=%00"):
        page = client.get(url)
        assert page.status_code == 400 and "<html" in page.text.lower(), url
    repeated = client.get("/cases/?q=Haddad&q=%00")  # the second of two values
    assert repeated.status_code == 400
    form = client.get(f"/cases/{case.id}/documents/new?type=note").text
    posted = client.post(
        f"/cases/{case.id}/documents/new?type=note",
        data={"csrf_token": csrf_token(form), "title": "Titel", "text": NUL, "visibility": "case"},
    )
    assert posted.status_code == 400


def test_json_nested_beyond_reason_is_refused(client, make_token, lead, case):
    api = _api(client, make_token, lead)
    deep = "[" * 100_000 + "]" * 100_000
    response = api("POST", f"/api/v1/cases/{case.id}/documents", data=deep,
                   content_type="application/json")  # fmt: skip
    assert response.status_code == 400


@pytest.mark.parametrize("number", [2**31 - 1, 2**31, 2**63, 10**30])
def test_numbers_beyond_the_databases_integers_are_refused(client, make_token, lead, case, number):
    api = _api(client, make_token, lead)
    note = api("POST", f"/api/v1/cases/{case.id}/documents",
               json={"type": "note", "title": "T", "text": "x"}).get_json()  # fmt: skip
    url = f"/api/v1/documents/{note['id']}"
    answers = [
        api("POST", f"{url}/versions", json={"text": "y", "base_version": number}),
        api("POST", f"{url}/restore", json={"version": number, "base_version": 1}),
        api("GET", f"{url}/diff?from=1&to={number}"),
        api("GET", f"/api/v1/search?q=x&organisation={number}"),
        api("POST", f"/api/v1/cases/{case.id}/consents", json={"organisation_ids": [number]}),
        api("GET", f"/api/v1/documents/{number}"),
        api("GET", f"/api/v1/cases/{number}"),
    ]
    assert all(a.status_code < 500 for a in answers), [
        (a.status_code, a.request.path) for a in answers
    ]
    Auth(client).login(lead.email)
    form = client.get(f"/documents/{note['id']}/edit").text
    edit = client.post(f"/documents/{note['id']}/edit",
                       data={"csrf_token": csrf_token(form), "title": "T", "text": "z",
                             "base_version": str(number)})  # fmt: skip
    restore = client.post(f"/documents/{note['id']}/restore",
                          data={"csrf_token": csrf_token(form), "version": str(number),
                                "base_version": "1"})  # fmt: skip
    assert edit.status_code < 500 and restore.status_code < 500
    assert client.get(f"/documents/{note['id']}/versions/{number}").status_code == 404
    assert client.get(f"/search?q=x&organisation={number}").status_code < 500
