"""``/metrics`` (issue 18, item 3): Prometheus text for loopback scrapes or with the token;
requests by route template (never an id), outbox, sessions, PDFs, searches, extraction,
throttled logins."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.models import OutboxJob, utcnow
from tests.conftest import TEST_PASSWORD

ELSEWHERE = {"REMOTE_ADDR": "192.0.2.7"}


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by name and sorted labels."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---------------------------------------------------------------- who may scrape


def test_loopback_scrapes_without_a_token_others_need_it(app, client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 403
    # Through a proxy every client would look local: a forwarded request needs the token.
    forwarded = client.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
    assert forwarded.status_code == 403
    app.extensions["portal.settings"].metrics_token = "scrape-token-0123456789"
    good = {"Authorization": "Bearer scrape-token-0123456789"}
    assert client.get("/metrics", environ_base=ELSEWHERE, headers=good).status_code == 200
    for wrong in ("Bearer scrape-token-012345678", "Basic scrape-token-0123456789", "Bearer "):
        refused = client.get("/metrics", environ_base=ELSEWHERE, headers={"Authorization": wrong})
        assert refused.status_code == 403, wrong


def test_no_token_configured_means_no_scrape_from_elsewhere(client):
    headers = {"Authorization": "Bearer "}
    assert client.get("/metrics", environ_base=ELSEWHERE, headers=headers).status_code == 403


# ---------------------------------------------------------------- requests


def test_requests_count_by_route_template_and_status_never_by_id(client, auth, make_user):
    before = scrape(client)
    auth.login(make_user().email)
    for case_id in (990001, 990002, 990003):
        assert client.get(f"/cases/{case_id}").status_code == 404
    for unknown in ("/nirgends", "/gibt/es/nicht", "/x%00y"):
        client.get(unknown)
    client.open("/health/live", method="BREW")
    after = scrape(client)

    route = {"method": "GET", "route": "/cases/<int:case_id>"}
    assert (
        value(after, "kim_http_responses_total", **route, status="404")
        - value(before, "kim_http_responses_total", **route, status="404")
        == 3
    )
    count = "kim_http_request_duration_seconds_count"
    assert value(after, count, **route) - value(before, count, **route) == 3
    unmatched = value(after, count, method="GET", route="-") - value(
        before, count, method="GET", route="-"
    )
    assert unmatched == 3
    assert value(after, count, method="other", route="-") >= 1
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert not any(str(n) in r for r in routes for n in (990001, 990002, 990003))
    assert not any("nirgends" in r for r in routes)


# ---------------------------------------------------------------- shared state


def test_outbox_backlog_and_live_sessions_are_read_at_scrape_time(client, db, auth, make_user):
    assert value(scrape(client), "kim_outbox_jobs") == 0
    db.add(OutboxJob(kind="index_document", object_id=1, created_at=utcnow() - timedelta(hours=1)))
    db.commit()
    sessions_before = value(scrape(client), "kim_sessions_active")
    auth.login(make_user().email)
    samples = scrape(client)
    assert value(samples, "kim_outbox_jobs") == 1
    assert value(samples, "kim_outbox_oldest_job_age_seconds") >= 3600
    assert value(samples, "kim_sessions_active") == sessions_before + 1
    auth.logout()
    assert value(scrape(client), "kim_sessions_active") == sessions_before


# ---------------------------------------------------------------- services


def test_throttled_logins_are_counted(client, auth, make_user):
    user = make_user()
    before = value(scrape(client), "kim_logins_throttled_total")
    for attempt in range(10):
        auth.login(user.email, f"falsch-{attempt}")
    assert value(scrape(client), "kim_logins_throttled_total") == before
    assert auth.login(user.email, TEST_PASSWORD).status_code == 429
    assert value(scrape(client), "kim_logins_throttled_total") == before + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_searches_pdfs_and_extractions_are_timed_and_counted(
    client, api, worker, make_case, make_note, search_backend
):
    case = make_case(worker)
    note = make_note(worker, case, "Sprachkurs B1 angemeldet.")
    before = scrape(client)
    assert api(worker).get("/api/v1/search", query_string={"q": "Sprachkurs"}).status_code == 200
    assert api(worker).get(f"/api/v1/documents/{note.id}/pdf").status_code == 200
    upload = api(worker).post(
        f"/api/v1/cases/{case.id}/documents",
        data={"file": (io.BytesIO(b"Telefonnotiz: Termin am Montag."), "notiz.txt")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.text
    after = scrape(client)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("kim_search_duration_seconds_count", backend="tantivy") == 1
    assert grew("kim_pdf_render_duration_seconds_count") == 1
    assert grew("kim_pdf_render_failures_total") == 0
    assert grew("kim_text_extractions_total", status="done") == 1
