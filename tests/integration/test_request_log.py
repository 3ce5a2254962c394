"""The access log and request ids (issue 18): one line per request, without names,
queries or contents; the id from X-Request-ID or made, answered and in the audit events."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from portal.models import AuditEvent
from portal.web import AccessLogFormat
from tests.conftest import Auth


def test_every_request_has_an_id_that_the_audit_events_name(client, db, make_user, caplog):
    user = make_user()
    caplog.set_level(logging.INFO, logger="portal.access")
    logging.getLogger("portal.access").addHandler(caplog.handler)
    try:
        made = client.get("/health")
        assert len(made.headers["X-Request-ID"]) == 32
        kept = client.get("/health", headers={"X-Request-ID": "lb-4711.a"})
        assert kept.headers["X-Request-ID"] == "lb-4711.a"
        odd = client.get("/health", headers={"X-Request-ID": "x" * 65})
        assert odd.headers["X-Request-ID"] != "x" * 65  # not a plain token: a new one
        Auth(client).login(user.email)
        search = client.get("/search?q=Geheimwort", headers={"X-Request-ID": "req-search-1"})
        assert search.status_code == 200
    finally:
        logging.getLogger("portal.access").removeHandler(caplog.handler)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "search")).one()
    assert json.loads(event.detail)["request"] == "req-search-1"
    lines = [r.access for r in caplog.records if hasattr(r, "access")]
    line = next(line for line in lines if line["request_id"] == "req-search-1")
    assert line == {"method": "GET", "route": "/search", "status": 200, "ms": line["ms"],
                    "request_id": "req-search-1", "user_id": user.id}  # fmt: skip
    text = " ".join(json.dumps(line) for line in lines)
    assert "Geheimwort" not in text and user.email not in text and user.name not in text


def test_the_access_log_is_json_on_request():
    record = logging.LogRecord("portal.access", logging.INFO, "", 0, "request", None, None)
    record.access = {"method": "GET", "route": "/cases/<int:case_id>", "status": 200}
    line = AccessLogFormat(as_json=True).format(record)
    assert json.loads(line)["route"] == "/cases/<int:case_id>"
    assert "route=/cases/<int:case_id>" in AccessLogFormat(as_json=False).format(record)
