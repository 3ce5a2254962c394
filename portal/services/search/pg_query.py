"""The PostgreSQL index's terms and the queries on them: an entry as a row of
``portal_search.entries`` (its tsvector written from ``words_of``, each field's terms
under a prefix of their own), the query tree of ``query.py`` compiled to a ``tsquery``
literal, the close names of typo-tolerant words, and a search's conditions as SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from portal.services.search.backend import IndexEntry, SearchQuery, name_like, utc_naive
from portal.services.search.pg_sql import ACCESS, NAME_CANDIDATES
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

WEIGHT = {TITLE: "A", NAMES: "B", REFERENCE: "C", BODY: "D"}
NAMESPACE = {BODY: "", TITLE: "^", NAMES: "~", REFERENCE: "#"}
FIELD_ORDER = (TITLE, NAMES, REFERENCE, BODY)
# PostgreSQL's limits: positions per lexeme, highest position, bytes of a lexeme and of
# a whole tsvector (kept below 1 MB: new words beyond are left out).
MAX_POSITIONS, MAX_POSITION, MAX_LEXEME_BYTES, MAX_TSVECTOR_BYTES = 256, 16383, 2046, 900_000
MAX_INDEXED_CHARS = 1_000_000
# What a subtree matches when it is no tsquery: every entry (a Not of nothing).
EVERYTHING = "*"


# ---------------------------------------------------------------- the index side


def as_rows(entries: list[IndexEntry]) -> list[dict]:
    return [_row(e) for e in sorted(entries, key=lambda e: e.version_id)]


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
        "tsv": _tsvector(entry),
    }


def _tsvector(entry: IndexEntry) -> str:
    """The entry's index terms as a tsvector literal (``'term':position+weight …``)."""
    texts = {TITLE: entry.title, NAMES: entry.names, REFERENCE: entry.case_reference,
             BODY: entry.body[:MAX_INDEXED_CHARS]}  # fmt: skip
    found: dict[str, list[str]] = {}
    position = size = 0
    for field in FIELD_ORDER:
        for term in words_of(texts[field], field):
            position += 1
            lexeme = NAMESPACE[field] + term
            places = found.get(lexeme)
            if places is None:
                length = len(lexeme.encode())
                if length > MAX_LEXEME_BYTES or size + length > MAX_TSVECTOR_BYTES:
                    continue
                places = found[lexeme] = []
                size += length + 8
            if len(places) < MAX_POSITIONS and (position <= MAX_POSITION or not places):
                places.append(f"{min(position, MAX_POSITION)}{WEIGHT[field]}")
                size += 2
    return " ".join(f"{quoted(lexeme)}:{','.join(p)}" for lexeme, p in found.items())


def quoted(lexeme: str) -> str:
    """A lexeme in a tsvector or tsquery literal."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# ---------------------------------------------------------------- the query side


def compile_tree(node: Node, close: dict[str, list[str]], scored: bool = False) -> str | None:
    """``node`` as a tsquery literal; None when it matches nothing, EVERYTHING when it
    matches every entry. ``close``: the name words one typo from each NameLike word.
    ``scored``: only what ranks (no prefixes, whose expansions are unscored, no Not)."""
    if isinstance(node, Term | Phrase):
        return _text(node)
    if isinstance(node, Prefix):
        return EVERYTHING if scored else _prefix(node)
    if isinstance(node, NameLike):
        return _any(_lexeme(NAMES, w) for w in close.get(node.word, []))
    if isinstance(node, Not):
        if scored:
            return EVERYTHING
        inner = compile_tree(node.child, close)
        return EVERYTHING if inner is None else None if inner == EVERYTHING else f"!({inner})"
    parts = [compile_tree(child, close, scored) for child in node.children]
    if isinstance(node, All):
        if None in parts:
            return None
        parts = [p for p in parts if p != EVERYTHING]
        return f"({' & '.join(parts)})" if parts else EVERYTHING
    if EVERYTHING in parts and not scored:
        return EVERYTHING
    found = _any(p for p in parts if p not in (None, EVERYTHING))
    return found or (EVERYTHING if EVERYTHING in parts else None)


def _any(parts: Iterable[str]) -> str | None:
    parts = list(parts)
    return f"({' | '.join(parts)})" if parts else None


def _text(node: Term | Phrase) -> str:
    """For some field of ``node``: all its words (Term), or its words in a row (Phrase)."""
    joiner = " <-> " if isinstance(node, Phrase) else " & "
    return _any(
        "(" + joiner.join(_lexeme(field, w) for w in words_of(node.text, field)) + ")"
        for field in node.fields
    )


def _prefix(node: Prefix) -> str:
    return _any(f"{_lexeme(field, node.stem)}:*" for field in node.fields)


def _lexeme(field: str, term: str) -> str:
    """A term of ``field`` as a quoted lexeme of the tsvector."""
    return quoted(NAMESPACE[field] + term)


def leaves(node: Node):
    """Every leaf of ``node``, under Not too."""
    if isinstance(node, All | Any):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    else:
        yield node


def close_names(connection, tree: Node) -> dict[str, list[str]]:
    """For each NameLike word of ``tree``: the name words of indexed cases one edit away
    with the same first letter (``name_like``, as Whoosh's FuzzyTerm(maxdist=1,
    prefixlength=1)), among the candidates the database finds by first letter and length."""
    words = sorted({leaf.word for leaf in leaves(tree) if isinstance(leaf, NameLike)})
    if not words:
        return {}
    candidates = connection.execute(text(NAME_CANDIDATES), {"words": words}).all()
    close: dict[str, list[str]] = {}
    for wanted, word in candidates:
        if name_like(word, wanted):
            close.setdefault(wanted, []).append(word)
    return {wanted: sorted(found) for wanted, found in close.items()}


def where(query: SearchQuery, acl: list[str], match: str, column: str) -> tuple[str, dict]:
    """The conditions on index entries: ``match`` (found through the text index), an
    ``acl`` token (a user may have hundreds, one per last day of a consent: looked up in a hash of
    them, where ``&&`` would compare every token with every token of every entry), the
    optional filters."""
    conditions, params = [ACCESS], {"acl": list(acl)}
    if match != EVERYTHING:
        conditions.append(f"{column} @@ CAST(:tsq AS tsquery)")
        params["tsq"] = match
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
