"""The access policy: the only place that decides who may do what.

Default deny: every action not granted below is refused. Callers ask
``can(user, action, target)`` or ``require(...)``; they never test roles themselves.
"""

from __future__ import annotations

from portal.models import User
from portal.services.errors import AccessDenied

MANAGE_ACCOUNTS = "manage_accounts"
USE_PORTAL = "use_portal"


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


def _is_admin(user: User, _target: object | None) -> bool:
    return user.role == "admin"


def _any_active_user(_user: User, _target: object | None) -> bool:
    return True


_RULES = {
    MANAGE_ACCOUNTS: _is_admin,
    USE_PORTAL: _any_active_user,
}
