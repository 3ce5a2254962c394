"""The agreement API: signed scans, goals with their history, goal status updates."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from portal.models.base import local_today
from tests.conftest import REALDOCS
from tests.integration.test_api import assert_error, assert_matches, response_schema

PDF = REALDOCS / "002-trivial-libre-office-writer.pdf"
GOALS = [
    {"area": "sprache", "goal": "Deutsch B1", "due_date": "2020-01-31", "status": "open"},
    {"area": "arbeit", "goal": "Praktikum", "status": "in_progress"},
]


@pytest.fixture
def case(worker, make_case):
    return make_case(worker)


@pytest.fixture
def agreement(api, worker, case) -> dict:
    body = {"type": "agreement", "title": "Integrationsvereinbarung", "fields": {"goals": GOALS}}
    response = api(worker).post(f"/api/v1/cases/{case.id}/documents", json=body)
    assert response.status_code == 201, response.text
    return response.get_json()


def sign(api, user, document_id, *, version="1", signed_on=None, data=None, **extra):
    fields = {
        "file": (io.BytesIO(PDF.read_bytes() if data is None else data), "scan.pdf"),
        "version": version,
        "signed_on": signed_on or local_today().isoformat(),
        **extra,
    }
    return api(user).post(
        f"/api/v1/documents/{document_id}/signed", data=fields, content_type="multipart/form-data"
    )


def statuses(api, user, document_id, base_version, new_statuses):
    goals = [dict(goal, status=status) for goal, status in zip(GOALS, new_statuses, strict=True)]
    return api(user).post(
        f"/api/v1/documents/{document_id}/versions",
        json={"base_version": base_version, "fields": {"goals": goals}},
    )


def test_signed_scan_is_201_with_the_version_schema(api, spec, worker, agreement):
    response = sign(api, worker, agreement["id"])
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert_matches(
        spec, response_schema(spec, "/documents/{document_id}/signed", "post", 201), body
    )
    assert body["number"] == 2 and body["comment"] == "Unterschriebene Fassung von Version 1"
    assert body["fields"]["signed_on"] == local_today().isoformat()
    assert body["file"]["media_type"] == "application/pdf"
    assert response.headers["Location"].endswith(f"/documents/{agreement['id']}/versions/2")
    content = api(worker).get(f"/api/v1/documents/{agreement['id']}/versions/2/content")
    assert content.data == PDF.read_bytes()


def test_signed_scan_conflicts_stale_and_already_signed(api, worker, agreement):
    doc = agreement["id"]
    assert statuses(api, worker, doc, 1, ["done", "in_progress"]).status_code == 201
    stale = assert_error(sign(api, worker, doc, version="1"), 409, "stale_version")
    assert stale["fields"] == {"current_version": 2}
    assert sign(api, worker, doc, version="2").status_code == 201
    assert_error(sign(api, worker, doc, version="3"), 409, "already_signed")
    # a status update keeps the signature, and the version stays frozen
    kept = statuses(api, worker, doc, 3, ["done", "done"])
    assert kept.status_code == 201 and kept.get_json()["fields"]["signed_on"]
    assert kept.get_json()["file"] is None
    assert_error(sign(api, worker, doc, version="4"), 409, "already_signed")


@pytest.mark.parametrize(
    ("signed_on", "code"),
    [(1, "in_future"), (-1, "before_version"), ("2026-02-31", "invalid_date"), ("", "required")],
)
def test_bad_signing_dates_are_422(api, worker, agreement, signed_on, code):
    if isinstance(signed_on, int):
        signed_on = (local_today() + timedelta(days=signed_on)).isoformat()
    if signed_on:
        response = sign(api, worker, agreement["id"], signed_on=signed_on)
    else:  # left out
        response = api(worker).post(
            f"/api/v1/documents/{agreement['id']}/signed",
            data={"file": (io.BytesIO(PDF.read_bytes()), "s.pdf"), "version": "1"},
            content_type="multipart/form-data",
        )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"] == {"signed_on": code}


def test_bad_scan_requests(api, worker, agreement):
    doc = agreement["id"]
    hostile = sign(api, worker, doc, data=b"<!DOCTYPE html><script>alert(1)</script>")
    assert_error(hostile, 415, "unsupported_type")
    assert_error(sign(api, worker, doc, data=b"plain text is no scan\n"), 415)
    missing = api(worker).post(
        f"/api/v1/documents/{doc}/signed",
        data={"version": "x", "signed_on": "2026-01-01", "colour": "blue"},
        content_type="multipart/form-data",
    )
    error = assert_error(missing, 422)
    assert error["fields"] == {"version": "must_be_integer", "file": "required",
                               "colour": "unknown_field"}  # fmt: skip
    assert_error(api(worker).post(f"/api/v1/documents/{doc}/signed", json={}), 400)
    assert_error(sign(api, worker, doc, version="9"), 422)
    versions = api(worker).get(f"/api/v1/documents/{doc}").get_json()["versions"]
    assert [v["number"] for v in versions] == [1]


def test_scan_of_an_invisible_agreement_is_404_and_read_only_is_403(
    api, make_user, worker, agreement, partner, case, make_note
):
    assert_error(sign(api, partner, agreement["id"]), 404)
    assert api(partner).get(f"/api/v1/documents/{agreement['id']}/goals").status_code == 404
    reader = make_user(role="readonly", org=worker.organisation)
    assert_error(sign(api, reader, agreement["id"]), 403)
    assert api(reader).get(f"/api/v1/documents/{agreement['id']}/goals").status_code == 200
    note = make_note(worker, case)
    assert_error(sign(api, worker, note.id), 404)


def test_unknown_goal_status_is_422(api, worker, agreement):
    response = statuses(api, worker, agreement["id"], 1, ["finished", "open"])
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"] == {"fields.goals[0].status": "invalid_status"}


def test_goals_with_history(api, spec, worker, agreement):
    doc = agreement["id"]
    assert statuses(api, worker, doc, 1, ["in_progress", "in_progress"]).status_code == 201
    late = api(worker).get(f"/api/v1/documents/{doc}/goals").get_json()["items"][0]
    assert late["days_overdue"] == (local_today() - local_today().replace(2020, 1, 31)).days
    assert statuses(api, worker, doc, 2, ["done", "in_progress"]).status_code == 201
    response = api(worker).get(f"/api/v1/documents/{doc}/goals")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(spec, response_schema(spec, "/documents/{document_id}/goals", "get", 200), body)
    assert body["total"] == 2 and body["page"] == 1
    german, work = body["items"]
    assert [(h["version"], h["status"]) for h in german["history"]] == [
        (1, "open"), (2, "in_progress"), (3, "done"),
    ]  # fmt: skip
    assert german["history"][0]["author"]["id"] == worker.id
    assert [(h["version"], h["status"]) for h in work["history"]] == [(1, "in_progress")]
    assert german["days_overdue"] == 0  # done: no longer overdue
    assert work["days_overdue"] == 0
    first = api(worker).get(f"/api/v1/documents/{doc}/goals?per_page=1&page=2").get_json()
    assert [item["position"] for item in first["items"]] == [1]
