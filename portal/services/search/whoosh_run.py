"""Running a parsed query on an open Whoosh searcher, the fast way.

Whoosh scores every match and computes facets hit by hit in Python. Here the
documents a query matches are sets built from each segment's id lists (set algebra
in C; ``whoosh_codec``), narrowed at once to what the user may see; facets are
counted from column tuples kept per searcher; phrases are verified from positions
only for documents the user may see; only those documents are scored, from the
listed term frequencies. Every loop watches a deadline and stops with what it has,
marked incomplete."""

from __future__ import annotations

import bisect
import heapq
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
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
from whoosh.scoring import WeightLengthScorer

from portal.services.search.whoosh_codec import term_doc_ids, term_postings
from portal.services.search.whoosh_readers import ReaderPool

FACETS = ("type", "phase", "focus", "organisation", "year")
CHECK_EVERY = 256  # documents between deadline checks
MAX_CACHED_SETS = 1024  # filter sets kept per searcher (case filters vary)
MAX_CACHED_IDS = 1_000_000  # document ids of term sets kept per searcher (~60 MB at most)
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

    def __init__(self, searcher, pool: ReaderPool) -> None:
        self.searcher = searcher
        self.pool = pool
        self.leaves = [
            (sub, offset, offset + sub.reader().doc_count_all())
            for sub, offset in searcher.leaf_searchers()
            if sub.reader().doc_count_all()  # an empty index has a reader of no segment
        ]
        self._columns: dict[str, tuple] = {}
        self._sets: dict[tuple, frozenset[int]] = {}
        self._terms: OrderedDict[tuple, frozenset[int]] = OrderedDict()
        self._lexicons: dict[str, list[str]] = {}
        self._cached_ids = 0
        self._lock = threading.Lock()
        self.users = 0  # queries running on it (counted by the backend under its lock)

    def column(self, name: str) -> tuple:
        """The values of sortable field ``name``, indexed by global document number (built
        from per-segment tuples the pool keeps while a segment lives; tuples of strings and
        dates, unlike lists, drop out of Python's garbage collector's rounds)."""
        values = self._columns.get(name)
        if values is None:
            parts = []
            for sub, _offset, _end in self.leaves:
                reader = sub.reader()
                parts.append(
                    self.pool.derived(
                        reader, ("column", name), lambda r=reader: tuple(r.column_reader(name))
                    )
                )
            values = self._columns[name] = tuple(chain.from_iterable(parts))
        return values

    def filter_docs(self, fieldname: str, value) -> frozenset[int]:
        """Documents with term ``value`` in ``fieldname``: acl tokens, current versions and
        other filters (kept per segment and deletion state, so a commit that adds a small
        segment does not recompute them for the large ones)."""
        key = (fieldname, value)
        docs = self._sets.get(key)
        if docs is None:
            found: set[int] = set()
            for sub, offset, _end in self.leaves:
                reader = sub.reader()
                local = self.pool.derived(
                    reader,
                    ("docs", reader.segment().deleted_count(), fieldname, value),
                    lambda r=reader: _segment_docs(r, fieldname, value),
                )
                found.update(local if offset == 0 else (d + offset for d in local))
            docs = frozenset(found)
            with self._lock:
                if len(self._sets) >= MAX_CACHED_SETS:
                    self._sets.clear()
                self._sets[key] = docs
        return docs

    def visible_to(self, acl: list[str], current_only: bool) -> set[int]:
        """Documents with one of the ``acl`` tokens (only current versions: ``current_only``)."""
        docs = set().union(*(self.filter_docs("acl", token) for token in acl))
        return docs & self.filter_docs("current", True) if current_only else docs

    def term_docs(self, fieldname: str, text) -> frozenset[int]:
        """Documents (not deleted) containing one term, from its posting lists; the most
        recent sets are kept while the searcher lives (``MAX_CACHED_IDS`` ids in all)."""
        key = (fieldname, text)
        with self._lock:
            docs = self._terms.get(key)
            if docs is not None:
                self._terms.move_to_end(key)
                return docs
        found: set[int] = set()
        for sub, offset, _end in self.leaves:
            found.update(_segment_docs(sub.reader(), fieldname, text, offset))
        docs = frozenset(found)
        with self._lock:
            self._terms[key] = docs
            self._cached_ids += len(docs)
            while self._cached_ids > MAX_CACHED_IDS and len(self._terms) > 1:
                _key, evicted = self._terms.popitem(last=False)
                self._cached_ids -= len(evicted)
        return docs

    def fuzzy_words(self, query: FuzzyTerm) -> list[str]:
        """The words of the query's field within ``maxdist`` edits of its text (a letter
        added, dropped or replaced, two neighbours swapped) that begin with its first
        ``prefixlength`` letters: what Whoosh's ``FuzzyTerm`` expands to, found in the
        field's word list by rapidfuzz (Whoosh builds an automaton in Python for each
        query word: 1.5 ms each, most of the time of a search for a name)."""
        text, start = query.text, query.text[: query.prefixlength]
        lexicon = self._lexicon(query.fieldname)
        low = bisect.bisect_left(lexicon, start)
        high = bisect.bisect_left(lexicon, start + "\U0010ffff") if start else len(lexicon)
        found = process.extract(
            text, lexicon[low:high], scorer=OSA.distance,
            score_cutoff=query.maxdist, limit=None,
        )  # fmt: skip
        return sorted(word for word, _distance, _index in found)

    def _lexicon(self, fieldname: str) -> list[str]:
        """The words of ``fieldname`` in every segment, sorted."""
        words = self._lexicons.get(fieldname)
        if words is None:
            words = set()
            for sub, _offset, _end in self.leaves:
                reader = sub.reader()
                words.update(
                    self.pool.derived(
                        reader, ("lexicon", fieldname),
                        lambda r=reader: [_text(w) for w in r.lexicon(fieldname)],
                    )
                )  # fmt: skip
            words = self._lexicons[fieldname] = sorted(words)
        return words

    def local(self, docs: set[int]):
        """Per segment: (searcher, offset, that segment's documents of ``docs``, sorted)."""
        for sub, offset, end in self.leaves:
            mine = sorted(d - offset for d in docs if offset <= d < end)
            if mine:
                yield sub, offset, mine


def _segment_docs(reader, fieldname: str, text, offset: int = 0) -> frozenset[int]:
    """The documents of one segment holding a term, numbered from ``offset``: from the
    portal codec's id lists, or for a segment written without them, from the postings."""
    docs = term_doc_ids(reader, fieldname, text, offset)
    if docs is not None:
        return docs
    if (fieldname, text) not in reader:
        return frozenset()
    return frozenset(d + offset for d in posting_ids(reader.postings(fieldname, text)))


def posting_ids(matcher) -> set[int]:
    """The document ids of a term's posting list (deleted documents left out), read a
    block at a time from Whoosh's own codec instead of id by id (10× faster), ids and
    positions alike."""
    deleted: Set[int] = frozenset()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:
        deleted, matcher = matcher._ids, matcher.child
    if not isinstance(matcher, W3LeafMatcher):
        return set(matcher.all_ids()) - deleted
    ids: list[int] = []
    while matcher.is_active():
        matcher.id()  # reads the block's ids
        ids.extend(matcher._ids[matcher._i :])
        matcher._next_block()
    return set(ids) - deleted


def matching(
    view: SearcherView, query: Query, within: set[int], deadline: Deadline, found=None
) -> set[int]:
    """The documents of ``within`` that ``query`` matches; those of its constant-score parts
    go into ``found`` (by ``id`` of the part) when given, for scoring them later."""
    if query is NullQuery:
        return set()
    if isinstance(query, Term):
        return view.term_docs(query.fieldname, query.text) & within
    if isinstance(query, ConstantScoreQuery):
        child = query.child
        if isinstance(child, Or) and all(isinstance(q, Term) for q in child.subqueries):
            docs = _any_term_docs(view, child.subqueries, within)  # a prefix's expansions
        else:
            docs = matching(view, child, within, deadline, found)
        if found is not None:
            found[id(query.child)] = docs
        return docs
    if isinstance(query, AndNot):
        return matching(view, query.a, within, deadline, found) - matching(
            view, query.b, within, deadline, found
        )
    if isinstance(query, AndMaybe):
        return matching(view, query.a, within, deadline, found)
    if isinstance(query, Require):
        return matching(view, query.a, within, deadline, found) & matching(
            view, query.b, within, deadline, found
        )
    if isinstance(query, Not):
        return within - matching(view, query.query, within, deadline, found)
    if isinstance(query, And):
        docs = set(within)
        for child in sorted(query.subqueries, key=lambda q: isinstance(q, Not | Phrase)):
            docs = matching(view, child, docs, deadline, found)  # narrows as it goes
            if not docs:
                break
        return docs
    if isinstance(query, Or):
        docs: set[int] = set()
        for child in query.subqueries:
            docs |= matching(view, child, within, deadline, found)
        return docs
    if isinstance(query, Phrase):
        return _phrase_docs(view, query, within, deadline)
    if isinstance(query, FuzzyTerm):
        docs = set()
        for word in view.fuzzy_words(query):
            docs |= view.term_docs(query.fieldname, word) & within
        return docs
    return set(view.searcher.docs_for_query(query)) & within


def _any_term_docs(view: SearcherView, terms: list[Term], within: set[int]) -> set[int]:
    """The documents of ``within`` holding any of ``terms``: one set filled from all their
    id lists (hundreds for a prefix), instead of a set per term. The lists include
    deleted documents; ``within`` never does (it is made of ``filter_docs`` sets)."""
    docs: set[int] = set()
    for sub, offset, _end in view.leaves:
        reader = sub.reader()
        for term in terms:
            listed = term_postings(reader, term.fieldname, term.text, offset)
            if listed is None:  # a segment without id lists
                docs.update(_segment_docs(reader, term.fieldname, term.text, offset))
            else:
                docs.update(listed[0])
    return docs & within


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


@dataclass
class QueryParts:
    """What a query scores and marks: its terms (field, text, boost; phrases as their words,
    fuzzy names expanded, exclusions left out) and its constant-score parts (query, score)."""

    terms: list[tuple[str, str, float]]
    fixed: list[tuple[Query, float]]
    fixed_docs: dict[int, set[int]] = field(default_factory=dict)  # ``matching``'s ``found``


def query_parts(query: Query, view: SearcherView) -> QueryParts:
    """The scored terms and constant-score parts of ``query``."""
    parts = QueryParts([], [])

    def walk(q: Query, boost: float) -> None:
        if isinstance(q, Not) or q is NullQuery:
            return
        if isinstance(q, ConstantScoreQuery):
            parts.fixed.append((q.child, boost * q.score))
        elif isinstance(q, Term):
            parts.terms.append((q.fieldname, q.text, boost * q.boost))
        elif isinstance(q, FuzzyTerm):
            parts.terms.extend((q.fieldname, word, boost * q.boost) for word in view.fuzzy_words(q))
        elif not q.is_leaf():
            for child in q.children():
                walk(child, boost * q.boost)

    walk(_words_only(query), 1.0)
    return parts


def _words_only(query: Query) -> Query:
    """The query to score with: phrases as their words (the documents are already known
    to contain the phrase), exclusions dropped."""
    if isinstance(query, Phrase):
        return And([Term(query.fieldname, word) for word in query.words])
    if isinstance(query, AndNot):
        return _words_only(query.a)
    if isinstance(query, AndMaybe | Require):
        return And([_words_only(query.a), _words_only(query.b)])
    if isinstance(query, And | Or):
        kept = [_words_only(q) for q in query.subqueries if not isinstance(q, Not)]
        return type(query)(kept)
    return query


def highlight_terms(parts: QueryParts) -> dict[str, set[str]]:
    """The index terms to mark in each field: the query's words and their expansions
    (fuzzy names, prefixes), never excluded words."""
    terms: dict[str, set[str]] = {}
    expanded = [(f, t) for part, _score in parts.fixed for f, t in part.iter_all_terms()]
    for fieldname, text in [(f, t) for f, t, _b in parts.terms] + expanded:
        terms.setdefault(fieldname, set()).add(_text(text))
    return terms


def rank(
    view: SearcherView,
    parts: QueryParts,
    docs: set[int],
    limit: int,
    by_date: bool,
    deadline: Deadline,
) -> list[tuple[int, float]]:
    """The ``limit`` best of ``docs`` with their scores: newest first (``by_date``, score 0),
    else by BM25 score of the query's words, ties newest first (documents left unscored
    when time ran out come last)."""
    dates = view.column("date")

    def newest(docnum: int):
        return dates[docnum] or _OLDEST

    if by_date:
        return [(docnum, 0.0) for docnum in heapq.nlargest(limit, docs, key=newest)]
    scores = _scores(view, parts, docs, deadline)
    best = heapq.nlargest(limit, docs, key=lambda d: (scores[d], newest(d)))
    return [(docnum, scores[docnum]) for docnum in best]


def _scores(view: SearcherView, parts: QueryParts, docs: set[int], deadline: Deadline):
    """BM25 scores of ``docs``: the sum of the scores of the query's terms each document
    holds (what Whoosh's And/Or matchers add up), read term by term from the postings,
    plus the fixed score of unscored parts (bounded prefixes)."""
    scores: dict[int, float] = dict.fromkeys(docs, 0.0)
    weighting = view.searcher.weighting
    for sub, offset, end in view.leaves if parts.terms else ():
        reader = sub.reader()
        for fieldname, text, boost in parts.terms:
            if (fieldname, text) not in reader:
                continue
            lengths = view.pool.derived(
                reader, ("lengths", fieldname), lambda r=reader, f=fieldname: _lengths(r, f)
            )
            scorer = weighting.scorer(sub, fieldname, text)
            listed = term_postings(reader, fieldname, text, offset)
            if listed is not None and isinstance(scorer, WeightLengthScorer):
                found = _listed_scores(*listed, docs, lengths, offset, scorer._score)
            else:
                wanted = {d - offset for d in docs if offset <= d < end}
                matcher = sub.postings(fieldname, text, weighting)
                found = ((d + offset, x) for d, x in _term_scores(matcher, wanted, lengths))
            for docnum, score in found:
                if deadline.passed():
                    return scores
                scores[docnum] += boost * score
    for part, boost in parts.fixed:
        known = parts.fixed_docs.get(id(part))
        for docnum in known & docs if known is not None else matching(view, part, docs, deadline):
            scores[docnum] += boost
    return scores


def _lengths(reader, fieldname: str) -> array:
    """The length of field ``fieldname`` of each document of a segment (as BM25 reads it;
    0 where the field is empty: Whoosh says None, and no term of the field is there)."""
    lengths = (reader.doc_field_length(d, fieldname, 1) for d in range(reader.doc_count_all()))
    return array("I", (length or 0 for length in lengths))


def _listed_scores(ids, weights, wanted: set[int], lengths: array, offset: int, bm25):
    """(document, score) for the ``wanted`` documents of a term's listed ids (numbered from
    ``offset``) and frequencies (``whoosh_codec``)."""
    for docnum, weight in zip(ids, weights, strict=True):
        if docnum in wanted:
            yield docnum, bm25(weight, lengths[docnum - offset])


def _term_scores(matcher, wanted: set[int], lengths: array):
    """(document, score) for the ``wanted`` documents (none deleted) in one term's postings
    (a segment written without id lists): a codec block at a time, skipping blocks that
    hold none of them; ``lengths`` are the field's lengths per document."""
    if isinstance(matcher, FilterMatcher):  # deletions: ``wanted`` holds none anyway
        matcher = matcher.child
    scorer = getattr(matcher, "scorer", None)
    if not isinstance(matcher, W3LeafMatcher) or not isinstance(scorer, WeightLengthScorer):
        while matcher.is_active():  # another codec or scorer: one posting at a time
            if matcher.id() in wanted:
                yield matcher.id(), matcher.score()
            matcher.next()
        return
    bm25 = scorer._score
    while matcher.is_active():
        matcher.id()  # reads the block's ids
        ids = matcher._ids
        if not wanted.isdisjoint(ids):
            matcher.weight()  # reads the block's weights
            weights = matcher._weights
            for i in range(matcher._i, len(ids)):
                if ids[i] in wanted:
                    yield ids[i], bm25(weights[i], lengths[ids[i]])
        matcher._next_block()


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


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
