"""The portal's ORM models; importing this package registers them all on ``Base.metadata``."""

from portal.models.audit import AuditChainHead, AuditEvent
from portal.models.base import Base, utcnow
from portal.models.case import FOCUS_AREAS, PHASES, Case, CaseNumberCounter, PhaseChange
from portal.models.consent import DATA_CATEGORIES, Consent, consent_organisations
from portal.models.document import (
    DOCUMENT_TYPES,
    VISIBILITIES,
    Blob,
    Document,
    DocumentVersion,
)
from portal.models.followup import FollowUp
from portal.models.org import ORGANISATION_KINDS, Organisation
from portal.models.outbox import OutboxJob, ScheduledTask
from portal.models.person import GENDERS, Person
from portal.models.retention import DeletionCertificate
from portal.models.user import ROLES, ApiToken, LoginAttempt, LoginSession, User

__all__ = [
    "DATA_CATEGORIES",
    "DOCUMENT_TYPES",
    "FOCUS_AREAS",
    "GENDERS",
    "ORGANISATION_KINDS",
    "PHASES",
    "ROLES",
    "VISIBILITIES",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Blob",
    "Case",
    "CaseNumberCounter",
    "Consent",
    "DeletionCertificate",
    "Document",
    "DocumentVersion",
    "FollowUp",
    "LoginAttempt",
    "LoginSession",
    "Organisation",
    "OutboxJob",
    "Person",
    "PhaseChange",
    "ScheduledTask",
    "User",
    "consent_organisations",
    "utcnow",
]
