"""Login, logout and sessions through the real forms."""

from __future__ import annotations

from tests.conftest import TEST_PASSWORD, csrf_token


def test_login_page_is_german_with_password_manager_hints(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "Anmelden" in page.text
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text


def test_login_shows_start_page_and_logout_ends_session(client, auth, make_user):
    user = make_user(name="Anna Schmidt")
    response = auth.login(user.email)
    assert response.status_code == 302
    start = client.get("/")
    assert start.status_code == 200
    assert "Anna Schmidt" in start.text
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_without_revealing_which_part(client, auth, make_user):
    user = make_user()
    wrong = auth.login(user.email, "not-the-password")
    unknown = auth.login("nobody@example.org", TEST_PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "E-Mail-Adresse oder Passwort ist nicht korrekt." in response.text
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_rejected(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_replayed_cookie_after_logout_is_refused(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    stolen = client.get_cookie("kim_session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("kim_session", stolen)
    assert thief.get("/").status_code == 302


def test_csrf_token_in_page(client):
    assert csrf_token(client.get("/login").text)
