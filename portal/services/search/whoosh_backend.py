"""The default search backend: a Whoosh index in a directory, German-aware.

Engineered around Whoosh's slow paths: segment readers kept open and shared by
the searchers that follow commits (``whoosh_readers``); batched updates in one
commit, merging only small segments; segments that list each term's documents
beside its postings (``whoosh_codec``); queries run as set algebra over those
lists with facets from columns (``whoosh_run``); prefix queries need three
letters and expand to the ``MAX_EXPANSIONS`` most frequent words, unscored; every
query runs under a time limit and returns what it found so far. Cut prefixes and
time limits mark results incomplete.
"""

from __future__ import annotations

import fnmatch
import heapq
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
from whoosh import fields, index, writing
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, PlusMinusPlugin
from whoosh.qparser.plugins import FieldsPlugin
from whoosh.query import (
    And,
    ConstantScoreQuery,
    FuzzyTerm,
    Not,
    NullQuery,
    Or,
    Prefix,
    Query,
    Term,
    Wildcard,
)
from whoosh.reading import SegmentReader

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
    utc_naive,
)
from portal.services.search.highlight import PASSAGES, passages
from portal.services.search.whoosh_codec import PortalCodec
from portal.services.search.whoosh_readers import ReaderPool
from portal.services.search.whoosh_rebuild import rebuild_writer
from portal.services.search.whoosh_run import (
    Deadline,
    SearcherView,
    facet_counts,
    highlight_terms,
    matching,
    query_parts,
    rank,
    stamp,
)

MAX_EXPANSIONS = 200
MAX_CANDIDATES = 5_000  # words of a prefix looked at to choose the expansions
TIME_LIMIT_SECONDS = 2.0
WRITE_LOCK_TIMEOUT = 30.0
MERGE_DOCS = 2_000  # everyday commits merge segments up to this size (see merge_small_segments)
SMALL_SEGMENTS = 8
REBUILD_MEMORY_MB = 256  # posting buffer of a full rebuild before it spills to disk
# A full rebuild analyses in this many worker processes (each writes a segment of its own).
REBUILD_PROCS = min(4, os.cpu_count() or 1)
# Written beside the index; an index of another version is rebuilt (``rebuilt``).
SCHEMA_VERSION = "4"  # 4: segments with document ids and frequencies (PortalCodec)
VERSION_FILE = "portal-schema-version"
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
        focus=fields.KEYWORD(commas=True, stored=True, sortable=True),
        organisation=fields.ID(stored=True, sortable=True),
        year=fields.ID(stored=True, sortable=True),
        date=fields.DATETIME(stored=True, sortable=True),
        acl=fields.KEYWORD(commas=True),
    )


class WhooshBackend:
    """A Whoosh index in ``path``; safe for several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._current: SearcherView | None = None
        self.rebuilt = False
        self.ix = self._open()
        self._readers = ReaderPool(self.ix)

    def _open(self):
        self.path.mkdir(parents=True, exist_ok=True)
        version = self.path / VERSION_FILE
        try:
            if not index.exists_in(self.path):
                return self._create()
            if not version.exists() or version.read_text().strip() != SCHEMA_VERSION:
                raise ValueError(f"index schema is not version {SCHEMA_VERSION}")
            ix = index.open_dir(self.path)
            with ix.searcher() as searcher:
                searcher.doc_count()
            return ix
        except Exception as exc:  # a corrupt or outdated index is rebuilt, not a crash
            log.error("search index at %s unusable (%s); recreating it empty", self.path, exc)
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self.rebuilt = True
            return self._create()

    def _create(self):
        ix = index.create_in(self.path, schema())
        (self.path / VERSION_FILE).write_text(SCHEMA_VERSION)
        return ix

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add, replace and remove entries in one commit (waits for another writer's lock)."""
        removed = [*remove_version_ids, *(entry.version_id for entry in entries)]
        with self._writer() as (writer, searcher):
            for version_id in removed:
                writer.delete_by_term("id", f"v{version_id}", searcher=searcher)
            for entry in entries:
                writer.add_document(**_fields(entry))

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one commit."""
        with self._writer() as (writer, searcher):
            writer.delete_by_query(Term("case_id", case_id), searcher=searcher)
            for entry in entries:
                writer.add_document(**_fields(entry))

    @contextmanager
    def _writer(self):
        """A writer, and a searcher on the state it starts from to find what it deletes
        (from the shared segment readers: Whoosh would open every segment anew), committed
        with ``merge_small_segments``; cancelled on error."""
        writer = self.ix.writer(timeout=WRITE_LOCK_TIMEOUT, codec=PortalCodec())
        searcher = self._readers.searcher()
        try:
            yield writer, searcher
        except BaseException:
            writer.cancel()
            raise
        finally:
            self._readers.release(searcher)
        writer.commit(mergetype=merge_small_segments)

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents that share key terms with ``version_id``."""
        if not acl:
            return []
        with self._view() as view:
            searcher = view.searcher
            docnum = searcher.document_number(id=f"v{version_id}")
            if docnum is None:
                return []
            this = searcher.stored_fields(docnum)
            allowed = view.visible_to(acl, current_only=True)
            allowed &= ~view.filter_docs("document_id", this["document_id"])
            allowed_set = set(np.flatnonzero(allowed).tolist())
            results = searcher.more_like(docnum, "body", top=limit, filter=allowed_set)
            return [
                Hit(hit["version_id"], hit["document_id"], hit["case_id"], round(hit.score, 4), [])
                for hit in results
            ]

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""
        with self.ix.searcher() as searcher:
            return {fields["version_id"] for fields in searcher.all_stored_fields()}

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Write every entry with one writer (analysing in ``REBUILD_PROCS`` processes) into
        new segments that replace all others at its commit: no merges on the way, and
        searches see the old index until then. Other writers wait meanwhile (outbox jobs
        that time out are retried)."""
        writer = rebuild_writer(
            self.ix, REBUILD_PROCS, timeout=WRITE_LOCK_TIMEOUT, limitmb=REBUILD_MEMORY_MB,
            codec=PortalCodec(),
        )  # fmt: skip
        count = 0
        try:
            for entries in batches:
                for entry in entries:
                    writer.add_document(**_fields(entry))
                count += len(entries)
            writer.commit(mergetype=writing.CLEAR)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        return count

    def clear(self) -> None:
        """Start from an empty index."""
        with self._lock:
            if self._current is not None:
                self._retire(self._current)
                self._current = None
            self._readers.retire()  # its readers close with their last searcher
            self.ix = self._create()
            self._readers = ReaderPool(self.ix)

    def warm_up(self) -> threading.Thread:
        """Read what every search needs from the index in the background (about 2 s at
        100,000 documents), so that a new server process's first search is not slower
        than the next."""
        thread = threading.Thread(target=self._prepare, name="search-warm-up", daemon=True)
        thread.start()
        return thread

    def _prepare(self) -> None:
        try:
            for _attempt in range(3):  # again when a commit came meanwhile
                with self._view() as view:
                    view.prepare()
                    if view.searcher.up_to_date():
                        return
        except Exception:  # the first search derives it then, or reports what is wrong
            log.exception("search warm-up failed")

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Matches of ``query`` that ``acl`` may see, one page, with facets."""
        if not acl:
            return SearchResult([], 0, {})
        deadline = Deadline(TIME_LIMIT_SECONDS)
        with self._view() as view:
            parsed, capped = self._parse(query.text, view.searcher)
            parts = query_parts(parsed, view)
            allowed = self._allowed(view, acl, query)
            matched = matching(view, parsed, allowed, deadline, parts.fixed_docs)
            start = (query.page - 1) * query.per_page
            by_date = query.sort == "date"
            top = rank(view, parts, matched, start + query.per_page, by_date, deadline)
            terms = highlight_terms(parts)
            hits = [self._hit(view, doc, score, terms, deadline) for doc, score in top[start:]]
            facets = facet_counts(view, matched)
            total = int(np.count_nonzero(matched))
            return SearchResult(hits, total, facets, deadline.expired or capped)

    def _allowed(self, view: SearcherView, acl: list[str], query: SearchQuery) -> np.ndarray:
        """The documents ``acl`` may see that pass the query's filters."""
        docs = view.visible_to(acl, current_only=not query.all_versions)
        filters = [("phase", query.phase), ("focus", query.focus),
                    ("organisation", query.organisation_id and str(query.organisation_id)),
                    ("case_id", query.case_id)]  # fmt: skip
        for fieldname, value in filters:
            if value:
                docs &= view.filter_docs(fieldname, value)
        if query.types:
            docs &= np.logical_or.reduce([view.filter_docs("type", t) for t in query.types])
        for case_id in query.exclude_case_ids:
            docs &= ~view.filter_docs("case_id", case_id)
        if query.date_from or query.date_to:
            dates = view.dates()
            docs &= dates >= stamp(utc_naive(query.date_from or datetime.min))
            docs &= dates <= stamp(utc_naive(query.date_to or datetime.max))
        return docs

    def _hit(self, view: SearcherView, docnum: int, score: float, terms, deadline) -> Hit:
        stored = view.searcher.stored_fields(docnum)
        highlights = [] if deadline.passed() else _highlights(stored, terms)
        return Hit(
            version_id=stored["version_id"],
            document_id=stored["document_id"],
            case_id=stored["case_id"],
            score=round(score, 4),
            highlights=highlights,
        )

    @contextmanager
    def _view(self):
        """The view of the current searcher, held open while in use (a newer commit retires
        it; it is closed when its last query is done)."""
        with self._lock:
            view = self._current
            if view is None or not view.searcher.up_to_date():
                # From the pool, not Searcher.refresh(): Whoosh's refresh reuses segment
                # readers that miss new deletions (replaced or revoked entries stay findable).
                if view is not None:
                    self._retire(view)
                view = self._current = SearcherView(self._readers.searcher(), self._readers)
            view.users += 1
        try:
            yield view
        finally:
            with self._lock:
                view.users -= 1
                if view is not self._current:
                    self._retire(view)

    def _retire(self, view: SearcherView) -> None:
        """Close a replaced view's searcher once no query uses it (under ``_lock``)."""
        if not view.users:
            view.pool.release(view.searcher)

    def _parse(self, text: str, searcher) -> tuple[Query, bool]:
        """The user's text as a Whoosh query, and whether prefixes were cut short."""
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
        capped: list[bool] = []
        parsed = self._bound_prefixes(parsed, searcher.reader(), capped)
        if parsed is NullQuery or isinstance(parsed, Not):
            raise invalid_query("nothing_to_search")
        if _plain_words(text):
            parsed = Or([parsed, self._fuzzy_names(text)])
        return parsed, bool(capped)

    def _bound_prefixes(self, query: Query, reader, capped: list[bool]) -> Query:
        """Replace prefix and wildcard terms by at most MAX_EXPANSIONS words, unscored: the
        most frequent of them (of the first MAX_CANDIDATES); ``capped`` gets a True when
        words were left out."""
        if isinstance(query, Prefix | Wildcard):
            stem = query.text.split("*")[0].split("?")[0]
            if len(stem) < MIN_PREFIX:
                raise short_prefix()
            words = []
            for word in reader.expand_prefix(query.fieldname, stem):
                word = word.decode() if isinstance(word, bytes) else word
                if isinstance(query, Prefix) or _wildcard_match(query.text, word):
                    words.append(word)
                if len(words) > MAX_CANDIDATES:
                    break
            if len(words) > MAX_EXPANSIONS:
                capped.append(True)
                frequency = {word: reader.doc_frequency(query.fieldname, word) for word in words}
                words = heapq.nlargest(MAX_EXPANSIONS, words, key=frequency.__getitem__)
            terms = [Term(query.fieldname, word) for word in words]
            return ConstantScoreQuery(Or(terms)) if terms else NullQuery
        if query.is_leaf():
            return query
        return query.apply(lambda child: self._bound_prefixes(child, reader, capped))

    def _fuzzy_names(self, text: str) -> Query:
        """Person names with one typo per word: "Mohamed Hasan" finds "Mohammed Hassan"."""
        words = [t.text for t in self.ix.schema["names"].analyzer(text) if len(t.text) > 2]
        if not words:
            return NullQuery
        return And([FuzzyTerm("names", word, maxdist=1, prefixlength=1) for word in words])


def merge_small_segments(writer, segments):
    """Whoosh merge policy for everyday commits: once ``SMALL_SEGMENTS`` segments under
    ``MERGE_DOCS`` documents pile up, merge the smallest of them up to ``MERGE_DOCS``
    documents together; larger segments are left alone, so that no commit waits for a
    merge of the whole index (Whoosh's default policy once took 72 s here)."""
    small = sorted(
        (s for s in segments if s.doc_count_all() < MERGE_DOCS), key=lambda s: s.doc_count_all()
    )
    if len(small) < SMALL_SEGMENTS:
        return segments
    chosen, total = [], 0
    for segment in small:
        if chosen and total + segment.doc_count_all() > MERGE_DOCS:
            break
        chosen.append(segment)
        total += segment.doc_count_all()
    if len(chosen) < 2:
        return segments
    for segment in chosen:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in chosen]


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
        "year": str(entry.year),
        "date": entry.utc_date,
        "acl": ",".join(entry.acl),
    }


def _highlights(stored: dict, terms: dict[str, set[str]]) -> list[str]:
    found: list[str] = []
    for name, stem in (("body", True), ("title", True), ("names", False)):
        text, wanted = stored.get(name) or "", terms.get(name, set())
        found += passages(text, wanted, stem, PASSAGES - len(found))
        if len(found) >= PASSAGES:
            break
    return found


def _plain_words(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in "-'" for c in text)


def _wildcard_match(pattern: str, word: str) -> bool:
    return fnmatch.fnmatchcase(word, pattern)
