"""Reads are audited by the services, so that pages and the API leave the same trail."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from portal import jobs
from portal.models import AuditEvent
from portal.services import documents
from tests.conftest import Auth


def _reads(db, since: int) -> list[tuple]:
    db.rollback()
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.id > since, AuditEvent.action != "login")
    )
    return [(e.action, e.object_type, e.object_id, _facts(e.detail)) for e in events]


def _facts(detail: str) -> dict:
    """What an event says, without the id of the request that recorded it (each its own)."""
    facts = json.loads(detail)
    assert facts.pop("request", None)  # every read through pages or API names its request
    return facts


def _last_id(db) -> int:
    db.rollback()
    return db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def test_pages_and_api_audit_the_same_reads(app, db, api, worker, make_case, save_ctx):
    case = make_case(worker)
    upload = documents.Upload(io.BytesIO(b"Bescheid vom Jobcenter"), "bescheid.txt")
    file = documents.create_document(
        db, worker, case, doc_type="file", title="Bescheid", ctx=save_ctx,
        content=documents.Content(upload=upload),
    )  # fmt: skip
    db.commit()
    with app.app_context():
        jobs.drain(app)  # text extraction and the search index
    pages = app.test_client()
    Auth(pages).login(worker.email)

    start = _last_id(db)
    assert pages.get(f"/documents/{file.id}").status_code == 200
    assert pages.get(f"/documents/{file.id}/versions/1/file").status_code == 200
    assert pages.get(f"/documents/{file.id}/diff?from=1&to=1").status_code == 200
    assert pages.get("/search?q=Bescheid").status_code == 200
    on_pages = _reads(db, start)

    client = api(worker)
    start = _last_id(db)
    assert client.get(f"/api/v1/documents/{file.id}/versions/1").status_code == 200
    assert client.get(f"/api/v1/documents/{file.id}/versions/1/content").status_code == 200
    assert client.get(f"/api/v1/documents/{file.id}/diff?from=1&to=1").status_code == 200
    assert client.get("/api/v1/search?q=Bescheid").status_code == 200
    on_api = _reads(db, start)

    expected = [
        ("view", "document", file.id, {"version": 1}),
        ("download", "document", file.id, {"version": 1}),
        ("view", "document", file.id, {"diff": [1, 1]}),
        ("search", "search", None, {"hits": 1, "incomplete": False}),
    ]
    assert on_pages == [(*e[:3], {"via": "web", **e[3]}) for e in expected]
    assert on_api == [(*e[:3], {"via": "api", **e[3]}) for e in expected]
