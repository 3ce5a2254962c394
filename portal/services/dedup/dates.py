"""Birth dates: how well two (possibly partial) birth dates agree."""

from __future__ import annotations

_UNKNOWN_DATE = 0.93  # one side has no birth date at all
_SAME_MONTH = 0.90  # same year and month, the day differs
_SAME_YEAR = 0.80  # same year, month and day differ


def _date_factor(a: tuple, b: tuple) -> float:
    """How well two (year, month, day) birth dates agree: 0 rules the pair out."""
    ya, ma, da = a
    yb, mb, db = b
    if ya is None or yb is None:
        return _UNKNOWN_DATE
    if ya != yb:
        return 0.0
    if (ma, da) == (1, 1) or (mb, db) == (1, 1):
        ma = da = mb = db = None  # "01.01." stands in for an unknown date
    if ma is None or mb is None:
        return 1.0
    if da is None or db is None:
        known_day = da if db is None else db
        other_month = mb if db is None else ma
        if ma == mb:
            return 1.0
        return 0.95 if known_day == other_month else _SAME_YEAR
    if (ma, da) == (mb, db) or (ma, da) == (db, mb):
        return 1.0
    return _SAME_MONTH if ma == mb else _SAME_YEAR


def birth_date_agreement(a: dict, b: dict) -> float:
    """0..1 for two persons' (partial) birth dates; 0 when the years differ."""
    return _date_factor(_date(a), _date(b))


def birth_dates_agree(a: dict, b: dict) -> bool:
    """True unless both birth years are known and differ."""
    return birth_date_agreement(a, b) > 0


def _date(person: dict) -> tuple:
    return person.get("birth_year"), person.get("birth_month"), person.get("birth_day")
