"""The portal's ORM models; importing this package registers them all on ``Base.metadata``."""

from portal.models.audit import AuditChainHead, AuditEvent
from portal.models.base import Base, utcnow
from portal.models.org import ORGANISATION_KINDS, Organisation
from portal.models.user import ROLES, ApiToken, LoginAttempt, LoginSession, User

__all__ = [
    "ORGANISATION_KINDS",
    "ROLES",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "LoginAttempt",
    "LoginSession",
    "Organisation",
    "User",
    "utcnow",
]
