"""The default search backend: a tantivy index in a directory (tantivy-py, embedded Rust).

Analysis is the portal's own, in Python: title, body and names are indexed as the
terms of ``query.words_of`` joined by spaces and split again by tantivy's whitespace
tokenizer (consecutive positions; about six times faster to index than handing over
``PreTokenizedString`` tokens), the case reference as its whole folded value. Query
terms come from the same function, so they equal the index terms by construction.
The original texts are stored beside them (as bytes, so that tantivy does not index
them again) for highlighting; the body only as far as ``highlight.SCAN_CHARS``,
which is all that highlighting reads.

The query tree of ``query.py`` is compiled to tantivy queries directly (never through
tantivy's query parser); prefixes expand from the term dictionary, typo-tolerant names
are a fuzzy term query over name keys (``name_key``), filters are clauses of score zero.
Totals come from the search, facets from terms aggregations over fast fields, both over
every match. Relevance ties are broken by date and version id exactly: the tie group at
the end of the page is fetched whole (or, when it is huge, searched for in date order).
Writes take tantivy's directory lock, waiting for another process's writer; readers
follow commits by tantivy's reload policy. An engine failure (a Rust panic is a
``BaseException``) is logged, answered with ``SearchUnavailable`` and the index
reopened.

This module holds the backend: opening, writing, reading, failures. The schema, the
documents and the queries are made in ``tantivy_query``; pages, hits, highlights and
facets in ``tantivy_results``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import tantivy
from tantivy import Query

from portal.services.errors import SearchUnavailable
from portal.services.search.backend import (
    TIME_LIMIT_SECONDS,
    Hit,
    IndexEntry,
    SearchQuery,
    SearchResult,
    no_matches,
)
from portal.services.search.highlight import query_marks
from portal.services.search.query import BODY, words_of
from portal.services.search.tantivy_query import (
    Compiler,
    as_document,
    filtered,
    filters,
    like_query,
    register_tokenizer,
    schema,
)
from portal.services.search.tantivy_results import (
    facet_counts,
    highlights_of,
    ordered,
    page_hits,
    ranked_page,
    stored_text,
)

WRITE_LOCK_TIMEOUT = 30.0
LOCK_POLL_SECONDS = 0.05
UPDATE_HEAP = 64_000_000  # bytes of tantivy's indexing buffer for an everyday commit
REBUILD_HEAP = 256_000_000
# Written beside the index; an index of another version is recreated (``rebuilt``).
SCHEMA_VERSION = "1"
VERSION_FILE = "portal-schema-version"
# tantivy lets the GIL go while it searches: facets are counted beside the page's search
# (at 100,000 documents 8 instead of 12 ms for a prefix); as many as a server's threads.
_FACET_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="search-facets")
log = logging.getLogger(__name__)


class TantivyBackend:
    """A tantivy index in ``path``; safe for several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = schema()
        self.rebuilt = False
        self._write_lock = threading.Lock()  # this process's writers queue here
        self._open_lock = threading.Lock()
        self.index = self._open()

    # ------------------------------------------------------------ opening

    def _open(self) -> tantivy.Index:
        """The index in ``path``; a new, empty one (``rebuilt``) when there is none, or
        one of another schema version, or one that cannot be read."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not tantivy.Index.exists(str(self.path)):
            if any(self.path.iterdir()):  # e.g. the Whoosh index of an earlier release
                log.warning("%s holds no tantivy index; replacing what is there", self.path)
                self._empty()
            return self._create()
        try:
            version = self.path / VERSION_FILE
            if not version.exists() or version.read_text().strip() != SCHEMA_VERSION:
                raise ValueError(f"index schema is not version {SCHEMA_VERSION}")
            return self._opened()
        except Exception as exc:  # a corrupt or outdated index is rebuilt, not a crash
            log.error("search index at %s unusable (%s); recreating it empty", self.path, exc)
            self._empty()
            return self._create()

    def _opened(self) -> tantivy.Index:
        """The existing index, checked by reading it."""
        index = tantivy.Index(self.schema, str(self.path), reuse=True)
        register_tokenizer(index)
        index.searcher().num_docs  # noqa: B018 (reads every segment's meta data)
        return index

    def _empty(self) -> None:
        shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def _create(self) -> tantivy.Index:
        """A new index in the empty directory (or the one another process just made there)."""
        index = tantivy.Index(self.schema, str(self.path), reuse=True)
        register_tokenizer(index)
        (self.path / VERSION_FILE).write_text(SCHEMA_VERSION)
        self.rebuilt = True
        return index

    def _reopen(self) -> None:
        """After an engine failure: open the index anew, so that the next search starts from
        what is on disk (a failure to do so is logged; the next failure tries again)."""
        with self._open_lock:
            try:
                self.index = self._opened()
            except Exception:
                log.exception("search index at %s could not be reopened", self.path)

    # ------------------------------------------------------------ writing

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add, replace and remove entries in one commit (waits for another writer's lock)."""
        documents = [as_document(entry) for entry in entries]  # analysed before the lock
        removed = {*remove_version_ids, *(entry.version_id for entry in entries)}

        def work(writer: tantivy.IndexWriter) -> None:
            for version_id in sorted(removed):
                writer.delete_documents_by_query(self._term("version_id", version_id))
            for document in documents:
                writer.add_document(document)

        self._write(work, UPDATE_HEAP, threads=1)

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one commit."""
        documents = [as_document(entry) for entry in entries]

        def work(writer: tantivy.IndexWriter) -> None:
            writer.delete_documents_by_query(self._term("case_id", case_id))
            for document in documents:
                writer.add_document(document)

        self._write(work, UPDATE_HEAP, threads=1)

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Replace everything by the entries of ``batches`` in one commit at the end (searches
        see the old index until then; other writers wait meanwhile, outbox jobs that time
        out are retried)."""
        count = 0

        def work(writer: tantivy.IndexWriter) -> None:
            nonlocal count
            writer.delete_all_documents()
            for entries in batches:
                for entry in entries:
                    writer.add_document(as_document(entry))
                count += len(entries)

        self._write(work, REBUILD_HEAP, threads=0)
        return count

    def clear(self) -> None:
        """Drop everything."""
        self._write(lambda writer: writer.delete_all_documents(), UPDATE_HEAP, threads=1)

    # Deletions go by term queries: tantivy-py's delete_documents_by_term takes a Python
    # int for a signed term, and finds nothing in the unsigned id fields.

    def _write(self, work: Callable[[tantivy.IndexWriter], None], heap: int, threads: int):
        """Run ``work`` with the directory's one writer and commit it; rolled back on error.
        The writer is let go at once (after its merges), so other processes can write."""
        with self._write_lock:
            writer = self._writer(heap, threads)
            try:
                work(writer)
                writer.commit()
                writer.garbage_collect_files()  # files of replaced segments
            except BaseException as exc:
                with suppress(Exception):  # the first error says more
                    writer.rollback()
                if _engine_failure(exc) and not isinstance(exc, Exception):
                    raise RuntimeError(f"search index write failed: {exc}") from exc
                raise
            finally:
                writer.wait_merging_threads()  # and releases the directory lock
        self._reload()

    def _writer(self, heap: int, threads: int) -> tantivy.IndexWriter:
        """The index's writer, once no other process holds it (``WRITE_LOCK_TIMEOUT``)."""
        give_up = time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                return self.index.writer(heap, threads)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() > give_up:
                    raise TimeoutError(
                        f"search index {self.path} locked by another writer"
                        f" for {WRITE_LOCK_TIMEOUT:.0f} s"
                    ) from exc
            time.sleep(LOCK_POLL_SECONDS)

    def _reload(self) -> None:
        """Searchers of this process see its own commit at once (others: the reload policy)."""
        try:
            self.index.reload()
        except Exception as exc:  # the reader keeps its searcher; the policy reloads later
            log.warning("search index reload failed (%s)", exc)

    # ------------------------------------------------------------ reading

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Matches of ``query`` that ``acl`` may see: one page, total and facets."""
        parsed = query.parsed  # bad syntax is InvalidInput before the engine sees it
        if not acl:
            return no_matches()
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        with self._engine("search"):
            searcher = self.index.searcher()
            compiler = Compiler(searcher, self.schema)
            matching = filtered(compiler.compile(parsed.tree), filters(self.schema, query, acl))
            start = (query.page - 1) * query.per_page
            end = start + query.per_page
            by_date = query.by_date
            # The facets evaluate the query again, most of their time: meanwhile, the page.
            facets = _FACET_THREADS.submit(facet_counts, searcher, matching)
            page, total, cut = ranked_page(
                searcher, self.schema, matching, start, end, by_date, deadline
            )
            marks, name_words = query_marks(parsed.leaves)
            hits = page_hits(searcher, page, by_date)
            for hit, ranked in zip(hits, page, strict=True):
                if time.monotonic() > deadline:
                    cut = True  # the rest of the page without highlights
                    break
                hit.highlights = highlights_of(searcher, ranked, marks, name_words)
            return SearchResult(hits, total, facets.result(), cut or compiler.capped)

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents most like ``version_id`` (by its key body
        terms, of the stored first ``SCAN_CHARS`` of its text) that ``acl`` may see."""
        if not acl:
            return []
        with self._engine("similar"):
            searcher = self.index.searcher()
            found = searcher.search(self._term("version_id", version_id), 1, count=False).hits
            if not found:
                return []
            address = found[0][1]
            (document_id,) = searcher.fast_field_values("document_id", [address])
            body = " ".join(words_of(stored_text(searcher.doc(address), BODY), BODY))
            if not body:
                return []
            like = like_query(self.schema, body, document_id, acl)
            hits = searcher.search(like, limit, count=False).hits
            return page_hits(searcher, ordered(searcher, hits))

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""
        with self._engine("version_ids"):
            searcher = self.index.searcher()
            if not searcher.num_docs:
                return set()
            hits = searcher.search(Query.all_query(), searcher.num_docs, count=False).hits
            return set(searcher.fast_field_values("version_id", [a for _s, a in hits]))

    def warm_up(self) -> threading.Thread:
        """Read, in the background, the fast fields and term dictionaries every search
        needs, so that a new server process's first search is not slower than the next."""
        thread = threading.Thread(target=self._prepare, name="search-warm-up", daemon=True)
        thread.start()
        return thread

    def _prepare(self) -> None:
        try:
            searcher = self.index.searcher()
            everything = Query.all_query()
            searcher.search(everything, 1, order_by_field="date")
            facet_counts(searcher, everything)
        except BaseException as exc:  # the first search reports what is wrong
            if not _engine_failure(exc):
                raise
            log.exception("search warm-up failed")

    def _term(self, field: str, value) -> Query:
        return Query.term_query(self.schema, field, value)

    @contextmanager
    def _engine(self, what: str):
        """A failure of tantivy in ``what`` (an error, or a Rust panic, which is a
        BaseException) is logged and becomes ``SearchUnavailable``; the index is reopened
        for the next call."""
        try:
            yield
        except BaseException as exc:
            if not _engine_failure(exc):
                raise
            log.error("search engine failed in %s", what, exc_info=exc)
            self._reopen()
            raise SearchUnavailable() from exc


def _engine_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to answer from (an error, or a Rust panic: pyo3's
    ``PanicException`` derives from BaseException), not the process being stopped."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
