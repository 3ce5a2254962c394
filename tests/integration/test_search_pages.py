"""The search page: results only for what the user may see, highlights escaped, bad queries 400."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import jobs
from portal.models import AuditEvent
from portal.services import consents

# tantivy on SQLite, the PostgreSQL search backend on PostgreSQL.
pytestmark = pytest.mark.usefixtures("search_backend")


def test_search_finds_word_forms_and_audits_without_the_words(
    app, db, auth, client, make_user, make_case, make_note
):
    worker = make_user()
    case = make_case(worker, given_name="Oleksandr", family_name="Kovalenko")
    make_note(worker, case, title="Wohnung", text="Die Räume sind <b>feucht</b>.")
    jobs.drain(app)
    auth.login(worker.email)
    page = client.get("/search", query_string={"q": "Raeume"})
    assert page.status_code == 200
    assert "Wohnung" in page.text and case.reference in page.text
    assert "<mark>Räume</mark>" in page.text
    assert "&lt;b&gt;feucht" in page.text and "<b>feucht" not in page.text  # stays escaped
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "search"))
    assert "Raeume" not in event.detail


def test_other_organisation_sees_results_only_with_consent(
    app, db, auth, client, make_user, make_case, make_note
):
    worker, partner = make_user(), make_user()
    case = make_case(worker)
    make_note(worker, case, title="Geheimnis", text="Einzigartigeswort steht hier.")
    jobs.drain(app)
    auth.login(partner.email)
    assert "Geheimnis" not in client.get("/search?q=Einzigartigeswort").text
    consent = consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    db.commit()
    jobs.drain(app)
    assert "Geheimnis" in client.get("/search?q=Einzigartigeswort").text
    consents.revoke(db, worker, case, consent.id)
    db.commit()  # not drained: the policy re-check alone must hide it
    assert "Geheimnis" not in client.get("/search?q=Einzigartigeswort").text


def test_bad_queries_get_400_not_500(auth, client, make_user):
    auth.login(make_user().email)
    for q in ("ab*", "x" * 10_000, "-nur"):
        assert client.get("/search", query_string={"q": q}).status_code == 400
    assert client.get("/search", query_string={"q": "Wohnung", "phase": "x"}).status_code == 400
    assert client.get("/search").status_code == 200


def test_purged_case_is_gone_from_search(app, db, auth, client, make_user, make_case, make_note):
    from datetime import timedelta

    from portal.models import utcnow
    from portal.services import cases, retention

    worker = make_user()
    case = make_case(worker)
    make_note(worker, case, title="Bald weg", text="Vergissmeinnichtwiese im Vermerk.")
    jobs.drain(app)
    auth.login(worker.email)
    assert "Bald weg" in client.get("/search?q=Vergissmeinnichtwiese").text
    cases.update_case(db, worker, case, phase="abgeschlossen")
    case.closed_at = utcnow() - timedelta(days=4 * 365)
    db.commit()
    retention.purge_due(db, app.extensions["portal.blobs"], retention.RetentionRule(3))
    db.commit()
    jobs.drain(app)
    backend = app.extensions["portal.search"]
    assert backend.version_ids() == set()
    assert "Bald weg" not in client.get("/search?q=Vergissmeinnichtwiese").text


def test_document_page_lists_similar_documents(app, auth, client, make_user, make_case, make_note):
    worker = make_user()
    first = make_note(
        worker, make_case(worker), title="Wohnungssuche A", text="Wohnung Miete Kaution"
    )
    make_note(
        worker, make_case(worker), title="Wohnungssuche B", text="Wohnung Miete Kaution Umzug"
    )
    jobs.drain(app)
    auth.login(worker.email)
    page = client.get(f"/documents/{first.id}").text
    assert "Ähnliche Dokumente" in page and "Wohnungssuche B" in page and "anderer Fall" in page
