"""The default search backend: a Whoosh index in a directory, German-aware.

Engineered around Whoosh's slow paths: one searcher kept open and refreshed
after commits; batched updates in one commit; prefix queries need three letters
and expand to at most ``MAX_EXPANSIONS`` words, unscored; every query runs under
a time limit and returns what it found so far, marked incomplete.
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
import threading
from pathlib import Path

from whoosh import fields, index, sorting
from whoosh.collectors import FilterCollector, TimeLimit, TimeLimitCollector
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, PlusMinusPlugin
from whoosh.qparser.plugins import FieldsPlugin
from whoosh.query import (
    And,
    ConstantScoreQuery,
    DateRange,
    FuzzyTerm,
    Not,
    NullQuery,
    Or,
    Prefix,
    Query,
    Term,
    Wildcard,
)

from portal.services.search.analysis import german_analyzer, name_analyzer
from portal.services.search.backend import (
    MIN_PREFIX,
    Hit,
    IndexEntry,
    SearchQuery,
    SearchResult,
    checked_text,
    invalid_query,
    short_prefix,
)

MAX_EXPANSIONS = 200
TIME_LIMIT_SECONDS = 2.0
HIGHLIGHT_CHARS = 20_000
WRITE_LOCK_TIMEOUT = 30.0
FACETS = ("type", "phase", "focus", "organisation", "year")
log = logging.getLogger(__name__)


def schema() -> fields.Schema:
    """The index fields; ``acl`` holds one token per organisation that may see the entry."""
    german, names = german_analyzer(), name_analyzer()
    return fields.Schema(
        id=fields.ID(unique=True, stored=True),
        version_id=fields.NUMERIC(stored=True),
        document_id=fields.NUMERIC(stored=True),
        case_id=fields.NUMERIC(stored=True),
        current=fields.BOOLEAN(stored=True),
        case_reference=fields.ID(stored=True),
        title=fields.TEXT(analyzer=german, stored=True, field_boost=2.0),
        body=fields.TEXT(analyzer=german, stored=True),
        names=fields.TEXT(analyzer=names, stored=True, field_boost=1.5),
        type=fields.ID(stored=True, sortable=True),
        phase=fields.ID(stored=True, sortable=True),
        focus=fields.KEYWORD(commas=True, stored=True),
        organisation=fields.ID(stored=True, sortable=True),
        year=fields.ID(stored=True, sortable=True),
        date=fields.DATETIME(stored=True, sortable=True),
        acl=fields.KEYWORD(commas=True),
    )


class _Marks(Formatter):
    """Highlights as plain text with «…» around matches: escaped later, never trusted HTML."""

    between = " … "

    def format_token(self, text, token, replace=False):
        return f"«{get_text(text, token, replace)}»"


class WhooshBackend:
    """A Whoosh index in ``path``; safe for several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._searcher = None
        self.rebuilt = False
        self.ix = self._open()

    def _open(self):
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            if not index.exists_in(self.path):
                return index.create_in(self.path, schema())
            ix = index.open_dir(self.path)
            with ix.searcher() as searcher:
                searcher.doc_count()
            return ix
        except Exception as exc:  # a corrupt index is rebuilt, not a crash
            log.error("search index at %s unreadable (%s); recreating it empty", self.path, exc)
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self.rebuilt = True
            return index.create_in(self.path, schema())

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add, replace and remove entries in one commit (waits for another writer's lock)."""
        writer = self.ix.writer(timeout=WRITE_LOCK_TIMEOUT)
        try:
            for version_id in remove_version_ids:
                writer.delete_by_term("id", f"v{version_id}")
            for entry in entries:
                writer.update_document(**_fields(entry))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one commit."""
        writer = self.ix.writer(timeout=WRITE_LOCK_TIMEOUT)
        try:
            writer.delete_by_query(Term("case_id", case_id))
            for entry in entries:
                writer.add_document(**_fields(entry))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents that share key terms with ``version_id``."""
        if not acl:
            return []
        searcher = self._current_searcher()
        docnum = searcher.document_number(id=f"v{version_id}")
        if docnum is None:
            return []
        this = searcher.stored_fields(docnum)
        restriction = And([
            Or([Term("acl", token) for token in acl]),
            Term("current", True),
            Not(Term("document_id", this["document_id"])),
        ])  # fmt: skip
        results = searcher.more_like(docnum, "body", top=limit, filter=restriction)
        return [
            Hit(hit["version_id"], hit["document_id"], hit["case_id"], round(hit.score, 4), [])
            for hit in results
        ]

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""
        with self.ix.searcher() as searcher:
            return {fields["version_id"] for fields in searcher.all_stored_fields()}

    def clear(self) -> None:
        """Start from an empty index."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
        self.ix = index.create_in(self.path, schema())

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Matches of ``query`` that ``acl`` may see, one page, with facets."""
        if not acl:
            return SearchResult([], 0, {})
        searcher = self._current_searcher()
        parsed = self._parse(query.text, searcher)
        restriction = And([Or([Term("acl", token) for token in acl]), *self._filters(query)])
        collector = searcher.collector(
            limit=query.page * query.per_page,
            groupedby={name: sorting.FieldFacet(name, allow_overlap=name == "focus")
                       for name in FACETS},
            sortedby=sorting.FieldFacet("date", reverse=True) if query.sort == "date" else None,
        )  # fmt: skip
        # The filter must wrap the time limit: wrapped the other way round, Whoosh drops it.
        timed = FilterCollector(
            TimeLimitCollector(collector, timelimit=TIME_LIMIT_SECONDS, use_alarm=False),
            restriction,
        )
        incomplete = False
        try:
            searcher.search_with_collector(parsed, timed)
        except TimeLimit:
            incomplete = True
        results = timed.results()
        # Highlighting re-reads a hit's stored text: only its first HIGHLIGHT_CHARS (a
        # 100-page PDF would otherwise cost more than the search itself).
        results.fragmenter = ContextFragmenter(maxchars=160, surround=40, charlimit=HIGHLIGHT_CHARS)
        results.formatter = _Marks()
        start = (query.page - 1) * query.per_page
        hits = [
            Hit(
                version_id=hit["version_id"],
                document_id=hit["document_id"],
                case_id=hit["case_id"],
                score=round(hit.score or 0.0, 4),
                highlights=_highlights(hit),
            )
            for hit in list(results)[start : start + query.per_page]
        ]
        facets = {name: _counts(results, name) for name in FACETS}
        return SearchResult(hits, len(results), facets, incomplete)

    def _current_searcher(self):
        with self._lock:
            if self._searcher is None:
                self._searcher = self.ix.searcher()
            elif not self._searcher.up_to_date():
                # A new searcher, not Searcher.refresh(): refreshing reuses segment readers
                # that miss deletions, so replaced or revoked entries would stay findable.
                self._searcher.close()
                self._searcher = self.ix.searcher()
            return self._searcher

    def _parse(self, text: str, searcher) -> Query:
        text = checked_text(text)
        parser = MultifieldParser(["title", "body", "names", "case_reference"], self.ix.schema)
        parser.remove_plugin_class(FieldsPlugin)  # no field syntax: nobody queries "acl:"
        # "-word" excludes, but only at the start of a word: "B1-Kurs" and "KIM-2026-00001"
        # are words, not exclusions.
        parser.add_plugin(PlusMinusPlugin(minusexpr=r"(?<![^\s(])-"))
        parser.add_plugin(FuzzyTermPlugin())
        try:
            parsed = parser.parse(text)
        except Exception as exc:
            raise invalid_query("syntax") from exc
        parsed = self._bound_prefixes(parsed, searcher.reader())
        if parsed is NullQuery or isinstance(parsed, Not):
            raise invalid_query("nothing_to_search")
        return Or([parsed, self._fuzzy_names(text)]) if _plain_words(text) else parsed

    def _bound_prefixes(self, query: Query, reader) -> Query:
        """Replace prefix and wildcard terms by at most MAX_EXPANSIONS words, unscored."""
        if isinstance(query, Prefix | Wildcard):
            stem = query.text.split("*")[0].split("?")[0]
            if len(stem) < MIN_PREFIX:
                raise short_prefix()
            words = []
            for word in reader.expand_prefix(query.fieldname, stem):
                word = word.decode() if isinstance(word, bytes) else word
                if isinstance(query, Prefix) or _wildcard_match(query.text, word):
                    words.append(Term(query.fieldname, word))
                if len(words) >= MAX_EXPANSIONS:
                    break
            return ConstantScoreQuery(Or(words)) if words else NullQuery
        if query.is_leaf():
            return query
        return query.apply(lambda child: self._bound_prefixes(child, reader))

    def _fuzzy_names(self, text: str) -> Query:
        """Person names with one typo per word: "Mohamed Hasan" finds "Mohammed Hassan"."""
        words = [t.text for t in self.ix.schema["names"].analyzer(text) if len(t.text) > 2]
        if not words:
            return NullQuery
        return And([FuzzyTerm("names", word, maxdist=1, prefixlength=1) for word in words])

    def _filters(self, query: SearchQuery) -> list[Query]:
        filters: list[Query] = []
        if not query.all_versions:
            filters.append(Term("current", True))
        if query.types:
            filters.append(Or([Term("type", t) for t in query.types]))
        if query.phase:
            filters.append(Term("phase", query.phase))
        if query.focus:
            filters.append(Term("focus", query.focus))
        if query.organisation_id:
            filters.append(Term("organisation", str(query.organisation_id)))
        if query.case_id:
            filters.append(Term("case_id", query.case_id))
        if query.exclude_case_ids:
            filters.append(Not(Or([Term("case_id", i) for i in query.exclude_case_ids])))
        if query.date_from or query.date_to:
            filters.append(DateRange("date", query.date_from, query.date_to))
        return filters


def _fields(entry: IndexEntry) -> dict:
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
        "year": str(entry.date.year),
        "date": entry.date.replace(tzinfo=None),
        "acl": ",".join(entry.acl),
    }


def _highlights(hit) -> list[str]:
    passages = []
    for name in ("body", "title", "names"):
        text = hit.highlights(name, top=3)
        if text:
            passages.extend(p.strip() for p in text.split(" … ") if p.strip())
        if len(passages) >= 3:
            break
    return passages[:3]


def _counts(results, facet: str) -> dict[str, int]:
    try:
        groups = results.groups(facet)
    except KeyError:
        return {}
    return {str(key): len(ids) for key, ids in groups.items() if key not in (None, "")}


def _plain_words(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in "-'" for c in text)


def _wildcard_match(pattern: str, word: str) -> bool:
    return fnmatch.fnmatchcase(word, pattern)
