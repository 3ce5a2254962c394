"""The own account: changing the password and managing API tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.models import ApiToken, AuditEvent, User
from tests.conftest import TEST_PASSWORD, Auth

NEW_PASSWORD = "Wiesenweg-Kranich-Ofenbank-42"
TOKEN = re.compile(r'<p class="token-once">(kim_[A-Za-z0-9_-]+)</p>')


def fresh(db):
    """Forget what the test session has loaded, so that the app's commits are visible."""
    db.rollback()
    db.expire_all()
    return db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def change_password(auth: Auth, current: str, new: str, confirm: str | None = None):
    return auth.post(
        "/account/password",
        {"current_password": current, "new_password": new, "confirm": confirm or new},
        page="/account/",
    )


# ---------------------------------------------------------------- password


def test_account_page_shows_the_forms(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    page = client.get("/account/")
    assert page.status_code == 200
    assert "Passwort ändern" in page.text and "API-Zugangsschlüssel" in page.text
    assert 'autocomplete="current-password"' in page.text
    assert page.text.count('autocomplete="new-password"') == 2


def test_account_pages_need_a_login(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_wrong_current_password_is_refused(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = change_password(auth, "Falsches-Passwort-123", NEW_PASSWORD)
    assert response.status_code == 422
    assert "Das aktuelle Passwort ist nicht korrekt." in response.text
    assert fresh(db).get(User, user.id).password_hash == user.password_hash
    assert client.get("/").status_code == 200  # still logged in


def test_weak_new_password_is_refused(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    weak = change_password(auth, TEST_PASSWORD, "sommer2026!!")
    assert weak.status_code == 422
    assert "Dieses Passwort ist zu leicht zu erraten" in weak.text
    short = change_password(auth, TEST_PASSWORD, "Kurz-9x")
    assert short.status_code == 422
    assert "Das Passwort muss mindestens 12 Zeichen haben." in short.text
    assert fresh(db).get(User, user.id).password_hash == user.password_hash
    assert client.get("/").status_code == 200


def test_password_built_from_own_name_is_refused(client, db, auth, make_user):
    user = make_user(email="sabine.hoffmann@rietberg.example", name="Sabine Hoffmann")
    auth.login(user.email)
    response = change_password(auth, TEST_PASSWORD, "SabineHoffmann2026")
    assert response.status_code == 422
    assert fresh(db).get(User, user.id).password_hash == user.password_hash


def test_mismatched_confirmation_is_refused(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = change_password(auth, TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert "Die Passwörter stimmen nicht überein." in response.text
    assert fresh(db).get(User, user.id).password_hash == user.password_hash


def test_password_change_ends_every_session_and_swaps_the_password(
    app, client, db, auth, make_user, make_token
):
    user = make_user()
    token = make_token(user)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    auth.login(user.email)
    laptop = app.test_client()
    Auth(laptop).login(user.email)
    assert laptop.get("/").status_code == 200
    assert "widerruft Ihre API-Zugangsschlüssel" in client.get("/account/").text

    response = change_password(auth, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "Ihr Passwort wurde geändert." in client.get("/login").text

    assert client.get("/").status_code == 302  # this browser logs in again
    assert laptop.get("/").status_code == 302  # and the other session is dead at once
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # token too
    assert Auth(app.test_client()).login(user.email, TEST_PASSWORD).status_code == 200
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    event = (
        fresh(db).scalars(select(AuditEvent).where(AuditEvent.action == "password_change")).one()
    )
    assert (event.user_id, event.object_id) == (user.id, user.id)
    assert NEW_PASSWORD not in event.detail and TEST_PASSWORD not in event.detail


# ---------------------------------------------------------------- API tokens


def test_token_is_shown_once_and_works(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = auth.post("/account/tokens", {"name": "Fachverfahren Ausländerbehörde"})
    assert response.status_code == 201
    match = TOKEN.search(response.text)
    assert match, "the new token is shown"
    token = match.group(1)
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.get_json()["id"] == user.id

    again = client.get("/account/")
    assert token not in again.text  # shown once, never again
    assert token[:12] in again.text and "Fachverfahren Ausländerbehörde" in again.text
    row = fresh(db).scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.token_hash != token and token not in row.token_hash  # stored hashed
    assert row.last_used_at is not None
    event = (
        fresh(db)
        .scalars(
            select(AuditEvent).where(
                AuditEvent.action == "create", AuditEvent.object_type == "api_token"
            )
        )
        .one()
    )
    assert (event.user_id, event.object_id) == (user.id, row.id)


def test_token_needs_a_name(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    response = auth.post("/account/tokens", {"name": ""})
    assert response.status_code == 422
    assert not TOKEN.search(response.text)
    assert fresh(db).scalars(select(ApiToken)).all() == []


def test_revoked_token_stops_working(client, db, auth, make_user):
    user = make_user()
    auth.login(user.email)
    token = TOKEN.search(auth.post("/account/tokens", {"name": "Skript"}).text).group(1)
    token_id = fresh(db).scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    response = auth.post(f"/account/tokens/{token_id}/revoke", page="/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    error = client.get("/api/v1/me", headers=bearer(token))
    assert error.status_code == 401
    assert error.get_json()["error"]["code"] == "unauthenticated"
    page = client.get("/account/")
    assert "Der Schlüssel wurde widerrufen." in page.text and "widerrufen" in page.text
    assert fresh(db).get(ApiToken, token_id).revoked_at is not None
    assert fresh(db).scalars(select(AuditEvent).where(AuditEvent.action == "revoke")).one()


def test_cannot_revoke_someone_elses_token(client, db, auth, make_user, make_token):
    owner = make_user()
    token = make_token(owner)
    token_id = fresh(db).scalar(select(ApiToken.id).where(ApiToken.user_id == owner.id))
    intruder = make_user(org=owner.organisation)
    auth.login(intruder.email)
    response = auth.post(f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert "kim_" not in client.get("/account/").text  # nor sees its prefix
