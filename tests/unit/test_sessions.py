"""Server-side login sessions: idle timeout, absolute lifetime, revocation."""

from __future__ import annotations

from datetime import timedelta

from portal.models import LoginSession, utcnow
from portal.services import sessions

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)


def _start(db, user) -> str:
    token = sessions.start(db, user, ip="127.0.0.1", user_agent="pytest")
    db.commit()
    return token


def test_live_session_loads_its_user(db, make_user):
    user = make_user()
    token = _start(db, user)
    loaded = sessions.load(db, token, idle=IDLE, absolute=ABSOLUTE)
    assert loaded.id == user.id
    assert loaded.get_id() == token


def test_unknown_token_loads_nobody(db):
    assert sessions.load(db, "made-up", idle=IDLE, absolute=ABSOLUTE) is None


def test_idle_session_expires(db, make_user):
    token = _start(db, make_user())
    row = db.query(LoginSession).one()
    row.last_seen_at -= IDLE * 1.1
    db.commit()
    assert sessions.load(db, token, idle=IDLE, absolute=ABSOLUTE) is None


def test_session_ends_after_absolute_lifetime_despite_activity(db, make_user):
    token = _start(db, make_user())
    row = db.query(LoginSession).one()
    row.created_at -= ABSOLUTE * 1.1
    row.last_seen_at = utcnow()  # active a moment ago
    db.commit()
    assert sessions.load(db, token, idle=IDLE, absolute=ABSOLUTE) is None


def test_revoke_all_ends_every_session_of_the_user_only(db, make_user):
    alice, bob = make_user(), make_user()
    alice_tokens = [_start(db, alice), _start(db, alice)]
    bob_token = _start(db, bob)
    sessions.revoke_all(db, alice)
    db.commit()
    assert all(sessions.load(db, t, idle=IDLE, absolute=ABSOLUTE) is None for t in alice_tokens)
    assert sessions.load(db, bob_token, idle=IDLE, absolute=ABSOLUTE).id == bob.id


def test_only_the_token_hash_is_stored(db, make_user):
    token = _start(db, make_user())
    row = db.query(LoginSession).one()
    assert token not in row.token_hash
    assert row.token_hash == sessions.token_hash(token)
