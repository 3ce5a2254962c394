"""Follow-up pages: "Meine Wiedervorlagen", the case folder's form, done/undo, the start page."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.models import FollowUp
from portal.models.base import local_today
from portal.services import consents, followups
from tests.conftest import Auth, csrf_token


@pytest.fixture
def setup(app, db, make_org, make_user, make_case):
    """Stadt leads a case; Caritas holds a consent; each user logged in on their own client."""
    stadt, caritas = make_org(name="Stadt Rietberg"), make_org(name="Caritas Gütersloh")
    users = {
        "worker": make_user(org=stadt, name="Sabine Hoffmann"),
        "readonly": make_user(role="readonly", org=stadt, name="Jonas Becker"),
        "partner": make_user(org=caritas, name="Agnieszka Nowak"),
        "outsider": make_user(name="Thomas Schulte"),
    }
    case = make_case(users["worker"], given_name="Rania", family_name="Haddad")
    consent = consents.record(db, users["worker"], case, organisation_ids=[caritas.id])
    db.commit()
    clients = {}
    for name, user in users.items():
        clients[name] = app.test_client()
        Auth(clients[name]).login(user.email)
    return users, case, consent, clients


def _post(client, url: str, data: dict, page: str = "/followups"):
    token = csrf_token(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token})


def _add(db, actor, case, days: int = 0, **kwargs) -> FollowUp:
    followup = followups.create(
        db, actor, case, due_on=local_today() + timedelta(days=days), **kwargs
    )
    db.commit()
    return followup


def test_creating_from_the_case_folder(db, setup):
    users, case, _consent, clients = setup
    folder = f"/cases/{case.id}"
    page = clients["worker"].get(folder).text
    assert "Wiedervorlagen" in page and "Neue Wiedervorlage" in page
    due = (local_today() + timedelta(days=3)).isoformat()
    response = _post(
        clients["worker"], f"/cases/{case.id}/followups",
        {"due_on": due, "note": "Rückruf Jobcenter <b>bitte</b>",
         "assignee": f"user:{users['partner'].id}"},
        folder,
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"].endswith(folder)
    followup = db.scalar(select(FollowUp))
    assert followup.assignee_user_id == users["partner"].id
    assert followup.due_on.isoformat() == due
    shown = clients["worker"].get(folder).text
    assert "Rückruf Jobcenter &lt;b&gt;bitte&lt;/b&gt;" in shown  # escaped
    assert "Agnieszka Nowak" in shown
    partner_page = clients["partner"].get("/followups").text
    assert "Rückruf Jobcenter" in partner_page and case.reference in partner_page


def test_bad_input_shows_the_form_again_with_errors(db, setup):
    users, case, _consent, clients = setup
    url = f"/cases/{case.id}/followups"
    me = f"user:{users['worker'].id}"
    for data in (
        {"due_on": "", "assignee": me},
        {"due_on": "31.02.2026", "assignee": me},
        {"due_on": "1990-01-01", "assignee": me},
        {"due_on": local_today().isoformat(), "note": "x" * 2001, "assignee": me},
        {"due_on": local_today().isoformat(), "assignee": f"user:{users['outsider'].id}"},
        {"due_on": local_today().isoformat(), "assignee": "org:999999"},
    ):
        response = _post(clients["worker"], url, data, url)
        assert response.status_code == 422, data
        assert 'class="error"' in response.text
    assert db.scalar(select(FollowUp)) is None


def test_who_may_create(db, setup, make_user):
    users, case, consent, clients = setup
    url = f"/cases/{case.id}/followups"
    data = {"due_on": local_today().isoformat()}
    assert "Neue Wiedervorlage" not in clients["readonly"].get(f"/cases/{case.id}").text
    assert clients["readonly"].get(url).status_code == 200
    assert _post(clients["readonly"], url, data).status_code == 403
    assert clients["outsider"].get(url).status_code == 404
    assert _post(clients["outsider"], url, data).status_code == 404
    response = _post(clients["partner"], url, {**data, "assignee": f"user:{users['partner'].id}"})
    assert response.status_code == 303  # partners with consent may add follow-ups too
    consents.revoke(db, users["worker"], case, consent.id)
    db.commit()
    assert _post(clients["partner"], url, data).status_code == 404


def test_my_followups_page_buckets_and_scopes(db, setup, make_user):
    users, case, _consent, clients = setup
    worker = users["worker"]
    colleague = make_user(org=worker.organisation, name="Lena Kollegin")
    _add(db, worker, case, -3, note="Überfällige Sache")
    _add(db, worker, case, 0, note="Heutige Sache")
    _add(db, worker, case, 60, note="Spätere Sache")
    _add(db, worker, case, 0, note="Sache der Kollegin", assignee_user_id=colleague.id)
    page = clients["worker"].get("/followups")
    assert page.status_code == 200
    text = page.text
    for heading in ("Überfällig", "Heute", "Diese Woche", "Später", "Erledigt in den letzten 30"):
        assert heading in text
    assert (
        text.index("Überfällige Sache") < text.index("Heutige Sache") < text.index("Spätere Sache")
    )
    assert "Sache der Kollegin" not in text
    organisation = clients["worker"].get("/followups?scope=organisation").text
    assert "Sache der Kollegin" in organisation
    assert clients["worker"].get("/followups?scope=bogus").status_code == 200


def test_done_and_undo_buttons_redirect_back(db, setup):
    users, case, _consent, clients = setup
    followup = _add(db, users["worker"], case, 0, note="Anrufen")
    folder = f"/cases/{case.id}"
    response = _post(clients["worker"], f"/followups/{followup.id}/done", {"next": folder}, folder)
    assert response.status_code == 303 and response.headers["Location"].endswith(folder)
    db.expire_all()
    assert db.get(FollowUp, followup.id).done_at is not None
    assert "Anrufen" in clients["worker"].get("/followups").text  # in the done list
    response = _post(
        clients["worker"], f"/followups/{followup.id}/undo", {"next": "https://evil.example/"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/followups")
    db.expire_all()
    assert db.get(FollowUp, followup.id).done_at is None


def test_done_needs_permission_and_visibility(db, setup):
    users, case, consent, clients = setup
    followup = _add(db, users["worker"], case, 0)
    url = f"/followups/{followup.id}/done"
    assert _post(clients["readonly"], url, {}).status_code == 403
    assert _post(clients["outsider"], url, {}).status_code == 404
    assert _post(clients["worker"], "/followups/999999/done", {}).status_code == 404
    assert clients["worker"].post(url).status_code == 400  # no CSRF token
    consents.revoke(db, users["worker"], case, consent.id)
    db.commit()
    assert _post(clients["partner"], url, {}).status_code == 404
    db.expire_all()
    assert db.get(FollowUp, followup.id).done_at is None


def test_start_page_shows_counts_and_urgent_items(db, setup):
    users, case, _consent, clients = setup
    assert "Keine offenen Wiedervorlagen." in clients["worker"].get("/").text
    _add(db, users["worker"], case, 200, note="Viel später")
    assert "Diese Woche ist nichts fällig." in clients["worker"].get("/").text
    _add(db, users["worker"], case, -1, note="Gestern fällig")
    _add(db, users["worker"], case, 0, note="Heute fällig")
    page = clients["worker"].get("/").text
    assert "Meine Wiedervorlagen" in page
    assert "Gestern fällig" in page and "Heute fällig" in page
    assert "Viel später" not in page
    assert "überfällig" in page


def test_admins_get_no_followup_page(app, make_user):
    admin = make_user(role="admin")
    client = app.test_client()
    Auth(client).login(admin.email)
    assert "Meine Wiedervorlagen" not in client.get("/").text
    assert client.get("/followups").status_code == 403


def test_art15_export_contains_the_followups(db, setup):
    users, case, _consent, clients = setup
    _add(db, users["worker"], case, 2, note="Termin Ausländerbehörde")
    done = _add(db, users["worker"], case, -1, note="Unterlagen angefordert",
                assignee_user_id=users["partner"].id)  # fmt: skip
    followups.set_done(db, users["partner"], done, True)
    db.commit()
    page = f"/cases/{case.id}/data-request"
    response = _post(clients["worker"], f"/cases/{case.id}/export", {}, page)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    exported = json.loads(archive.read("fall.json"))["followups"]
    assert [(f["note"], f["organisation"], f["done_at"] is None) for f in exported] == [
        ("Unterlagen angefordert", "Caritas Gütersloh", False),
        ("Termin Ausländerbehörde", "Stadt Rietberg", True),
    ]
    pages = PdfReader(io.BytesIO(archive.read("auskunft.pdf"))).pages
    summary = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Wiedervorlagen" in summary and "Termin Ausländerbehörde" in summary
