"""Security properties of the web layer: headers, cookies, sessions, throttling, no state on GET."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import LoginAttempt, LoginSession, User
from tests.conftest import TEST_PASSWORD, Auth, csrf_token

THROTTLED = "Zu viele fehlgeschlagene Anmeldeversuche."


def cookie_header(response, name: str = "kim_session") -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def shift(db, model, column: str, delta: timedelta) -> None:
    """Move a timestamp column of every row back by ``delta`` (time travel)."""
    db.rollback()
    db.expire_all()
    rows = db.scalars(select(model)).all()
    assert rows, f"no {model.__name__} rows to move"
    for row in rows:
        setattr(row, column, getattr(row, column) - delta)
    db.commit()


# ---------------------------------------------------------------- headers and cookies


@pytest.mark.parametrize("path", ["/login", "/does-not-exist"])
def test_html_responses_carry_security_headers(client, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_logged_in_pages_carry_security_headers(client, auth, make_user):
    auth.login(make_user().email)
    response = client.get("/account/")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(client):
    page = client.get("/login").text
    assert "<script>" not in page and "<style" not in page and ' style="' not in page
    assert " onclick=" not in page and " onload=" not in page


def test_session_cookie_is_httponly_and_lax(client, auth, make_user):
    header = cookie_header(client.get("/login"))
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert "samesite=lax" in header.lower()
    assert "secure" not in attributes  # plain HTTP in this set-up
    login = auth.login(make_user().email)
    after = cookie_attributes(cookie_header(login))
    assert {"httponly", "samesite"} <= after


class TestBehindHttps:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "https": True}

    def test_session_cookie_is_secure_and_hsts_is_sent(self, app):
        client = app.test_client()
        response = client.get("/login", base_url="https://portal.example")
        header = cookie_header(response)
        assert {"secure", "httponly"} <= cookie_attributes(header)
        assert "samesite=lax" in header.lower()
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")

    def test_login_works_over_https(self, app, make_user):
        user = make_user()
        client = app.test_client()
        page = client.get("/login", base_url="https://portal.example")
        response = client.post(
            "/login",
            base_url="https://portal.example",
            headers={"Referer": "https://portal.example/login"},  # strict CSRF check over HTTPS
            data={
                "email": user.email,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_token(page.text),
            },
        )
        assert response.status_code == 302
        assert {"secure", "httponly"} <= cookie_attributes(cookie_header(response))
        assert client.get("/", base_url="https://portal.example").status_code == 200


def test_tampered_session_cookie_counts_as_anonymous(app, client, auth, make_user):
    auth.login(make_user().email)
    assert client.get("/").status_code == 200
    value = client.get_cookie("kim_session").value
    payload, _, signature = value.rpartition(".")
    # change whole characters at the front: the last base64 character carries padding bits
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    edited = ("A" if payload[1] != "A" else "B").join([payload[:1], payload[2:]])
    for forged in (f"{payload}.{flipped}", f"{edited}.{signature}", value[:-4], "nonsense"):
        other = app.test_client()
        other.set_cookie("kim_session", forged)
        response = other.get("/")
        assert response.status_code == 302, forged
        assert response.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 200  # the genuine cookie still works


def test_session_id_changes_at_login(client, auth, make_user):
    """A session cookie planted before the login is not the one that is logged in."""
    client.get("/login")
    before = client.get_cookie("kim_session").value
    auth.login(make_user().email)
    assert client.get_cookie("kim_session").value != before


# ---------------------------------------------------------------- nothing changes on GET


POST_ONLY = [
    "/logout",
    "/language",
    "/account/password",
    "/account/tokens",
    "/account/tokens/1/revoke",
    "/admin/users/1/password",
    "/admin/users/1/tokens/1/revoke",
]


def test_state_changing_urls_refuse_get(client, auth, make_user):
    auth.login(make_user(role="admin").email)
    for path in POST_ONLY:
        response = client.get(path)
        assert response.status_code == 405, path
        assert "Diese Methode ist hier nicht erlaubt." in response.text
    assert client.get("/").status_code == 200  # GET /logout did not log out


def test_405_says_which_methods_are_allowed(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def test_logout_without_csrf_token_is_refused(client, auth, make_user):
    auth.login(make_user().email)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_post_with_a_token_from_another_session_is_refused(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    attacker = app.test_client()
    foreign_token = csrf_token(attacker.get("/login").text)
    response = client.post("/logout", data={"csrf_token": foreign_token})
    assert response.status_code == 400
    assert client.get("/").status_code == 200


# ---------------------------------------------------------------- redirects


def test_login_does_not_redirect_off_site(client, make_user):
    user = make_user()
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]:
        page = client.get("/login")
        response = client.post(
            "/login",
            query_string={"next": target},
            data={
                "email": user.email,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_token(page.text),
            },
        )
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/", target
        Auth(client).logout()


def test_login_follows_a_local_next(client, make_user):
    user = make_user()
    first = client.get("/account/")
    assert first.headers["Location"].startswith("/login?next=")
    page = client.get(first.headers["Location"])
    response = client.post(
        first.headers["Location"],
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.headers["Location"] == "/account/"


# ---------------------------------------------------------------- throttling


def test_ten_failures_lock_the_account_even_for_the_right_password(client, db, auth, make_user):
    user = make_user()
    for attempt in range(10):
        response = auth.login(user.email, f"falsch-{attempt}")
        assert response.status_code == 200, attempt
    locked = auth.login(user.email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert THROTTLED in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    assert client.get("/").status_code == 302  # not logged in

    shift(db, LoginAttempt, "at", timedelta(minutes=16))
    assert auth.login(user.email, TEST_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_ten_unknown_accounts_from_one_address_lock_the_address(client, db, auth, make_user):
    user = make_user()
    for attempt in range(10):
        assert auth.login(f"raten{attempt}@example.org", "irgendwas-123").status_code == 200
    locked = auth.login(user.email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert THROTTLED in locked.text
    assert int(locked.headers["Retry-After"]) > 0

    shift(db, LoginAttempt, "at", timedelta(minutes=16))
    assert auth.login(user.email, TEST_PASSWORD).status_code == 302


def test_nine_failures_do_not_lock(client, auth, make_user):
    user = make_user()
    for attempt in range(9):
        auth.login(user.email, f"falsch-{attempt}")
    assert auth.login(user.email, TEST_PASSWORD).status_code == 302


def test_throttle_message_is_english_in_english(client, auth, make_user):
    client.get("/login")
    auth.post("/language", {"lang": "en"}, page="/login")
    for attempt in range(10):
        auth.login("nobody@example.org", f"falsch-{attempt}")
    locked = auth.login("nobody@example.org", "again-and-again")
    assert locked.status_code == 429
    assert "Too many failed login attempts." in locked.text


# ---------------------------------------------------------------- session lifetime


def test_idle_session_ends_after_30_minutes(client, db, auth, make_user):
    auth.login(make_user().email)
    assert client.get("/").status_code == 200
    shift(db, LoginSession, "last_seen_at", timedelta(minutes=29))
    shift(db, LoginSession, "created_at", timedelta(minutes=29))
    assert client.get("/").status_code == 200  # 29 minutes idle: still fine
    shift(db, LoginSession, "last_seen_at", timedelta(minutes=31))
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    db.rollback()
    assert db.query(LoginSession).one().revoked_at is not None


def test_session_ends_after_12_hours_even_when_active(client, db, auth, make_user):
    auth.login(make_user().email)
    shift(db, LoginSession, "created_at", timedelta(hours=11, minutes=50))
    assert client.get("/").status_code == 200
    shift(db, LoginSession, "created_at", timedelta(minutes=20))  # now 12h10m old, seen just now
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_active_use_keeps_the_session_alive(client, db, auth, make_user):
    auth.login(make_user().email)
    shift(db, LoginSession, "last_seen_at", timedelta(minutes=25))
    assert client.get("/").status_code == 200  # this request counts as activity
    shift(db, LoginSession, "last_seen_at", timedelta(minutes=25))  # 25 min after that request
    assert client.get("/").status_code == 200


# ---------------------------------------------------------------- language


def test_language_switch_makes_pages_english(client, auth):
    assert '<html lang="de">' in client.get("/login").text
    response = auth.post("/language", {"lang": "en", "next": "/login"}, page="/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login")
    assert '<html lang="en">' in page.text
    assert "Log in" in page.text and "Anmelden" not in page.text
    back = auth.post("/language", {"lang": "de"}, page="/login")
    assert back.status_code == 302
    assert '<html lang="de">' in client.get("/login").text


def test_language_choice_survives_login_and_is_remembered(app, client, db, auth, make_user):
    user = make_user()
    auth.post("/language", {"lang": "en"}, page="/login")
    auth.login(user.email)
    assert '<html lang="en">' in client.get("/").text
    auth.post("/language", {"lang": "en"})
    db.rollback()
    db.expire_all()
    assert db.get(User, user.id).language == "en"
    other = app.test_client()  # a new browser: the user's preference applies
    Auth(other).login(user.email)
    assert '<html lang="en">' in other.get("/").text


def test_unknown_language_and_foreign_next_are_ignored(client, auth):
    response = auth.post(
        "/language", {"lang": "fr", "next": "https://evil.example/"}, page="/login"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert '<html lang="de">' in client.get("/login").text


def test_language_switch_needs_post_and_csrf(client):
    assert client.get("/language?lang=en").status_code == 405
    assert client.post("/language", data={"lang": "en"}).status_code == 400
    assert '<html lang="de">' in client.get("/login").text
