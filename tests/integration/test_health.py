"""Health probes for load balancers and monitoring (issue 18): live, and ready with what
fails, as facts without personal data."""

from __future__ import annotations

from datetime import timedelta

from portal.models import OutboxJob, utcnow

CHECKS = {"database", "schema", "outbox", "search", "disk"}


def test_the_process_answers_live_without_a_login(client):
    for url in ("/health", "/health/live"):
        response = client.get(url)
        assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_a_working_portal_is_ready(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["outbox"]["jobs"] == 0
    assert body["checks"]["schema"]["revision"] == body["checks"]["schema"]["newest"]
    assert body["checks"]["disk"]["free_bytes"] > 0


def test_work_piling_up_or_an_unreadable_index_is_not_ready(app, client, db, monkeypatch):
    db.add(OutboxJob(kind="index_document", object_id=1, created_at=utcnow() - timedelta(hours=1)))
    db.commit()
    stuck = client.get("/health/ready")
    assert stuck.status_code == 503
    outbox = stuck.get_json()["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["jobs"] == 1 and outbox["oldest_seconds"] >= 3600

    def broken(*_args, **_kwargs):
        raise OSError("index gone")

    monkeypatch.setattr(app.extensions["portal.search"], "search", broken)
    unreadable = client.get("/health/ready").get_json()
    assert unreadable["status"] == "not_ready" and unreadable["checks"]["search"] == {"ok": False}


def test_the_limits_are_settings(app, client, db):
    db.add(OutboxJob(kind="index_document", object_id=1, created_at=utcnow() - timedelta(hours=1)))
    db.commit()
    settings = app.extensions["portal.settings"]
    settings.ready_outbox_minutes = 120  # an hour-old job is fine when two are allowed
    assert client.get("/health/ready").status_code == 200
    settings.ready_outbox_jobs = 0
    assert client.get("/health/ready").get_json()["checks"]["outbox"]["ok"] is False
    settings.ready_outbox_jobs, settings.ready_free_disk_mb = 1000, 10**12  # an exabyte
    disk = client.get("/health/ready").get_json()["checks"]["disk"]
    assert disk["ok"] is False and disk["free_bytes"] > 0
