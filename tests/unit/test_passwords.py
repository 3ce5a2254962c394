"""Password hashing and the password rule."""

from __future__ import annotations

import pytest

from portal.services.errors import ValidationFailed
from portal.services.passwords import (
    check_password_rule,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("Lindenblatt-Emsufer-Kanal-7")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Lindenblatt-Emsufer-Kanal-7")
    assert not verify_password(hashed, "Lindenblatt-Emsufer-Kanal-8")
    assert not needs_rehash(hashed)


def test_missing_or_garbage_hash_never_verifies():
    assert not verify_password(None, "kim-portal-timing-equaliser")
    assert not verify_password("not-a-hash", "anything")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("kurz", "too_short"),
        ("Passwort1234", "too_weak"),
        ("Sommer2024!!", "too_weak"),
        ("qwertz123456", "too_weak"),
        ("x" * 257, "too_long"),
    ],
)
def test_weak_passwords_are_refused(password, reason):
    with pytest.raises(ValidationFailed) as caught:
        check_password_rule(password)
    assert caught.value.fields == {"password": reason}


def test_password_built_from_the_users_own_name_is_refused():
    with pytest.raises(ValidationFailed):
        check_password_rule("anna.schmidt2026", user_inputs=["anna.schmidt@rietberg.de"])


def test_passphrase_is_accepted():
    check_password_rule("Ems-Ufer-Lindenblatt-26", user_inputs=["anna@rietberg.de"])
