"""The Whoosh index's fields and the queries on them: the schema (its analyzers give the
terms of ``words_of``), an entry's values for it, the query tree of ``query.py`` compiled
to ``whoosh.query`` objects (prefixes and fuzzy names expanded to the index's terms,
kept for highlights), and a search's filters.
"""

from __future__ import annotations

import heapq
import time

from whoosh import fields
from whoosh import query as wq
from whoosh.analysis import Analyzer, Token
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.searching import TimeLimit

from portal.services.search import query as q
from portal.services.search.analysis import german_analyzer, name_analyzer
from portal.services.search.backend import (
    BOOSTS,
    MAX_EXPANSIONS,
    IndexEntry,
    SearchQuery,
    name_like,
    utc_naive,
)
from portal.services.search.highlight import Marks, query_marks


class FoldedValue(Analyzer):
    """The whole value as one folded term (``words_of`` of the case reference)."""

    def __call__(self, value, positions=False, chars=False, start_pos=0, start_char=0, **kw):
        """At most one token: the folded, stripped value."""
        token = Token(positions, chars, **kw)
        for term in q.words_of(value, q.REFERENCE):
            token.text, token.boost, token.stopped = term, 1.0, False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token


def schema() -> fields.Schema:
    """The index fields; ``acl`` holds the access tokens of the entry."""
    german, names = german_analyzer(), name_analyzer()
    return fields.Schema(
        id=fields.ID(unique=True),
        version_id=fields.NUMERIC(stored=True, sortable=True),
        document_id=fields.NUMERIC(stored=True),
        case_id=fields.NUMERIC(stored=True),
        current=fields.BOOLEAN(),
        case_reference=fields.ID(analyzer=FoldedValue()),
        title=fields.TEXT(analyzer=german, stored=True, field_boost=BOOSTS[q.TITLE]),
        body=fields.TEXT(analyzer=german, stored=True),
        names=fields.TEXT(analyzer=names, stored=True, field_boost=BOOSTS[q.NAMES]),
        type=fields.ID(sortable=True),
        phase=fields.ID(sortable=True),
        focus=fields.KEYWORD(commas=True, sortable=True),
        organisation=fields.ID(sortable=True),
        year=fields.ID(sortable=True),
        date=fields.DATETIME(sortable=True),
        acl=fields.KEYWORD(commas=True),
    )


def as_fields(entry: IndexEntry) -> dict:
    """``entry`` as the values of the index fields."""
    return {
        "id": f"v{entry.version_id}",
        "version_id": entry.version_id,
        "document_id": entry.document_id,
        "case_id": entry.case_id,
        "current": entry.current,
        "case_reference": entry.case_reference,
        "title": entry.title,
        "body": entry.body,
        "names": entry.names,
        "type": entry.type,
        "phase": entry.phase,
        "focus": ",".join(entry.focus),
        "organisation": str(entry.organisation_id),
        "year": str(entry.year),
        "date": entry.utc_date,
        "acl": ",".join(entry.acl),
    }


class Compiler:
    """The query tree as Whoosh queries on ``reader`` (to stop at ``until``), with the index
    terms each positive leaf stands for (for highlights); ``capped`` when a prefix was cut
    short."""

    def __init__(self, reader, until: float) -> None:
        self.reader = reader
        self.until = until
        self.capped = False
        self._expanded: dict[q.Node, list[tuple[str, str]]] = {}

    def query(self, node: q.Node) -> wq.Query:
        if isinstance(node, q.All):  # (not AndNot: Whoosh's misses the first exclusion)
            return wq.And([self.query(child) for child in node.children])
        if isinstance(node, q.Any):
            return wq.Or([self.query(child) for child in node.children])
        if isinstance(node, q.Not):  # every document but these
            return wq.Not(self.query(node.child))
        if isinstance(node, q.Prefix | q.NameLike):
            return _AnyTerm(self.expansions(node), self.until)
        return wq.Or([_in_field(node, f) for f in q.fields_with_words(node)])

    def expansions(self, node: q.Prefix | q.NameLike) -> list[tuple[str, str]]:
        """The (field, term) pairs a prefix or fuzzy name stands for in this index."""
        if node not in self._expanded:
            if isinstance(node, q.Prefix):
                self._expanded[node] = self._prefixed(node)
            else:
                self._expanded[node] = [
                    ("names", t) for t in self._words("names", node.word[0])
                    if name_like(t, node.word)
                ]  # fmt: skip
        return self._expanded[node]

    def _prefixed(self, node: q.Prefix) -> list[tuple[str, str]]:
        """The MAX_EXPANSIONS most frequent terms starting with the stem (by documents)."""
        found = [(self.reader.doc_frequency(f, t), f, t)
                 for f in node.fields for t in self._words(f, node.stem)]  # fmt: skip
        if len(found) > MAX_EXPANSIONS:
            self.capped = True
            found = heapq.nsmallest(MAX_EXPANSIONS, found, key=lambda x: (-x[0], x[1], x[2]))
        return [(f, t) for _df, f, t in found]

    def _words(self, fieldname: str, prefix: str) -> list[str]:
        return [b.decode() for b in self.reader.expand_prefix(fieldname, prefix)]

    def highlight_marks(self, leaves) -> dict[str, Marks]:
        """Per field, what the leaves a match is found by mark (close names: the names'
        words they stand for in this index)."""
        marks, name_words = query_marks(leaves)
        close = {t for w in name_words for _f, t in self.expansions(q.NameLike(w))}
        names = marks[q.NAMES]
        return {**marks, q.NAMES: Marks(names.terms | close, names.prefixes)}


class _AnyTerm(wq.Query):
    """Documents holding any of ``terms`` ((field, text) pairs), each scoring 1 (unscored
    expansions of a prefix or fuzzy name). Unlike an ``Or`` of hundreds of ``Term``s, whose
    matchers Whoosh advances in step, each term's documents are read at once, term by term
    (a prefix at 20,000 documents: 2.5 s that way, 0.2-0.9 s this way); past ``until``
    (``time.monotonic()``) it stops with ``TimeLimit``."""

    def __init__(self, terms: list[tuple[str, str]], until: float) -> None:
        self.terms = tuple(terms)
        self.until = until

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (other.terms, other.until) == (self.terms, self.until)

    def __hash__(self) -> int:
        return hash((self.terms, self.until))

    def __repr__(self) -> str:
        return f"_AnyTerm({len(self.terms)} terms)"

    def estimate_size(self, ixreader) -> int:
        return min(ixreader.doc_count_all(), sum(ixreader.doc_frequency(*t) for t in self.terms))

    def matcher(self, searcher, context=None):
        """A list of the segment's documents (deleted ones left out by ``postings``)."""
        reader = searcher.reader()
        docs: set[int] = set()
        for term in self.terms:
            if term in reader:
                docs.update(reader.postings(*term).all_ids())
                if time.monotonic() > self.until:
                    raise TimeLimit
        return ListMatcher(sorted(docs), all_weights=1.0) if docs else NullMatcher()


def _in_field(node: q.Term | q.Phrase, fieldname: str) -> wq.Query:
    words = q.words_of(node.text, fieldname)
    if len(words) == 1:
        return wq.Term(fieldname, words[0])
    if isinstance(node, q.Phrase):
        return wq.Phrase(fieldname, words)
    return wq.And([wq.Term(fieldname, word) for word in words])


def allowed(query: SearchQuery, acl: list[str]) -> wq.Query:
    """The filter: the acl, current versions unless all are asked for, the query's filters."""
    parts: list[wq.Query] = [wq.Or([wq.Term("acl", token) for token in acl])]
    if not query.all_versions:
        parts.append(wq.Term("current", True))
    if query.types:
        parts.append(wq.Or([wq.Term("type", t) for t in query.types]))
    organisation = str(query.organisation_id) if query.organisation_id is not None else None
    values = {"phase": query.phase, "focus": query.focus, "organisation": organisation,
              "case_id": query.case_id}  # fmt: skip
    parts += [wq.Term(name, value) for name, value in values.items() if value is not None]
    if query.date_from or query.date_to:
        start, end = (utc_naive(d) if d else None for d in (query.date_from, query.date_to))
        parts.append(wq.DateRange("date", start, end))
    return wq.And(parts)


def excluded(query: SearchQuery) -> wq.Query | None:
    if not query.exclude_case_ids:
        return None
    return wq.Or([wq.Term("case_id", case_id) for case_id in query.exclude_case_ids])
