"""What a PostgreSQL search returns besides its matches: the settings of the search
transaction, the page (facets counted over every match, the newest candidates ranked,
the older ones by date), its hits with their stored texts and highlights, the unranked
first matches after a timeout, and similar documents.
"""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import text

from portal.services.search.backend import BOOSTS, FACETS, Hit, SearchQuery, SearchResult
from portal.services.search.highlight import SCAN_CHARS, Marks, hit_passages, query_marks
from portal.services.search.pg_query import EVERYTHING, quoted
from portal.services.search.pg_sql import (
    ACCESS,
    COUNTS,
    FACET_OF,
    KEY_TERMS,
    NEWEST,
    RANKED,
    SEARCH_SETTINGS,
    TEXTS,
)
from portal.services.search.query import BODY, NAMES, REFERENCE, TITLE

# The newest this many matches are ranked (see ``_ranked``).
RANK_CANDIDATES = 500
SIMILAR_TERMS = 12


def _rank_weights() -> str:
    """``ts_rank``'s weights of D (body), C (case reference), B (names) and A (title),
    each at most 1: the shared BOOSTS divided by the highest ("{0.5, 0.5, 0.75, 1.0}")."""
    top = max(BOOSTS.values())
    weights = (BOOSTS.get(field, 1.0) / top for field in (BODY, REFERENCE, NAMES, TITLE))
    return "{" + ", ".join(map(str, weights)) + "}"


RANK_WEIGHTS = _rank_weights()


def limit_time(connection, deadline: float) -> None:
    """Settings of the search transaction: the time left until ``deadline``; plans made
    for the actual words (not generic ones of a prepared statement); matches found through
    the text index, never by reading every entry's tsvector (the planner does not count
    the cost of reading them), and so no compiling for a seemingly costly plan (JIT); memory
    to hold the facet columns of every match."""
    remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
    connection.execute(text(SEARCH_SETTINGS), {"ms": str(remaining_ms)})


def page(connection, query: SearchQuery, where, rank) -> tuple[SearchResult, list]:
    """Total and facets of every match, the page's hits (without highlights), and their
    stored texts. Unscored matches (by date, or only prefixes) come newest first."""
    start, end = (query.page - 1) * query.per_page, query.page * query.per_page
    scored = rank not in (None, EVERYTHING)
    sql, params = where
    newest = max(RANK_CANDIDATES, end) if scored else end
    rows = connection.execute(text(COUNTS.format(where=sql)), {**params, "newest": newest})
    counts, candidates = [], []
    for grouped, key, focus, n, version_id in rows:
        if version_id is not None:
            candidates.append(version_id)
        elif FACET_OF[grouped] == "focus":
            counts += [("focus", f, n) for f in focus or []]
        else:
            counts.append((FACET_OF[grouped], key, n))
    total = next(n for facet, _key, n in counts if facet == "total")
    if start >= total:
        return SearchResult([], total, _facets(counts)), []
    # The newest RANK_CANDIDATES ranked, then the older matches by date: the same
    # order whichever page is asked for.
    head = candidates[:RANK_CANDIDATES] if scored else []
    ranked = _ranked(connection, rank, head) if head else []
    ranked += [(version_id, 0.0) for version_id in candidates[len(head) :]]
    hits, texts = _with_texts(connection, ranked[start:end])
    return SearchResult(hits, total, _facets(counts)), texts


def unranked(query: SearchQuery, rows) -> SearchResult:
    """The page of ``rows`` (the first matches found, in no order), counted and faceted
    among themselves, marked incomplete."""
    start = (query.page - 1) * query.per_page
    hits = [Hit(r.version_id, r.document_id, r.case_id, 0.0, []) for r in rows]
    return SearchResult(
        hits[start : start + query.per_page], len(rows), _facets(_count(rows)), True
    )


def similar_hits(connection, version_id: int, acl: list[str], limit: int) -> list[Hit]:
    """Current versions of other documents sharing the most frequent title and body
    words of ``version_id`` (its top SIMILAR_TERMS lexemes), best first."""
    source = connection.execute(
        text(KEY_TERMS), {"version_id": version_id, "terms": SIMILAR_TERMS}
    ).one_or_none()
    if source is None or not source.terms:
        return []
    rank = " | ".join(quoted(term) for term in source.terms)
    where = (
        f"{ACCESS} AND e.current AND e.document_id <> :document AND e.tsv @@ CAST(:tsq AS tsquery)",
        {"acl": list(acl), "document": source.document_id, "tsq": rank},
    )
    candidates = connection.scalars(
        text(NEWEST.format(where=where[0])), {**where[1], "newest": RANK_CANDIDATES}
    )
    ranked = _ranked(connection, rank, list(candidates))[:limit]
    hits, _texts = _with_texts(connection, ranked)
    return hits


def _ranked(connection, rank: str, candidates: list[int]) -> list[tuple[int, float]]:
    """(version id, score) of ``candidates``, best first: ``ts_rank`` by ``rank``, then the
    newest. Only the newest RANK_CANDIDATES matches are candidates: ranking every match
    would read every match's tsvector (half a second for 12,000 at 100,000 entries)."""
    rows = connection.execute(
        text(RANKED), {"weights": RANK_WEIGHTS, "rank": rank, "candidates": candidates}
    )
    scored = sorted(((r.score, r.date, r.version_id) for r in rows), reverse=True)
    return [(version_id, score) for score, _date, version_id in scored]


def _with_texts(connection, ranked: list[tuple[int, float]]) -> tuple[list[Hit], list[dict]]:
    """Hits in the order of ``ranked`` and their stored texts (the body's first SCAN_CHARS)."""
    ids = [version_id for version_id, _score in ranked]
    rows = {
        r.version_id: r for r in connection.execute(text(TEXTS), {"ids": ids, "chars": SCAN_CHARS})
    }
    found = [(rows[v], score) for v, score in ranked if v in rows]
    hits = [Hit(r.version_id, r.document_id, r.case_id, round(score, 4), []) for r, score in found]
    return hits, [{BODY: r.body, TITLE: r.title, NAMES: r.names} for r, _score in found]


def highlight(hits: list[Hit], texts: list[dict], leaves, close, deadline: float) -> None:
    """The passages of each hit (``hit_passages``) around what the query's positive
    ``leaves`` mark, with the ``close`` names of its typo-tolerant words; none after
    ``deadline``, which is looked at before every field (a body is scanned up to
    SCAN_CHARS)."""
    marks, name_words = query_marks(leaves)
    names = marks[NAMES]
    close_words = {word for wanted in name_words for word in close.get(wanted, [])}
    marks[NAMES] = Marks(names.terms | close_words, names.prefixes)

    def marks_of(field: str, _stored: str) -> Marks:
        return Marks() if time.monotonic() >= deadline else marks[field]

    for hit, stored in zip(hits, texts, strict=True):
        hit.highlights = hit_passages(stored.get, marks_of)


def _count(rows) -> list[tuple[str, str, int]]:
    counts: Counter = Counter()
    for r in rows:
        counts.update([("type", r.type), ("phase", r.phase)])
        counts.update([("organisation", str(r.organisation_id)), ("year", str(r.year))])
        counts.update(("focus", f) for f in r.focus)
    return [(facet, key, n) for (facet, key), n in counts.items()]


def _facets(counts) -> dict[str, dict[str, int]]:
    """Counts by facet and key (one key may come several times: summed)."""
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for facet, key, n in counts:
        if facet in facets and key not in (None, ""):
            facets[facet][str(key)] = facets[facet].get(str(key), 0) + int(n)
    return facets
