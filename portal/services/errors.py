"""Domain errors. Blueprints turn them into pages or JSON errors in one place."""

from __future__ import annotations


class PortalError(Exception):
    """Base of all domain errors; ``code`` is stable, ``message`` is for people.

    A refused request saves nothing (the pipeline rolls it back), unless its error
    ``keeps_changes``: what the service recorded about the refusal must count.
    """

    code = "error"
    status = 400
    keeps_changes = False

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}


class InvalidInput(PortalError):
    """The request itself is malformed."""

    code = "invalid_input"
    status = 400


class ValidationFailed(PortalError):
    """Input is well-formed but breaks a rule; ``fields`` says which and why."""

    code = "validation_failed"
    status = 422


class NotFound(PortalError):
    """Unknown, or not visible to this user: the two are indistinguishable on purpose."""

    code = "not_found"
    status = 404


class AccessDenied(PortalError):
    """Known and visible, but this user may not do that."""

    code = "forbidden"
    status = 403


class Conflict(PortalError):
    """The change collides with the current state (duplicate, stale version)."""

    code = "conflict"
    status = 409


class TooManyAttempts(PortalError):
    """Throttled: too many failed attempts (the throttled attempt is audited)."""

    code = "too_many_attempts"
    status = 429
    keeps_changes = True


class InvalidCredentials(PortalError):
    """Login failed; deliberately the same for unknown user, wrong password and inactive user."""

    code = "invalid_credentials"
    status = 401
    keeps_changes = True  # the failed attempt counts towards the lock


class SearchUnavailable(PortalError):
    """The search engine failed on this query; the index is being checked. Try again later."""

    code = "search_unavailable"
    status = 503
