"""The PostgreSQL search backend: one index in the portal's database, shared by every app server.

Storage: the table ``portal_search.entries`` in a schema of its own, created on
open (``IF NOT EXISTS``, under an advisory lock so that servers starting together
do not race). The index is derived data rebuilt by ``portal reindex``; it stays
out of the Alembic-managed schema.

Text: every text is folded with the portal's own ``analysis.fold`` (ü = ue = u,
ß = ss, accents and Arabic vowel marks dropped) before ``to_tsvector('german', …)``,
and query words the same way (see ``pg_query``), so PostgreSQL's Snowball stemmer
sees the spelling the Whoosh analyzer stems: "Räume", "Raeume" and "Raume" all
become ``raum``. Weights: title and person names A, case reference B, body C.
Person names with typos (as Whoosh: one edit, same first letter): the ``pg_trgm``
index on the folded names proposes candidates, the distance is checked in Python,
and the close name words join the query as alternatives, so that one GIN search
does the rest. Without the extension (not installable) names must match exactly.

Highlights: ``ts_headline`` over the original text with «» marks, plain text like
the Whoosh backend's (the page escapes it; ``<`` is shielded so that PostgreSQL
does not drop what looks like HTML tags).

Time limit: the counting query and the page query run under ``statement_timeout``;
when time runs out, the first matches found in a shorter second try come back
unranked and marked ``incomplete``.

Writes: upserts, with per-case advisory locks taken in order, so several processes
can write at once without lost updates or deadlocks.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from portal.services.search import pg_query
from portal.services.search.analysis import fold
from portal.services.search.backend import (
    Hit,
    IndexEntry,
    SearchQuery,
    SearchResult,
    utc_naive,
)

TIME_LIMIT_SECONDS = 2.0
# Class id of this backend's advisory locks ("KIMS"); the second key is a case id, 0 = schema.
LOCK_CLASS = 0x4B494D53
# Longest folded body that goes into the tsvector (its size is limited to 1 MB).
MAX_INDEXED_CHARS = 1_000_000
# Trigram word similarity that finds candidates for names one typo away ("ali" ~ "aly": 0.33).
NAME_CANDIDATE_SIMILARITY = 0.3
MAX_NAME_EXPANSIONS = 20
SIMILAR_TERMS = 12
FACETS = ("type", "phase", "focus", "organisation", "year")
HEADLINE = "StartSel=«, StopSel=», MaxWords=30, MinWords=12, ShortWord=2"
WRITE_ATTEMPTS = 3
QUERY_CANCELED, DEADLOCK, SERIALIZATION = "57014", "40P01", "40001"
_NAME_WORD = re.compile(r"\w+")
log = logging.getLogger(__name__)

_DDL = """
CREATE SCHEMA IF NOT EXISTS portal_search;
CREATE TABLE IF NOT EXISTS portal_search.entries (
    version_id bigint PRIMARY KEY,
    document_id bigint NOT NULL,
    number integer NOT NULL,
    current boolean NOT NULL,
    case_id bigint NOT NULL,
    case_reference text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    names text NOT NULL,
    type text NOT NULL,
    phase text NOT NULL,
    focus text[] NOT NULL,
    organisation_id bigint NOT NULL,
    date timestamp NOT NULL,
    year integer NOT NULL,
    acl text[] NOT NULL,
    tsv tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_tsv ON portal_search.entries USING gin (tsv);
CREATE INDEX IF NOT EXISTS entries_acl ON portal_search.entries USING gin (acl);
CREATE INDEX IF NOT EXISTS entries_case ON portal_search.entries (case_id);
CREATE INDEX IF NOT EXISTS entries_document ON portal_search.entries (document_id);
CREATE TABLE IF NOT EXISTS portal_search.case_names (
    case_id bigint PRIMARY KEY,
    names_folded text NOT NULL
);
"""

_UPSERT = """
INSERT INTO portal_search.entries (version_id, document_id, number, current, case_id,
    case_reference, title, body, names, type, phase, focus, organisation_id,
    date, year, acl, tsv)
VALUES (:version_id, :document_id, :number, :current, :case_id, :case_reference, :title,
    :body, :names, :type, :phase, :focus, :organisation_id, :date, :year, :acl,
    setweight(to_tsvector('german', :title_folded), 'A')
    || setweight(to_tsvector('german', :names_folded), 'A')
    || setweight(to_tsvector('german', :reference_folded), 'B')
    || setweight(to_tsvector('german', :body_folded), 'C'))
ON CONFLICT (version_id) DO UPDATE SET
    document_id = excluded.document_id, number = excluded.number, current = excluded.current,
    case_id = excluded.case_id, case_reference = excluded.case_reference,
    title = excluded.title, body = excluded.body, names = excluded.names,
    type = excluded.type, phase = excluded.phase,
    focus = excluded.focus, organisation_id = excluded.organisation_id, date = excluded.date,
    year = excluded.year, acl = excluded.acl, tsv = excluded.tsv
"""

# Facet counts over every ACL-filtered match, in one pass. The placeholders in this and
# the following queries take only SQL built here from constant pieces (``pg_query`` and
# ``_where``); everything the user typed travels as bind parameters.
_FACETS = """
WITH q AS (SELECT {tsquery} AS tsq), m AS MATERIALIZED (
    SELECT e.type, e.phase, e.focus, e.organisation_id, e.year
    FROM portal_search.entries e, q WHERE {where}
)
SELECT 'total' AS facet, '' AS key, count(*) AS n FROM m
UNION ALL SELECT 'type', type, count(*) FROM m GROUP BY type
UNION ALL SELECT 'phase', phase, count(*) FROM m GROUP BY phase
UNION ALL SELECT 'organisation', organisation_id::text, count(*) FROM m GROUP BY organisation_id
UNION ALL SELECT 'year', year::text, count(*) FROM m GROUP BY year
UNION ALL SELECT 'focus', f, count(*) FROM m, unnest(m.focus) AS f GROUP BY f
"""

# ts_headline drops what looks like an HTML tag: "<" is shielded as chr(1), and put back.
_SHIELD = "\x01"

_PAGE = """
WITH q AS (SELECT {tsquery} AS tsq),
page AS (
    SELECT e.version_id, e.document_id, e.case_id, e.date,
           ts_rank(e.tsv, q.tsq) AS score
    FROM portal_search.entries e, q WHERE {where}
    ORDER BY {order} LIMIT :limit OFFSET :offset
)
SELECT page.version_id, page.document_id, page.case_id, page.score,
       ts_headline('german', replace(replace(e.body, chr(1), ''), '<', chr(1)), q.tsq,
                   :headline) AS body,
       ts_headline('german', replace(replace(e.title, chr(1), ''), '<', chr(1)), q.tsq,
                   :headline) AS title,
       ts_headline('german', replace(replace(e.names, chr(1), ''), '<', chr(1)), q.tsq,
                   :headline) AS names
FROM page JOIN portal_search.entries e USING (version_id), q
ORDER BY {outer_order}
"""

_DELETE_CASE = (
    "DELETE FROM portal_search.entries WHERE case_id = :c",
    "DELETE FROM portal_search.case_names WHERE case_id = :c",
)

# Per query word, person names with a word that may be one typo away (checked in Python).
_NAME_CANDIDATES = """
SELECT w.word, c.names_folded FROM unnest(CAST(:words AS text[])) AS w(word)
CROSS JOIN LATERAL (
    SELECT DISTINCT names_folded FROM portal_search.case_names
    WHERE names_folded OPERATOR({trigram}.%>>) w.word LIMIT 200
) AS c
"""

_FIRST_FOUND = """
WITH q AS (SELECT {tsquery} AS tsq)
SELECT e.version_id, e.document_id, e.case_id, e.type, e.phase, e.focus, e.organisation_id, e.year
FROM portal_search.entries e, q WHERE {where} LIMIT :limit
"""

_SIMILAR = """
WITH src AS (SELECT document_id, tsv, ts_filter(tsv, '{c}') AS body FROM portal_search.entries
             WHERE version_id = :version_id),
terms AS (
    SELECT t.lexeme FROM src,
           unnest(CASE WHEN length(src.body) > 0 THEN src.body ELSE src.tsv END) AS t
    WHERE length(t.lexeme) >= 3 AND position(E'\\\\' IN t.lexeme) = 0
    ORDER BY cardinality(t.positions) DESC, length(t.lexeme) DESC, t.lexeme
    LIMIT :terms
),
q AS (SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS tsq FROM terms)
SELECT e.version_id, e.document_id, e.case_id, ts_rank(e.tsv, q.tsq) AS score
FROM portal_search.entries e, q, src
WHERE e.acl && CAST(:acl AS text[]) AND e.current AND e.document_id <> src.document_id
  AND e.tsv @@ q.tsq
ORDER BY score DESC, e.version_id DESC
LIMIT :limit
"""


class PostgresBackend:
    """Full-text search in PostgreSQL (``german`` configuration, GIN index)."""

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
        # Schema of the pg_trgm extension, or None when names must match exactly.
        self.trigram: str | None = None
        self._open()

    def _open(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": LOCK_CLASS})
            existed = connection.scalar(
                text("SELECT to_regclass('portal_search.entries') IS NOT NULL")
            )
            connection.exec_driver_sql(_DDL)
            self.trigram = _trigram_schema(connection)
            if self.trigram:
                connection.exec_driver_sql(
                    "CREATE INDEX IF NOT EXISTS case_names_trgm ON portal_search.case_names"
                    f" USING gin (names_folded {self.trigram}.gin_trgm_ops)"
                )
        self.rebuilt = not existed

    # ------------------------------------------------------------ writing

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add or replace ``entries`` and drop ``remove_version_ids``, in one transaction."""

        def work(connection) -> None:
            if remove_version_ids:
                connection.execute(
                    text("DELETE FROM portal_search.entries WHERE version_id = ANY(:ids)"),
                    {"ids": sorted(remove_version_ids)},
                )
            _upsert(connection, entries)

        self._write({e.case_id for e in entries}, work)

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead, in one transaction."""

        def work(connection) -> None:
            for sql in _DELETE_CASE:
                connection.execute(text(sql), {"c": case_id})
            _upsert(connection, entries)

        self._write({case_id, *(e.case_id for e in entries)}, work)

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Drop everything, then add the entries of ``batches``, one transaction each."""
        self.clear()
        count = 0
        for entries in batches:
            self.update(entries, [])
            count += len(entries)
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
        if not acl:
            return SearchResult([], 0, _facets([]))
        parsed = pg_query.parse(query.text)
        deadline = time.monotonic() + self.time_limit
        try:
            with self.engine.begin() as connection:
                self._limit_time(connection, deadline)
                tsquery, params = self._with_names(connection, parsed)
                where, params = _where(query, acl, params)
                return self._ranked(connection, query, tsquery, where, params, deadline)
        except DBAPIError as exc:
            if _sqlstate(exc) != QUERY_CANCELED:
                raise
        where, params = _where(query, acl, dict(parsed.params))
        return self._first_found(query, parsed.sql, where, params)

    def _ranked(self, connection, query, tsquery, where, params, deadline) -> SearchResult:
        start = (query.page - 1) * query.per_page
        counts = connection.execute(
            text(_FACETS.format(tsquery=tsquery, where=where)), params
        ).all()
        total = next(n for facet, _key, n in counts if facet == "total")
        if start >= total:
            return SearchResult([], total, _facets(counts))
        self._limit_time(connection, deadline)
        order = "{0}date DESC, {0}version_id DESC"
        if query.sort != "date":
            order = "{0}score DESC, " + order
        sql = _PAGE.format(
            tsquery=tsquery, where=where, order=order.format(""),
            outer_order=order.format("page."),
        )  # fmt: skip
        page = {**params, "limit": query.per_page, "offset": start, "headline": HEADLINE}
        hits = [
            Hit(r.version_id, r.document_id, r.case_id, round(float(r.score), 4), _passages(r))
            for r in connection.execute(text(sql), page)
        ]
        return SearchResult(hits, total, _facets(counts))

    def _with_names(self, connection, parsed) -> tuple[str, dict]:
        """The tsquery, ORed (for plain words) with person names one typo away from every
        word, like Whoosh's FuzzyTerm(maxdist=1, prefixlength=1): candidates come from the
        trigram index on the names, the distance is checked here."""
        params = dict(parsed.params)
        if not (self.trigram and parsed.name_words):
            return parsed.sql, params
        rows = connection.execute(
            text(_NAME_CANDIDATES.format(trigram=self.trigram)), {"words": parsed.name_words}
        ).all()
        groups = []
        for i, word in enumerate(parsed.name_words):
            names = [n for w, n in rows if w == word]
            close = sorted({c for n in names for c in _NAME_WORD.findall(n) if _one_typo(c, word)})
            if not close:
                return parsed.sql, params
            alternatives = []
            for j, candidate in enumerate(close[:MAX_NAME_EXPANSIONS]):
                params[f"n{i}_{j}"] = candidate
                alternatives.append(f"plainto_tsquery('german', :n{i}_{j})")
            groups.append("(" + " || ".join(alternatives) + ")")
        return f"({parsed.sql} || ({' && '.join(groups)}))", params

    def _first_found(self, query, tsquery, where, params) -> SearchResult:
        """After a timeout: the first matches found within a quarter of the time limit
        (without typo-tolerant names), unranked, counted and faceted among themselves,
        marked incomplete."""
        sql = _FIRST_FOUND.format(tsquery=tsquery, where=where)
        try:
            with self.engine.begin() as connection:
                self._limit_time(connection, time.monotonic() + self.time_limit / 4)
                rows = connection.execute(
                    text(sql), {**params, "limit": query.page * query.per_page}
                ).all()
        except DBAPIError as exc:
            if _sqlstate(exc) != QUERY_CANCELED:
                raise
            rows = []
        start = (query.page - 1) * query.per_page
        hits = [Hit(r.version_id, r.document_id, r.case_id, 0.0, []) for r in rows]
        return SearchResult(
            hits[start : start + query.per_page], len(rows), _facets(_count(rows)), True
        )

    @staticmethod
    def _limit_time(connection, deadline: float) -> None:
        """Settings of the search transaction: the time left until ``deadline``; plans made
        for the actual words and acl (a generic plan of a prepared statement scans by acl,
        rechecking every visible entry's text); the names' similarity threshold."""
        remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
        connection.execute(
            text(
                "SELECT set_config('statement_timeout', :ms, true),"
                " set_config('plan_cache_mode', 'force_custom_plan', true),"
                " set_config('pg_trgm.strict_word_similarity_threshold', :names, true)"
            ),
            {"ms": str(remaining_ms), "names": str(NAME_CANDIDATE_SIMILARITY)},
        )

    # ------------------------------------------------------------ similar documents

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents sharing the most frequent body words of
        ``version_id`` (its top SIMILAR_TERMS lexemes, ranked by ``ts_rank``)."""
        if not acl:
            return []
        params = {"version_id": version_id, "acl": list(acl), "limit": limit}
        with self.engine.connect() as connection:
            rows = connection.execute(text(_SIMILAR), {**params, "terms": SIMILAR_TERMS}).all()
        return [
            Hit(r.version_id, r.document_id, r.case_id, round(float(r.score), 4), []) for r in rows
        ]


def _trigram_schema(connection) -> str | None:
    """The schema of pg_trgm, installing the extension if allowed; None without it."""
    find = text(
        "SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace"
        " WHERE x.extname = 'pg_trgm'"
    )
    schema = connection.scalar(find)
    if schema:
        return schema
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        log.warning("pg_trgm not available (%s): person names must match exactly", exc.orig)
        return None
    return connection.scalar(find)


def _where(query: SearchQuery, acl: list[str], params: dict) -> tuple[str, dict]:
    """The conditions on index entries (the match against ``q.tsq`` included)."""
    conditions = ["e.acl && CAST(:acl AS text[])", "e.tsv @@ q.tsq"]
    params = {**params, "acl": list(acl)}
    if not query.all_versions:
        conditions.append("e.current")
    optional = [
        (query.types, "e.type = ANY(:types)", "types"),
        (query.phase, "e.phase = :phase", "phase"),
        (query.focus, ":focus = ANY(e.focus)", "focus"),
        (query.organisation_id, "e.organisation_id = :organisation", "organisation"),
        (query.case_id, "e.case_id = :case", "case"),
        (query.exclude_case_ids, "e.case_id <> ALL(:exclude)", "exclude"),
        (query.date_from, "e.date >= :date_from", "date_from"),
        (query.date_to, "e.date <= :date_to", "date_to"),
    ]
    for value, condition, name in optional:
        if value:
            conditions.append(condition)
            params[name] = utc_naive(value) if name.startswith("date") else value
    return " AND ".join(conditions), params


def _one_typo(candidate: str, word: str) -> bool:
    """Same first letter and at most one edit apart."""
    return candidate[:1] == word[:1] and Levenshtein.distance(candidate, word, score_cutoff=1) <= 1


def _upsert(connection, entries: list[IndexEntry]) -> None:
    """Write ``entries``, and their cases' person names (one row per case, the candidates
    for typo-tolerant names, gone with the case's last ``replace_case``)."""
    if not entries:
        return
    rows = [_row(e) for e in sorted(entries, key=lambda e: e.version_id)]
    connection.execute(text(_UPSERT), rows)
    names = {e.case_id: fold(e.names) for e in entries}
    connection.execute(
        text(
            "INSERT INTO portal_search.case_names (case_id, names_folded) VALUES (:c, :n)"
            " ON CONFLICT (case_id) DO UPDATE SET names_folded = excluded.names_folded"
        ),
        [{"c": case_id, "n": names[case_id]} for case_id in sorted(names)],
    )


def _row(entry: IndexEntry) -> dict:
    return {
        "version_id": entry.version_id,
        "document_id": entry.document_id,
        "number": entry.number,
        "current": entry.current,
        "case_id": entry.case_id,
        "case_reference": entry.case_reference,
        "title": entry.title,
        "body": entry.body,
        "names": entry.names,
        "type": entry.type,
        "phase": entry.phase,
        "focus": list(entry.focus),
        "organisation_id": entry.organisation_id,
        "date": entry.utc_date,
        "year": entry.year,
        "acl": list(entry.acl),
        "names_folded": fold(entry.names),
        "title_folded": fold(entry.title),
        "reference_folded": fold(entry.case_reference),
        "body_folded": fold(entry.body[:MAX_INDEXED_CHARS]),
    }


def _passages(row) -> list[str]:
    """Up to three marked passages: body first, then title, then names (as Whoosh does)."""
    found = [p.replace(_SHIELD, "<").strip() for p in (row.body, row.title, row.names)]
    return [p for p in found if "«" in p][:3]


def _count(rows) -> list[tuple[str, str, int]]:
    counts: Counter = Counter()
    for r in rows:
        counts.update([("type", r.type), ("phase", r.phase)])
        counts.update([("organisation", str(r.organisation_id)), ("year", str(r.year))])
        counts.update(("focus", f) for f in r.focus)
    return [(facet, key, n) for (facet, key), n in counts.items()]


def _facets(counts) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for facet, key, n in counts:
        if facet in facets and key not in (None, ""):
            facets[facet][str(key)] = int(n)
    return facets


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
