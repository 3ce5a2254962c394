"""The follow-up API: list with due_before/scope/status, create on a case, mark done, access."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent
from portal.models.base import local_today
from portal.services import consents
from tests.integration.test_api import assert_error, assert_matches, response_schema

LIST = "/cases/{case_id}/followups"


@pytest.fixture
def case(db, worker, partner, make_case):
    """A Stadt case released to Caritas."""
    case = make_case(worker, given_name="Rania", family_name="Haddad")
    case.consent = consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    db.commit()
    return case


def _day(offset: int) -> str:
    return (local_today() + timedelta(days=offset)).isoformat()


def _create(api, user, case, status=201, **body) -> dict:
    response = api(user).post(f"/api/v1/cases/{case.id}/followups", json=body)
    assert response.status_code == status, response.text
    return response.get_json()


def test_create_and_read_back(api, db, spec, worker, partner, case):
    response = api(worker).post(
        f"/api/v1/cases/{case.id}/followups",
        json={"due_on": _day(-1), "note": "Bescheid prüfen", "assignee_user_id": partner.id},
    )
    assert response.status_code == 201, response.text
    item = response.get_json()
    assert_matches(spec, response_schema(spec, LIST, "post", 201), item)
    assert item == {
        "id": item["id"],
        "case_id": case.id,
        "case_reference": case.reference,
        "due_on": _day(-1),
        "note": "Bescheid prüfen",
        "assignee_user": {"id": partner.id, "name": "Agnieszka Nowak"},
        "assignee_organisation": {
            "id": partner.organisation_id,
            "name": "Caritasverband Gütersloh",
        },
        "created_at": item["created_at"],
        "created_by": {"id": worker.id, "name": "Sabine Hoffmann"},
        "done_at": None,
        "overdue": True,
    }
    assert response.headers["Location"].endswith(f"/api/v1/followups/{item['id']}")
    one = api(partner).get(f"/api/v1/followups/{item['id']}")
    assert one.status_code == 200 and one.get_json() == item
    assert_matches(spec, response_schema(spec, "/followups/{followup_id}", "get", 200), item)
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "followup"))
    assert (event.action, event.object_id, event.case_id) == ("create", item["id"], case.id)


def test_default_assignee_and_minimal_body(api, worker, case):
    item = _create(api, worker, case, due_on=_day(0), note=None)
    assert item["assignee_user"]["id"] == worker.id and item["note"] == ""
    assert item["overdue"] is False


def test_list_mine_organisation_status_and_due_before(api, spec, worker, partner, case, make_user):
    colleague = make_user(org=worker.organisation)
    overdue = _create(api, worker, case, due_on=_day(-2))["id"]
    today = _create(api, worker, case, due_on=_day(0))["id"]
    later = _create(api, worker, case, due_on=_day(30))["id"]
    theirs = _create(api, worker, case, due_on=_day(1), assignee_user_id=colleague.id)["id"]
    anyone = _create(
        api, worker, case, due_on=_day(3), assignee_organisation_id=worker.organisation_id
    )["id"]

    def ids(user, query=""):
        body = api(user).get(f"/api/v1/followups{query}").get_json()
        assert_matches(spec, response_schema(spec, "/followups", "get", 200), body)
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    assert ids(worker) == [overdue, today, anyone, later]  # earliest due first
    assert ids(worker, f"?due_before={_day(1)}") == [overdue, today]
    assert ids(worker, "?scope=organisation") == [overdue, today, theirs, anyone, later]
    assert ids(colleague) == [theirs, anyone]
    assert ids(partner) == []
    done = api(worker).patch(f"/api/v1/followups/{today}", json={"done": True})
    assert done.status_code == 200 and done.get_json()["done_at"] is not None
    assert_matches(
        spec, response_schema(spec, "/followups/{followup_id}", "patch", 200), done.get_json()
    )
    assert ids(worker, "?status=done") == [today]
    assert ids(worker, "?status=all") == [overdue, today, anyone, later]
    assert today not in ids(worker)
    case_list = api(worker).get(f"/api/v1/cases/{case.id}/followups?status=all").get_json()
    assert_matches(spec, response_schema(spec, LIST, "get", 200), case_list)
    assert case_list["total"] == 5
    paged = api(worker).get("/api/v1/followups?per_page=2&page=2").get_json()
    assert (paged["total"], paged["page"], [i["id"] for i in paged["items"]]) == (3, 2, [later])


BAD_QUERIES = [
    "due_before=morgen", "due_before=2026-02-30", "due_before=", "due_before=20261125",
    "scope=everyone", "status=closed", "page=0",
]  # fmt: skip


def test_bad_query_parameters_are_400(api, worker, case):
    for query in BAD_QUERIES:
        assert_error(api(worker).get(f"/api/v1/followups?{query}"), 400)
    assert_error(api(worker).get(f"/api/v1/cases/{case.id}/followups?status=x"), 400)


INVALID_BODIES = [
    ({}, {"due_on": "required"}),
    ({"due_on": "31.12.2026"}, {"due_on": "invalid_date"}),
    ({"due_on": 20261231}, {"due_on": "invalid_date"}),
    ({"due_on": "1970-01-01"}, {"due_on": "too_early"}),
    ({"due_on": "2999-01-01"}, {"due_on": "too_late"}),
    ({"due_on": _day(1), "note": "x" * 2001}, {"note": "too_long"}),
    ({"due_on": _day(1), "note": ["x"]}, {"note": "invalid"}),
    ({"due_on": _day(1), "assignee_user_id": 2**40},
     {"assignee_user_id": "unknown_or_inactive"}),
    ({"due_on": _day(1), "assignee_organisation_id": "1"},
     {"assignee_organisation_id": "unknown_or_inactive"}),
    ({"due_on": _day(1), "done": True}, {"done": "unknown_field"}),
]  # fmt: skip


def test_invalid_bodies_are_422(api, db, worker, case):
    for body, fields in INVALID_BODIES:
        response = api(worker).post(f"/api/v1/cases/{case.id}/followups", json=body)
        assert assert_error(response, 422)["fields"] == fields, body
    assert db.scalar(select(AuditEvent).where(AuditEvent.object_type == "followup")) is None


def test_assignee_of_an_organisation_without_access_is_422(api, worker, case, make_user, make_org):
    outsider = make_user(org=make_org(name="Diakonie"))
    for body, fields in (
        ({"assignee_user_id": outsider.id}, {"assignee_user_id": "no_access"}),
        ({"assignee_organisation_id": outsider.organisation_id},
         {"assignee_organisation_id": "no_access"}),
    ):  # fmt: skip
        response = api(worker).post(
            f"/api/v1/cases/{case.id}/followups", json={"due_on": _day(1), **body}
        )
        assert assert_error(response, 422)["fields"] == fields


def test_body_must_be_an_object(api, worker, case):
    for body in ("[]", "nonsense", '"2026-12-01"'):
        response = api(worker).post(
            f"/api/v1/cases/{case.id}/followups", data=body, content_type="application/json"
        )
        assert_error(response, 400)


def test_who_may_create_and_change(api, db, worker, partner, case, make_user, make_org):
    readonly = make_user(role="readonly", org=worker.organisation)
    coordinator = make_user(role="coordinator", org=make_org())
    url = f"/api/v1/cases/{case.id}/followups"
    assert_error(api(readonly).post(url, json={"due_on": _day(1)}), 403, "forbidden")
    assert_error(api(coordinator).post(url, json={"due_on": _day(1)}), 404, "not_found")
    assert_error(api(worker).post("/api/v1/cases/999999/followups", json={}), 404)
    assert_error(api(worker).post(f"/api/v1/cases/{2**40}/followups", json={}), 404)
    item = _create(api, worker, case, due_on=_day(1))
    one = f"/api/v1/followups/{item['id']}"
    assert api(readonly).get(one).status_code == 200
    assert_error(api(readonly).patch(one, json={"done": True}), 403)
    assert_error(api(coordinator).get(one), 404)
    assert_error(api(coordinator).patch(one, json={"done": True}), 404)
    assert_error(api(coordinator).get(f"/api/v1/cases/{case.id}/followups"), 404)
    for body, fields in (({}, {"done": "required"}), ({"done": "yes"}, {"done": "invalid"}),
                         ({"done": True, "x": 1}, {"x": "unknown_field"})):  # fmt: skip
        assert assert_error(api(worker).patch(one, json=body), 422)["fields"] == fields
    undone = api(partner).patch(one, json={"done": False})  # already open: nothing changes
    assert undone.status_code == 200 and undone.get_json()["done_at"] is None
    assert api(partner).patch(one, json={"done": True}).get_json()["done_at"]
    assert api(worker).patch(one, json={"done": False}).get_json()["done_at"] is None
    actions = db.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.object_type == "followup", AuditEvent.action == "update"
        )
    ).all()
    assert [json.loads(a)["done"] for a in actions] == [True, False]


def test_partner_loses_consent_and_their_followups_pass_to_the_lead(api, db, worker, partner, case):
    item = _create(api, worker, case, due_on=_day(0), assignee_user_id=partner.id)
    assert [i["id"] for i in api(partner).get("/api/v1/followups").get_json()["items"]] == [
        item["id"]
    ]
    consents.revoke(db, worker, case, case.consent.id)
    db.commit()
    listing = api(partner).get("/api/v1/followups?scope=organisation&status=all").get_json()
    assert listing == {"items": [], "total": 0, "page": 1}
    assert_error(api(partner).get(f"/api/v1/followups/{item['id']}"), 404)
    assert_error(api(partner).patch(f"/api/v1/followups/{item['id']}", json={"done": True}), 404)
    assert_error(
        api(partner).post(f"/api/v1/cases/{case.id}/followups", json={"due_on": _day(1)}), 404
    )
    (passed,) = api(worker).get("/api/v1/followups?scope=organisation").get_json()["items"]
    assert passed["id"] == item["id"] and passed["assignee_user"] is None
    assert partner.name in passed["note"]  # says from whom
    assert api(worker).get(f"/api/v1/cases/{case.id}/followups").get_json()["total"] == 1


def test_followups_need_a_token(client, case):
    calls = (
        ("get", "/api/v1/followups"),
        ("post", f"/api/v1/cases/{case.id}/followups"),
        ("patch", "/api/v1/followups/1"),
    )
    for method, url in calls:
        assert_error(getattr(client, method)(url, json={}), 401, "unauthenticated")
