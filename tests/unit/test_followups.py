"""Follow-ups (Wiedervorlagen): buckets by date, assignees, done/undo, access and purge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Case, FollowUp, utcnow
from portal.models.base import local_today
from portal.models.followup import MAX_FOLLOWUP_NOTE
from portal.services import consents, followups, retention
from portal.services.errors import AccessDenied, NotFound, ValidationFailed
from portal.services.retention import RetentionRule

WEDNESDAY = date(2026, 11, 25)


def _due(day: date) -> FollowUp:
    return FollowUp(due_on=day)


@pytest.mark.parametrize(
    ("today", "due", "bucket"),
    [
        (WEDNESDAY, date(2026, 11, 24), "overdue"),
        (WEDNESDAY, date(2025, 1, 1), "overdue"),
        (WEDNESDAY, WEDNESDAY, "today"),
        (WEDNESDAY, date(2026, 11, 26), "week"),
        (WEDNESDAY, date(2026, 11, 29), "week"),  # Sunday ends the week
        (WEDNESDAY, date(2026, 11, 30), "later"),  # next Monday
        (date(2026, 11, 29), date(2026, 11, 30), "later"),  # on a Sunday nothing is "this week"
        (date(2026, 11, 23), date(2026, 11, 29), "week"),  # Monday to Sunday
    ],
)
def test_buckets_follow_the_calendar_week(today, due, bucket):
    assert followups.bucket_of(_due(due), today) == bucket


def test_sort_into_buckets_keeps_the_order():
    items = [_due(WEDNESDAY - timedelta(days=3)), _due(WEDNESDAY), _due(WEDNESDAY + timedelta(1))]
    items += [_due(WEDNESDAY + timedelta(days=30)), _due(WEDNESDAY - timedelta(days=1))]
    buckets = followups.sort_into_buckets(items, WEDNESDAY)
    assert buckets.overdue == [items[0], items[4]]
    assert (buckets.today, buckets.week, buckets.later) == ([items[1]], [items[2]], [items[3]])
    assert buckets.total() == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25", date(2026, 11, 25)),
        (date(2026, 1, 2), date(2026, 1, 2)),
        ("2026-02-30", None),
        ("25.11.2026", None),
        ("20261125", None),
        ("2026-11-25T10:00", None),
        ("２０２６-11-25", None),  # full-width digits
        (20261125, None),
        (None, None),
    ],
)
def test_parse_date_takes_only_iso_days(value, expected):
    assert followups.parse_date(value) == expected


# ---------------------------------------------------------------- with a database


@pytest.fixture
def network(db, make_org, make_user, make_case):
    """Stadt leads a case; Caritas holds a consent; Diakonie has none."""
    stadt, caritas, diakonie = make_org(name="Stadt"), make_org(name="Caritas"), make_org()
    worker = make_user(org=stadt, name="Sabine Hoffmann")
    colleague = make_user(org=stadt, name="Jonas Becker")
    partner = make_user(org=caritas, name="Agnieszka Nowak")
    outsider = make_user(org=diakonie)
    case = make_case(worker)
    consent = consents.record(db, worker, case, organisation_ids=[caritas.id])
    db.commit()
    return {
        "worker": worker, "colleague": colleague, "partner": partner, "outsider": outsider,
        "case": case, "consent": consent, "caritas": caritas, "diakonie": diakonie,
    }  # fmt: skip


def _create(db, actor, case, due=None, **kwargs) -> FollowUp:
    followup = followups.create(db, actor, case, due_on=due or local_today(), **kwargs)
    db.commit()
    return followup


def _ids(db, user, **kwargs) -> set[int]:
    return {f.id for f in db.scalars(followups.list_statement(user, **kwargs))}


def test_default_assignee_is_the_creator_and_creation_is_audited(db, network):
    worker, case = network["worker"], network["case"]
    followup = _create(db, worker, case, note="  Rückruf Ausländerbehörde  ")
    assert (followup.assignee_user_id, followup.assignee_organisation_id) == (
        worker.id,
        worker.organisation_id,
    )
    assert followup.note == "Rückruf Ausländerbehörde"
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "followup"))
    assert (event.action, event.object_id, event.case_id, event.user_id) == (
        "create",
        followup.id,
        case.id,
        worker.id,
    )
    assert "Rückruf" not in event.detail  # the note is content, not audit detail


def test_mine_and_organisation_lists(db, network):
    worker, colleague, partner, case = (
        network[k] for k in ("worker", "colleague", "partner", "case")
    )
    own = _create(db, worker, case)
    theirs = _create(db, worker, case, assignee_user_id=colleague.id)
    anyone = _create(db, worker, case, assignee_organisation_id=worker.organisation_id)
    caritas = _create(db, worker, case, assignee_organisation_id=network["caritas"].id)
    assert _ids(db, worker) == {own.id, anyone.id}
    assert _ids(db, colleague) == {theirs.id, anyone.id}
    assert _ids(db, worker, scope="organisation") == {own.id, theirs.id, anyone.id}
    assert _ids(db, partner) == {caritas.id}
    assert _ids(db, network["outsider"], scope="organisation") == set()


def test_due_before_is_exclusive(db, network):
    worker, case = network["worker"], network["case"]
    today = local_today()
    past = _create(db, worker, case, due=today - timedelta(days=2))
    _create(db, worker, case, due=today)
    assert _ids(db, worker, due_before=today) == {past.id}


def test_done_and_undo_are_audited_and_move_between_lists(db, network):
    worker, colleague, case = network["worker"], network["colleague"], network["case"]
    followup = _create(db, worker, case)
    assert followups.set_done(db, colleague, followup, True) is True  # a colleague covers
    assert followups.set_done(db, colleague, followup, True) is False  # no second event
    db.commit()
    assert followup.done_by_id == colleague.id and followup.done_at is not None
    assert _ids(db, worker) == set()
    assert [f.id for f in followups.recently_done(db, worker)] == [followup.id]
    assert _ids(db, worker, status="done") == {followup.id}
    followups.set_done(db, worker, followup, False)
    db.commit()
    assert followup.done_at is None and followup.done_by_id is None
    assert _ids(db, worker) == {followup.id}
    details = db.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "update").order_by(AuditEvent.id)
    ).all()
    assert details == ['{"done": true}', '{"done": false}']


def test_done_list_covers_thirty_days(db, network):
    worker, case = network["worker"], network["case"]
    old, recent = _create(db, worker, case), _create(db, worker, case)
    old.done_at = utcnow() - timedelta(days=31)
    recent.done_at = utcnow() - timedelta(days=29)
    db.commit()
    assert [f.id for f in followups.recently_done(db, worker)] == [recent.id]


INVALID = [
    ({"due_on": None}, {"due_on": "required"}),
    ({"due_on": "2026-13-01"}, {"due_on": "invalid_date"}),
    ({"due_on": "morgen"}, {"due_on": "invalid_date"}),
    ({"due_on": date(1999, 1, 1)}, {"due_on": "too_early"}),
    ({"due_on": date(2999, 1, 1)}, {"due_on": "too_late"}),
    ({"note": "x" * (MAX_FOLLOWUP_NOTE + 1)}, {"note": "too_long"}),
    ({"note": 42}, {"note": "invalid"}),
    ({"assignee_user_id": 10**12}, {"assignee_user_id": "unknown_or_inactive"}),
    ({"assignee_user_id": "1"}, {"assignee_user_id": "unknown_or_inactive"}),
    ({"assignee_organisation_id": True}, {"assignee_organisation_id": "unknown_or_inactive"}),
]


def test_invalid_input_is_refused_with_fields(db, network):
    for kwargs, fields in INVALID:
        with pytest.raises(ValidationFailed) as caught:
            followups.create(
                db, network["worker"], network["case"], **{"due_on": local_today(), **kwargs}
            )
        assert caught.value.fields == fields, kwargs
    assert db.scalar(select(FollowUp)) is None


def test_a_note_of_exactly_the_limit_is_fine(db, network):
    followup = _create(db, network["worker"], network["case"], note="ä" * MAX_FOLLOWUP_NOTE)
    assert len(followup.note) == MAX_FOLLOWUP_NOTE


def test_assignees_need_access_to_the_case(db, network, make_user):
    worker, case, diakonie = network["worker"], network["case"], network["diakonie"]
    cases = [
        ({"assignee_user_id": network["outsider"].id}, {"assignee_user_id": "no_access"}),
        ({"assignee_organisation_id": diakonie.id}, {"assignee_organisation_id": "no_access"}),
        (
            {"assignee_user_id": network["partner"].id,
             "assignee_organisation_id": worker.organisation_id},
            {"assignee_organisation_id": "not_the_users_organisation"},
        ),
        # A read-only colleague could not mark it done.
        ({"assignee_user_id": make_user(role="readonly", org=worker.organisation).id},
         {"assignee_user_id": "no_access"}),
    ]  # fmt: skip
    for kwargs, fields in cases:
        with pytest.raises(ValidationFailed) as caught:
            followups.create(db, worker, case, due_on=local_today(), **kwargs)
        assert caught.value.fields == fields
    inactive = network["colleague"]
    inactive.active = False
    db.commit()
    with pytest.raises(ValidationFailed) as caught:
        followups.create(db, worker, case, due_on=local_today(), assignee_user_id=inactive.id)
    assert caught.value.fields == {"assignee_user_id": "unknown_or_inactive"}
    partner = _create(db, worker, case, assignee_user_id=network["partner"].id)
    assert partner.assignee_organisation_id == network["caritas"].id


def test_readers_cannot_create_and_outsiders_do_not_see_the_case(db, network, make_user):
    worker, case = network["worker"], network["case"]
    readonly = make_user(role="readonly", org=worker.organisation)
    with pytest.raises(AccessDenied):
        followups.create(db, readonly, case, due_on=local_today())
    with pytest.raises(NotFound):
        followups.create(db, network["outsider"], case, due_on=local_today())
    followup = _create(db, worker, case)
    with pytest.raises(AccessDenied):
        followups.set_done(db, readonly, followup, True)
    with pytest.raises(NotFound):
        followups.get_followup(db, network["outsider"], followup.id)
    assert followups.get_followup(db, readonly, followup.id) is followup


def test_a_revoked_consent_hides_the_partners_followups_at_once(db, network):
    worker, partner, case = network["worker"], network["partner"], network["case"]
    followup = _create(db, worker, case, assignee_user_id=partner.id)
    assert _ids(db, partner) == {followup.id}
    consents.revoke(db, worker, case, network["consent"].id)
    db.commit()
    assert _ids(db, partner) == set()
    assert _ids(db, partner, scope="organisation", status="all") == set()
    with pytest.raises(NotFound):
        followups.get_followup(db, partner, followup.id)
    assert followups.assignable_organisations(db, case) == [worker.organisation]
    assert worker in followups.assignable_users(db, case)
    assert partner not in followups.assignable_users(db, case)


def test_purge_removes_the_cases_followups(db, app, network):
    worker, case = network["worker"], network["case"]
    _create(db, worker, case)
    _create(db, worker, case, assignee_organisation_id=network["caritas"].id)
    row = db.get(Case, case.id)
    row.closed_at = utcnow() - timedelta(days=5 * 366)
    db.commit()
    report = retention.purge_due(db, app.extensions["portal.blobs"], RetentionRule(default_years=3))
    db.commit()
    assert report.case_ids == [case.id]
    assert report.counts["followups"] == 2
    assert db.scalar(select(func.count()).select_from(FollowUp)) == 0
