"""Consent pages, hand-over, audit trail, Art. 15 export and Art. 17 erasure through the web."""

from __future__ import annotations

import io
import zipfile

import pytest
from babel.dates import format_date
from pypdf import PdfReader
from sqlalchemy import select

from portal.models import AuditEvent, Case, Consent, DeletionCertificate, Document, FollowUp
from portal.models.base import local_today
from portal.services import access, consents, followups
from tests.conftest import Auth


@pytest.fixture
def setup(app, db, make_user, make_case, make_note):
    """Stadt leads a case with a note; Caritas is a partner; both logged in on own clients."""
    stadt = make_user(name="Sabine Hoffmann")
    caritas = make_user(name="Agnieszka Nowak")
    case = make_case(stadt, given_name="Rania", family_name="Haddad")
    note = make_note(stadt, case, text="Gespräch über Sprachkurs.")
    clients = {}
    for name, user in (("stadt", stadt), ("caritas", caritas)):
        client = app.test_client()
        Auth(client).login(user.email)
        clients[name] = client
    return stadt, caritas, case, note, clients


def _post(client, url: str, data: dict, page: str):
    from tests.conftest import csrf_token

    token = csrf_token(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_recording_a_consent_opens_the_case_to_the_partner(db, setup):
    _stadt, caritas, case, note, clients = setup
    page = f"/cases/{case.id}/consents"
    assert clients["caritas"].get(page).status_code == 404
    response = _post(
        clients["stadt"], page,
        {"organisation_ids": str(caritas.organisation_id), "purpose": "Beratung Arbeit",
         "data_categories": ["arbeit", "sprache"]},
        page,
    )  # fmt: skip
    assert response.status_code == 302
    listing = clients["caritas"].get(page)
    assert listing.status_code == 200 and "Beratung Arbeit" in listing.text
    assert "Einwilligung erfassen" not in listing.text  # partners cannot record consents
    db.expire_all()
    assert access.can(caritas, access.READ_DOCUMENT, note)


def test_consent_without_organisation_is_refused(db, setup):
    _stadt, _caritas, case, _note, clients = setup
    page = f"/cases/{case.id}/consents"
    response = _post(clients["stadt"], page, {"purpose": "x"}, page)
    assert response.status_code == 422
    assert db.get(Case, case.id).consents == []


def test_partner_cannot_record_or_revoke(db, setup):
    stadt, caritas, case, _note, clients = setup
    consent = consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    page = f"/cases/{case.id}/consents"
    data = {"organisation_ids": str(caritas.organisation_id), "purpose": "x"}
    assert _post(clients["caritas"], page, data, page).status_code == 403
    revoke = f"/cases/{case.id}/consents/{consent.id}/revoke"
    assert _post(clients["caritas"], revoke, {}, page).status_code == 403


def test_revocation_through_the_page_asks_first_then_ends_access_at_once(
    db, setup, make_note, make_org, make_user
):
    stadt, caritas, case, _note, clients = setup
    jobcenter = make_user(org=make_org(name="Jobcenter Gütersloh"))
    consent = consents.record(
        db, stadt, case, organisation_ids=[caritas.organisation_id, jobcenter.organisation_id]
    )
    consents.record(db, stadt, case, organisation_ids=[jobcenter.organisation_id])
    db.commit()
    make_note(stadt, case, title="Intern", visibility="internal")  # never Caritas's
    make_note(caritas, case, title="Von der Caritas", visibility="internal")  # theirs
    theirs = followups.create(db, caritas, case, due_on=local_today(), note="Rückruf")
    db.commit()
    page = f"/cases/{case.id}/consents"
    assert clients["caritas"].get(page).status_code == 200
    revoke = f"{page}/{consent.id}/revoke"
    asked = _post(clients["stadt"], revoke, {"note": "widerrufen"}, page)
    assert asked.status_code == 200
    text = " ".join(asked.text.split())
    # The shared note and Caritas's own: 2; the Jobcenter keeps access by its other consent.
    lost = "verliert sofort den Zugriff auf den Fall und seine 2 Dokumente"
    assert f"{caritas.organisation.name} {lost}" in text
    assert (
        f"Die 1 offene Wiedervorlage dieser Organisation geht an {stadt.organisation.name}" in text
    )
    assert "Jobcenter" not in text
    assert clients["caritas"].get(page).status_code == 200  # nothing changed yet
    confirmed = _post(clients["stadt"], revoke, {"note": "widerrufen", "confirmed": "yes"}, page)
    assert confirmed.status_code == 302
    assert clients["caritas"].get(page).status_code == 404
    db.expire_all()
    assert db.get(Consent, consent.id).revocation_note == "widerrufen"
    assert db.get(FollowUp, theirs.id).assignee_organisation_id == stadt.organisation_id


def test_hand_over_says_what_changes_then_moves_the_lead(db, setup, make_note):
    stadt, caritas, case, _note, clients = setup
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    make_note(stadt, case, title="Intern", visibility="internal")
    mine = followups.create(db, stadt, case, due_on=local_today(), note="Termin Ausländerbehörde",
                            assignee_user_id=stadt.id)  # fmt: skip
    db.commit()
    page, handover = f"/cases/{case.id}/consents", f"/cases/{case.id}/handover"
    choice = {"organisation_id": str(caritas.organisation_id)}
    asked = _post(clients["stadt"], handover, choice, page)
    assert asked.status_code == 200
    text = " ".join(asked.text.split())
    stadt_org = stadt.organisation.name
    assert f"{stadt_org} verliert sofort den Zugriff auf den Fall und seine 2 Dokumente" in text
    custody = "Das 1 interne Dokument dieser Organisation geht in die Obhut von"
    assert f"{custody} {caritas.organisation.name}" in text
    assert "Einwilligung erfassen" in text  # the way to keep access
    assert (
        f"Die 1 offene Wiedervorlage dieser Organisation geht an {caritas.organisation.name}"
        in text
    )
    db.expire_all()
    assert db.get(Case, case.id).lead_organisation_id == stadt.organisation_id  # not yet
    confirmed = _post(clients["stadt"], handover, {**choice, "confirmed": "yes"}, page)
    assert confirmed.status_code == 302
    db.expire_all()
    assert db.get(Case, case.id).lead_organisation_id == caritas.organisation_id
    # The follow-up Stadt can no longer open is Caritas's now, and says so.
    passed = db.get(FollowUp, mine.id)
    assert (passed.assignee_organisation_id, passed.assignee_user_id) == (
        caritas.organisation_id,
        None,
    )
    assert (
        passed.note
        == f"Termin Ausländerbehörde\nÜbernommen von {stadt.name} (kein Zugriff mehr auf den Fall)."
    )
    assert access.can(caritas, access.EDIT_FOLLOWUP, passed)
    internal = db.scalar(select(Document).where(Document.title == "Intern"))
    assert access.can(caritas, access.READ_DOCUMENT, internal)  # in Caritas's custody


def test_hand_over_to_an_organisation_without_consent_is_refused_before_asking(db, setup):
    _stadt, caritas, case, _note, clients = setup
    page = f"/cases/{case.id}/consents"
    choice = {"organisation_id": str(caritas.organisation_id)}
    refused = _post(clients["stadt"], f"/cases/{case.id}/handover", choice, page)
    assert refused.status_code == 302  # back to the consents page, nothing changed
    db.expire_all()
    assert db.get(Case, case.id).lead_organisation_id == _stadt.organisation_id


def test_audit_trail_for_lead_and_coordinators_only(app, db, setup, make_user):
    stadt, caritas, case, _note, clients = setup
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    url = f"/cases/{case.id}/audit"
    address = {"REMOTE_ADDR": "198.51.100.23"}  # a view of the case from a known address
    assert clients["stadt"].get(f"/cases/{case.id}", environ_base=address).status_code == 200
    assert db.scalar(select(AuditEvent).where(AuditEvent.ip == "198.51.100.23"))
    page = clients["stadt"].get(url)
    assert page.status_code == 200 and "Sabine Hoffmann" in page.text
    assert clients["caritas"].get(url).status_code == 403  # partner: no trail
    coordinator = app.test_client()
    Auth(coordinator).login(make_user(role="coordinator").email)
    network_view = coordinator.get(url)
    assert network_view.status_code == 200 and stadt.organisation.name in network_view.text
    assert "Sabine Hoffmann" not in network_view.text  # what happened, not which colleague
    assert "198.51.100" not in network_view.text + page.text  # addresses: not in the trail
    network_csv = coordinator.get(f"{url}.csv").text
    assert stadt.email not in network_csv and stadt.organisation.name in network_csv
    csv = clients["stadt"].get(f"{url}.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    assert csv.data.startswith("\ufeff".encode())  # German Excel reads the umlauts right
    header, *rows = [line.split(";") for line in csv.text.lstrip("\ufeff").splitlines()]
    assert header == ["id", "at", "action", "user", "organisation", "object_type", "object_id"]
    assert [stadt.email, stadt.organisation.name] in [row[3:5] for row in rows]
    assert db.scalar(select(AuditEvent).where(AuditEvent.object_type == "audit_trail"))


def test_own_activity_lists_own_logins(setup):
    _stadt, _caritas, case, _note, clients = setup
    address = {"REMOTE_ADDR": "198.51.100.23"}
    assert clients["stadt"].get(f"/cases/{case.id}", environ_base=address).status_code == 200
    page = clients["stadt"].get("/account/activity")
    assert page.status_code == 200 and "angemeldet" in page.text
    assert "198.51.100.23" not in page.text  # addresses: only in the security log


def test_addresses_are_in_the_administrators_security_log_only(app, db, setup, make_user):
    _stadt, _caritas, case, _note, clients = setup
    address = {"REMOTE_ADDR": "198.51.100.23"}
    assert clients["stadt"].get(f"/cases/{case.id}", environ_base=address).status_code == 200
    admin = app.test_client()
    Auth(admin).login(make_user(role="network_admin").email)
    log = admin.get("/admin/security")
    assert log.status_code == 200
    assert "198.51.100.23" in log.text and "angemeldet" in log.text
    assert db.scalar(select(AuditEvent).where(AuditEvent.object_type == "security_log"))
    for name in ("stadt", "caritas"):
        assert clients[name].get("/admin/security").status_code == 403


def test_export_zip_is_complete_and_audited(db, setup):
    _stadt, _caritas, case, _note, clients = setup
    page = f"/cases/{case.id}/data-request"
    assert clients["caritas"].get(page).status_code == 404
    response = _post(clients["stadt"], f"/cases/{case.id}/export", {}, page)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert any(n.endswith(".txt") for n in archive.namelist())
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "export"))


def _summary_text(archive: zipfile.ZipFile, name: str) -> str:
    reader = PdfReader(io.BytesIO(archive.read(name)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_person_reads_the_summary_in_german_or_english(db, setup):
    """Art. 15 for the person: a readable PDF of what is held and who accessed it, naming
    organisations, not staff; English on request."""
    stadt, caritas, case, note, clients = setup
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id],
                    purpose="Beratung Wohnen", data_categories=["wohnen"])  # fmt: skip
    db.commit()
    assert clients["caritas"].get(f"/documents/{note.id}").status_code == 200
    page = f"/cases/{case.id}/data-request"
    german = zipfile.ZipFile(io.BytesIO(_post(clients["stadt"], f"/cases/{case.id}/export",
                                              {}, page).data))  # fmt: skip
    text = _summary_text(german, "auskunft.pdf")
    today = format_date(local_today(), "long", locale="de")
    caritas_org = caritas.organisation.name
    read = f"{caritas_org} hat am {today} den Beratungsvermerk „Beratungsvermerk“ gelesen."
    for expected in ("Auskunft", "Rania Haddad", case.reference, "Gespräch über Sprachkurs.",
                     "Beratung Wohnen", "Wohnen", read):  # fmt: skip
        assert expected in text, expected
    assert caritas.name not in text  # the partner's staff are not named
    english = zipfile.ZipFile(io.BytesIO(_post(
        clients["stadt"], f"/cases/{case.id}/export", {"language": "en"}, page
    ).data))  # fmt: skip
    text = _summary_text(english, "information.pdf")
    today = format_date(local_today(), "long", locale="en")
    assert "Information about your data" in text
    assert f"{caritas_org} read the consultation note “Beratungsvermerk” on {today}." in text


def test_erasure_needs_the_typed_reference(db, setup):
    _stadt, _caritas, case, _note, clients = setup
    page = f"/cases/{case.id}/data-request"
    wrong = _post(clients["stadt"], f"/cases/{case.id}/erase", {"confirm_reference": "KIM-1"}, page)
    assert wrong.status_code == 422
    assert db.get(Case, case.id) is not None
    right = _post(
        clients["stadt"], f"/cases/{case.id}/erase", {"confirm_reference": case.reference}, page
    )
    assert right.status_code == 302
    db.expunge_all()
    assert db.get(Case, case.id) is None
    assert db.scalar(select(DeletionCertificate)).reason == "erasure_request"
