"""Recording and revoking consents, and handing a case over to another organisation."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import DATA_CATEGORIES, Case, Consent, Organisation, User, utcnow
from portal.models.base import local_today
from portal.services import access, audit, documents, outbox
from portal.services.errors import Conflict, NotFound, ValidationFailed
from portal.services.search import INDEX_CASE_JOB

MAX_TEXT = 5_000


def record(
    session: Session,
    actor: User,
    case: Case,
    *,
    organisation_ids: object,
    valid_from: object = None,
    valid_until: object = None,
    purpose: str = "",
    data_categories: object = (),
    note: str = "",
    form: documents.Upload | None = None,
    ctx: documents.SaveContext | None = None,
    ip: str = "",
) -> Consent:
    """Record a consent releasing ``case`` to the named organisations."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    errors: dict[str, str] = {}
    organisations = _organisations(session, organisation_ids, errors)
    start = _date(valid_from, "valid_from", errors) or local_today()
    end = _date(valid_until, "valid_until", errors)
    if end is not None and end < start:
        errors["valid_until"] = "before_valid_from"
    categories = _categories(data_categories, errors)
    for name, value in (("purpose", purpose), ("note", note)):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            errors[name] = "invalid"
    if errors:
        raise ValidationFailed(_l("The consent could not be recorded."), fields=errors)
    consent = Consent(
        purpose=purpose.strip(),
        data_categories=categories,
        valid_from=start,
        valid_until=end,
        note=note.strip(),
        recorded_by_id=actor.id,
        organisations=organisations,
    )
    if form is not None and ctx is not None:
        consent.form_blob_sha256, consent.form_filename = documents.store_file(session, form, ctx)
    case.consents.append(consent)
    session.flush()
    outbox.enqueue(session, INDEX_CASE_JOB, case.id)  # new acl tokens
    audit.record(
        session, "share", actor=actor, object_type="consent", object_id=consent.id,
        case_id=case.id, ip=ip, detail={"organisations": sorted(o.id for o in organisations)},
    )  # fmt: skip
    return consent


def revoke(
    session: Session, actor: User, case: Case, consent_id: int, *, note: str = "", ip: str = ""
) -> Consent:
    """Revoke a consent: it stops counting at once and stays in the history."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    consent = session.get(Consent, consent_id)
    if consent is None or consent.case_id != case.id:
        raise NotFound()
    if consent.revoked_at is None:
        consent.revoked_at = utcnow()
        consent.revoked_by_id = actor.id
        consent.revocation_note = (note or "").strip()[:MAX_TEXT]
        outbox.enqueue(session, INDEX_CASE_JOB, case.id)
        audit.record(
            session, "revoke", actor=actor, object_type="consent", object_id=consent.id,
            case_id=case.id, ip=ip,
        )  # fmt: skip
    return consent


def hand_over(
    session: Session, actor: User, case: Case, *, organisation_id: int, ip: str = ""
) -> Case:
    """Pass the lead to an organisation that holds a current consent for the case."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    if organisation_id == case.lead_organisation_id:
        raise Conflict(_l("This organisation already leads the case."))
    if organisation_id not in access.organisations_with_access(case):
        raise ValidationFailed(
            _l("The lead can only pass to an organisation that holds a current consent."),
            fields={"organisation_id": "no_consent"},
        )
    previous = case.lead_organisation_id
    case.lead_organisation_id = organisation_id
    case.lead_user_id = None
    case.updated_at = utcnow()
    outbox.enqueue(session, INDEX_CASE_JOB, case.id)
    audit.record(
        session, "handover", actor=actor, object_type="case", object_id=case.id, case_id=case.id,
        ip=ip, detail={"from": previous, "to": organisation_id},
    )  # fmt: skip
    return case


def _organisations(session: Session, ids: object, errors: dict[str, str]) -> list[Organisation]:
    if (
        not isinstance(ids, list | tuple)
        or not ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        errors["organisation_ids"] = "required"
        return []
    found = list(session.scalars(select(Organisation).where(Organisation.id.in_(set(ids)))))
    if len(found) != len(set(ids)) or not all(org.active for org in found):
        errors["organisation_ids"] = "unknown_or_inactive"
    return found


def _categories(values: object, errors: dict[str, str]) -> list[str]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        errors["data_categories"] = "must_be_list"
        return []
    unknown = set(values) - set(DATA_CATEGORIES)
    if unknown:
        errors["data_categories"] = f"unknown: {sorted(unknown)}"
    return [c for c in DATA_CATEGORIES if c in values]


def _date(value: object, name: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors[name] = "invalid_date"
    return None
