"""API tokens: created once and shown once, stored hashed, revocable."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import ApiToken, User, utcnow
from portal.services import access, audit
from portal.services.errors import NotFound
from portal.services.sessions import TOUCH_INTERVAL, token_hash

TOKEN_PREFIX = "kim_"  # noqa: S105  (a marker, not a secret)


def create(
    session: Session, user: User, *, name: str = "", actor: User | None, ip: str = ""
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the plain token (never stored)."""
    access.require(actor, access.MANAGE_CREDENTIALS, user)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name.strip()[:100], prefix=plain[:12], token_hash=token_hash(plain)
    )
    session.add(token)
    session.flush()
    audit.record(session, "create", actor=actor, object_type="api_token", object_id=token.id, ip=ip)
    return token, plain


def authenticate(session: Session, plain: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        token.last_used_at = now
    return token.user


def list_for(session: Session, user: User, *, actor: User) -> list[ApiToken]:
    """The tokens of ``user``, newest first, revoked ones included."""
    access.require(actor, access.MANAGE_CREDENTIALS, user)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke(session: Session, user: User, token_id: int, *, actor: User, ip: str = "") -> None:
    """Revoke token ``token_id`` of ``user``; takes effect with the next API call."""
    access.require(actor, access.MANAGE_CREDENTIALS, user)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session, "revoke", actor=actor, object_type="api_token", object_id=token.id, ip=ip
        )


def revoke_all(session: Session, user: User) -> None:
    """Revoke every open token of ``user`` (on deactivation)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
