"""The administration area: organisations, users, password resets and tokens, for admins only."""

from __future__ import annotations

import json
import warnings

import pytest
from sqlalchemy import func, select

from portal.models import ApiToken, AuditEvent, Organisation, User
from portal.services import accounts
from portal.services.errors import ValidationFailed
from tests.conftest import TEST_PASSWORD, Auth, csrf_token

NEW_PASSWORD = "Wiesenweg-Kranich-Ofenbank-42"
DUPLICATE_EMAIL = "Es gibt bereits ein Konto mit dieser E-Mail-Adresse."
TOO_EASY = "Dieses Passwort ist zu leicht zu erraten"


@pytest.fixture
def admin(make_org, make_user) -> User:
    """The network's administrator (an organisation's own: ``test_account_policy``)."""
    return make_user(
        role="network_admin", org=make_org(name="Stadt Rietberg"), email="admin@rietberg.example"
    )


@pytest.fixture
def admin_auth(auth, admin) -> Auth:
    """``auth`` with the admin logged in."""
    assert auth.login(admin.email).status_code == 302
    return auth


def fresh(db):
    """Forget what the test session has loaded, so that the app's commits are visible."""
    db.rollback()
    db.expire_all()
    return db


def login_client(app, email: str, password: str = TEST_PASSWORD):
    """A separate browser, logged in as ``email``."""
    other = app.test_client()
    response = Auth(other).login(email, password)
    assert response.status_code == 302, "login failed"
    return other


def events(db, action: str, object_type: str) -> list[AuditEvent]:
    return list(
        fresh(db).scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_type == object_type)
            .order_by(AuditEvent.id)
        )
    )


def count(db, model) -> int:
    return fresh(db).scalar(select(func.count()).select_from(model))


def user_form(org: Organisation, **values) -> dict:
    return {
        "email": "anna.schmidt@rietberg.example",
        "name": "Anna Schmidt",
        "organisation_id": str(org.id),
        "role": "caseworker",
        "active": "y",
        "password": NEW_PASSWORD,
        **values,
    }


def edit_form(user: User, **values) -> dict:
    form = {
        "email": user.email,
        "name": user.name,
        "organisation_id": str(user.organisation_id),
        "role": user.role,
        "active": "y",
        **values,
    }
    return {key: value for key, value in form.items() if value is not None}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- organisations


def test_admin_sees_organisations_and_users(client, admin_auth, admin, make_org):
    make_org(name="Jobcenter Kreis Gütersloh", kind="jobcenter")
    page = client.get("/admin/organisations")
    assert page.status_code == 200
    assert "Stadt Rietberg" in page.text and "Jobcenter Kreis Gütersloh" in page.text
    assert "Arbeitsagentur / Jobcenter" in page.text  # the kind, translated
    users = client.get("/admin/users")
    assert users.status_code == 200
    assert admin.email in users.text
    assert "Verwaltung" in client.get("/").text  # the admin sees the navigation entry


def test_create_organisation(client, db, admin_auth, admin):
    assert client.get("/admin/organisations/new").status_code == 200
    response = admin_auth.post(
        "/admin/organisations/new",
        {"name": "  Diakonie   Gütersloh e. V. ", "kind": "wohlfahrtsverband", "address": "X 1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/organisations"
    org = fresh(db).scalar(select(Organisation).where(Organisation.name != "Stadt Rietberg"))
    assert (org.name, org.kind, org.address) == (
        "Diakonie Gütersloh e. V.",
        "wohlfahrtsverband",
        "X 1",
    )
    assert org.active is False  # the "active" box was not ticked
    event = events(db, "create", "organisation")[-1]
    assert event.object_id == org.id
    assert event.user_id == admin.id and event.organisation_id == admin.organisation_id
    assert event.ip == "127.0.0.1"
    assert "Die Organisation wurde gespeichert." in client.get("/admin/organisations").text


def test_edit_and_deactivate_organisation(client, db, admin_auth, admin, make_org):
    org = make_org(name="Caritas Gütersloh", kind="wohlfahrtsverband")
    page = client.get(f"/admin/organisations/{org.id}")
    assert page.status_code == 200 and "Caritas Gütersloh" in page.text
    response = admin_auth.post(
        f"/admin/organisations/{org.id}",
        {"name": "Caritasverband Gütersloh", "kind": "wohlfahrtsverband", "address": ""},
    )
    assert response.status_code == 302
    fresh(db).refresh(org)
    assert org.name == "Caritasverband Gütersloh" and org.active is False
    event = events(db, "update", "organisation")[-1]
    assert event.object_id == org.id and event.user_id == admin.id
    assert json.loads(event.detail)["fields"] == ["active", "name"]
    # and active again
    admin_auth.post(
        f"/admin/organisations/{org.id}",
        {"name": org.name, "kind": org.kind, "address": "", "active": "y"},
    )
    assert fresh(db).get(Organisation, org.id).active is True


def test_duplicate_organisation_name_is_a_form_error(client, db, admin_auth, make_org):
    make_org(name="Diakonie Gütersloh")
    before = count(db, Organisation)
    response = admin_auth.post(
        "/admin/organisations/new", {"name": "diakonie gütersloh", "kind": "kommune", "active": "y"}
    )
    assert response.status_code == 422
    assert "Die Organisation konnte nicht gespeichert werden." in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(db, Organisation) == before


def test_invalid_organisation_kind_is_refused(client, db, admin_auth):
    before = count(db, Organisation)
    response = admin_auth.post("/admin/organisations/new", {"name": "Neu", "kind": "sekte"})
    assert response.status_code == 422
    assert count(db, Organisation) == before


def test_unknown_organisation_and_user_are_404(client, db, admin_auth):
    assert client.get("/admin/organisations/999999").status_code == 404
    assert client.get("/admin/organisations/0").status_code == 404  # not the "new" form
    before = count(db, Organisation)
    zero = admin_auth.post("/admin/organisations/0", {"name": "Null", "kind": "sonstige"})
    assert zero.status_code == 404
    assert count(db, Organisation) == before
    assert client.get("/admin/users/999999").status_code == 404
    assert (
        admin_auth.post("/admin/users/999999/password", {"password": NEW_PASSWORD}).status_code
        == 404
    )


def test_admin_forms_avoid_deprecated_select_choices(client, admin_auth, admin):
    """WTForms 3.4 drops (value, label) tuples as select choices; the forms must not use them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for url in ("/admin/users/new", f"/admin/users/{admin.id}", "/admin/organisations/new"):
            assert client.get(url).status_code == 200
    assert [str(w.message) for w in caught if "choices" in str(w.message)] == []
    page = client.get(f"/admin/users/{admin.id}").text
    assert f'<option selected value="{admin.organisation_id}">Stadt Rietberg</option>' in page
    assert '<option selected value="network_admin">Netzwerk-Administration</option>' in page


# ---------------------------------------------------------------- users


def test_create_user_who_can_then_log_in(app, client, db, admin_auth, admin, make_org):
    org = make_org(name="Jobcenter Kreis Gütersloh", kind="jobcenter")
    assert client.get("/admin/users/new").status_code == 200
    response = admin_auth.post(
        "/admin/users/new",
        user_form(org, email=" Anna.Schmidt@Jobcenter.Example ", role="coordinator"),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = fresh(db).scalar(select(User).where(User.email == "anna.schmidt@jobcenter.example"))
    assert user is not None
    assert (user.name, user.role, user.organisation_id, user.active) == (
        "Anna Schmidt",
        "coordinator",
        org.id,
        True,
    )
    [event] = [e for e in events(db, "create", "user") if e.object_id == user.id]
    assert event.user_id == admin.id
    assert NEW_PASSWORD not in event.detail and user.password_hash not in event.detail
    anna = login_client(app, "anna.schmidt@jobcenter.example", NEW_PASSWORD)
    assert_sent_to_choose_own_password(anna)


def assert_sent_to_choose_own_password(browser) -> None:
    """Every page but the account page leads there, which says why; the API refuses."""
    for page in ("/", "/cases/", "/search?q=Wohnung", "/followups/"):
        response = browser.get(page)
        assert (response.status_code, response.headers.get("Location")) == (302, "/account/"), page
    account = browser.get("/account/")
    assert "von einer Administratorin" in account.text  # why, in German first
    assert "API-Token" not in account.text and "API tokens" not in account.text


def test_a_password_an_admin_set_is_changed_at_the_first_login(
    app, client, db, admin_auth, make_user, make_token
):
    user = make_user()
    token = make_token(user)
    assert (
        admin_auth.post(f"/admin/users/{user.id}/password", {"password": NEW_PASSWORD}).status_code
        == 302
    )
    browser = login_client(app, user.email, NEW_PASSWORD)
    assert_sent_to_choose_own_password(browser)
    api = browser.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401  # the reset revoked the token (a new one waits for the
    # user's own password: until then the account page offers none)
    own = "Mein eigenes Passwort 2026!"
    form = {"current_password": NEW_PASSWORD, "new_password": own, "confirm": own,
            "csrf_token": csrf_token(browser.get("/account/").text)}  # fmt: skip
    assert browser.post("/account/password", data=form).status_code == 302
    again = login_client(app, user.email, own)
    assert again.get("/cases/").status_code == 200
    fresh_token = make_token(fresh(db).get(User, user.id))
    assert (
        again.get("/api/v1/cases", headers={"Authorization": f"Bearer {fresh_token}"}).status_code
        == 200
    )
    assert fresh(db).get(User, user.id).must_change_password is False


def test_duplicate_email_is_a_clear_form_error(client, db, admin_auth, make_user):
    existing = make_user(email="s.hoffmann@rietberg.example")
    before = count(db, User)
    response = admin_auth.post(
        "/admin/users/new",
        user_form(existing.organisation, email="S.Hoffmann@Rietberg.example", name="Doppelt"),
    )
    assert response.status_code == 422
    assert DUPLICATE_EMAIL in response.text
    assert 'value="Doppelt"' in response.text  # what was typed is kept
    assert count(db, User) == before
    assert events(db, "create", "user")[-1].object_id == existing.id


def test_duplicate_email_from_a_concurrent_creation_is_a_form_error(
    client, db, admin_auth, make_user, monkeypatch
):
    """Two admins create the same account at once: both pass the check, the database refuses one."""
    existing = make_user(email="s.hoffmann@rietberg.example")
    before_users, before_events = count(db, User), count(db, AuditEvent)
    monkeypatch.setattr(accounts, "_check_user_fields", lambda *args, **kwargs: None)
    response = admin_auth.post(
        "/admin/users/new", user_form(existing.organisation, email=existing.email)
    )
    assert response.status_code == 422
    assert DUPLICATE_EMAIL in response.text
    assert count(db, User) == before_users
    assert count(db, AuditEvent) == before_events
    assert client.get("/admin/users").status_code == 200


def test_a_refused_change_is_not_half_saved(client, db, admin_auth, make_user, monkeypatch):
    """When a service refuses after changing something, the request saves nothing of it."""
    user = make_user(name="Lena Meier")

    def refuse_halfway(session, target, **kwargs):
        target.name = "Halb gespeichert"
        session.flush()
        raise ValidationFailed("refused", fields={"email": "invalid"})

    monkeypatch.setattr(accounts, "update_user", refuse_halfway)
    response = admin_auth.post(f"/admin/users/{user.id}", edit_form(user, name="Neu"))
    assert response.status_code == 422
    assert fresh(db).get(User, user.id).name == "Lena Meier"


def test_weak_password_is_refused(client, db, admin_auth, admin):
    before = count(db, User)
    for password, message in [
        ("passwort1234", TOO_EASY),
        ("Rietberg2026!", TOO_EASY),
        ("kurz-7", "Das Passwort muss mindestens 12 Zeichen haben."),
    ]:
        response = admin_auth.post(
            "/admin/users/new", user_form(admin.organisation, password=password)
        )
        assert response.status_code == 422, password
        assert message in response.text, password
    assert count(db, User) == before


def test_edit_user_and_audit(client, db, admin_auth, admin, make_user, make_org):
    user = make_user(role="readonly")
    other_org = make_org(name="Kreis Gütersloh", kind="kreis")
    page = client.get(f"/admin/users/{user.id}")
    assert page.status_code == 200 and user.email in page.text
    response = admin_auth.post(
        f"/admin/users/{user.id}",
        edit_form(user, name="Jonas Becker", role="caseworker", organisation_id=str(other_org.id)),
    )
    assert response.status_code == 302
    fresh(db).refresh(user)
    assert (user.name, user.role, user.organisation_id) == (
        "Jonas Becker",
        "caseworker",
        other_org.id,
    )
    event = events(db, "update", "user")[-1]
    assert event.object_id == user.id and event.user_id == admin.id
    assert json.loads(event.detail)["fields"] == ["name", "organisation_id", "role"]


def test_edit_to_an_existing_email_is_refused(client, db, admin_auth, make_user):
    first = make_user(email="first@example.org")
    second = make_user(email="second@example.org")
    response = admin_auth.post(
        f"/admin/users/{second.id}", edit_form(second, email="FIRST@example.org")
    )
    assert response.status_code == 422
    assert DUPLICATE_EMAIL in response.text
    assert fresh(db).get(User, second.id).email == "second@example.org"
    assert first.email == "first@example.org"


@pytest.mark.parametrize(
    "change", [{"active": None}, {"role": "caseworker"}], ids=["deactivate", "demote"]
)
def test_admin_cannot_deactivate_or_demote_themselves(client, db, admin_auth, admin, change):
    response = admin_auth.post(f"/admin/users/{admin.id}", edit_form(admin, **change))
    assert response.status_code == 422
    assert "Sie können Ihr eigenes Konto nicht deaktivieren oder herabstufen." in response.text
    fresh(db).refresh(admin)
    assert admin.active is True and admin.role == "network_admin"
    assert client.get("/admin/users").status_code == 200  # still logged in, still admin


def test_deactivating_a_user_ends_their_session_and_token_at_once(
    app, client, db, admin_auth, admin, make_user, make_token
):
    user = make_user(role="caseworker")
    token = make_token(user)
    their_browser = login_client(app, user.email)
    assert their_browser.get("/").status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    response = admin_auth.post(f"/admin/users/{user.id}", edit_form(user, active=None))
    assert response.status_code == 302

    next_page = their_browser.get("/account/")
    assert next_page.status_code == 302
    assert next_page.headers["Location"].startswith("/login")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert fresh(db).get(User, user.id).active is False
    event = events(db, "update", "user")[-1]
    assert event.object_id == user.id and "active" in json.loads(event.detail)["fields"]
    # a deactivated user cannot log in again either
    assert Auth(app.test_client()).login(user.email).status_code == 200


def test_reactivation_does_not_revive_old_tokens(client, db, admin_auth, make_user, make_token):
    user = make_user()
    token = make_token(user)
    admin_auth.post(f"/admin/users/{user.id}", edit_form(user, active=None))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    admin_auth.post(f"/admin/users/{user.id}", edit_form(user, active="y"))
    assert fresh(db).get(User, user.id).active is True
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_password_reset_by_admin(app, client, db, admin_auth, admin, make_user):
    user = make_user()
    their_browser = login_client(app, user.email)
    response = admin_auth.post(f"/admin/users/{user.id}/password", {"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    assert their_browser.get("/").status_code == 302  # their open session has ended
    assert Auth(app.test_client()).login(user.email, TEST_PASSWORD).status_code == 200
    login_client(app, user.email, NEW_PASSWORD)
    event = events(db, "password_change", "user")[-1]
    assert event.object_id == user.id and event.user_id == admin.id
    assert NEW_PASSWORD not in event.detail


def test_password_reset_with_weak_password_is_refused(client, db, admin_auth, make_user):
    user = make_user()
    old_hash = user.password_hash
    response = admin_auth.post(f"/admin/users/{user.id}/password", {"password": "sommer123456"})
    assert response.status_code == 422
    assert TOO_EASY in response.text
    assert fresh(db).get(User, user.id).password_hash == old_hash
    assert events(db, "password_change", "user") == []


def test_admin_revokes_a_users_token(client, db, admin_auth, admin, make_user, make_token):
    user = make_user()
    token = make_token(user)
    token_id = fresh(db).scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    page = client.get(f"/admin/users/{user.id}")
    assert token[:12] in page.text and token not in page.text  # the prefix only
    response = admin_auth.post(f"/admin/users/{user.id}/tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert fresh(db).get(ApiToken, token_id).revoked_at is not None
    event = events(db, "revoke", "api_token")[-1]
    assert event.object_id == token_id and event.user_id == admin.id
    assert "widerrufen" in client.get(f"/admin/users/{user.id}").text


def test_token_revoke_through_another_users_url_is_404(
    client, db, admin_auth, admin, make_user, make_token
):
    user = make_user()
    token = make_token(user)
    token_id = fresh(db).scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    response = admin_auth.post(f"/admin/users/{admin.id}/tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


# ---------------------------------------------------------------- who may enter


def _admin_requests(user: User, token_id: int, org_id: int) -> list[tuple[str, str, dict]]:
    """Every admin URL, with form data that would do harm if it were accepted."""
    return [
        ("GET", "/admin/organisations", {}),
        ("GET", "/admin/organisations/new", {}),
        ("GET", f"/admin/organisations/{org_id}", {}),
        ("GET", "/admin/users", {}),
        ("GET", "/admin/users/new", {}),
        ("GET", f"/admin/users/{user.id}", {}),
        ("POST", "/admin/organisations/new", {"name": "Übernahme", "kind": "sonstige"}),
        ("POST", f"/admin/organisations/{org_id}", {"name": "Umbenannt", "kind": "sonstige"}),
        (
            "POST",
            "/admin/users/new",
            {**user_form(user.organisation), "email": "mallory@example.org", "role": "admin"},
        ),
        ("POST", f"/admin/users/{user.id}", edit_form(user, role="admin")),
        ("POST", f"/admin/users/{user.id}/password", {"password": NEW_PASSWORD}),
        ("POST", f"/admin/users/{user.id}/tokens/{token_id}/revoke", {}),
    ]


@pytest.mark.parametrize("role", ["coordinator", "caseworker", "readonly", None])
def test_only_admins_may_enter_the_administration(client, db, auth, make_user, make_token, role):
    user = make_user(role=role or "caseworker")
    make_token(user)
    token_id = fresh(db).scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    org_id, password_hash = user.organisation_id, user.password_hash
    before = (count(db, Organisation), count(db, User), count(db, AuditEvent))
    if role:
        auth.login(user.email)
        assert "Verwaltung" not in client.get("/").text  # no navigation entry either
    for method, url, data in _admin_requests(user, token_id, org_id):
        if method == "GET":
            response = client.get(url)
        else:
            response = auth.post(url, data, page="/" if role else "/login")
        if role:
            assert response.status_code == 403, (role, method, url)
            assert "Dazu sind Sie nicht berechtigt." in response.text
        else:
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/login"), (method, url)
    db_after = fresh(db)
    assert db_after.get(Organisation, org_id).name == user.organisation.name
    stored = db_after.get(User, user.id)
    assert (stored.role, stored.password_hash) == (role or "caseworker", password_hash)
    assert db_after.get(ApiToken, token_id).revoked_at is None
    logins = 1 if role else 0
    assert (count(db, Organisation), count(db, User)) == before[:2]
    assert count(db, AuditEvent) == before[2] + logins  # only the login was recorded
    if role:
        assert client.get("/").status_code == 200  # still logged in: nothing revoked the session
