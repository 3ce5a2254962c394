"""Running a parsed query on an open Whoosh searcher, the fast way.

Whoosh scores every match and computes facets hit by hit in Python. Here the
documents a query matches are sets built from posting lists (set algebra in C),
narrowed at once to what the user may see; facets are counted from column
arrays kept per searcher; phrases are verified only for documents the user may
see; only those documents are scored. Every loop watches a deadline and stops
with what it has, marked incomplete.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import Counter
from datetime import datetime

from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    ConstantScoreQuery,
    FuzzyTerm,
    Not,
    NullQuery,
    Or,
    Phrase,
    Query,
    Require,
    Term,
)
from whoosh.reading import TermNotFound

FACETS = ("type", "phase", "focus", "organisation", "year")
CHECK_EVERY = 256  # documents between deadline checks
_OLDEST = datetime.min


class Deadline:
    """When a query must stop; ``expired`` tells whether a loop stopped because of it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._steps = 0

    def passed(self) -> bool:
        """Whether time is up (looked at every ``CHECK_EVERY`` calls)."""
        self._steps += 1
        if self._steps % CHECK_EVERY == 0 and time.monotonic() > self.at:
            self.expired = True
        return self.expired


class SearcherView:
    """What the queries on one open searcher share: facet and date columns, and the
    document sets of filter terms (acl tokens, current versions, types), built once."""

    MAX_CACHED_SETS = 1024

    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self.leaves = [
            (sub, offset, offset + sub.reader().doc_count_all())
            for sub, offset in searcher.leaf_searchers()
        ]
        self._columns: dict[str, list] = {}
        self._sets: dict[tuple, frozenset[int]] = {}
        self._lock = threading.Lock()

    def column(self, name: str) -> list:
        """The values of sortable field ``name``, indexed by global document number."""
        values = self._columns.get(name)
        if values is None:
            reader = self.searcher.reader()
            values = list(reader.column_reader(name)) if reader.doc_count_all() else []
            self._columns[name] = values
        return values

    def filter_docs(self, fieldname: str, value) -> frozenset[int]:
        """Documents with term ``value`` in ``fieldname`` (cached while the searcher lives)."""
        key = (fieldname, value)
        docs = self._sets.get(key)
        if docs is None:
            docs = frozenset(self.term_docs(fieldname, value))
            with self._lock:
                if len(self._sets) >= self.MAX_CACHED_SETS:
                    self._sets.clear()
                self._sets[key] = docs
        return docs

    def term_docs(self, fieldname: str, text) -> set[int]:
        """Documents (not deleted) containing one term, from its posting lists."""
        docs: set[int] = set()
        for sub, offset, _end in self.leaves:
            reader = sub.reader()
            try:
                ids = reader.postings(fieldname, text).all_ids()
            except TermNotFound:  # not in this segment
                continue
            docs.update(ids if offset == 0 else (docnum + offset for docnum in ids))
        return docs

    def local(self, docs: set[int]):
        """Per segment: (searcher, offset, that segment's documents of ``docs``, sorted)."""
        for sub, offset, end in self.leaves:
            mine = sorted(d - offset for d in docs if offset <= d < end)
            if mine:
                yield sub, offset, mine


def matching(view: SearcherView, query: Query, within: set[int], deadline: Deadline) -> set[int]:
    """The documents of ``within`` that ``query`` matches."""
    if query is NullQuery:
        return set()
    if isinstance(query, Term):
        return view.term_docs(query.fieldname, query.text) & within
    if isinstance(query, ConstantScoreQuery):
        return matching(view, query.child, within, deadline)
    if isinstance(query, AndNot):
        return matching(view, query.a, within, deadline) - matching(view, query.b, within, deadline)
    if isinstance(query, AndMaybe):
        return matching(view, query.a, within, deadline)
    if isinstance(query, Require):
        return matching(view, query.a, within, deadline) & matching(view, query.b, within, deadline)
    if isinstance(query, Not):
        return within - matching(view, query.query, within, deadline)
    if isinstance(query, And):
        docs = set(within)
        for child in sorted(query.subqueries, key=lambda q: isinstance(q, Not | Phrase)):
            docs = matching(view, child, docs, deadline)  # narrows as it goes
            if not docs:
                break
        return docs
    if isinstance(query, Or):
        docs: set[int] = set()
        for child in query.subqueries:
            docs |= matching(view, child, within, deadline)
        return docs
    if isinstance(query, Phrase):
        return _phrase_docs(view, query, within, deadline)
    return set(view.searcher.docs_for_query(query)) & within


def _phrase_docs(view: SearcherView, phrase: Phrase, within: set[int], deadline: Deadline):
    """Documents with the phrase's words in a row (at most ``slop`` apart), checked from
    the positions in the posting lists, only for documents of ``within``."""
    candidates = set(within)
    for word in phrase.words:
        candidates &= view.term_docs(phrase.fieldname, word)
        if not candidates:
            return set()
    if len(phrase.words) == 1:
        return candidates
    found = set()
    for sub, offset, docnums in view.local(candidates):
        reader = sub.reader()
        postings = [reader.postings(phrase.fieldname, word) for word in phrase.words]
        for docnum in docnums:
            if deadline.passed():
                return found
            positions = []
            for matcher in postings:
                matcher.skip_to(docnum)
                positions.append(matcher.value_as("positions"))
            if _in_a_row(positions, phrase.slop):
                found.add(docnum + offset)
    return found


def _in_a_row(positions: list[list[int]], slop: int) -> bool:
    """Whether some position of the first word is followed by each next word within
    ``slop`` positions."""
    later = [set(p) for p in positions[1:]]
    for start in positions[0]:
        at = start
        for following in later:
            step = next((at + d for d in range(1, slop + 1) if at + d in following), None)
            if step is None:
                break
            at = step
        else:
            return True
    return False


def rank(
    view: SearcherView, query: Query, docs: set[int], limit: int, by_date: bool, deadline: Deadline
) -> list[tuple[int, float]]:
    """The ``limit`` best of ``docs`` with their scores: newest first (``by_date``, score 0),
    else by BM25 score of the query's words, ties newest first (documents left unscored
    when time ran out come last)."""
    dates = view.column("date")

    def newest(docnum: int):
        return dates[docnum] or _OLDEST

    if by_date:
        return [(docnum, 0.0) for docnum in heapq.nlargest(limit, docs, key=newest)]
    scores = _scores(view, _words_only(query), docs, deadline)
    unscored = docs - scores.keys()
    best = heapq.nlargest(limit, scores, key=lambda d: (scores[d], newest(d)))
    if len(best) < limit and unscored:
        best += heapq.nlargest(limit - len(best), unscored, key=newest)
    return [(docnum, scores.get(docnum, 0.0)) for docnum in best]


def _scores(view: SearcherView, query: Query, docs: set[int], deadline: Deadline):
    """BM25 scores of ``docs``, driving one matcher per segment along the sorted documents."""
    scores: dict[int, float] = {}
    context = view.searcher.context()
    for sub, offset, docnums in view.local(docs):
        matcher = query.matcher(sub, context)
        for docnum in docnums:
            if deadline.passed() or not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
            if matcher.id() == docnum:
                scores[docnum + offset] = matcher.score()
    return scores


def _words_only(query: Query) -> Query:
    """The query to score with: phrases as their words (the documents are already known
    to contain the phrase), exclusions dropped."""
    if isinstance(query, Phrase):
        return And([Term(query.fieldname, word) for word in query.words])
    if isinstance(query, AndNot | AndMaybe | Require):
        return _words_only(query.a)
    if isinstance(query, And | Or):
        kept = [_words_only(q) for q in query.subqueries if not isinstance(q, Not)]
        return type(query)(kept)
    return query


def facet_counts(view: SearcherView, docs: set[int]) -> dict[str, dict[str, int]]:
    """Counts per facet value over ``docs``; ``focus`` holds several values per document."""
    counts = {}
    for name in FACETS:
        column = view.column(name)
        counted = Counter(map(column.__getitem__, docs))
        if name == "focus":
            split: Counter = Counter()
            for joined, n in counted.items():
                for value in _text(joined).split(","):
                    split[value] += n
            counted = split
        counts[name] = {
            _text(key): n for key, n in counted.most_common() if key not in (None, "", b"")
        }
    return counts


def highlight_terms(query: Query, reader) -> dict[str, set[str]]:
    """The index terms to mark in each field: the query's words and their expansions
    (fuzzy names), never excluded words."""
    terms: dict[str, set[str]] = {}

    def add(fieldname: str, text) -> None:
        terms.setdefault(fieldname, set()).add(_text(text))

    def walk(q: Query) -> None:
        if isinstance(q, Not):
            return
        if isinstance(q, AndNot | AndMaybe | Require):
            walk(q.a)
            if not isinstance(q, AndNot):
                walk(q.b)
        elif isinstance(q, Phrase):
            for word in q.words:
                add(q.fieldname, word)
        elif isinstance(q, FuzzyTerm):
            for _field, text in q.expanded_terms(reader):
                add(q.fieldname, text)
        elif isinstance(q, Term):
            add(q.fieldname, q.text)
        elif not q.is_leaf():
            for child in q.children():
                walk(child)

    walk(query)
    return terms


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
