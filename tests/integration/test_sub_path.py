"""Behind a proxy under a sub-path (``/kim/``, PORTAL_PROXY_COUNT=1 with X-Forwarded-Prefix):
links, redirects and the API's server carry the prefix; without a trusted proxy the
header is ignored."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD, csrf_token

FORWARDED = {"X-Forwarded-Prefix": "/kim", "X-Forwarded-For": "192.0.2.10",
             "X-Forwarded-Proto": "https", "X-Forwarded-Host": "kim.kreis.example"}  # fmt: skip


@pytest.fixture
def app_config(app_config):
    return {**app_config, "proxy_count": 1}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_redirects_and_the_api_server_carry_the_prefix(client, make_user):
    user = make_user()
    redirected = client.get("/cases/", headers=FORWARDED)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/kim/login?next=%2Fkim%2Fcases%2F"
    page = client.get("/login", headers=FORWARDED)
    assert 'href="/kim/static/' in page.text and 'action="/kim/language"' in page.text
    logged_in = client.post(
        "/login?next=%2Fkim%2Fcases%2F",
        headers={**FORWARDED, "Referer": "https://kim.kreis.example/kim/login"},
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(page.text)},
    )  # fmt: skip
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == "/kim/cases/"
    spec = client.get("/api/v1/openapi.json", headers=FORWARDED).get_json()
    assert spec["servers"] == [{"url": "/kim/api/v1"}]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_a_trusted_proxy_the_prefix_is_ignored(app, client):
    app.wsgi_app = app.wsgi_app.app  # ProxyFix off: PORTAL_PROXY_COUNT=0
    spec = client.get("/api/v1/openapi.json", headers=FORWARDED).get_json()
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert 'href="/static/' in client.get("/login", headers=FORWARDED).text
