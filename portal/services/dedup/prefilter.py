"""The prefilter: in a large population, only persons whose loosest name keys resemble the
query's are scored in detail (see ``PREFILTER_CUTOFF``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from portal.services.dedup.names import _loose, _tokens

PREFILTER_CUTOFF = 62
"""rapidfuzz ratio (0..100) of the loosest family-name keys (see _block_keys) below which
a stored person is not scored in detail. The benchmark checks that no pair reaching
``scoring.THRESHOLD`` falls below it."""
PREFILTER_FROM = 300
"""Fewer stored persons than this are scored exhaustively."""
_FIELDS = (
    "given_name", "family_name", "aliases", "birth_year", "birth_month", "birth_day", "gender"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Columns:
    """Stored persons column by column: a handful of long sequences instead of one
    container per person, which keeps the garbage collector quiet on big scans."""

    given_name: Sequence[str]
    family_name: Sequence[str]
    aliases: Sequence[Sequence[str]]
    birth_year: Sequence[int | None]
    birth_month: Sequence[int | None]
    birth_day: Sequence[int | None]
    gender: Sequence[str | None]

    @staticmethod
    def of(persons: Sequence[dict]) -> _Columns:
        return _Columns(*([p.get(name) for p in persons] for name in _FIELDS))

    def __len__(self) -> int:
        return len(self.family_name)

    def person(self, i: int) -> dict:
        return {name: getattr(self, name)[i] for name in _FIELDS}


@lru_cache(maxsize=1 << 16)
def _block_keys(text: str) -> tuple[str, ...]:
    """The loosest forms of a name (canonical, article dropped, a/e/i and o/u and z/s
    alike): the whole name, and each word of a name of several words."""
    tokens, _article = _tokens(text, True)
    keys = [_loose("".join(tokens))]
    if len(tokens) > 1:
        keys.extend(_loose(token) for token in tokens)
    return tuple(dict.fromkeys(keys))


def _query_keys(query: dict) -> list[str]:
    keys = [
        *_block_keys(query.get("given_name") or ""),
        *_block_keys(query.get("family_name") or ""),
    ]
    for alias in query.get("aliases") or ():
        keys.extend(_block_keys(alias))
    return list(dict.fromkeys(keys))


def _person_keys(person: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Keys of the family-name side and of the given-name side; aliases count for both."""
    family = _block_keys(person.get("family_name") or "")
    given = _block_keys(person.get("given_name") or "")
    aliases = person.get("aliases")
    if aliases:
        extra = tuple(key for alias in aliases for key in _block_keys(alias))
        family, given = family + extra, given + extra
    return family, given


def prefilter_passes(query: dict, person: dict) -> bool:
    """Whether :func:`rank` scores ``person`` in detail for ``query`` (for the benchmark):
    some key of the query resembles a family-side key of the person, and some key a
    given-side key. Any pair that can reach THRESHOLD has both (swapped names too)."""
    keys = _query_keys(query)
    family, given = _person_keys(person)

    def resembles(sides: tuple[str, ...]) -> bool:
        return any(fuzz.ratio(a, b) >= PREFILTER_CUTOFF for a in keys for b in sides)

    return resembles(family) and resembles(given)


def _prefilter(query: dict, columns: _Columns, indices: Sequence[int]) -> list[int]:
    """:func:`prefilter_passes` for many persons: one rapidfuzz pass (in C) per query key
    over the keys of the distinct family names, and one over the given names."""
    query_keys = _query_keys(query)
    family, given, aliases = columns.family_name, columns.given_name, columns.aliases
    families = _resembling(dict.fromkeys(family[i] or "" for i in indices), query_keys)
    givens = _resembling(dict.fromkeys(given[i] or "" for i in indices), query_keys)
    return [
        i
        for i in indices
        if ((family[i] or "") in families and (given[i] or "") in givens)
        or (aliases[i] and prefilter_passes(query, columns.person(i)))
    ]


def _resembling(names: Iterable[str], query_keys: list[str]) -> set[str]:
    """The names with a key resembling one of ``query_keys``."""
    choices: list[str] = []
    owners: list[str] = []
    for name in names:
        for key in _block_keys(name):
            choices.append(key)
            owners.append(name)
    found = set()
    for key in query_keys:
        for _choice, _score, index in process.extract(
            key, choices, scorer=fuzz.ratio, score_cutoff=PREFILTER_CUTOFF, limit=None
        ):
            found.add(owners[index])
    return found
