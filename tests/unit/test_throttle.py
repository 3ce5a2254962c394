"""Login throttling by account and by address, in the service layer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.models import LoginAttempt
from portal.services.auth import ThrottleRule, authenticate
from portal.services.errors import InvalidCredentials, TooManyAttempts
from tests.conftest import TEST_PASSWORD

RULE = ThrottleRule(max_failures=3, window=timedelta(minutes=15))


def _age_attempts(db, minutes: int) -> None:
    """Move every recorded attempt ``minutes`` into the past."""
    for attempt in db.query(LoginAttempt):
        attempt.at -= timedelta(minutes=minutes)
    db.commit()


def _fail(db, email: str, ip: str = "10.0.0.1", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            authenticate(db, email, "wrong-password", ip=ip, rule=RULE)
        db.commit()


def test_account_is_locked_after_max_failures_even_for_the_right_password(db, make_user):
    user = make_user()
    _fail(db, user.email, times=3)
    with pytest.raises(TooManyAttempts) as caught:
        authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.2", rule=RULE)
    assert 0 < int(caught.value.fields["retry_after"]) <= 15 * 60 + 1


def test_address_is_locked_across_accounts(db, make_user):
    user = make_user()
    for i in range(3):
        _fail(db, f"unknown{i}@example.org", ip="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        authenticate(db, user.email, TEST_PASSWORD, ip="10.9.9.9", rule=RULE)
    # The same account from another address is not affected.
    assert authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.3", rule=RULE).id == user.id


def test_lock_ends_when_the_window_has_passed(db, make_user):
    user = make_user()
    _fail(db, user.email, times=3)
    _age_attempts(db, 16)
    assert authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.1", rule=RULE).id == user.id


def test_spread_out_failures_do_not_lock(db, make_user):
    user = make_user()
    _fail(db, user.email, times=2)
    _age_attempts(db, 20)
    _fail(db, user.email, times=1)
    assert authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.1", rule=RULE).id == user.id


def test_success_clears_earlier_failures_of_the_account(db, make_user):
    user = make_user()
    _fail(db, user.email, ip="10.0.0.1", times=2)
    authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.2", rule=RULE)
    db.commit()
    _fail(db, user.email, ip="10.0.0.3", times=2)
    assert authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.4", rule=RULE).id == user.id


def test_inactive_user_cannot_log_in(db, make_user):
    user = make_user()
    user.active = False
    db.commit()
    with pytest.raises(InvalidCredentials):
        authenticate(db, user.email, TEST_PASSWORD, ip="10.0.0.1", rule=RULE)
