"""Running a parsed query on an open Whoosh searcher, the fast way.

Whoosh scores every match and computes facets hit by hit in Python. Here a set of
documents is a numpy mask over the searcher's document numbers: the documents a
query matches are built from each segment's id lists (``whoosh_codec``) and narrowed
at once to what the user may see, with mask algebra in C; facets are counted from
coded columns kept per segment; phrases are verified from positions only for
documents the user may see; only those documents are scored, BM25 on the listed
term frequencies as whole arrays. Loops in Python watch a deadline and stop with
what they have, marked incomplete."""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
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
from whoosh.scoring import BM25FScorer, WeightLengthScorer

from portal.services.search.whoosh_codec import term_postings
from portal.services.search.whoosh_readers import ReaderPool

FACETS = ("type", "phase", "focus", "organisation", "year")
CHECK_EVERY = 256  # documents between deadline checks
MAX_CACHED_BYTES = 64 * 2**20  # filter masks kept per searcher (acl tokens, cases, types)
NO_DATE = -(2**62)  # the date stamp of an entry without a date: before every other
_EPOCH, _MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)


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


def stamp(moment: datetime | None) -> int:
    """A naive datetime as microseconds since 1970 (``NO_DATE`` for none), as in ``dates``."""
    return NO_DATE if moment is None else (moment - _EPOCH) // _MICROSECOND


class SearcherView:
    """What the queries on one open searcher share: masks of filter terms (acl tokens,
    current versions, types), facet codes, dates and field lengths, built once.

    Document sets are boolean arrays of ``size`` entries, one per document number of the
    searcher; those it hands out are read-only, so no caller changes another's."""

    def __init__(self, searcher, pool: ReaderPool) -> None:
        self.searcher = searcher
        self.pool = pool
        self.leaves = [
            (sub, offset, offset + sub.reader().doc_count_all())
            for sub, offset in searcher.leaf_searchers()
            if sub.reader().doc_count_all()  # an empty index has a reader of no segment
        ]
        self.size = self.leaves[-1][2] if self.leaves else 0
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._arrays: dict[tuple, object] = {}
        self._lexicons: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._computing = threading.RLock()
        self.users = 0  # queries running on it (counted by the backend under its lock)

    def prepare(self) -> None:
        """Derive now what searches read from every segment: deletions, current versions,
        dates, facet codes and the lengths of the scored fields."""
        self.live()
        self.filter_docs("current", True)
        self.dates()
        for name in FACETS:
            self.facet(name)
        for fieldname in ("title", "body", "names"):
            self.lengths(fieldname)

    def none(self) -> np.ndarray:
        """A new, empty document set."""
        return np.zeros(self.size, dtype=bool)

    def of(self, docnums) -> np.ndarray:
        """A new document set of the document numbers ``docnums``."""
        docs = self.none()
        docs[np.fromiter(docnums, dtype=np.int64)] = True
        return docs

    def live(self) -> np.ndarray:
        """The documents not deleted."""
        return self._derived(("live",), self._live)

    def _live(self) -> np.ndarray:
        docs = np.ones(self.size, dtype=bool)
        for sub, offset, _end in self.leaves:
            reader = sub.reader()
            if reader.has_deletions():
                deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
                docs[deleted + offset] = False
        return docs

    def filter_docs(self, fieldname: str, value) -> np.ndarray:
        """Documents (not deleted) with term ``value`` in ``fieldname``: acl tokens, current
        versions and other filters, the most recent kept (``MAX_CACHED_BYTES`` in all)."""
        key = (fieldname, value)
        with self._lock:
            docs = self._masks.get(key)
            if docs is not None:
                self._masks.move_to_end(key)
                return docs
        docs = _frozen(self.term_docs(fieldname, value))
        with self._lock:
            self._masks[key] = docs
            while len(self._masks) * self.size > MAX_CACHED_BYTES and len(self._masks) > 1:
                self._masks.popitem(last=False)
        return docs

    def visible_to(self, acl: list[str], current_only: bool) -> np.ndarray:
        """Documents with one of the ``acl`` tokens (only current versions: ``current_only``)."""
        docs = self.none()
        for token in acl:
            docs |= self.filter_docs("acl", token)
        if current_only:
            docs &= self.filter_docs("current", True)
        return docs

    def term_docs(self, fieldname: str, text) -> np.ndarray:
        """Documents (not deleted) containing one term, from each segment's id lists."""
        docs = self.none()
        for sub, offset, _end in self.leaves:
            docs[segment_ids(sub.reader(), fieldname, text, offset)] = True
        return docs & self.live()

    def any_term_docs(self, terms: list[Term]) -> np.ndarray:
        """Documents (not deleted) holding any of ``terms`` (hundreds, for a prefix)."""
        docs = self.none()
        for sub, offset, _end in self.leaves:
            reader = sub.reader()
            for term in terms:
                docs[segment_ids(reader, term.fieldname, term.text, offset)] = True
        return docs & self.live()

    def dates(self) -> np.ndarray:
        """The ``stamp`` of each document's date."""
        return self._concatenated(("dates",), _segment_dates)

    def lengths(self, fieldname: str) -> np.ndarray:
        """The length of field ``fieldname`` in each document (as BM25 reads it)."""
        return self._concatenated(("lengths", fieldname), lambda r: _lengths(r, fieldname))

    def facet(self, name: str) -> tuple[np.ndarray, list]:
        """Each document's code of its value of sortable field ``name``, and the values."""
        return self._derived(("facet", name), lambda: self._facet(name))

    def _facet(self, name: str) -> tuple[np.ndarray, list]:
        codes, index = [], {}
        for sub, _offset, _end in self.leaves:
            reader = sub.reader()
            local, values = self.pool.derived(
                reader, ("facet", name), lambda r=reader: _coded(r.column_reader(name))
            )
            renumbered = [index.setdefault(value, len(index)) for value in values]
            codes.append(np.array(renumbered, dtype=np.int32)[local])
        return np.concatenate(codes) if codes else np.empty(0, np.int32), list(index)

    def _concatenated(self, key: tuple, compute) -> np.ndarray:
        """Per-segment arrays ``compute(reader)`` (kept by the pool while a segment lives)
        joined in document order."""

        def join():
            readers = [sub.reader() for sub, _offset, _end in self.leaves]
            parts = [self.pool.derived(r, key, lambda r=r: compute(r)) for r in readers]
            return np.concatenate(parts) if parts else np.empty(0)

        return self._derived(key, join)

    def _derived(self, key: tuple, compute):
        value = self._arrays.get(key)
        if value is None:
            with self._computing:  # once, even when a search and the warm-up both ask
                value = self._arrays.get(key)
                if value is None:
                    value = self._arrays[key] = compute()
        return value

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

    def local(self, docs: np.ndarray):
        """Per segment: (searcher, offset, that segment's documents of ``docs``, ascending)."""
        for sub, offset, end in self.leaves:
            mine = np.flatnonzero(docs[offset:end])
            if len(mine):
                yield sub, offset, mine.tolist()


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def segment_ids(reader, fieldname: str, text, offset: int = 0) -> np.ndarray:
    """The documents of one segment holding a term, numbered from ``offset``, deleted ones
    included: from the portal codec's id lists, or for a segment written without them,
    from the postings."""
    listed = term_postings(reader, fieldname, text, offset)
    if listed is not None:
        return listed[0]
    if (fieldname, text) not in reader:
        return np.empty(0, np.int64)
    ids = posting_ids(reader.postings(fieldname, text))
    return np.fromiter(ids, dtype=np.int64, count=len(ids)) + offset


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


def _coded(values) -> tuple[np.ndarray, list]:
    """Each value's number in the list of distinct values, and that list."""
    index: dict = {}
    codes = [index.setdefault(value, len(index)) for value in values]
    return np.array(codes, dtype=np.int32), list(index)


def _segment_dates(reader) -> np.ndarray:
    return np.array([stamp(d) for d in reader.column_reader("date")], dtype=np.int64)


def _lengths(reader, fieldname: str) -> np.ndarray:
    """The length of field ``fieldname`` of each document of a segment (0 where the field
    is empty: Whoosh says None, and no term of the field is there)."""
    lengths = (reader.doc_field_length(d, fieldname, 1) for d in range(reader.doc_count_all()))
    return np.fromiter((n or 0 for n in lengths), dtype=np.uint32, count=reader.doc_count_all())


def matching(
    view: SearcherView, query: Query, within: np.ndarray, deadline: Deadline, found=None
) -> np.ndarray:
    """The documents of ``within`` that ``query`` matches; those of its constant-score parts
    go into ``found`` (by ``id`` of the part) when given, for scoring them later."""
    if query is NullQuery:
        return view.none()
    if isinstance(query, Term):
        return view.term_docs(query.fieldname, query.text) & within
    if isinstance(query, ConstantScoreQuery):
        child = query.child
        if isinstance(child, Or) and all(isinstance(q, Term) for q in child.subqueries):
            docs = view.any_term_docs(child.subqueries) & within  # a prefix's expansions
        else:
            docs = matching(view, child, within, deadline, found)
        if found is not None:
            found[id(query.child)] = docs
        return docs
    if isinstance(query, AndNot):
        docs = matching(view, query.a, within, deadline, found)
        return docs & ~matching(view, query.b, docs, deadline, found)
    if isinstance(query, AndMaybe):
        return matching(view, query.a, within, deadline, found)
    if isinstance(query, Require):
        docs = matching(view, query.a, within, deadline, found)
        return matching(view, query.b, docs, deadline, found)
    if isinstance(query, Not):
        return within & ~matching(view, query.query, within, deadline, found)
    if isinstance(query, And):
        docs = within
        for child in sorted(query.subqueries, key=lambda q: isinstance(q, Not | Phrase)):
            docs = matching(view, child, docs, deadline, found)  # narrows as it goes
            if not docs.any():
                break
        return docs
    if isinstance(query, Or):
        docs = view.none()
        for child in query.subqueries:
            docs |= matching(view, child, within, deadline, found)
        return docs
    if isinstance(query, Phrase):
        return _phrase_docs(view, query, within, deadline)
    if isinstance(query, FuzzyTerm):
        words = [Term(query.fieldname, word) for word in view.fuzzy_words(query)]
        return view.any_term_docs(words) & within
    return view.of(view.searcher.docs_for_query(query)) & within


def _phrase_docs(view: SearcherView, phrase: Phrase, within: np.ndarray, deadline: Deadline):
    """Documents with the phrase's words in a row (at most ``slop`` apart), checked from
    the positions in the posting lists, only for documents of ``within``."""
    candidates = within
    for word in phrase.words:
        candidates = candidates & view.term_docs(phrase.fieldname, word)
        if not candidates.any():
            return candidates
    if len(phrase.words) == 1:
        return candidates
    found = view.none()
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
                found[docnum + offset] = True
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
    fixed_docs: dict[int, np.ndarray] = field(default_factory=dict)  # ``matching``'s ``found``


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
    docs: np.ndarray,
    limit: int,
    by_date: bool,
    deadline: Deadline,
) -> list[tuple[int, float]]:
    """The ``limit`` best of ``docs`` with their scores: newest first (``by_date``, score 0),
    else by BM25 score of the query's words; ties newest first, then in index order."""
    candidates = np.flatnonzero(docs)
    dates = view.dates()[candidates]
    if by_date:
        best = _best(limit, candidates, dates, dates)
        return [(docnum, 0.0) for docnum in best.tolist()]
    scores = _scores(view, parts, docs, deadline)
    best = _best(limit, candidates, scores[candidates], dates)
    return list(zip(best.tolist(), scores[best].tolist(), strict=True))


def _best(limit: int, candidates: np.ndarray, first: np.ndarray, then: np.ndarray):
    """The ``limit`` candidates largest by ``first``, then ``then``, then smallest number."""
    if len(candidates) > limit:
        threshold = np.partition(first, len(first) - limit)[len(first) - limit]
        kept = first >= threshold  # the limit best and those tied with the last of them
        candidates, first, then = candidates[kept], first[kept], then[kept]
    return candidates[np.lexsort((candidates, -then, -first))[:limit]]


def _scores(view: SearcherView, parts: QueryParts, docs: np.ndarray, deadline: Deadline):
    """BM25 scores of ``docs`` by document number: the sum of the scores of the query's
    terms each document holds (what Whoosh's And/Or matchers add up, in the same order
    of the same operations), plus the fixed score of unscored parts (bounded prefixes)."""
    scores = np.zeros(view.size)
    weighting = view.searcher.weighting
    for sub, offset, end in view.leaves if parts.terms else ():
        reader = sub.reader()
        for fieldname, text, boost in parts.terms:
            if (fieldname, text) not in reader:
                continue
            scorer = weighting.scorer(sub, fieldname, text)
            listed = term_postings(reader, fieldname, text, offset)
            if listed is not None and type(scorer) is BM25FScorer:
                ids, weights = listed
                wanted = docs[ids]
                ids = ids[wanted]
                scores[ids] += boost * _bm25(scorer, weights[wanted], view.lengths(fieldname)[ids])
                continue
            wanted = set(np.flatnonzero(docs[offset:end]).tolist())
            matcher = sub.postings(fieldname, text, weighting)
            lengths = view.lengths(fieldname)[offset:end]
            for docnum, score in _term_scores(matcher, wanted, lengths):
                if deadline.passed():
                    return scores
                scores[docnum + offset] += boost * score
    for part, boost in parts.fixed:
        known = parts.fixed_docs.get(id(part))
        scores[known & docs if known is not None else matching(view, part, docs, deadline)] += boost
    return scores


def _bm25(scorer: BM25FScorer, tf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    """Whoosh's ``bm25`` of arrays of term frequencies and field lengths."""
    idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))


def _term_scores(matcher, wanted: set[int], lengths: np.ndarray):
    """(document, score) for the ``wanted`` documents (none deleted) in one term's postings
    (a segment written without id lists, or another scorer): a codec block at a time,
    skipping blocks that hold none of them; ``lengths`` are the field's lengths."""
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
                    yield ids[i], bm25(weights[i], int(lengths[ids[i]]))
        matcher._next_block()


def facet_counts(view: SearcherView, docs: np.ndarray) -> dict[str, dict[str, int]]:
    """Counts per facet value over ``docs``, most frequent first; ``focus`` holds several
    values per document, joined by commas."""
    counts = {}
    for name in FACETS:
        codes, values = view.facet(name)
        found: dict[str, int] = {}
        tally = np.bincount(codes[docs], minlength=len(values))
        for code in np.flatnonzero(tally).tolist():
            value = _text(values[code]) if values[code] is not None else ""
            for part in value.split(",") if name == "focus" else [value]:
                found[part] = found.get(part, 0) + int(tally[code])
        found.pop("", None)
        counts[name] = dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))
    return counts


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
