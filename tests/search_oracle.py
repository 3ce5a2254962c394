"""A brute-force evaluation of searches: what every backend must find, computed the slow way.

Each entry's fields are analysed with ``query.words_of`` (the analysis the index and the
queries share), each query tree node is evaluated over them by the definitions in
``query.py``, and the filters, totals and facets follow ``SearchQuery`` directly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from portal.services.search.backend import IndexEntry, SearchQuery, utc_naive
from portal.services.search.query import (
    NAMES,
    TEXT_FIELDS,
    All,
    Any,
    NameLike,
    Node,
    Not,
    Phrase,
    Prefix,
    Term,
    words_of,
)

FACETS = ("type", "phase", "focus", "organisation", "year")


@dataclass
class Expected:
    """What a search must give: the matching version ids, their number, and the facets."""

    version_ids: set[int]
    total: int
    facets: dict[str, dict[str, int]]


def evaluate(entries: list[IndexEntry], query: SearchQuery, acl: list[str]) -> Expected:
    """The entries ``acl`` may see that pass the filters of ``query`` and match its text."""
    tree = query.parsed.tree
    found = [e for e in entries if _admitted(e, query, set(acl)) and matches(tree, _terms(e))]
    facets: dict[str, Counter] = {name: Counter() for name in FACETS}
    for entry in found:
        facets["type"][entry.type] += 1
        facets["phase"][entry.phase] += 1
        facets["organisation"][str(entry.organisation_id)] += 1
        facets["year"][str(entry.year)] += 1
        facets["focus"].update(entry.focus)
    return Expected(
        {e.version_id for e in found}, len(found), {k: dict(v) for k, v in facets.items()}
    )


def matches(node: Node, terms: dict[str, list[str]]) -> bool:
    """Whether an entry with these field terms matches ``node``."""
    if isinstance(node, All):
        return all(matches(child, terms) for child in node.children)
    if isinstance(node, Any):
        return any(matches(child, terms) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, terms)
    if isinstance(node, Term):
        return any(set(words_of(node.text, f)) <= set(terms[f]) for f in node.fields)
    if isinstance(node, Phrase):
        return any(_consecutive(words_of(node.text, f), terms[f]) for f in node.fields)
    if isinstance(node, Prefix):
        return any(t.startswith(node.stem) for f in node.fields for t in terms[f])
    if isinstance(node, NameLike):
        return any(
            n[:1] == node.word[:1] and Levenshtein.distance(n, node.word) <= 1 for n in terms[NAMES]
        )
    raise TypeError(node)


def _terms(entry: IndexEntry) -> dict[str, list[str]]:
    return {f: words_of(getattr(entry, f), f) for f in TEXT_FIELDS}


def _consecutive(words: list[str], sequence: list[str]) -> bool:
    n = len(words)
    return n > 0 and any(sequence[i : i + n] == words for i in range(len(sequence) - n + 1))


def _admitted(entry: IndexEntry, query: SearchQuery, acl: set[str]) -> bool:
    """The filters: access, versions, type, phase, focus, organisation, case, dates."""
    moment = entry.utc_date
    return (
        bool(acl & set(entry.acl))
        and (query.all_versions or entry.current)
        and (not query.types or entry.type in query.types)
        and (not query.phase or entry.phase == query.phase)
        and (not query.focus or query.focus in entry.focus)
        and (not query.organisation_id or entry.organisation_id == query.organisation_id)
        and (not query.case_id or entry.case_id == query.case_id)
        and entry.case_id not in query.exclude_case_ids
        and (not query.date_from or moment >= utc_naive(query.date_from))
        and (not query.date_to or moment <= utc_naive(query.date_to))
    )
