"""Recording and revoking consents, and handing a case over to another organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import DATA_CATEGORIES, Case, Consent, Document, Organisation, User, utcnow
from portal.models.base import local_today
from portal.services import access, audit, documents, followups, outbox
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
        consent.form_blob_sha256, consent.form_filename = documents.store_file(
            session, form, ctx.for_case(case.id)
        )
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
        losing = _losing_by_revocation(case, consent)
        consent.revoked_at = utcnow()
        consent.revoked_by_id = actor.id
        consent.revocation_note = (note or "").strip()[:MAX_TEXT]
        followups.pass_on(session, actor, case, {org.id for org in losing},
                          case.lead_organisation, ip)  # fmt: skip
        outbox.enqueue(session, INDEX_CASE_JOB, case.id)
        audit.record(
            session, "revoke", actor=actor, object_type="consent", object_id=consent.id,
            case_id=case.id, ip=ip,
        )  # fmt: skip
    return consent


@dataclass(frozen=True)
class LostAccess:
    """An organisation that loses access to a case: to how many of its documents, and how
    many of its open follow-ups pass to the lead organisation."""

    organisation: Organisation
    documents: int
    followups: int
    internal: int  # its own internal documents, which pass into the lead's custody


def revocation_effects(
    session: Session, actor: User, case: Case, consent_id: int
) -> list[LostAccess]:
    """What revoking ``consent_id`` would take away, to confirm it first: each organisation
    it names that no other current consent names (nor leads the case), with the number of
    the case's documents it sees today, of its open follow-ups and of its own internal
    documents (which pass into the lead organisation's custody)."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    consent = session.get(Consent, consent_id)
    if consent is None or consent.case_id != case.id:
        raise NotFound()
    return [
        LostAccess(
            org,
            _documents_shown(session, case, org.id),
            len(followups.open_of(session, case, {org.id})),
            _internal_of(session, case, org.id),
        )
        for org in _losing_by_revocation(case, consent)
    ]


def _losing_by_revocation(case: Case, consent: Consent) -> list[Organisation]:
    """The organisations ``consent`` names that no other current consent names, nor leads
    the case: revoking it ends their access."""
    if not consent.is_current(local_today()):
        return []
    keep = {case.lead_organisation_id} | access.released_to(case, without=consent)
    return [org for org in consent.organisations if org.id not in keep]


@dataclass(frozen=True)
class HandoverEffects:
    """What passing the lead would change, to confirm it first."""

    new_lead: Organisation
    previous: Organisation
    keeps_access: bool  # a current consent names the previous lead
    documents: int  # the case's documents the previous lead sees today
    internal: int  # of them, its own internal ones (into the new lead's custody if it leaves)
    followups: int  # its open follow-ups, which pass to the new lead unless it keeps access


def handover_effects(
    session: Session, actor: User, case: Case, *, organisation_id: int
) -> HandoverEffects:
    """What ``hand_over`` to ``organisation_id`` would change (refused as it would be)."""
    _check_handover(actor, case, organisation_id)
    previous = case.lead_organisation_id
    keeps = previous in access.released_to(case)
    return HandoverEffects(
        new_lead=session.get(Organisation, organisation_id),
        previous=case.lead_organisation,
        keeps_access=keeps,
        documents=_documents_shown(session, case, previous),
        internal=_internal_of(session, case, previous),
        followups=0 if keeps else len(followups.open_of(session, case, {previous})),
    )


def _documents_shown(session: Session, case: Case, organisation_id: int) -> int:
    in_case = (
        select(func.count())
        .select_from(Document)
        .join(Case, Case.id == Document.case_id)
        .where(Document.case_id == case.id)
    )
    return session.scalar(
        in_case.where(
            access.shown_to_filter(organisation_id), access.released_filter(organisation_id)
        )
    )


def _internal_of(session: Session, case: Case, organisation_id: int) -> int:
    """The case's internal documents written by the organisation."""
    return session.scalar(
        select(func.count())
        .select_from(Document)
        .where(
            Document.case_id == case.id,
            Document.visibility == "internal",
            Document.author_organisation_id == organisation_id,
        )
    )


def hand_over(
    session: Session, actor: User, case: Case, *, organisation_id: int, ip: str = ""
) -> Case:
    """Pass the lead to an organisation that holds a current consent for the case."""
    _check_handover(actor, case, organisation_id)
    previous = case.lead_organisation_id
    case.lead_organisation_id = organisation_id
    case.lead_user_id = None
    case.updated_at = utcnow()
    if previous not in access.released_to(case):  # it keeps access only as a partner
        new_lead = session.get(Organisation, organisation_id)
        followups.pass_on(session, actor, case, {previous}, new_lead, ip)
    outbox.enqueue(session, INDEX_CASE_JOB, case.id)
    audit.record(
        session, "handover", actor=actor, object_type="case", object_id=case.id, case_id=case.id,
        ip=ip, detail={"from": previous, "to": organisation_id},
    )  # fmt: skip
    return case


def _check_handover(actor: User, case: Case, organisation_id: int) -> None:
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.MANAGE_CONSENT, case)
    if organisation_id == case.lead_organisation_id:
        raise Conflict(_l("This organisation already leads the case."))
    if organisation_id not in access.organisations_with_access(case):
        raise ValidationFailed(
            _l("The lead can only pass to an organisation that holds a current consent."),
            fields={"organisation_id": "no_consent"},
        )


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
