"""API: a case's consents: list, record, revoke."""

from __future__ import annotations

from sqlalchemy import select

from portal.blueprints.api import api_user, bp, list_envelope
from portal.blueprints.api.operations import ListOf, operation
from portal.blueprints.api.schemas import sharing as schemas
from portal.blueprints.api.schemas.sharing import ConsentCreate
from portal.blueprints.api.serialise import org_ref, user_ref
from portal.db import db_session
from portal.http import client_ip
from portal.models import Case, Consent
from portal.models.base import local_today
from portal.pipeline import with_case
from portal.services import access, consents

MANAGE_CONSENT_DENIED = (
    "The case is visible, but only caseworkers and coordinators of its lead organisation "
    "manage its consents"
)
RECORD_ERRORS = (
    "Validation failed; `error.fields` names each field: `organisation_ids` "
    "(`required`, `unknown_or_inactive`), `valid_from`/`valid_until` "
    "(`invalid_date`, `before_valid_from`), `data_categories` (`must_be_list`, "
    "`unknown: [...]`), `purpose`, `note` (`invalid`), unknown fields (`unknown_field`)"
)


@bp.get("/cases/<int:case_id>/consents")
@with_case()
@operation(
    "The case's consents, revoked and expired ones included",
    description="Newest first. For everyone who may see the case's documents.",
    paged=True,
    returns=ListOf(schemas.Consent),
    errors={400: "Invalid paging parameters"},
)
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
@operation(
    "Record a consent (release the case to organisations)",
    description="The named organisations see the case and its documents (not `internal` "
    "ones) from `valid_from` until `valid_until`, in search too. For caseworkers and "
    "coordinators of the lead organisation.",
    body=ConsentCreate,
    returns=schemas.Consent,
    status=201,
    returns_description="The consent as recorded",
    errors={403: MANAGE_CONSENT_DENIED, 422: RECORD_ERRORS},
    location=False,  # a consent has no URL of its own to read it from
)
def record_consent(case: Case, body: ConsentCreate):
    """Record a consent: the named organisations see the case's documents from ``valid_from``."""
    consent = consents.record(
        db_session(), api_user(), case, organisation_ids=body.organisation_ids,
        valid_from=body.valid_from, valid_until=body.valid_until, purpose=body.purpose,
        note=body.note, data_categories=body.data_categories, ip=client_ip(),
    )  # fmt: skip
    return consent_json(consent), 201


@bp.delete("/cases/<int:case_id>/consents/<int:consent_id>")
@with_case(access.MANAGE_CONSENT, visible=access.READ_CASE_METADATA)
@operation(
    "Revoke a consent",
    description="Access ends at once, on every path (case, documents, contents, search). "
    "The consent stays in the history with `status` `revoked`; revoking it again changes "
    "nothing. No confirmation step here (the web page asks first): a client should confirm "
    "with its user. Open follow-ups of organisations that lose access pass to the lead "
    "organisation; their internal documents pass into its custody.",
    returns=schemas.Consent,
    returns_description="The revoked consent",
    errors={
        403: MANAGE_CONSENT_DENIED,
        404: "Unknown or invisible case, or no such consent of this case",
    },
)
def revoke_consent(case: Case, consent_id: int):
    """Revoke a consent: access ends at once; the consent stays in the history."""
    consent = consents.revoke(db_session(), api_user(), case, consent_id, ip=client_ip())
    return consent_json(consent)


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
        "released_categories": consent.released,
        "valid_from": consent.valid_from,
        "valid_until": consent.valid_until,
        "note": consent.note,
        "recorded_at": consent.recorded_at,
        "recorded_by": user_ref(consent.recorded_by),
        "revoked_at": consent.revoked_at,
        "status": consent_status(consent),
    }
