"""API: a case's consents: list, record, revoke."""

from __future__ import annotations

from sqlalchemy import select

from portal.blueprints.api import (
    MAX_ID,
    api_user,
    bp,
    check,
    json_object,
    list_envelope,
    unknown_fields,
)
from portal.blueprints.api.serialise import org_ref, user_ref
from portal.db import db_session
from portal.http import client_ip
from portal.models import Case, Consent
from portal.models.base import local_today
from portal.pipeline import with_case
from portal.services import access, consents

RECORD_FIELDS = {
    "organisation_ids",
    "valid_from",
    "valid_until",
    "purpose",
    "data_categories",
    "note",
}


@bp.get("/cases/<int:case_id>/consents")
@with_case()
def list_consents(case: Case):
    """The case's consents, revoked and expired ones included, newest first."""
    statement = (
        select(Consent)
        .where(Consent.case_id == case.id)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
    )
    return list_envelope(statement, consent_json)


@bp.post("/cases/<int:case_id>/consents")
@with_case(access.MANAGE_CONSENT, visible=access.READ_CASE_METADATA)
def record_consent(case: Case):
    """Record a consent: the named organisations see the case's documents from ``valid_from``."""
    user = api_user()
    data = json_object()
    errors = unknown_fields(data, RECORD_FIELDS)
    ids = data.get("organisation_ids")
    if isinstance(ids, list) and any(_beyond_ids(i) for i in ids):
        errors["organisation_ids"] = "unknown_or_inactive"
    check(errors)
    consent = consents.record(
        db_session(), user, case, organisation_ids=ids,
        valid_from=data.get("valid_from"), valid_until=data.get("valid_until"),
        purpose=_text(data.get("purpose")), note=_text(data.get("note")),
        data_categories=[] if data.get("data_categories") is None else data["data_categories"],
        ip=client_ip(),
    )  # fmt: skip
    return consent_json(consent), 201


@bp.delete("/cases/<int:case_id>/consents/<int:consent_id>")
@with_case(access.MANAGE_CONSENT, visible=access.READ_CASE_METADATA)
def revoke_consent(case: Case, consent_id: int):
    """Revoke a consent: access ends at once; the consent stays in the history."""
    consent = consents.revoke(db_session(), api_user(), case, consent_id, ip=client_ip())
    return consent_json(consent)


def _beyond_ids(value: object) -> bool:
    """An integer no row can have; asking the database about it would overflow its integers."""
    return isinstance(value, int) and not isinstance(value, bool) and not 0 < value <= MAX_ID


def _text(value: object) -> object:
    """An optional text: null counts as empty; other non-strings go on to be refused."""
    return "" if value is None else value


# ---------------------------------------------------------------- serialisers


def consent_status(consent: Consent) -> str:
    """``in_force``, ``not_yet_in_force``, ``expired`` or ``revoked``, as of today."""
    today = local_today()
    if consent.revoked_at is not None:
        return "revoked"
    if consent.valid_from > today:
        return "not_yet_in_force"
    if consent.valid_until is not None and consent.valid_until < today:
        return "expired"
    return "in_force"


def consent_json(consent: Consent) -> dict:
    """A consent as the API shows it (the scanned form is not part of it)."""
    return {
        "id": consent.id,
        "case_id": consent.case_id,
        "organisations": [org_ref(org) for org in consent.organisations],
        "purpose": consent.purpose,
        "data_categories": list(consent.data_categories or []),
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "note": consent.note,
        "recorded_at": consent.recorded_at.isoformat(),
        "recorded_by": user_ref(consent.recorded_by),
        "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None,
        "status": consent_status(consent),
    }
