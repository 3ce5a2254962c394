"""Login: password check with throttling by account and by address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal import metrics
from portal.models import LoginAttempt, User, utcnow
from portal.services import audit
from portal.services.accounts import find_user_by_email, normalise_email
from portal.services.errors import InvalidCredentials, TooManyAttempts
from portal.services.passwords import hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class ThrottleRule:
    """``max_failures`` failures within ``window`` lock further attempts for ``window``."""

    max_failures: int = 10
    window: timedelta = timedelta(minutes=15)


def authenticate(
    session: Session, email: str, password: str, *, ip: str, rule: ThrottleRule
) -> User:
    """Return the user for these credentials, recording the attempt either way.

    Raises TooManyAttempts while the account or the address is locked (without
    checking the password, so guessing gains nothing), else InvalidCredentials
    on any failure. The caller commits in both cases so that attempts count.
    """
    email = normalise_email(email)[:254]
    now = utcnow()
    locked_until = max(
        _locked_until(session, rule, now, LoginAttempt.email == email, by_account=True),
        _locked_until(session, rule, now, LoginAttempt.ip == ip, by_account=False),
    )
    if locked_until > now:
        audit.record(session, "login_throttled", ip=ip, detail={"email": email})
        metrics.LOGINS_THROTTLED.inc()
        raise TooManyAttempts(
            _l("Too many failed login attempts. Please wait 15 minutes and try again."),
            fields={"retry_after": str(int((locked_until - now).total_seconds()) + 1)},
        )
    user = find_user_by_email(session, email)
    valid = verify_password(user.password_hash if user else None, password)
    success = bool(user and valid and user.active)
    session.add(LoginAttempt(at=now, email=email, ip=ip[:64], success=success))
    if not success:
        audit.record(
            session,
            "login_failed",
            actor=user,
            object_type="user",
            object_id=user.id if user else None,
            ip=ip,
            detail={"email": email, "reason": _failure_reason(user, valid)},
        )
        raise InvalidCredentials(_l("E-mail address or password is not correct."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    audit.record(session, "login", actor=user, object_type="user", object_id=user.id, ip=ip)
    return user


def _failure_reason(user: User | None, valid: bool) -> str:
    if user is None:
        return "unknown_user"
    return "inactive" if valid else "wrong_password"


def _locked_until(
    session: Session, rule: ThrottleRule, now: datetime, condition, *, by_account: bool
) -> datetime:
    """When the lock for this key ends (in the past when there is none).

    A lock starts with the failure that completes ``max_failures`` within
    ``window`` and lasts ``window`` from then. For an account, a successful
    login clears earlier failures; for an address it does not.
    """
    since = now - 2 * rule.window
    rows = session.execute(
        select(LoginAttempt.at, LoginAttempt.success)
        .where(condition, LoginAttempt.at >= since)
        .order_by(LoginAttempt.at)
    ).all()
    failures: list[datetime] = []
    for at, success in rows:
        if success and by_account:
            failures.clear()
        elif not success:
            failures.append(at)
    locked_until = datetime.min.replace(tzinfo=now.tzinfo)
    n = rule.max_failures
    for i in range(n - 1, len(failures)):
        if failures[i] - failures[i - n + 1] <= rule.window:
            locked_until = max(locked_until, failures[i] + rule.window)
    return locked_until


def prune_attempts(session: Session, rule: ThrottleRule) -> int:
    """Delete login attempts too old to count for any lock (``_locked_until`` reads two
    windows back). Return how many."""
    return session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < utcnow() - 2 * rule.window)
    ).rowcount
