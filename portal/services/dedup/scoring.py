"""Scoring and ranking: how likely two person records are one person, and the best
candidates among many (with a cheap prefilter for large populations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from portal.services.dedup.dates import _date, _date_factor
from portal.services.dedup.names import (
    Part,
    _spelling,
    _string_sim,
    _words,
    name_part,
    part_similarity,
)
from portal.services.dedup.prefilter import PREFILTER_FROM, _Columns, _prefilter

THRESHOLD = 0.85
"""Candidates scoring below this are not shown; tuned with ``bench/dedup.py``."""
MAX_CANDIDATES = 10

# Weights of the partial evidence (see _name_score, _gender_factor).
_SWAP_WEIGHT = 0.98  # given and family name swapped
_ORDER_FREE_WEIGHT = 0.97  # the same name tokens, split differently into given/family
_SUBSET_WEIGHT = 0.90  # one name's tokens (at least two) all found in the other's
_EXTRA_GIVEN_WEIGHT = 0.96  # a second given name on one side only
_GENDER_MISMATCH = 0.85


@dataclass(frozen=True, slots=True)
class _Name:
    """One way of writing a person's name: structured, or only as a set of tokens."""

    given: Part | None
    family: Part | None
    raw: tuple[str, str]
    tokens: tuple[str, ...]  # canonical tokens of the whole name

    @staticmethod
    @lru_cache(maxsize=1 << 16)
    def of(given: str, family: str) -> _Name:
        g, f = name_part(given, False), name_part(family, True)
        return _Name(g, f, (given, family), g.tokens + f.tokens)

    @staticmethod
    @lru_cache(maxsize=1 << 14)
    def unstructured(text: str) -> _Name:
        return _Name(None, None, ("", text), tuple(_words(text)[0]))


@dataclass(frozen=True, slots=True)
class _Profile:
    names: tuple[_Name, ...]


@lru_cache(maxsize=1 << 15)
def _profile(given: str, family: str, aliases: tuple[str, ...]) -> _Profile:
    primary = _Name.of(given, family)
    names = [primary]
    for alias in aliases:
        # an alias may be another spelling of the family name, of the given name,
        # or a whole name
        names.append(_Name.of(given, alias))
        names.append(_Name.of(alias, family))
        if len(alias.split()) > 1:
            names.append(_Name.unstructured(alias))
    return _Profile(tuple(names))


def _combine(given: float, family: float) -> float:
    """Both parts must agree: the mean, pulled down by the weaker part."""
    low = min(given, family)
    return (given + family) / 2 - 0.5 * max(0.0, 0.75 - low)


def _name_score(a: _Name, b: _Name, memo: dict | None = None) -> float:
    """0..1 for two ways of writing a name. ``memo`` keeps part similarities across the
    persons of one search (family and given names repeat a lot)."""
    memo = {} if memo is None else memo
    best = 0.0
    structured = a.given and a.family and b.given and b.family
    if structured:
        straight = _combine(
            _memoised(memo, _given_similarity, a.given, b.given),
            _memoised(memo, part_similarity, a.family, b.family),
        )
        if straight >= 1.0:
            return 1.0
        # swapped: each name read in the role of the slot it is compared with
        swapped = _SWAP_WEIGHT * _combine(
            _memoised(memo, _given_similarity, name_part(a.raw[1], False), b.given),
            _memoised(memo, part_similarity, name_part(a.raw[0], True), b.family),
        )
        best = max(straight, swapped)
    # one given and one family name on both sides: straight and swapped said it all
    simple = structured and len(a.tokens) == len(b.tokens) == 2
    if best < _ORDER_FREE_WEIGHT and not simple and len(a.tokens) >= 2 and len(b.tokens) >= 2:
        best = max(best, _order_free(a.tokens, b.tokens, memo))
    return best


def _memoised(memo: dict, function, a: Part, b: Part) -> float:
    key = (function, id(a), id(b))
    hit = memo.get(key)
    if hit is not None and hit[1] is a and hit[2] is b:
        return hit[0]
    value = function(a, b)
    memo[key] = (value, a, b)
    return value


def _given_similarity(a: Part, b: Part) -> float:
    """Given names; a second given name on one side only (the father's name in a name
    chain: Yohannes Tesfay / Yohannes) costs a little."""
    score = part_similarity(a, b)
    if score < 1.0 and len(a.tokens) != len(b.tokens) and a.tokens and b.tokens:
        short, long = sorted((a.tokens, b.tokens), key=len)
        prefix = _string_sim(_spelling("".join(short)), _spelling("".join(long[: len(short)])))
        score = max(score, _EXTRA_GIVEN_WEIGHT * prefix)
    return score


def _order_free(a: Sequence[str], b: Sequence[str], memo: dict) -> float:
    """The name tokens paired regardless of order and of the given/family split; when one
    side has more tokens, all tokens of the other must be found."""
    short, long = sorted((a, b), key=len)
    remaining = list(long)
    scores = []
    for token in short:
        sims = []
        for other in remaining:
            sim = memo.get((token, other))
            if sim is None:
                sim = memo[(token, other)] = _string_sim(_spelling(token), _spelling(other))
            sims.append(sim)
        best = max(range(len(sims)), key=sims.__getitem__)
        scores.append(sims[best])
        remaining.pop(best)
    low = min(scores)
    score = sum(scores) / len(scores) - 0.5 * max(0.0, 0.75 - low)
    return score * (_ORDER_FREE_WEIGHT if not remaining else _SUBSET_WEIGHT)


def _profile_of(person: dict) -> _Profile:
    return _profile(
        person.get("given_name") or "",
        person.get("family_name") or "",
        tuple(person.get("aliases") or ()),
    )


def _gender_factor(a: dict, b: dict) -> float:
    ga, gb = a.get("gender"), b.get("gender")
    if ga in ("female", "male") and gb in ("female", "male") and ga != gb:
        return _GENDER_MISMATCH
    return 1.0


def _score(query: dict, q: _Profile, person: dict, p: _Profile, memo: dict | None = None) -> float:
    dates = _date_factor(_date(query), _date(person))
    if not dates:
        return 0.0
    names = 0.0
    for a in q.names:
        for b in p.names:
            names = max(names, _name_score(a, b, memo))
            if names >= 1.0:
                break
    return names * dates * _gender_factor(query, person)


def match_score(a: dict, b: dict) -> float:
    """0..1: how likely two person records describe the same person.

    The dicts carry ``given_name``, ``family_name`` and optionally ``aliases``,
    ``birth_year``/``birth_month``/``birth_day`` and ``gender``.
    """
    return _score(a, _profile_of(a), b, _profile_of(b))


def rank(
    query: dict,
    persons: Sequence[dict],
    *,
    threshold: float | None = None,
    limit: int | None = MAX_CANDIDATES,
    prefilter: bool = True,
) -> list[tuple[float, dict]]:
    """The stored ``persons`` that probably are ``query``: (score, person), best first.

    Birth years rule out most persons at once; of many remaining, one rapidfuzz pass
    over their names (in C) picks the few that are scored in detail.
    """
    ranked = _rank(query, _Columns.of(persons), threshold, limit, prefilter)
    return [(score, persons[i]) for score, i in ranked]


def _rank(
    query: dict, columns: _Columns, threshold: float | None, limit: int | None, prefilter: bool
) -> list[tuple[float, int]]:
    threshold = THRESHOLD if threshold is None else threshold
    year = query.get("birth_year")
    if year is None:
        indices: Sequence[int] = range(len(columns))
    else:
        indices = [i for i, y in enumerate(columns.birth_year) if y is None or y == year]
    if prefilter and len(indices) >= PREFILTER_FROM:
        indices = _prefilter(query, columns, indices)
    q = _profile_of(query)
    scored = []
    memo: dict = {}
    for i in indices:
        person = columns.person(i)
        score = _score(query, q, person, _profile_of(person), memo)
        if score >= threshold:
            scored.append((score, i))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored[:limit]


def name_similarity(given_a: str, family_a: str, given_b: str, family_b: str) -> float:
    """0..1: how alike two full names are, allowing swapped given and family names."""
    return _name_score(_Name.of(given_a, family_a), _Name.of(given_b, family_b))
