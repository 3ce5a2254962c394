"""Server-side login sessions: the cookie carries a random token, the database decides.

Revoking the row (logout, deactivation, password change) makes a replayed
cookie worthless, which a signed cookie alone cannot do.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from portal.models import LoginSession, User, utcnow

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = timedelta(seconds=60)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token: enough, since such tokens cannot be guessed."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, *, ip: str = "", user_agent: str = "") -> str:
    """Open a new login session for ``user``; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user=user, token_hash=token_hash(token), ip=ip[:64], user_agent=user_agent[:255]
        )
    )
    return token


def load(session: Session, token: str, *, idle: timedelta, absolute: timedelta) -> User | None:
    """The user of a live session, or None when it is unknown, revoked, idle or too old."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.revoked_at = now
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
    user = row.user
    user.session_token = token
    return user


def end(session: Session, token: str) -> None:
    """Revoke the session with this token (logout)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all(session: Session, user: User) -> None:
    """Revoke every open session of ``user``."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def active(session: Session, *, idle: timedelta, absolute: timedelta) -> int:
    """How many sessions can still be used (not revoked, idle or too old)."""
    now = utcnow()
    return session.scalar(
        select(func.count()).where(
            LoginSession.revoked_at.is_(None),
            LoginSession.last_seen_at > now - idle,
            LoginSession.created_at > now - absolute,
        )
    )


def prune(session: Session, absolute: timedelta) -> int:
    """Delete the rows of sessions that can no longer be used: revoked or older than the
    absolute lifetime. Return how many."""
    return session.execute(
        delete(LoginSession).where(
            or_(LoginSession.revoked_at.is_not(None), LoginSession.created_at < utcnow() - absolute)
        )
    ).rowcount
