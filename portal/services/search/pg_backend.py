"""The PostgreSQL search backend: one index in the portal's database, shared by every app server.

Storage: the table ``portal_search.entries`` in a schema of its own, created on open
(``IF NOT EXISTS``, under an advisory lock so that servers starting together do not
race), out of the Alembic-managed schema: derived data, rebuilt by ``portal reindex``.
A schema of another ``FORMAT`` is dropped and made anew (``rebuilt``: reindex).

Terms: the ``tsvector`` is written from ``query.words_of``, the analysis every
backend shares (not by a PostgreSQL text configuration), so index and query terms are
equal by construction. Each field's terms carry a prefix of their own (``NAMESPACE``:
body none, title ``^``, names ``~``, case reference ``#``), so a query restricted to
fields (``titel:``, ``text:``, ``name:``, ``az:``) names that field's lexemes and needs
no weight labels, which GIN cannot check without reading every candidate's tsvector.
Weights serve ranking only: title A, names B, case reference C, body D, ranked by
``ts_rank`` with RANK_WEIGHTS (the shared BOOSTS: title 2 : names 1.5 : body and
reference 1). PostgreSQL keeps at most 256 positions of a lexeme and
none beyond 16,383: a phrase deep inside a very long body is not found.

Queries: the tree of ``query.parse`` becomes a ``tsquery`` literal, a bind parameter:
Term = for one of its fields all its words; Phrase = ``<->``; Prefix = ``:*`` with all
expansions (PostgreSQL has no term dictionary to bound them by frequency, so never
``incomplete`` for that); Not = ``!``. NameLike (one edit, same first letter): the name
words of indexed cases (``case_names``, by first letter and length) are compared in
Python and the close ones join the query. Access: an entry's ``acl`` tokens are looked up in a
hash of the user's (one per last day of a consent: up to hundreds).

Ranking: the newest RANK_CANDIDATES matches are ranked, the older ones follow by date
(``ts_rank`` reads each tsvector: ranking all 12,000 matches of a common word took half
a second at 100,000 entries). Prefix expansions are unscored: a query of prefixes only
comes by date. Facets count every match.

Index: RUM when the ``rum`` extension is installed (Debian: ``postgresql-15-rum``; made
by a superuser with ``CREATE EXTENSION rum``, after which ``portal reindex`` builds the
index), GIN otherwise. Measured at 100,000 entries, a user with 835 access tokens:
RUM holds positions, so phrases are answered from the index (p95 80-104 ms against
GIN's 275-424 ms: GIN rechecks each candidate's tsvector); terms, AND and names equal;
RUM finds prefixes 2-3 times slower than GIN, so beside RUM a GIN index on an expression
of the tsvector (``PREFIX_TSV``) serves queries with prefixes.

Highlights: ``highlight.hit_passages`` over the stored text, as the other backends. Time
limit: statements run under ``statement_timeout``; when time runs out, the first
matches found in a shorter second try come back unranked and marked ``incomplete``.
Writes: upserts, with per-case advisory locks taken in order, so several processes can
write at once without lost updates or deadlocks.

This module holds the backend: the schema, writing, searching, failures. Rows and
queries are made in ``pg_query``; pages, hits, highlights and facets in ``pg_results``;
the SQL texts are in ``pg_sql``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from portal.services.errors import SearchUnavailable
from portal.services.search.backend import (
    TIME_LIMIT_SECONDS,
    Hit,
    IndexEntry,
    SearchQuery,
    SearchResult,
    no_matches,
)
from portal.services.search.pg_query import as_rows, close_names, compile_tree, leaves, where
from portal.services.search.pg_results import (
    highlight,
    limit_time,
    page,
    similar_hits,
    unranked,
)
from portal.services.search.pg_sql import (
    DDL,
    DELETE_CASE,
    FIRST_FOUND,
    INDEX_KIND,
    NAME_WORDS,
    PREFIX_TSV,
    SCHEMA_FORMAT,
    UPSERT,
)
from portal.services.search.query import NAMES, Node, Prefix, words_of

# Changed whenever what the table holds changes: an index of another format is rebuilt.
FORMAT = "kim-search 2"
# Class id of this backend's advisory locks ("KIMS"); the second key is a case id, 0 = schema.
LOCK_CLASS = 0x4B494D53
USE_RUM = True
WRITE_ATTEMPTS = 3
QUERY_CANCELED, DEADLOCK, SERIALIZATION = "57014", "40P01", "40001"
log = logging.getLogger(__name__)


class PostgresBackend:
    """Full-text search in PostgreSQL (tsvector of the portal's own analysis, RUM or GIN)."""

    def __init__(self, engine: Engine, time_limit: float = TIME_LIMIT_SECONDS) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(
                "PORTAL_SEARCH_BACKEND=postgres needs a PostgreSQL database"
                f" (PORTAL_DATABASE_URL is {engine.dialect.name})"
            )
        self.engine = engine
        self.time_limit = time_limit
        # Set when the index table had to be created: it is empty and needs a reindex.
        self.rebuilt = False
        self._open()

    def _open(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": LOCK_CLASS})
            schema = connection.execute(text(SCHEMA_FORMAT)).first()
            current = schema is not None and schema.format == FORMAT
            if schema is not None and not current:
                connection.exec_driver_sql("DROP SCHEMA portal_search CASCADE")
            connection.exec_driver_sql(DDL)
            connection.exec_driver_sql(f"COMMENT ON SCHEMA portal_search IS '{FORMAT}'")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            connection.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS entries_tsv ON portal_search.entries"
                + (" USING rum (tsv rum_tsvector_ops)" if _rum(connection) else " USING gin (tsv)")
            )
            # The index there is, whichever server made it.
            self.rum = connection.scalar(text(INDEX_KIND)) == "rum"
            if self.rum:
                connection.exec_driver_sql(
                    "CREATE INDEX IF NOT EXISTS entries_prefix ON portal_search.entries"
                    f" USING gin (({PREFIX_TSV}))"
                )
        self.rebuilt = not current

    # ------------------------------------------------------------ writing

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add or replace ``entries`` and drop ``remove_version_ids``, in one transaction."""
        rows = as_rows(entries)

        def work(connection) -> None:
            if remove_version_ids:
                connection.execute(
                    text("DELETE FROM portal_search.entries WHERE version_id = ANY(:ids)"),
                    {"ids": sorted(remove_version_ids)},
                )
            _upsert(connection, rows, entries)

        self._write({e.case_id for e in entries}, work)

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one transaction."""
        rows = as_rows(entries)

        def work(connection) -> None:
            for sql in DELETE_CASE:
                connection.execute(text(sql), {"c": case_id})
            _upsert(connection, rows, entries)

        self._write({case_id, *(e.case_id for e in entries)}, work)

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Drop everything, then add the entries of ``batches``, one transaction each, with
        the text indexes built at the end (inserting into RUM slows down as it grows: 35
        minutes for 100,000 entries; built afterwards, 40 seconds). Searches meanwhile
        run out of time and come back incomplete."""
        self.clear()
        with self.engine.begin() as connection:
            connection.exec_driver_sql(
                "DROP INDEX IF EXISTS portal_search.entries_tsv, portal_search.entries_prefix"
            )
        count = 0
        try:
            for entries in batches:
                self.update(entries, [])
                count += len(entries)
        finally:
            self._open()
        return count

    def clear(self) -> None:
        """Drop everything."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE portal_search.entries, portal_search.case_names")

    def warm_up(self) -> None:
        """Nothing to prepare: PostgreSQL keeps its own caches, shared by every server."""

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""
        with self.engine.connect() as connection:
            return set(connection.scalars(text("SELECT version_id FROM portal_search.entries")))

    def _write(self, case_ids: set[int], work) -> None:
        """Run ``work(connection)`` in a transaction holding the cases' advisory locks, taken
        in order so that writers queue instead of deadlocking; retried should PostgreSQL
        still report a deadlock or serialization failure."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    for case_id in sorted(case_ids):
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:c, :k)"),
                            {"c": LOCK_CLASS, "k": case_id},
                        )
                    work(connection)
                return
            except DBAPIError as exc:
                if _sqlstate(exc) not in (DEADLOCK, SERIALIZATION) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                log.warning("search index write retried after %s", _sqlstate(exc))

    # ------------------------------------------------------------ searching

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Matches of ``query`` that ``acl`` may see, one page, with facets."""
        parsed = query.parsed
        if not acl:
            return no_matches()
        deadline = time.monotonic() + self.time_limit
        try:
            with self.engine.begin() as connection:
                limit_time(connection, deadline)
                close = close_names(connection, parsed.tree)
                match = compile_tree(parsed.tree, close)
                if match is None:
                    return no_matches()
                rank = None if query.by_date else compile_tree(parsed.tree, close, scored=True)
                conditions = where(query, acl, match, self._column(parsed.tree))
                result, texts = page(connection, query, conditions, rank)
        except DBAPIError as exc:
            if _sqlstate(exc) != QUERY_CANCELED:
                log.exception("search failed")
                raise SearchUnavailable() from exc
            return self._first_found(query, acl, compile_tree(parsed.tree, {}), parsed.tree)
        highlight(result.hits, texts, parsed.leaves, close, deadline)
        result.incomplete = time.monotonic() >= deadline
        return result

    def _column(self, tree: Node) -> str:
        """The tsvector expression to match ``tree`` against: with RUM, the one of the GIN
        index for queries with prefixes (RUM finds prefixes 2-3 times slower)."""
        prefixed = any(isinstance(leaf, Prefix) for leaf in leaves(tree))
        return f"(e.{PREFIX_TSV})" if self.rum and prefixed else "e.tsv"

    def _first_found(self, query: SearchQuery, acl: list[str], tsquery, tree) -> SearchResult:
        """After a timeout: the first matches found within a quarter of the time limit
        (without typo-tolerant names), unranked, counted and faceted among themselves,
        marked incomplete."""
        rows = []
        if tsquery is not None:
            sql, params = where(query, acl, tsquery, self._column(tree))
            try:
                with self.engine.begin() as connection:
                    limit_time(connection, time.monotonic() + self.time_limit / 4)
                    rows = connection.execute(
                        text(FIRST_FOUND.format(where=sql)),
                        {**params, "limit": query.page * query.per_page},
                    ).all()
            except DBAPIError as exc:
                if _sqlstate(exc) != QUERY_CANCELED:
                    raise SearchUnavailable() from exc
        return unranked(query, rows)

    # ------------------------------------------------------------ similar documents

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents sharing the most frequent title and body
        words of ``version_id`` (``similar_hits``), best first."""
        if not acl:
            return []
        with self.engine.begin() as connection:
            limit_time(connection, time.monotonic() + self.time_limit)
            return similar_hits(connection, version_id, acl, limit)


# ---------------------------------------------------------------- helpers


def _rum(connection) -> bool:
    """Whether the RUM index is wanted and its extension installed (or installable)."""
    if not USE_RUM:
        return False
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS rum")
    except DBAPIError as exc:
        log.info("RUM not available (%s): GIN index", exc.orig)
        return False
    return True


def _upsert(connection, rows: list[dict], entries: list[IndexEntry]) -> None:
    """Write ``rows``, and the words of their cases' person names (the candidates for
    typo-tolerant names, gone with the case's last ``replace_case``)."""
    if not rows:
        return
    connection.execute(text(UPSERT), rows)
    names = sorted({(e.case_id, w) for e in entries for w in words_of(e.names, NAMES)})
    if names:
        connection.execute(text(NAME_WORDS), [{"c": case_id, "w": word} for case_id, word in names])


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
