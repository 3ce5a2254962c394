"""Password hashing (Argon2id) and the password rule."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from portal.services.errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn scores 0..4; 3 means "safely unguessable" for an online attack with throttling.
MIN_STRENGTH = 3
# zxcvbn's matching is quadratic; the first characters decide whether a password is weak.
STRENGTH_CHECK_CHARS = 64
# zxcvbn's dictionaries are English; these are the German words most often found in
# leaked German passwords, plus the words of this portal.
GERMAN_COMMON_WORDS = [
    "passwort",
    "kennwort",
    "hallo",
    "sommer",
    "winter",
    "herbst",
    "fruehling",
    "frühling",
    "sonne",
    "liebe",
    "schatz",
    "geheim",
    "willkommen",
    "fussball",
    "fußball",
    "deutschland",
    "berlin",
    "hamburg",
    "muenchen",
    "schalke",
    "borussia",
    "bayern",
    "mausi",
    "hase",
    "schule",
    "arbeit",
    "qwertz",
    "asdfgh",
    "ichliebedich",
    "januar",
    "februar",
    "dezember",
    "kim",
    "portal",
    "integration",
    "integrationsmanagement",
    "rathaus",
    "stadt",
]

_hasher = PasswordHasher()
# Verified when the account is unknown, so that response times do not reveal which e-mails exist.
_DUMMY_HASH = _hasher.hash("kim-portal-timing-equaliser")


def hash_password(password: str) -> str:
    """Return an Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash costs the same time and fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def check_password_rule(password: str, *, user_inputs: list[str] = ()) -> None:
    """Raise ValidationFailed unless ``password`` is long enough and not guessable.

    ``user_inputs`` are words the password must not lean on (e-mail, name, organisation).
    """
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            _l("The password must have at least %(n)d characters.", n=MIN_LENGTH),
            fields={"password": "too_short"},
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            _l("The password must have at most %(n)d characters.", n=MAX_LENGTH),
            fields={"password": "too_long"},
        )
    words = [w for value in user_inputs for w in _words(value)] + GERMAN_COMMON_WORDS
    result = zxcvbn(password[:STRENGTH_CHECK_CHARS], user_inputs=words)
    if result["score"] < MIN_STRENGTH or _only_known_words(password, set(words)):
        raise ValidationFailed(
            _l(
                "This password is too easy to guess (common words, names, keyboard"
                " patterns or dates). Choose a longer passphrase."
            ),
            fields={"password": "too_weak"},
        )


def _only_known_words(password: str, known: set[str]) -> bool:
    """True when, digits and symbols aside, the password is just names and common words.

    zxcvbn rates "Sommer2024!!" or "SabineHoffmann2026" as strong because it does not
    know German words or glued-together names; a guesser tries exactly those.
    """
    known = {word for word in known if len(word) >= 3}
    letters = re.findall(r"[^\W\d_]+", password.lower())
    return all(_composed_of(word, known) for word in letters)


def _composed_of(text: str, words: set[str]) -> bool:
    """True when ``text`` is a concatenation of ``words`` (word-break, dynamic programming)."""
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        reachable[end] = any(reachable[start] and text[start:end] in words for start in range(end))
    return reachable[-1]


def _words(value: str) -> list[str]:
    """Split e-mail addresses and names into the parts a guesser would try."""
    for separator in "@.-_+":
        value = value.replace(separator, " ")
    return [part.lower() for part in value.split() if len(part) >= 3]
