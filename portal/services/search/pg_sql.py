"""The SQL of the PostgreSQL backend: the index's schema, writing, counting and ranking
matches, reading their texts, typo-tolerant name candidates, key terms of a version.
"""

# With RUM, queries with prefixes use a GIN index on this expression (RUM alone would be
# used for plain ``tsv``).
PREFIX_TSV = "tsv || ''::tsvector"

DDL = """
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
CREATE INDEX IF NOT EXISTS entries_case ON portal_search.entries (case_id);
CREATE INDEX IF NOT EXISTS entries_document ON portal_search.entries (document_id);
CREATE TABLE IF NOT EXISTS portal_search.case_names (
    case_id bigint NOT NULL,
    word text NOT NULL,
    PRIMARY KEY (case_id, word)
);
CREATE INDEX IF NOT EXISTS case_names_word
    ON portal_search.case_names (left(word, 1), length(word), word);
"""

# The format of an existing index (``pg_backend.FORMAT``), kept as its schema's comment.
SCHEMA_FORMAT = """
SELECT obj_description(oid, 'pg_namespace') AS format FROM pg_namespace
WHERE nspname = 'portal_search'
"""

UPSERT = """
INSERT INTO portal_search.entries (version_id, document_id, number, current, case_id,
    case_reference, title, body, names, type, phase, focus, organisation_id,
    date, year, acl, tsv)
VALUES (:version_id, :document_id, :number, :current, :case_id, :case_reference, :title,
    :body, :names, :type, :phase, :focus, :organisation_id, :date, :year, :acl,
    CAST(:tsv AS tsvector))
ON CONFLICT (version_id) DO UPDATE SET
    document_id = excluded.document_id, number = excluded.number, current = excluded.current,
    case_id = excluded.case_id, case_reference = excluded.case_reference,
    title = excluded.title, body = excluded.body, names = excluded.names,
    type = excluded.type, phase = excluded.phase,
    focus = excluded.focus, organisation_id = excluded.organisation_id, date = excluded.date,
    year = excluded.year, acl = excluded.acl, tsv = excluded.tsv
"""

NAME_WORDS = """
INSERT INTO portal_search.case_names (case_id, word) VALUES (:c, :w) ON CONFLICT DO NOTHING
"""

# Settings of a search transaction (see ``pg_results.limit_time``).
SEARCH_SETTINGS = """
SELECT set_config('statement_timeout', :ms, true),
    set_config('plan_cache_mode', 'force_custom_plan', true),
    set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),
    set_config('work_mem', '32MB', true)
"""

# Total and facet counts over every ACL-filtered match, in one pass, and the ids of the
# ``:newest`` matches (a page by date, or the candidates to rank). ``{where}`` in this
# and the following queries is SQL made by ``pg_query.where`` from constant pieces; what
# the user typed travels as bind parameters (the tsquery literal too).
COUNTS = """
WITH m AS MATERIALIZED (
    SELECT e.version_id, e.date, e.type, e.phase, e.focus, e.organisation_id, e.year
    FROM portal_search.entries e WHERE {where}
)
SELECT GROUPING(type, phase, organisation_id, year, focus) AS grouped,
       COALESCE(type, phase, organisation_id::text, year::text) AS key, focus, count(*) AS n,
       NULL::bigint AS version_id
FROM m GROUP BY GROUPING SETS ((), (type), (phase), (organisation_id), (year), (focus))
UNION ALL
(SELECT NULL, NULL, NULL, NULL, version_id FROM m ORDER BY date DESC, version_id DESC
 LIMIT :newest)
"""
# GROUPING() of each grouping set above: a bit for every column not grouped by. Focus is
# counted by its lists (hashing arrays is faster than unnesting them), split up here.
FACET_OF = {31: "total", 15: "type", 23: "phase", 27: "organisation", 29: "year", 30: "focus"}

RANKED = """
SELECT e.version_id, e.date, ts_rank(CAST(:weights AS real[]), e.tsv, CAST(:rank AS tsquery))
    AS score
FROM portal_search.entries e WHERE e.version_id = ANY(:candidates)
"""

NEWEST = """
SELECT e.version_id FROM portal_search.entries e WHERE {where}
ORDER BY e.date DESC, e.version_id DESC LIMIT :newest
"""

TEXTS = """
SELECT version_id, document_id, case_id, left(body, :chars) AS body, title, names
FROM portal_search.entries WHERE version_id = ANY(:ids)
"""

# An entry's access tokens looked up in a hash of the user's: ``= ANY`` of a constant
# array (9 or more) is hashed, where ``&&`` compares every token with every token. The
# first few one by one (most entries have one to four), the rest through a subquery,
# which costs twice as much per entry.
ACCESS = (
    "("
    + "".join(f"e.acl[{i}] = ANY(CAST(:acl AS text[])) OR " for i in range(1, 5))
    + "cardinality(e.acl) > 4"
    + " AND EXISTS (SELECT FROM unnest(e.acl[5:]) AS t WHERE t = ANY(CAST(:acl AS text[]))))"
)

INDEX_KIND = """
SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
WHERE c.oid = 'portal_search.entries_tsv'::regclass
"""

DELETE_CASE = (
    "DELETE FROM portal_search.entries WHERE case_id = :c",
    "DELETE FROM portal_search.case_names WHERE case_id = :c",
)

# Per query word, the words of person names with its first letter and a length one edit
# allows (the distance is checked in Python).
NAME_CANDIDATES = """
SELECT DISTINCT w.word AS wanted, n.word
FROM unnest(CAST(:words AS text[])) AS w(word)
JOIN portal_search.case_names n ON left(n.word, 1) = left(w.word, 1)
    AND length(n.word) BETWEEN length(w.word) - 1 AND length(w.word) + 1
"""

FIRST_FOUND = """
SELECT e.version_id, e.document_id, e.case_id, e.type, e.phase, e.focus, e.organisation_id, e.year
FROM portal_search.entries e WHERE {where} LIMIT :limit
"""

# The most frequent title and body words of a version: its "key terms".
KEY_TERMS = """
SELECT e.document_id, ARRAY(
    SELECT t.lexeme FROM unnest(ts_filter(e.tsv, '{a,d}')) AS t WHERE length(t.lexeme) >= 3
    ORDER BY cardinality(t.positions) DESC, length(t.lexeme) DESC, t.lexeme LIMIT :terms
) AS terms
FROM portal_search.entries e WHERE e.version_id = :version_id
"""
