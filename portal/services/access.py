"""The access policy: the only place that decides who may do what.

Default deny: an action not granted below is refused. Callers ask
``can(user, action, target)`` or ``require(...)``, and list queries use the
``*_filter`` functions; nobody else tests roles or organisations.

The rule (DESIGN.md): a user may see a case's documents when their organisation
leads the case or holds a current consent for it (not revoked, started, not
expired); ``internal`` documents only inside the author's organisation, and in the
lead organisation's custody while the author's organisation has no access. A partner
reads a document of another organisation only when one consent in force releases every
data category the document touches (an assessment: section by section).
Each organisation edits only its own documents; the integration agreement is the
lead's, and a goal's status may also be set by the organisation responsible for it.
Coordinators see case metadata across the network, to find parallel files, but
no contents. Admins manage accounts, not cases. Read-only users never write.
The portal's own commands act as ``SYSTEM``: an operator at the server, who sets up
accounts but reads nothing of the cases.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    Case,
    Consent,
    Document,
    FollowUp,
    User,
    categories,
    consent_organisations,
)
from portal.models.base import local_today
from portal.services.errors import AccessDenied, NotFound

MANAGE_ACCOUNTS = "manage_accounts"  # the administration at all
MANAGE_ACCOUNT = "manage_account"  # target: AccountOf (a user, as it is or is to be)
MANAGE_ORGANISATION = "manage_organisation"  # target: an Organisation, None for a new one
MANAGE_CREDENTIALS = "manage_credentials"  # a user's password and API tokens
USE_PORTAL = "use_portal"
CREATE_CASE = "create_case"
WORK_WITH_CASES = "work_with_cases"
READ_CASE_METADATA = "read_case_metadata"
READ_CASE = "read_case"
EDIT_CASE = "edit_case"
READ_DOCUMENT = "read_document"
FIND_DOCUMENT = "find_document"  # by its words: search hits, highlights, similar documents
EDIT_DOCUMENT = "edit_document"
SET_GOAL_STATUS = "set_goal_status"  # target: GoalOf
MANAGE_CONSENT = "manage_consent"
READ_AUDIT = "read_audit"
NAME_AUDIT_ACTOR = "name_audit_actor"  # target: ActorOf
EXPORT_PERSON_DATA = "export_person_data"
READ_FOLLOWUP = "read_followup"
EDIT_FOLLOWUP = "edit_followup"
READ_NETWORK_STATISTICS = "read_network_statistics"
READ_SECURITY_LOG = "read_security_log"  # logins and client addresses

ADMIN_ROLES = ("admin", "network_admin")
WRITER_ROLES = ("caseworker", "coordinator")
CASE_ROLES = ("caseworker", "coordinator", "readonly")


class SystemActor:
    """Who acts in ``portal create-user``, ``seed-demo`` and the like: no user, no organisation."""

    id = None
    organisation_id = None
    name = "System"
    role = "system"
    active = True
    must_change_password = False

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()


@dataclass(frozen=True)
class ActorOf:
    """Whoever did something recorded in a case's audit trail, as the policy sees them."""

    case: Case
    organisation_id: int | None


@dataclass(frozen=True)
class AccountOf:
    """A user account as the policy sees it: in which organisation, with which role."""

    organisation_id: int | None
    role: str

    @classmethod
    def of(cls, user: User) -> AccountOf:
        return cls(user.organisation_id, user.role)


@dataclass(frozen=True)
class GoalOf:
    """A goal of an integration agreement, as the policy sees it: whose it is."""

    document: Document
    responsible_organisation_id: int | None


def can(user: User | None, action: str, target: object | None = None) -> bool:
    """True when ``user`` may perform ``action`` on ``target``."""
    if user is None or not user.active:
        return False
    rule = _RULES.get(action)
    return bool(rule and rule(user, target))


def require(user: User | None, action: str, target: object | None = None) -> None:
    """Raise AccessDenied unless ``can(user, action, target)``."""
    if not can(user, action, target):
        raise AccessDenied()


def require_visible(user: User | None, action: str, target: object | None) -> None:
    """Like ``require``, but answer NotFound, so that existence is not revealed."""
    if target is None or not can(user, action, target):
        raise NotFound()


def organisations_with_access(case: Case) -> set[int]:
    """Ids of the organisations whose members may see the case's documents today."""
    return {case.lead_organisation_id} | released_to(case)


def released_to(case: Case, without: Consent | None = None) -> set[int]:
    """Ids of the organisations a consent in force today names (other than ``without``)."""
    today = local_today()
    return {
        org.id
        for consent in case.consents
        if consent is not without and consent.is_current(today)
        for org in consent.organisations
    }


def case_metadata_filter(user: User) -> ColumnElement[bool]:
    """SQL condition: the cases whose metadata ``user`` may see."""
    if not user.active or user.role not in CASE_ROLES:
        return ~true()
    if user.role == "coordinator":
        return true()
    return case_contents_filter(user)


def case_contents_filter(user: User) -> ColumnElement[bool]:
    """SQL condition: the cases whose documents ``user`` may see."""
    if not user.active or user.role not in CASE_ROLES:
        return ~true()
    consented = _consented(user.organisation_id)
    return or_(Case.lead_organisation_id == user.organisation_id, consented)


def _consented(organisation, covering=None) -> ColumnElement[bool]:
    """SQL condition on Case: a consent in force today names ``organisation`` (an id or a
    column), and releases every category of the bits ``covering`` (a column), if given."""
    consent = and_(
        Consent.case_id == Case.id,
        consent_organisations.c.organisation_id == organisation,
        _in_force(local_today()),
    )
    if covering is not None:
        consent = and_(consent, Consent.released_bits.op("&")(covering) == covering)
    return (
        select(Consent.id)
        .join(consent_organisations, consent_organisations.c.consent_id == Consent.id)
        .where(consent)
        .exists()
    )


def document_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on Document (joined with Case): the documents ``user`` may see."""
    org = user.organisation_id
    return and_(case_contents_filter(user), shown_to_filter(org), released_filter(org))


def released_filter(organisation_id: int) -> ColumnElement[bool]:
    """SQL condition on Document (joined with Case): ``released`` to the organisation."""
    return or_(
        Case.lead_organisation_id == organisation_id,
        Document.author_organisation_id == organisation_id,
        Document.type == "assessment",
        _consented(organisation_id, covering=Document.category_bits),
    )


def shown_to_filter(organisation_id: int) -> ColumnElement[bool]:
    """SQL condition on Document (joined with Case): ``shown_to`` the organisation."""
    author = Document.author_organisation_id
    author_has_access = or_(Case.lead_organisation_id == author, _consented(author))
    return or_(
        Document.visibility == "case",
        author == organisation_id,
        and_(Case.lead_organisation_id == organisation_id, ~author_has_access),
    )


def document_search_tokens(case: Case, document: Document) -> list[str]:
    """The search index's access tokens of a document: the rights by which organisations
    may find it. ``l{org}`` for the lead organisation; for each organisation of a consent
    that applies now or later and releases every category of the document (or that wrote
    it) its ``consent_token`` (an assessment, indexed as a whole, only where every section
    is released: a partner reads the sections released to it in the case folder);
    ``internal`` documents only for their
    author organisation (one in the lead's custody, ``shown_to``, is read in the case
    folder but not found by the lead's searches: custody begins when the author's access
    ends, which a token of the index cannot follow). Which consents are in force is
    decided when searching (``user_search_tokens``), so a consent's first and last day
    need no reindexing."""
    today = local_today()
    rights = [(f"l{case.lead_organisation_id}", case.lead_organisation_id)] + [
        (consent_token(org.id, consent.id, consent.starts_later, consent.valid_until), org.id)
        for consent in case.consents
        if consent.may_apply(today)
        for org in consent.organisations
        if consent.covers(document.category_bits) or org.id == document.author_organisation_id
    ]
    if document.visibility == "internal":
        rights = [(token, org) for token, org in rights if org == document.author_organisation_id]
    return sorted({token for token, _org in rights})


def consent_token(org: int, consent_id: int, starts_later: bool, valid_until: date | None) -> str:
    """The token by which a consent releases a case to ``org``. A consent in force from its
    recording changes only on its last day or by revocation (which reindexes the case), so
    it shares ``o{org}`` (no last day) or ``o{org}u{YYYYMMDD}`` with every such consent:
    a search names a few tokens, not one per consent (6,300 of them took 20 ms of tantivy's
    time per search at a million documents). One recorded to start later has its own,
    ``c{consent}o{org}``."""
    if starts_later:
        return f"c{consent_id}o{org}"
    if valid_until is None:
        return f"o{org}"
    return f"o{org}u{valid_until:%Y%m%d}"


def user_search_tokens(session: Session, user: User) -> list[str]:
    """The access tokens a user's searches match today: their organisation's leads and the
    ``consent_token`` of each of its consents in force today (one per last day, one per
    consent that started later); none for roles that read no contents. Search narrows by
    these; every hit is checked with ``can`` again."""
    if not user.active or user.role not in CASE_ROLES:
        return []
    org = user.organisation_id
    in_force = (
        select()
        .select_from(Consent)
        .join(consent_organisations, consent_organisations.c.consent_id == Consent.id)
        .where(consent_organisations.c.organisation_id == org, _in_force(local_today()))
    )
    last_days = session.scalars(
        in_force.add_columns(Consent.valid_until).where(~Consent.starts_later).distinct()
    )
    later = session.scalars(in_force.add_columns(Consent.id).where(Consent.starts_later))
    return sorted(
        {
            f"l{org}",
            *(consent_token(org, 0, False, day) for day in last_days),
            *(consent_token(org, consent_id, True, None) for consent_id in later),
        }
    )


def _in_force(today: date) -> ColumnElement[bool]:
    """SQL condition on Consent: in force on ``today`` (``Consent.is_current``)."""
    return and_(
        Consent.revoked_at.is_(None),
        Consent.valid_from <= today,
        or_(Consent.valid_until.is_(None), Consent.valid_until >= today),
    )


def followup_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on FollowUp (joined with Case): the follow-ups ``user`` may see."""
    return case_contents_filter(user)


def _is_admin(user: User, _target: object | None) -> bool:
    return user.role in (*ADMIN_ROLES, SystemActor.role)


def _runs_the_network(user: User) -> bool:
    return user.role in ("network_admin", SystemActor.role)


def _manages_account(user: User, account: AccountOf) -> bool:
    """A network administrator (and the server's commands) every account; an
    organisation's administrator the accounts of that organisation, none a network
    administrator's: nobody resets the password of, and so becomes, someone elsewhere."""
    if _runs_the_network(user):
        return True
    return (
        user.role == "admin"
        and account.organisation_id == user.organisation_id
        and account.role != "network_admin"
    )


def _manages_organisation(user: User, organisation: object | None) -> bool:
    """New organisations and other organisations' details: the network administrator; its
    own letterhead and address: an organisation's administrator."""
    if _runs_the_network(user):
        return True
    return user.role == "admin" and getattr(organisation, "id", None) == user.organisation_id


def _manages_credentials(user: User, owner: User | None) -> bool:
    """Everyone their own password and API tokens; administrators those of the accounts
    they manage."""
    if owner is None:
        return False
    if user.id is not None and user.id == owner.id:
        return True
    return _manages_account(user, AccountOf.of(owner))


def security_log_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on AuditEvent: the security log ``user`` reads (an organisation's
    administrator: what its own members did)."""
    if _runs_the_network(user):
        return true()
    return AuditEvent.organisation_id == user.organisation_id


def account_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on User: the accounts ``user`` manages."""
    if _runs_the_network(user):
        return true()
    if user.role != "admin":
        return ~true()
    return and_(User.organisation_id == user.organisation_id, User.role != "network_admin")


def _uses_portal(user: User, _target: object | None) -> bool:
    """Anything beyond the own account: not before choosing one's own password."""
    return not user.must_change_password


def _works_with_cases(user: User, _target: object | None) -> bool:
    return user.role in CASE_ROLES


def _creates_cases(user: User, _target: object | None) -> bool:
    return user.role in WRITER_ROLES


def _reads_case_metadata(user: User, case: Case) -> bool:
    return user.role == "coordinator" or _reads_case(user, case)


def _reads_case(user: User, case: Case) -> bool:
    return user.role in CASE_ROLES and user.organisation_id in organisations_with_access(case)


def _edits_case(user: User, case: Case) -> bool:
    return user.role in WRITER_ROLES and _reads_case(user, case)


def shown_to(document: Document, organisation_id: int) -> bool:
    """Whether members of an organisation that sees the case's contents see ``document``:
    ``internal`` ones only inside their author organisation, or, while that organisation
    has no access to the case (it handed the lead over, its consent ended), in the lead
    organisation's custody: no document is ever readable by nobody."""
    if document.visibility != "internal" or document.author_organisation_id == organisation_id:
        return True
    case = document.case
    return organisation_id == case.lead_organisation_id and (
        document.author_organisation_id not in organisations_with_access(case)
    )


def released(document: Document, organisation_id: int) -> bool:
    """Whether the categories ``document`` touches are released to an organisation that
    sees the case's contents: all to the lead organisation, its own to the author
    organisation; another organisation's only when one consent in force naming it releases
    every one of them. An assessment is read section by section (``sections_shown``)."""
    case = document.case
    if organisation_id in (case.lead_organisation_id, document.author_organisation_id):
        return True
    return document.type == "assessment" or any(
        consent.covers(document.category_bits)
        for consent in _in_force_naming(case, organisation_id)
    )


def sections_shown(user: User, document: Document) -> set[str] | None:
    """The categories of the assessment sections ``user`` (who reads ``document``) sees:
    None for all (the lead and author organisation's), else those the consents in force
    release to the user's organisation."""
    case, org = document.case, user.organisation_id
    if org in (case.lead_organisation_id, document.author_organisation_id):
        return None
    bits = 0
    for consent in _in_force_naming(case, org):
        bits |= consent.released_bits
    return set(categories.from_bits(bits))


def _in_force_naming(case: Case, organisation_id: int) -> list[Consent]:
    today = local_today()
    return [
        consent
        for consent in case.consents
        if consent.is_current(today) and organisation_id in {o.id for o in consent.organisations}
    ]


def _reads_document(user: User, document: Document) -> bool:
    org = user.organisation_id
    return shown_to(document, org) and _reads_case(user, document.case) and released(document, org)


def _finds_document(user: User, document: Document) -> bool:
    """Search holds a document whole: it finds, highlights and likens only what the user
    reads whole (not an assessment read section by section)."""
    if not _reads_document(user, document):
        return False
    shown = sections_shown(user, document) if document.type == "assessment" else None
    return shown is None or categories.covers(categories.to_bits(shown), document.category_bits)


def _edits_document(user: User, document: Document) -> bool:
    """Each organisation writes its own documents (a partner adds its own to the case, it
    does not rewrite the lead's or another partner's); the integration agreement is the
    lead organisation's, whoever wrote its first version."""
    if user.role not in WRITER_ROLES or not _reads_document(user, document):
        return False
    if document.type == "agreement":
        return user.organisation_id == document.case.lead_organisation_id
    return user.organisation_id == document.author_organisation_id


def _sets_goal_status(user: User, goal: GoalOf) -> bool:
    """A goal's status: the lead organisation, or the organisation responsible for it."""
    if user.role not in WRITER_ROLES or not _reads_document(user, goal.document):
        return False
    return user.organisation_id in (
        goal.document.case.lead_organisation_id,
        goal.responsible_organisation_id,
    )


def _manages_consent(user: User, case: Case) -> bool:
    """Consents and hand-overs are the lead organisation's business."""
    return user.role in WRITER_ROLES and user.organisation_id == case.lead_organisation_id


def _reads_audit(user: User, case: Case) -> bool:
    """The case's trail: its lead organisation, and coordinators who steer the network."""
    return user.role == "coordinator" or (
        user.role in CASE_ROLES and user.organisation_id == case.lead_organisation_id
    )


def _names_audit_actor(user: User, actor: ActorOf) -> bool:
    """Who did it, by name: only the lead organisation, only of its own staff. A case's
    trail shows coordinators what happened (actions, organisations, dates), not which
    colleague did it: staff data a network overview does not need."""
    lead = actor.case.lead_organisation_id
    return (
        _reads_audit(user, actor.case)
        and user.organisation_id == lead
        and actor.organisation_id == lead
    )


def _reads_followup(user: User, followup: FollowUp) -> bool:
    """A follow-up is part of the case's contents: whoever reads the case reads it."""
    return _reads_case(user, followup.case)


def _edits_followup(user: User, followup: FollowUp) -> bool:
    return _edits_case(user, followup.case)


def _is_coordinator(user: User, _target: object | None) -> bool:
    """Coordinators steer the network: they see its anonymous aggregate numbers."""
    return user.role == "coordinator"


_RULES = {
    MANAGE_ACCOUNTS: _is_admin,
    MANAGE_ACCOUNT: _manages_account,
    MANAGE_ORGANISATION: _manages_organisation,
    MANAGE_CREDENTIALS: _manages_credentials,
    USE_PORTAL: _uses_portal,
    WORK_WITH_CASES: _works_with_cases,
    CREATE_CASE: _creates_cases,
    READ_CASE_METADATA: _reads_case_metadata,
    READ_CASE: _reads_case,
    EDIT_CASE: _edits_case,
    READ_DOCUMENT: _reads_document,
    FIND_DOCUMENT: _finds_document,
    EDIT_DOCUMENT: _edits_document,
    SET_GOAL_STATUS: _sets_goal_status,
    MANAGE_CONSENT: _manages_consent,
    READ_AUDIT: _reads_audit,
    NAME_AUDIT_ACTOR: _names_audit_actor,
    # Art. 15 exports answer the person's request; the lead organisation handles it.
    EXPORT_PERSON_DATA: _manages_consent,
    READ_FOLLOWUP: _reads_followup,
    EDIT_FOLLOWUP: _edits_followup,
    READ_NETWORK_STATISTICS: _is_coordinator,
    # Client addresses are staff data: only administrators see them, to trace an attack.
    READ_SECURITY_LOG: _is_admin,
}


def may_read_metrics(client: str, through_proxy: bool, bearer: str, metrics_token: str) -> bool:
    """Prometheus' scrape of ``/metrics`` (no personal data, but operational detail): with
    ``PORTAL_METRICS_TOKEN`` as bearer token from anywhere; without it only from this
    machine directly, not through a proxy (which would make every client look local)."""
    if metrics_token and bearer:
        return hmac.compare_digest(bearer.encode(), metrics_token.encode())
    try:
        local = ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
    return local and not through_proxy
