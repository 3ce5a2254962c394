"""The tantivy index's fields and the queries on them: the schema, an entry as a document,
the query tree of ``query.py`` compiled to tantivy queries (prefixes expanded from the
term dictionary, close names found through name keys), the terms that highlights mark,
and a search's filters as clauses of score zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import tantivy
from tantivy import Occur, Query

from portal.services.search.backend import (
    BOOSTS,
    MAX_EXPANSIONS,
    IndexEntry,
    SearchQuery,
    utc_naive,
)
from portal.services.search.highlight import SCAN_CHARS
from portal.services.search.query import (
    BODY,
    NAMES,
    REFERENCE,
    TITLE,
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

WORDS = "portal_words"  # the tokenizer of the analysed fields: whitespace, nothing else
STORED = {TITLE: "title_text", BODY: "body_text", NAMES: "names_text"}
NAME_KEYS = "name_keys"  # the name terms with their first letter doubled, see name_key
_EPOCH, _MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)


def schema() -> tantivy.Schema:
    """The index fields. ``date`` holds microseconds since 1970 (UTC) in an integer field:
    tantivy's date fields keep whole seconds only, and ranges must be exact."""
    builder = tantivy.SchemaBuilder()
    for name in ("version_id", "document_id", "case_id", "organisation"):
        builder.add_unsigned_field(name, indexed=True, fast=True)
    builder.add_unsigned_field("year", fast=True)
    builder.add_integer_field("date", indexed=True, fast=True)
    builder.add_boolean_field("current", indexed=True, fast=True)
    for name in ("type", "phase", "focus"):
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_text_field("acl", tokenizer_name="raw", index_option="basic")
    builder.add_text_field(REFERENCE, tokenizer_name="raw", index_option="basic")
    for name, stored in STORED.items():
        builder.add_text_field(name, tokenizer_name=WORDS, index_option="position")
        builder.add_bytes_field(stored, stored=True)
    builder.add_text_field(NAME_KEYS, tokenizer_name=WORDS, index_option="basic")
    return builder.build()


def register_tokenizer(index: tantivy.Index) -> None:
    """The analysed fields hold ``words_of`` terms joined by spaces: split them, no more."""
    index.register_tokenizer(
        WORDS, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )


def as_document(entry: IndexEntry) -> tantivy.Document:
    """``entry`` as a document: its filter and facet values, the analysed terms of its texts
    and its name keys, and the stored texts that highlights read."""
    document = tantivy.Document()
    for field, value in (("version_id", entry.version_id), ("document_id", entry.document_id),
                         ("case_id", entry.case_id), ("organisation", entry.organisation_id),
                         ("year", entry.year)):  # fmt: skip
        document.add_unsigned(field, value)
    document.add_integer("date", micros(entry.utc_date))
    document.add_boolean("current", entry.current)
    document.add_text("type", entry.type)
    document.add_text("phase", entry.phase)
    for value in entry.focus:
        document.add_text("focus", value)
    for token in entry.acl:
        document.add_text("acl", token)
    for word in words_of(entry.case_reference, REFERENCE):
        document.add_text(REFERENCE, word)
    for field, stored in STORED.items():
        text = getattr(entry, field) or ""
        document.add_text(field, " ".join(words_of(text, field)))
        document.add_bytes(stored, text[:SCAN_CHARS].encode())
    document.add_text(NAME_KEYS, " ".join(name_key(name) for name in words_of(entry.names, NAMES)))
    return document


def name_key(word: str) -> str:
    """``word`` with its first letter doubled: a key one edit (Levenshtein, no transposition)
    from another key has the same first letter, and the words are one edit apart. (Equal
    first letters add nothing to the distance; with different ones, no single edit turns
    "xxab" into "yyab".) So tantivy's fuzzy term query, a Levenshtein automaton built in
    microseconds, finds exactly the NameLike names, which a fuzzy query on the names
    themselves (no way to keep the first letter) or a regex (a 20-letter word compiles
    in 10 ms, 40 letters exceed tantivy's regex size limit) cannot."""
    return word[:1] + word


def micros(moment: datetime) -> int:
    """A naive UTC datetime as microseconds since 1970."""
    return (moment - _EPOCH) // _MICROSECOND


class Compiler:
    """The query tree as a tantivy query on ``searcher``'s index: prefixes expanded from its
    term dictionary (``capped`` when words were left out)."""

    def __init__(self, searcher: tantivy.Searcher, schema: tantivy.Schema) -> None:
        self.searcher = searcher
        self.schema = schema
        self.capped = False

    def compile(self, node: Node) -> Query:
        if isinstance(node, All):
            return self._all(node.children)
        if isinstance(node, Any):
            return _boolean([(Occur.Should, self.compile(child)) for child in node.children])
        if isinstance(node, Not):  # alone (in an Any): every document but those
            return self._all((node,))
        if isinstance(node, NameLike):
            close = Query.fuzzy_term_query(
                self.schema, NAME_KEYS, name_key(node.word), 1, transposition_cost_one=False
            )
            return Query.const_score_query(close, BOOSTS[NAMES])
        make = {Term: self._term, Phrase: self._phrase, Prefix: self._prefix}[type(node)]
        queries = [q for field in node.fields if (q := make(node, field)) is not None]
        return _boolean([(Occur.Should, q) for q in queries]) if queries else Query.empty_query()

    def _all(self, children) -> Query:
        clauses = [
            (Occur.MustNot, self.compile(child.child))
            if isinstance(child, Not)
            else (Occur.Must, self.compile(child))
            for child in children
        ]
        if all(occur == Occur.MustNot for occur, _q in clauses):
            clauses.insert(0, (Occur.Must, _unscored(Query.all_query())))
        return _boolean(clauses)

    def _term(self, node: Term, field: str) -> Query | None:
        """Every word of the text in ``field`` (scored, with the field's boost)."""
        words = list(dict.fromkeys(words_of(node.text, field)))
        if not words:
            return None
        queries = [Query.term_query(self.schema, field, word) for word in words]
        return _boosted(_boolean([(Occur.Must, q) for q in queries]), field)

    def _phrase(self, node: Phrase, field: str) -> Query | None:
        """The words at consecutive positions (one word: a term; the case reference: the
        whole value, one term)."""
        words = words_of(node.text, field)
        if len(words) <= 1:
            return self._term(Term(node.text, (field,)), field)
        return _boosted(Query.phrase_query(self.schema, field, words), field)

    def _prefix(self, node: Prefix, field: str) -> Query | None:
        """The ``MAX_EXPANSIONS`` most frequent words of ``field`` starting with the stem, at
        a constant score (the field's boost)."""
        found = self.searcher.terms_with_prefix(field, node.stem, limit=MAX_EXPANSIONS + 1)
        if len(found) > MAX_EXPANSIONS:
            self.capped = True
        words = [word for word, _count in found[:MAX_EXPANSIONS]]
        if not words:
            return None
        matching = Query.term_set_query(self.schema, field, words)
        return Query.const_score_query(matching, BOOSTS.get(field, 1.0))


# ------------------------------------------------------------ filters


def acl_clause(schema: tantivy.Schema, acl: list[str]) -> tuple[Occur, Query]:
    """Entries sharing a token with the user's (an empty list never gets here)."""
    return Occur.Must, Query.term_set_query(schema, "acl", sorted(set(acl)))


def filters(
    schema: tantivy.Schema, query: SearchQuery, acl: list[str]
) -> list[tuple[Occur, Query]]:
    """The query's filters as clauses: access, versions, types, phase, focus, organisation,
    case, excluded cases, dates (inclusive, in UTC)."""
    clauses = [acl_clause(schema, acl)]
    if not query.all_versions:
        clauses.append((Occur.Must, Query.term_query(schema, "current", True)))
    if query.types:
        types = sorted(set(query.types))
        clauses.append((Occur.Must, Query.term_set_query(schema, "type", types)))
    equal = {"phase": query.phase, "focus": query.focus,
             "organisation": query.organisation_id, "case_id": query.case_id}  # fmt: skip
    for field, value in equal.items():
        if value:
            clauses.append((Occur.Must, Query.term_query(schema, field, value)))
    if query.exclude_case_ids:
        cases = sorted(set(query.exclude_case_ids))
        clauses.append((Occur.MustNot, Query.term_set_query(schema, "case_id", cases)))
    if query.date_from or query.date_to:
        lower = micros(utc_naive(query.date_from)) if query.date_from else None
        upper = micros(utc_naive(query.date_to)) if query.date_to else None
        clauses.append((Occur.Must, date_range(schema, lower, upper)))
    return clauses


def like_query(schema: tantivy.Schema, body: str, document_id: int, acl: list[str]) -> Query:
    """Current versions of documents other than ``document_id`` that ``acl`` may see, scored
    by the key terms of ``body`` (index terms joined by spaces) they share."""
    like = Query.more_like_this_document_fields_query(
        schema, {BODY: body}, min_doc_frequency=2, min_term_frequency=1, max_query_terms=25
    )
    admitted = [(Occur.Must, Query.term_query(schema, "current", True)), acl_clause(schema, acl),
                (Occur.MustNot, Query.term_query(schema, "document_id", document_id))]  # fmt: skip
    return filtered(like, admitted)


def date_range(schema: tantivy.Schema, lower: int | None, upper: int | None) -> Query:
    return Query.range_query(schema, "date", tantivy.FieldType.Integer, lower, upper)


def filtered(query: Query, clauses: list[tuple[Occur, Query]]) -> Query:
    """``query`` restricted by ``clauses``, which add nothing to its score."""
    return Query.boolean_query([(Occur.Must, query), (Occur.Must, _unscored(_boolean(clauses)))])


def _boolean(clauses: list[tuple[Occur, Query]]) -> Query:
    if len(clauses) == 1 and clauses[0][0] != Occur.MustNot:
        return clauses[0][1]
    return Query.boolean_query(clauses)


def _boosted(query: Query, field: str) -> Query:
    return Query.boost_query(query, BOOSTS[field]) if field in BOOSTS else query


def _unscored(query: Query) -> Query:
    return Query.const_score_query(query, 0.0)
