"""Monitoring pages: signed scans of printed agreements, goal statuses and their history,
overdue goals in the case folder."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import DocumentVersion
from portal.models.base import local_today
from portal.services import consents, documents
from portal.services.documents import Content
from tests.conftest import REALDOCS, csrf_token

PDF = REALDOCS / "002-trivial-libre-office-writer.pdf"
GOALS = [
    {"area": "sprache", "goal": "Deutsch B1", "due_date": "2027-03-31", "status": "open"},
    {"area": "arbeit", "goal": "Praktikum finden", "status": "in_progress"},
]


@pytest.fixture
def worker(make_user, make_org):
    return make_user(org=make_org(name="Stadt Rietberg"), name="Sven Hoffmann")


@pytest.fixture
def case(worker, make_case):
    return make_case(worker)


@pytest.fixture
def logged_in(client, auth, worker):
    auth.login(worker.email)
    return client


@pytest.fixture
def agreement(db, worker, case, save_ctx):
    document = documents.create_document(
        db, worker, case, doc_type="agreement", title="Integrationsvereinbarung",
        content=Content(fields={"goals": GOALS, "signatories": ["Amina Haddad"]}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    return document


def versions_of(db, document) -> list[DocumentVersion]:
    db.expire_all()
    query = select(DocumentVersion).where(DocumentVersion.document_id == document.id)
    return list(db.scalars(query.order_by(DocumentVersion.number)))


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def post_scan(client, document, *, version=1, signed_on=None, data=None, name="scan.pdf"):
    """The signed-scan form, sent with the CSRF token of its page."""
    url = f"/documents/{document.id}/signed"
    page = client.get(url)
    body = {
        "version": str(version),
        "signed_on": signed_on or local_today().isoformat(),
        "file": (io.BytesIO(PDF.read_bytes() if data is None else data), name),
        "csrf_token": csrf_token(page.text),
    }
    return client.post(url, data=body, content_type="multipart/form-data")


def post_statuses(client, document, statuses, base_version, page_text=None):
    url = f"/documents/{document.id}/goals"
    token = csrf_token(page_text or client.get(url).text)
    body = {f"statuses-{i}": status for i, status in enumerate(statuses)}
    return client.post(url, data={**body, "base_version": str(base_version), "csrf_token": token})


# ---------------------------------------------------------------- signed scans


def test_signed_scan_becomes_the_next_version_and_is_shown(logged_in, db, agreement):
    form = logged_in.get(f"/documents/{agreement.id}/signed")
    [first] = versions_of(db, agreement)
    digest = documents.content_hash(first)
    assert f"{digest[:4]} {digest[4:8]} {digest[8:12]}" in form.text  # as the footer prints it
    response = post_scan(logged_in, agreement, name="../unterschrift<b>.pdf")
    assert response.status_code == 302, response.text
    printed, signed = versions_of(db, agreement)
    assert signed.signed_from == 1 and signed.blob_sha256 and signed.filename == "unterschriftb.pdf"
    assert signed.fields == {**printed.fields, "signed_on": local_today().isoformat()}
    assert signed.comment == "Unterschriebene Fassung von Version 1"
    assert "Deutsch B1" in signed.extracted_text  # the fields stay searchable beside the scan
    page = text_of(logged_in.get(f"/documents/{agreement.id}"))
    assert re.search(r"Unterschrieben am [\d.]+ \(Version 1, Scan herunterladen \)", page)
    download = logged_in.get(f"/documents/{agreement.id}/versions/2/file")
    assert download.status_code == 200 and download.data == PDF.read_bytes()


def test_scan_of_a_version_that_is_not_the_latest_is_409(
    logged_in, db, worker, agreement, save_ctx
):
    documents.add_version(
        db, worker, agreement, base_version=1, content=Content(fields={"goals": GOALS[:1]}),
        ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    response = post_scan(logged_in, agreement, version=1)
    assert response.status_code == 409
    assert "Version 1 ist nicht mehr aktuell" in text_of(response)
    assert 'type="file"' in response.text  # the form again, to try with the current version
    assert len(versions_of(db, agreement)) == 2


def test_scan_onto_a_signed_version_is_409_and_status_updates_keep_it_frozen(
    logged_in, db, agreement
):
    assert post_scan(logged_in, agreement, version=1).status_code == 302
    again = post_scan(logged_in, agreement, version=2)
    assert again.status_code == 409
    assert "bereits unterschrieben" in text_of(again)
    # a status update is a new version that keeps the signature, without the scan
    assert post_statuses(logged_in, agreement, ["done", "in_progress"], 2).status_code == 302
    third = versions_of(db, agreement)[-1]
    assert third.fields["signed_on"] == local_today().isoformat() and third.blob_sha256 is None
    assert third.comment == "Statusaktualisierung"
    assert post_scan(logged_in, agreement, version=3).status_code == 409
    assert "Unterschrieben am" in text_of(logged_in.get(f"/documents/{agreement.id}"))


def test_editing_a_signed_agreement_saves_an_unsigned_fortschreibung(logged_in, db, agreement):
    assert post_scan(logged_in, agreement).status_code == 302
    editor = logged_in.get(f"/documents/{agreement.id}/edit")
    assert "Ihre Änderungen werden als Fortschreibung gespeichert" in text_of(editor)
    assert 'name="signed_on"' not in editor.text
    row = {"goals-0-area": "sprache", "goals-0-goal": "Deutsch B2", "goals-0-status": "open"}
    response = logged_in.post(
        f"/documents/{agreement.id}/edit",
        data={"title": "Integrationsvereinbarung", "base_version": "2", **row,
              "csrf_token": csrf_token(editor.text)},
    )  # fmt: skip
    assert response.status_code == 302, response.text
    latest = versions_of(db, agreement)[-1]
    assert latest.number == 3 and latest.fields["signed_on"] is None and latest.blob_sha256 is None
    page = text_of(logged_in.get(f"/documents/{agreement.id}"))
    assert "Fortschreibung seit der Unterschrift nicht unterschrieben" in page
    assert "Unterschriebenen Scan hochladen" in page  # the Fortschreibung can be signed again
    assert post_scan(logged_in, agreement, version=3).status_code == 302


@pytest.mark.parametrize(
    ("signed_on", "message"),
    [
        ("tomorrow", "nicht in der Zukunft"),
        ("yesterday", "nicht vor dem Speichern von Version 1"),
        ("31.02.2026", "Bitte geben Sie das Datum"),
    ],
)
def test_signing_date_in_the_future_before_the_version_or_invalid_is_422(
    logged_in, db, agreement, signed_on, message
):
    days = {"tomorrow": 1, "yesterday": -1}
    if signed_on in days:
        signed_on = (local_today() + timedelta(days=days[signed_on])).isoformat()
    response = post_scan(logged_in, agreement, signed_on=signed_on)
    assert response.status_code == 422
    assert message in text_of(response)
    assert len(versions_of(db, agreement)) == 1


def test_html_disguised_as_a_pdf_scan_is_415(logged_in, db, agreement):
    hostile = b"<!DOCTYPE html><script>alert(1)</script>"
    response = post_scan(logged_in, agreement, data=hostile, name="scan.pdf")
    assert response.status_code == 415
    assert "nicht angenommen" in text_of(response)
    word = b"Just some text, a TXT file is no scan\n"
    assert post_scan(logged_in, agreement, data=word, name="scan.txt").status_code == 415
    assert len(versions_of(db, agreement)) == 1


def test_scan_pages_answer_404_to_outsiders_and_403_to_readers(
    client, auth, db, make_user, worker, agreement
):
    outsider = make_user(name="Fremde Organisation")
    auth.login(outsider.email)
    assert client.get(f"/documents/{agreement.id}/signed").status_code == 404
    assert client.get(f"/documents/{agreement.id}/goals").status_code == 404
    auth.logout()
    reader = make_user(role="readonly", org=worker.organisation)
    auth.login(reader.email)
    assert client.get(f"/documents/{agreement.id}/signed").status_code == 403
    goals_page = client.get(f"/documents/{agreement.id}/goals")
    assert goals_page.status_code == 200 and "<select" not in goals_page.text
    denied = client.post(f"/documents/{agreement.id}/goals",
                         data={"statuses-0": "done", "base_version": "1",
                               "csrf_token": csrf_token(client.get("/").text)})  # fmt: skip
    assert denied.status_code == 403
    assert len(versions_of(db, agreement)) == 1


def test_monitoring_pages_of_a_note_are_404(logged_in, make_note, worker, case):
    note = make_note(worker, case)
    assert logged_in.get(f"/documents/{note.id}/goals").status_code == 404
    assert logged_in.get(f"/documents/{note.id}/signed").status_code == 404


def test_only_agreement_pages_show_the_signature_and_monitoring_card(
    logged_in, make_note, worker, case, agreement
):
    note_page = logged_in.get(f"/documents/{make_note(worker, case).id}").text
    assert "Unterschrift und Zielverfolgung" not in note_page
    assert f"/documents/{agreement.id}/goals" not in note_page
    agreement_page = logged_in.get(f"/documents/{agreement.id}").text
    assert "Unterschrift und Zielverfolgung" in agreement_page
    assert f"/documents/{agreement.id}/goals" in agreement_page


# ---------------------------------------------------------------- goal statuses


def test_unknown_status_is_422_and_saves_nothing(logged_in, db, agreement):
    response = post_statuses(logged_in, agreement, ["finished", "open"], 1)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert len(versions_of(db, agreement)) == 1


def test_concurrent_status_updates_second_gets_a_conflict_and_keeps_its_input(
    client, app, auth, db, make_user, worker, agreement
):
    colleague = make_user(org=worker.organisation, name="Lea Kaya")
    other = app.test_client()
    auth.login(worker.email)
    mine = client.get(f"/documents/{agreement.id}/goals").text
    auth_other = type(auth)(other)
    auth_other.login(colleague.email)
    theirs = other.get(f"/documents/{agreement.id}/goals").text
    assert post_statuses(other, agreement, ["done", "in_progress"], 1, theirs).status_code == 302
    response = post_statuses(client, agreement, ["open", "dropped"], 1, mine)
    assert response.status_code == 409
    page = text_of(response)
    assert "Es wurde nichts gespeichert" in page
    # goal 1: their "done" stays; goal 2: my "dropped" is carried over, ready to save
    selected = re.findall(r'<select[^>]*name="(statuses-\d)".*?<option selected value="(\w+)"',
                          response.text, re.S)  # fmt: skip
    assert selected == [("statuses-0", "done"), ("statuses-1", "dropped")]
    assert 'name="base_version" type="hidden" value="2"' in response.text
    assert [v.number for v in versions_of(db, agreement)] == [1, 2]
    again = post_statuses(client, agreement, ["done", "dropped"], 2, response.text)
    assert again.status_code == 302
    statuses = [g["status"] for g in versions_of(db, agreement)[-1].fields["goals"]]
    assert statuses == ["done", "dropped"]


def test_goal_history_is_shown_across_versions(logged_in, db, worker, agreement, save_ctx):
    post_statuses(logged_in, agreement, ["in_progress", "in_progress"], 1)
    reworded = [dict(GOALS[0], goal="Deutsch B1 (Prüfung)", status="in_progress"), GOALS[1]]
    documents.add_version(
        db, worker, agreement, base_version=2, content=Content(fields={"goals": reworded}),
        ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    post_statuses(logged_in, agreement, ["done", "in_progress"], 3)
    page = logged_in.get(f"/documents/{agreement.id}/goals")
    history = text_of(page).split("Verlauf je Ziel", 1)[1]
    first, second = history.split("Praktikum finden", 1)
    # the reworded goal keeps its history: open (1), in progress (2), done (4)
    assert re.findall(r" (\d) Sven Hoffmann Stadt Rietberg (offen|in Arbeit|erledigt)", first) == [
        ("4", "erledigt"), ("2", "in Arbeit"), ("1", "offen"),
    ]  # fmt: skip
    assert re.findall(r" (\d) Sven Hoffmann", second) == ["1"]


# ---------------------------------------------------------------- overdue goals


def test_open_goals_in_the_case_folder_name_the_responsible_organisation(
    logged_in, db, worker, case, save_ctx, make_org
):
    caritas = make_org(name="Caritas Gütersloh")
    goal = {"area": "arbeit", "goal": "Bewerbung schreiben", "due_date": "2027-02-28",
            "status": "open", "responsible_organisation_id": caritas.id}  # fmt: skip
    documents.create_document(
        db, worker, case, doc_type="agreement", title="IV", ctx=save_ctx,
        content=Content(fields={"goals": [goal]}),
    )  # fmt: skip
    db.commit()
    response = logged_in.get(f"/cases/{case.id}")
    assert response.status_code == 200
    row = re.search(r"<tr>(?:(?!</tr>).)*Bewerbung schreiben.*?</tr>", response.text, re.S)
    assert row and "Caritas Gütersloh" in row.group(0)


def test_overdue_goals_are_flagged_in_the_case_folder(
    logged_in, db, worker, case, save_ctx, make_user, make_org
):
    old = [{"area": "wohnen", "goal": "Wohnung suchen", "due_date": "2020-01-31", "status": "open"},
           {"goal": "Erledigt und alt", "due_date": "2020-01-31", "status": "done"}]  # fmt: skip
    visible = documents.create_document(
        db, worker, case, doc_type="agreement", title="IV alt",
        content=Content(fields={"goals": old}), ctx=save_ctx,
    )  # fmt: skip
    partner = make_user(org=make_org(name="Caritas"))
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id], purpose="IV")
    db.commit()
    documents.create_document(
        db, partner, case, doc_type="agreement", title="Intern Caritas", visibility="internal",
        content=Content(fields={"goals": [{"goal": "Geheimes Ziel", "due_date": "2019-01-01"}]}),
        ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    folder = text_of(logged_in.get(f"/cases/{case.id}"))
    days = (local_today() - local_today().replace(year=2020, month=1, day=31)).days
    assert f"überfällig seit {days} Tagen" in folder
    assert "Wohnung suchen" in folder and "Überfällige Ziele: 1." in folder
    assert "Erledigt und alt" not in folder  # done goals are not open
    assert "Geheimes Ziel" not in folder  # another organisation's internal agreement
    agreement_page = text_of(logged_in.get(f"/documents/{visible.id}"))
    assert "überfällig seit" in agreement_page


# ---------------------------------------------------------------- partners' rights


@pytest.fixture
def partner(db, worker, case, make_user, make_org):
    """Caritas, released the case, responsible for the second goal of the agreement."""
    caritas = make_user(org=make_org(name="Caritas Gütersloh"), name="Clara Jansen")
    consents.record(db, worker, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    return caritas


@pytest.fixture
def shared_goals(partner):
    """The lead's first goal, the partner's second."""
    return [GOALS[0], {**GOALS[1], "responsible_organisation_id": partner.organisation_id}]


@pytest.fixture
def shared_agreement(db, worker, case, shared_goals, save_ctx):
    document = documents.create_document(
        db, worker, case, doc_type="agreement", title="Integrationsvereinbarung",
        content=Content(fields={"goals": shared_goals}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    return document


def test_a_partner_sets_the_status_of_its_own_goals_only(
    db, client, auth, partner, shared_agreement
):
    agreement = shared_agreement
    auth.login(partner.email)
    page = client.get(f"/documents/{agreement.id}/goals")
    assert page.status_code == 200
    assert 'name="statuses-0" value="open"' in page.text  # not theirs: shown, not offered
    assert '<select id="statuses-1"' in page.text
    saved = post_statuses(client, agreement, ["open", "done"], 1, page.text)
    assert saved.status_code == 302
    (_first, second) = versions_of(db, agreement)[-1].fields["goals"]
    assert second["status"] == "done" and versions_of(db, agreement)[-1].organisation_id == (
        partner.organisation_id
    )
    refused = post_statuses(client, agreement, ["done", "done"], 2)  # the lead's goal
    assert refused.status_code == 403 and len(versions_of(db, agreement)) == 2
    assert client.get(f"/documents/{agreement.id}/edit").status_code == 403  # the lead's text


def test_through_the_api_a_partner_changes_statuses_of_its_goals_and_nothing_else(
    db, client, worker, case, partner, shared_goals, shared_agreement, save_ctx, make_token
):
    goals, agreement = shared_goals, shared_agreement
    note = documents.create_document(
        db, worker, case, doc_type="note", title="Vermerk der Stadt",
        content=Content(text="Erstgespräch."), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    headers = {"Authorization": f"Bearer {make_token(partner)}"}
    url = f"/api/v1/documents/{agreement.id}/versions"

    def post(goals, base_version=1, title="Integrationsvereinbarung"):
        body = {"base_version": base_version, "title": title, "fields": {"goals": goals}}
        return client.post(url, json=body, headers=headers)

    done = [goals[0], {**goals[1], "status": "done"}]
    assert post(done).status_code == 201
    assert post([{**goals[0], "status": "done"}, done[1]], 2).status_code == 403  # the lead's
    assert post(done, 2, title="Neu").status_code == 403  # more than statuses
    own = client.post(
        f"/api/v1/cases/{case.id}/documents", headers=headers,
        json={"type": "note", "title": "Vermerk der Caritas", "text": "Beratung."},
    )  # fmt: skip
    assert own.status_code == 201
    mine = own.get_json()["id"]
    again = {"base_version": 1, "title": "Vermerk der Caritas", "text": "Beratung, ergänzt."}
    assert (
        client.post(f"/api/v1/documents/{mine}/versions", json=again, headers=headers).status_code
        == 201
    )
    theirs = {"base_version": 1, "title": "Vermerk der Stadt", "text": "Überschrieben."}
    answer = client.post(f"/api/v1/documents/{note.id}/versions", json=theirs, headers=headers)
    assert answer.status_code == 403
