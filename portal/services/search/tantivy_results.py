"""What a tantivy search returns besides its matching query: the page in exact order (by
score or date, ties newest first, then by version id, which tantivy's own order by index
position is not), its hits with highlights, the facet counts over every match.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import tantivy
from tantivy import Occur, Query

from portal.services.search.backend import FACETS, Hit, name_like
from portal.services.search.highlight import Marks, hit_passages
from portal.services.search.query import NAMES, TITLE, words_of
from portal.services.search.tantivy_query import STORED, date_range, filtered

FACET_SIZE = 10_000  # more distinct values than any facet has (organisations: hundreds)
# A tie at the end of the page is fetched whole up to this many hits past the page;
# beyond, the tie group is searched for in date order, WALK_BATCH hits at a time.
TIE_FETCH = 1_000
WALK_BATCH = 1_000


class Ranked(NamedTuple):
    """A hit in the order of the page: sort key (score or date), then date, version id."""

    key: float
    date: int
    version_id: int
    address: tantivy.DocAddress


# ------------------------------------------------------------ ranking


def ranked_page(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: Query,
    start: int,
    end: int,
    by_date: bool,
    deadline: float,
) -> tuple[list[Ranked], int, bool]:
    """Hits ``start`` to ``end`` by score (or date), ties newest first, then by version
    id; the number of matches; whether time ran out. tantivy breaks ties by index
    order, so the tie group at the end of the page is fetched whole and sorted."""
    order = "date" if by_date else None
    limit = end + 1
    result = searcher.search(query, limit, count=True, order_by_field=order)
    total, hits = result.count, result.hits
    if _tie_continues(hits, limit, end) and limit < end + TIE_FETCH:
        limit = end + TIE_FETCH
        hits = searcher.search(query, limit, count=False, order_by_field=order).hits
    if not _tie_continues(hits, limit, end):
        return ordered(searcher, hits)[start:end], total, False
    boundary = hits[end - 1][0]
    above = ordered(searcher, [hit for hit in hits if hit[0] != boundary])
    need = end - len(above)
    if by_date:
        tie, cut = _same_date(searcher, schema, query, boundary, need), False
    else:
        tie, cut = _same_score(searcher, schema, query, boundary, need, deadline)
    return (above + tie)[start:end], total, cut


def _same_date(searcher, schema, query: Query, date: int, need: int) -> list[Ranked]:
    """The ``need`` highest version ids among the matches of date ``date``."""
    same = filtered(query, [(Occur.Must, date_range(schema, date, date))])
    hits = searcher.search(same, need, count=False, order_by_field="version_id").hits
    return [Ranked(date, date, version_id, address) for version_id, address in hits]


def _same_score(
    searcher, schema, query: Query, score: float, need: int, deadline: float
) -> tuple[list[Ranked], bool]:
    """The ``need`` newest matches scoring ``score`` (a tie group too large to fetch
    whole, e.g. of a word in many texts of the same length): matches are walked newest first,
    ``WALK_BATCH`` at a time, and scored again restricted to each batch, until no
    later match can be newer. Whether time ran out first."""
    found: list[Ranked] = []
    offset = 0
    while True:
        batch = searcher.search(
            query, WALK_BATCH, count=False, order_by_field="date", offset=offset
        ).hits
        offset += len(batch)
        found = sorted([*found, *_scoring(searcher, schema, query, batch, score)], reverse=True)
        if len(batch) < WALK_BATCH or (len(found) >= need and found[need - 1].date > batch[-1][0]):
            return found[:need], False
        if time.monotonic() > deadline:
            return found[:need], True


def _scoring(searcher, schema, query: Query, batch, score: float) -> list[Ranked]:
    """Of the hits ``batch``, those that score ``score`` for ``query``."""
    if not batch:
        return []
    addresses = [address for _date, address in batch]
    versions = searcher.fast_field_values("version_id", addresses)
    restricted = filtered(
        query, [(Occur.Must, Query.term_set_query(schema, "version_id", versions))]
    )
    scored = searcher.search(restricted, len(addresses), count=False).hits
    return ordered(searcher, [hit for hit in scored if hit[0] == score])


def _tie_continues(hits, limit: int, end: int) -> bool:
    """Whether more matches than were fetched may share the key of the page's last hit."""
    return len(hits) == limit and hits[-1][0] == hits[end - 1][0]


def ordered(searcher: tantivy.Searcher, hits) -> list[Ranked]:
    """``hits`` (key, address) by key, then date, then version id, all descending."""
    if not hits:
        return []
    addresses = [address for _key, address in hits]
    dates = searcher.fast_field_values("date", addresses)
    versions = searcher.fast_field_values("version_id", addresses)
    ranked = [
        Ranked(key, date, version, address)
        for (key, address), date, version in zip(hits, dates, versions, strict=True)
    ]
    return sorted(ranked, key=lambda r: (r.key, r.date, r.version_id), reverse=True)


# ------------------------------------------------------------ hits, facets


def page_hits(searcher: tantivy.Searcher, page: list[Ranked], by_date: bool = False) -> list[Hit]:
    """Hits without highlights; score 0 when sorted by date (as in the other backends)."""
    addresses = [ranked.address for ranked in page]
    documents = searcher.fast_field_values("document_id", addresses) if page else []
    cases = searcher.fast_field_values("case_id", addresses) if page else []
    return [
        Hit(ranked.version_id, document_id, case_id, 0.0 if by_date else round(ranked.key, 4), [])
        for ranked, document_id, case_id in zip(page, documents, cases, strict=True)
    ]


def highlights_of(
    searcher: tantivy.Searcher, ranked: Ranked, marks: dict[str, Marks], name_words: list[str]
) -> list[str]:
    """The passages of a hit (``hit_passages``). Title and names are short and analysed
    first: a title without the marked terms is skipped, and in names only the terms they
    hold are looked for (none: no regex to compile at all)."""
    document = searcher.doc(ranked.address)

    def wanted(field: str, text: str) -> Marks:
        if field == TITLE and not any(map(marks[field].marks, words_of(text, field))):
            return Marks()
        if field == NAMES:
            present = set(words_of(text, field))
            found = {name for name in present if marks[field].marks(name)}
            return Marks(frozenset(found | _close_names(present, name_words)))
        return marks[field]

    return hit_passages(lambda field: stored_text(document, field), wanted)


def stored_text(document: tantivy.Document, field: str) -> str:
    value = document.get_first(STORED[field])
    return bytes(value).decode() if value else ""


def _close_names(names: set[str], words: list[str]) -> set[str]:
    """Those of ``names`` that a NameLike of one of ``words`` matches."""
    return {name for name in names if any(name_like(name, word) for word in words)}


def facet_counts(searcher: tantivy.Searcher, query: Query) -> dict[str, dict[str, int]]:
    """Counts per value of every facet over all matches of ``query`` (fast fields)."""
    spec = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
    result = searcher.aggregate(query, spec)
    return {
        name: {_key(bucket["key"]): bucket["doc_count"] for bucket in result[name]["buckets"]}
        for name in FACETS
    }


def _key(value) -> str:
    """A facet value as the result names it: numbers (organisation, year) as their digits."""
    return str(int(value)) if isinstance(value, int | float) else str(value)
