"""The pure-Python search backend (``PORTAL_SEARCH_BACKEND=whoosh``): a Whoosh index in a
directory, used through Whoosh's public API only.

The portal's query tree (``query.py``) compiles to ``whoosh.query`` objects; the index
terms are ``words_of`` by construction (``GermanAnalyzer`` for title, body and names,
``FoldedValue`` for the case reference). Prefixes expand to the ``MAX_EXPANSIONS`` most
frequent words, unscored; fuzzy names are the names' words one Levenshtein edit away.
Filters are Whoosh filter queries; the total, facets and ranking come from every match the
filters admit, read from the segments' columns. A search stops at ``TIME_LIMIT_SECONDS``
with what it has; cut prefixes and time limits mark results incomplete.

Honest limits: meant for up to about 20,000 documents. Every match is collected and
scored in Python, so a search takes time in proportion to its matches. Measured on a
2-core machine (shared, load about 2) at 20,000 synthetic German documents of 200-2,000
words, for a user seeing half of them, whole searches with filters, all five facets and
a highlighted page of 20 hits: one word p50 17 ms, p95 32 ms; two words p95 47 ms;
phrases p95 110 ms; fuzzy names p95 11 ms; prefixes (10,000 matches, 200 expansions)
p95 400 ms. A server process holds about 80 MB; a commit of one entry takes 20-45 ms; a
full rebuild (one process) 3-7 minutes. Beyond that size, use tantivy or PostgreSQL.

This module holds the backend: opening, writing (and the merge policy), searchers kept
for reuse and read beside other processes' commits. The schema and the queries are made
in ``whoosh_query``; a search runs on a snapshot in ``whoosh_collect``.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from whoosh import query as wq
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

from portal.services.errors import SearchUnavailable
from portal.services.search.backend import (
    TIME_LIMIT_SECONDS,
    Hit,
    IndexEntry,
    SearchQuery,
    SearchResult,
    no_matches,
)
from portal.services.search.whoosh_collect import Segments, Snapshot, search_in, similar_in
from portal.services.search.whoosh_query import as_fields, schema

WRITE_LOCK_TIMEOUT = 30.0
MERGE_DOCS = 2_000  # everyday commits merge segments up to this size (see merge_small_segments)
SMALL_SEGMENTS = 8
REBUILD_MEMORY_MB = 256  # posting buffer of a full rebuild before it spills to disk
IDLE_SEARCHERS = 4  # kept open for the next searches (Whoosh: one searcher per thread)
READ_ATTEMPTS = 3
# Written beside the index; an index of another version is rebuilt (``rebuilt``).
SCHEMA_VERSION = "5"  # 5: public Whoosh only; case reference folded; sortable version ids
VERSION_FILE = "portal-schema-version"
log = logging.getLogger(__name__)


class WhooshBackend:
    """A Whoosh index in ``path``; safe for several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rebuilt = False
        self.ix = self._open()
        self._idle: list[Snapshot] = []
        self._lock = threading.Lock()
        self._segments = Segments()

    def _open(self):
        self.path.mkdir(parents=True, exist_ok=True)
        version = self.path / VERSION_FILE
        # Files read, not memory-mapped: from a mapped segment Whoosh copies the term and
        # posting files into memory at every reader open (at 20,000 documents ~90 ms and
        # ~150 MB per searcher, and a new searcher after every commit).
        storage = FileStorage(str(self.path), supports_mmap=False)
        try:
            if not storage.index_exists():
                return self._create(storage)
            if not version.exists() or version.read_text().strip() != SCHEMA_VERSION:
                raise ValueError(f"index schema is not version {SCHEMA_VERSION}")
            ix = storage.open_index()
            with ix.searcher() as searcher:
                searcher.doc_count()
            return ix
        except Exception as exc:  # a corrupt or outdated index is rebuilt, not a crash
            log.error("search index at %s unusable (%s); recreating it empty", self.path, exc)
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self.rebuilt = True
            return self._create(storage)

    def _create(self, storage: FileStorage):
        ix = storage.create_index(schema())
        (self.path / VERSION_FILE).write_text(SCHEMA_VERSION)
        return ix

    # ------------------------------------------------------------------ writing

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add, replace and remove entries in one commit (waits for another writer's lock)."""
        removed = [*remove_version_ids, *(entry.version_id for entry in entries)]
        with self._writer() as (writer, searcher):
            for version_id in removed:
                writer.delete_by_term("id", f"v{version_id}", searcher=searcher)
            for entry in entries:
                writer.add_document(**as_fields(entry))

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one commit."""
        with self._writer() as (writer, searcher):
            writer.delete_by_query(wq.Term("case_id", case_id), searcher=searcher)
            for entry in entries:
                writer.add_document(**as_fields(entry))

    @contextmanager
    def _writer(self):
        """A writer and a searcher on the state it starts from (one for all its deletions),
        committed with ``merge_small_segments``; cancelled on error."""
        writer = self.ix.writer(timeout=WRITE_LOCK_TIMEOUT)
        try:
            with writer.searcher() as searcher:
                yield writer, searcher
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=merge_small_segments)

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Write every entry into a new segment that replaces all others at the commit:
        searches see the old index until then. Other writers wait meanwhile (outbox jobs
        that time out are retried)."""
        writer = self.ix.writer(timeout=WRITE_LOCK_TIMEOUT, limitmb=REBUILD_MEMORY_MB)
        count = 0
        try:
            for entries in batches:
                for entry in entries:
                    writer.add_document(**as_fields(entry))
                count += len(entries)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=writing.CLEAR)
        return count

    def clear(self) -> None:
        """Drop everything (a commit of no segments: open searchers keep their view)."""
        self.ix.writer(timeout=WRITE_LOCK_TIMEOUT).commit(mergetype=writing.CLEAR)

    # ------------------------------------------------------------------ reading

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Matches of ``query`` that ``acl`` may see, one page, with facets."""
        tree = query.parsed.tree  # InvalidInput before the index is touched
        if not acl:
            return no_matches()
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        return self._reading(lambda snapshot: search_in(snapshot, tree, query, acl, deadline))

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents that share key terms with ``version_id``."""
        if not acl:
            return []
        return self._reading(lambda snapshot: similar_in(snapshot.searcher, version_id, acl, limit))

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""

        def ids(snapshot: Snapshot) -> set[int]:
            reader = snapshot.searcher.reader()
            column = reader.column_reader("version_id") if reader.doc_count_all() else []
            return {column[docnum] for docnum in reader.all_doc_ids()}

        return self._reading(ids)

    def warm_up(self) -> threading.Thread:
        """Open a searcher and read the columns searches count and sort by, in the background,
        so that a new server process's first search is not slower than the next."""
        thread = threading.Thread(target=self._prepare, name="search-warm-up", daemon=True)
        thread.start()
        return thread

    def _prepare(self) -> None:
        try:
            self._reading(lambda snapshot: [snapshot.column(n) for n in Segments.COLUMNS])
        except Exception:  # the first search reads them then, or reports what is wrong
            log.exception("search warm-up failed")

    def _reading(self, use: Callable[[Snapshot], object]):
        """``use`` on a searcher of the latest commit. A concurrent commit may remove a file
        a new searcher was about to open (its table of contents, a merged segment): then
        again, on a fresh searcher."""
        for attempt in itertools.count(1):
            try:
                return self._with_snapshot(use)
            except FileNotFoundError as exc:
                if attempt == READ_ATTEMPTS:
                    raise SearchUnavailable() from exc
                log.warning("search index changed while being opened (%s); again", exc)

    def _with_snapshot(self, use: Callable[[Snapshot], object]):
        snapshot = self._checkout()
        try:
            result = use(snapshot)
        except BaseException:
            snapshot.close()
            raise
        self._checkin(snapshot)
        return result

    def _checkout(self) -> Snapshot:
        """An idle searcher of the latest commit, or a new one (stale ones are closed)."""
        while True:
            with self._lock:
                snapshot = self._idle.pop() if self._idle else None
            if snapshot is None:
                return Snapshot(self.ix.searcher(), self._segments)
            if snapshot.searcher.up_to_date():
                return snapshot
            snapshot.close()

    def _checkin(self, snapshot: Snapshot) -> None:
        with self._lock:
            if len(self._idle) < IDLE_SEARCHERS:
                self._idle.append(snapshot)
                return
        snapshot.close()


def merge_small_segments(writer, segments):
    """Whoosh merge policy for everyday commits (written like Whoosh's own ``MERGE_SMALL``):
    once ``SMALL_SEGMENTS`` segments under ``MERGE_DOCS`` documents pile up, merge the
    smallest of them up to ``MERGE_DOCS`` documents together; larger segments are left
    alone, so that no commit waits for a merge of the whole index (Whoosh's default policy
    once took 72 s here)."""
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
