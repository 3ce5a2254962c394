"""Consent-based sharing: the access rule follows consents the moment they change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Case
from portal.models.base import local_today
from portal.services import access, cases, consents, documents
from portal.services.errors import AccessDenied, NotFound, ValidationFailed


@pytest.fixture
def shared(db, make_user, make_case, make_note):
    """A Stadt case with a shared and an internal note, and a Caritas caseworker."""
    stadt = make_user()
    caritas = make_user()
    case = make_case(stadt)
    note = make_note(stadt, case, text="Sprachkurs angemeldet.")
    internal = make_note(stadt, case, text="Nur intern.", visibility="internal")
    return stadt, caritas, case, note, internal


def _visible_case_ids(db, user) -> set[int]:
    return set(db.scalars(select(Case.id).where(access.case_contents_filter(user))))


def test_no_consent_no_access(db, shared):
    _stadt, caritas, case, note, _internal = shared
    with pytest.raises(NotFound):
        documents.get_document(db, caritas, note.id)
    assert case.id not in _visible_case_ids(db, caritas)


def test_current_consent_shares_case_documents_but_never_internal_ones(db, shared):
    stadt, caritas, case, note, internal = shared
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id], purpose="Beratung")
    db.commit()
    assert documents.get_document(db, caritas, note.id).id == note.id
    with pytest.raises(NotFound):
        documents.get_document(db, caritas, internal.id)
    assert case.id in _visible_case_ids(db, caritas)
    assert [d.id for d, _v in documents.list_documents(db, caritas, case)] == [note.id]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "share"))
    assert event.case_id == case.id


def test_revocation_takes_effect_immediately(db, shared):
    stadt, caritas, case, note, _internal = shared
    consent = consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    consents.revoke(db, stadt, case, consent.id, note="Person hat widerrufen")
    db.commit()
    db.expire_all()
    with pytest.raises(NotFound):
        documents.get_document(db, caritas, note.id)
    assert case.id not in _visible_case_ids(db, caritas)
    assert consent.revoked_by_id == stadt.id  # kept in the history


@pytest.mark.parametrize(
    ("start", "end", "visible"),
    [(-10, -1, False), (1, 10, False), (-10, 0, True), (0, None, True)],
)
def test_validity_period_counts_in_calendar_days(db, shared, start, end, visible):
    stadt, caritas, case, note, _internal = shared
    today = local_today()
    consents.record(
        db, stadt, case, organisation_ids=[caritas.organisation_id],
        valid_from=(today + timedelta(days=start)).isoformat(),
        valid_until=(today + timedelta(days=end)).isoformat() if end is not None else None,
    )  # fmt: skip
    db.commit()
    assert access.can(caritas, access.READ_DOCUMENT, note) is visible
    assert (case.id in _visible_case_ids(db, caritas)) is visible


def test_only_the_lead_organisation_records_consent(db, shared):
    stadt, caritas, case, _note, _internal = shared
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    with pytest.raises(AccessDenied):
        consents.record(db, caritas, case, organisation_ids=[caritas.organisation_id])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"organisation_ids": []}, "organisation_ids"),
        ({"organisation_ids": [999_999]}, "organisation_ids"),
        ({"valid_from": "2026-13-01"}, "valid_from"),
        ({"valid_from": "2026-05-01", "valid_until": "2026-04-01"}, "valid_until"),
        ({"data_categories": ["sprache", "religion"]}, "data_categories"),
    ],
)
def test_invalid_consents_are_refused(db, shared, kwargs, field):
    stadt, caritas, case, _note, _internal = shared
    values = {"organisation_ids": [caritas.organisation_id], **kwargs}
    with pytest.raises(ValidationFailed) as caught:
        consents.record(db, stadt, case, **values)
    assert field in caught.value.fields


def test_hand_over_needs_consent_and_moves_the_lead(db, shared):
    stadt, caritas, case, _note, _internal = shared
    with pytest.raises(ValidationFailed):
        consents.hand_over(db, stadt, case, organisation_id=caritas.organisation_id)
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    consents.hand_over(db, stadt, case, organisation_id=caritas.organisation_id)
    db.commit()
    assert case.lead_organisation_id == caritas.organisation_id
    assert access.can(caritas, access.MANAGE_CONSENT, case)
    # The Stadt is not named in the consent: after the hand-over it sees nothing any more.
    with pytest.raises(NotFound):
        cases.get_case(db, stadt, case.id)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "handover"))
