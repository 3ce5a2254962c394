"""One Whoosh search on an open searcher: the snapshot of the searcher with what it reads
from the segments' columns and filter queries (cached per segment across searches), the
collector that stops at the deadline, and what is made of every match collected: the
ranking, facet counts, hits with highlights; and more-like-this for ``similar``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from array import array
from collections import Counter, OrderedDict

from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import TimeLimit

from portal.services.search import query as q
from portal.services.search.backend import FACETS, Hit, SearchQuery, SearchResult, no_matches
from portal.services.search.highlight import Marks, hit_passages
from portal.services.search.whoosh_query import Compiler, allowed, excluded

CHECK_EVERY = 64  # matches between looks at the clock


class Segments:
    """What searches derive from segments, kept while a segment is in the index (segments
    never change, only their deletions do): column values (what facets count and hits are
    sorted by) and the documents of filter queries (acl tokens, current versions)."""

    COLUMNS = (*FACETS, "date", "version_id")
    MAX_FILTERS = 256

    def __init__(self) -> None:
        self._columns: dict[tuple[str, str], list] = {}
        self._filters: OrderedDict[tuple[str, wq.Query], array] = OrderedDict()
        self._lock = threading.Lock()

    def column(self, reader, name: str) -> list:
        """Each document's value of column ``name`` in segment ``reader`` (raw sort keys for
        date and version id)."""
        key = (reader.segment().segment_id(), name)
        values = self._columns.get(key)
        if values is None:
            distinct: dict = {}  # one object per value, not per document
            column = reader.column_reader(name, translate=name in FACETS)
            values = [distinct.setdefault(v, v) for v in column]
            with self._lock:
                self._columns[key] = values
        return values

    def docs(self, leaf, query: wq.Query) -> array:
        """The documents of segment searcher ``leaf`` that ``query`` matches. Documents
        deleted since may stay in the list: no query matches them any more."""
        key = (leaf.reader().segment().segment_id(), query)
        with self._lock:
            docs = self._filters.get(key)
            if docs is not None:
                self._filters.move_to_end(key)
                return docs
        docs = array("I", leaf.docs_for_query(query))
        with self._lock:
            self._filters[key] = docs
            while len(self._filters) > self.MAX_FILTERS:
                self._filters.popitem(last=False)
        return docs

    def keep(self, segment_ids: set[str]) -> None:
        """Forget what was derived from segments no longer in the index."""
        with self._lock:
            for cache in (self._columns, self._filters):
                for key in [key for key in cache if key[0] not in segment_ids]:
                    del cache[key]


class Snapshot:
    """An open searcher (used by one thread at a time), with its columns and filters."""

    def __init__(self, searcher, segments: Segments) -> None:
        self.searcher = searcher
        self._segments = segments
        self._leaves = [(leaf, base) for leaf, base in searcher.leaf_searchers()
                        if leaf.reader().doc_count_all()]  # fmt: skip
        segments.keep({leaf.reader().segment().segment_id() for leaf, _base in self._leaves})
        self._columns: dict[str, list] = {}
        self._filters: dict[wq.Query, set[int]] = {}

    def column(self, name: str) -> list:
        """Column ``name`` of every document, by document number."""
        values = self._columns.get(name)
        if values is None:
            parts = (self._segments.column(leaf.reader(), name) for leaf, _base in self._leaves)
            values = self._columns[name] = list(itertools.chain.from_iterable(parts))
        return values

    def docs(self, query: wq.Query) -> set[int]:
        """The documents ``query`` matches (filters recur: one user's acl, current versions)."""
        docs = self._filters.get(query)
        if docs is None:
            docs = self._filters[query] = {
                base + d for leaf, base in self._leaves for d in self._segments.docs(leaf, query)
            }
        return docs

    def close(self) -> None:
        self.searcher.close()


class _Deadline(collectors.WrappingCollector):
    """Stops a search (``TimeLimit``) once ``time.monotonic()`` passes ``at``; looked at
    every ``CHECK_EVERY`` matches, admitted by the filters or not."""

    def __init__(self, child, at: float) -> None:
        super().__init__(child)
        self.at = at

    def matches(self):
        """The child's matches, until time is up."""
        for count, docnum in enumerate(self.child.matches(), 1):
            if not count % CHECK_EVERY and time.monotonic() > self.at:
                raise TimeLimit
            yield docnum


def search_in(snapshot: Snapshot, tree: q.Node, query: SearchQuery, acl, deadline) -> SearchResult:
    """One search on one snapshot: match, count, rank, highlight."""
    admitted = snapshot.docs(allowed(query, acl))
    if not admitted:  # (an empty set would mean "no filter" to Whoosh)
        return no_matches()
    searcher = snapshot.searcher
    compiler = Compiler(searcher.reader(), deadline)
    by_date = query.by_date
    # Every match is collected (total, facets): scored, or just listed when sorted by date.
    found = searcher.collector(limit=None, scored=not by_date)
    restrict = excluded(query)
    collector = collectors.FilterCollector(
        _Deadline(found, deadline),
        allow=admitted,
        restrict=snapshot.docs(restrict) if restrict is not None else None,
    )
    timed_out = False
    try:
        searcher.search_with_collector(compiler.query(tree), collector)
    except TimeLimit:
        timed_out = True
    results = collector.results()
    scores = {} if by_date else dict(results.items())
    docs = results.docs()
    start = (query.page - 1) * query.per_page
    page = _ranked(snapshot, docs, scores, start + query.per_page)[start:]
    timed_out = timed_out or time.monotonic() > deadline
    marks = {} if timed_out else compiler.highlight_marks(query.parsed.leaves)
    hits = [_hit(searcher, docnum, scores.get(docnum, 0.0), marks, deadline) for docnum in page]
    timed_out = timed_out or time.monotonic() > deadline
    facets = {name: _counts(snapshot.column(name), docs, name == "focus") for name in FACETS}
    return SearchResult(hits, len(docs), facets, timed_out or compiler.capped)


def _ranked(snapshot: Snapshot, docs, scores: dict[int, float], limit: int) -> list[int]:
    """The ``limit`` first of ``docs``: by score (when scored), then newest, then the
    highest version id."""
    dates, versions = snapshot.column("date"), snapshot.column("version_id")
    return heapq.nsmallest(
        limit, docs, key=lambda d: (-scores.get(d, 0.0), -dates[d], -versions[d])
    )


def _counts(values: list, docs, split: bool) -> dict[str, int]:
    """How many of ``docs`` have each value, most first (``split``: comma-separated lists)."""
    counted = Counter(map(values.__getitem__, docs))
    if split:
        parts: Counter = Counter()
        for value, count in counted.items():
            for part in value.split(","):
                parts[part] += count
        counted = parts
    counted.pop("", None)
    counted.pop(None, None)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def _hit(searcher, docnum: int, score: float, marks: dict[str, Marks], deadline) -> Hit:
    stored = searcher.stored_fields(docnum)
    highlights = [] if time.monotonic() > deadline else _highlights(stored, marks)
    return Hit(stored["version_id"], stored["document_id"], stored["case_id"],
               round(score, 4), highlights)  # fmt: skip


def _highlights(stored: dict, marks: dict[str, Marks]) -> list[str]:
    return hit_passages(
        lambda field: stored.get(field) or "", lambda field, _text: marks.get(field, Marks())
    )


def similar_in(searcher, version_id: int, acl: list[str], limit: int) -> list[Hit]:
    """Whoosh's more-like-this on the body, among current versions of other documents."""
    docnum = searcher.document_number(id=f"v{version_id}")
    if docnum is None:
        return []
    document_id = searcher.stored_fields(docnum)["document_id"]
    visible = wq.Or([wq.Term("acl", t) for t in acl])
    others = wq.Not(wq.Term("document_id", document_id))
    admitted = wq.And([visible, wq.Term("current", True), others])
    results = searcher.more_like(docnum, "body", top=limit, filter=admitted)
    return [Hit(hit["version_id"], hit["document_id"], hit["case_id"], round(hit.score, 4), [])
            for hit in results]  # fmt: skip
