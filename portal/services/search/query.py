"""The search language users type, parsed once into a tree that every backend compiles.

Whoosh's syntax, as the search page documents it: words are ANDed; ``"..."`` is a
phrase; ``word*`` a prefix (at least MIN_PREFIX letters; a ``?`` or ``*`` inside a
word cuts it there); ``-word`` (at the start of a word only, so "B1-Kurs" and
"KIM-2026-00001" stay words) and ``NOT`` exclude; ``OR``, ``AND`` and brackets
combine; ``titel:``, ``text:``, ``name:`` and ``az:`` restrict a word, phrase or
bracket to the title, the text, the person's names or the case reference.
Unbalanced quotes and brackets are closed and stray operators dropped: odd input
gives a query or a clear InvalidInput, never an engine error.

Own parser rather than ``whoosh-compat``: that library (alpha, ten thousand lines
with a date grammar) emits tantivy queries only, while this language is a small
subset that must compile to three engines with the portal's own German analysis.

The tree holds words as typed; ``words_of`` gives the index terms of a field, the
one analysis that the index and every backend's queries share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from flask_babel import lazy_gettext as _l

from portal.services.errors import InvalidInput
from portal.services.search.analysis import WORD_RE, fold, index_term

MAX_QUERY_CHARS = 500
MIN_PREFIX = 3
# Typo-tolerant names: query words this long or longer (shorter ones match too much).
MIN_NAME_WORD = 3

TITLE, BODY, NAMES, REFERENCE = "title", "body", "names", "case_reference"
TEXT_FIELDS = (TITLE, BODY, NAMES, REFERENCE)
STEMMED_FIELDS = (TITLE, BODY)
# What users type before a colon; German first, the English names too.
FIELD_NAMES = {
    "titel": (TITLE,), "title": (TITLE,), "text": (BODY,), "inhalt": (BODY,),
    "name": (NAMES,), "az": (REFERENCE,), "aktenzeichen": (REFERENCE,),
}  # fmt: skip


@dataclass(frozen=True)
class Term:
    """A word as typed: every analysed word of it occurs, each in one of ``fields``."""

    text: str
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Phrase:
    """Words next to each other, in one of ``fields`` (stop words do not count)."""

    text: str
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Prefix:
    """An index term of one of ``fields`` starting with ``stem`` (folded, not stemmed)."""

    stem: str
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class NameLike:
    """A word of the person's names one edit away from ``word`` (folded), same first letter:
    "Mohamed Hasan" finds "Mohammed Hassan"."""

    word: str


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Term | Phrase | Prefix | NameLike | All | Any | Not


def words_of(text: str, field: str) -> list[str]:
    """The index terms ``text`` becomes in ``field``, in order: stemmed without stop words
    (title, body), folded (names), or the whole value folded (case reference)."""
    if field == REFERENCE:
        value = fold(text.strip())
        return [value] if value else []
    stem = field in STEMMED_FIELDS
    return [t for w in WORD_RE.findall(text) if (t := index_term(w, stem)) is not None]


def fields_with_words(node: Term | Phrase) -> tuple[str, ...]:
    """Of a leaf's fields, those its text has index terms in (a stop word has none in the
    stemmed fields)."""
    return tuple(f for f in node.fields if words_of(node.text, f))


@dataclass(frozen=True)
class ParsedQuery:
    """The tree of what the user typed, and whether anything matching it can be found."""

    tree: Node

    @cached_property
    def leaves(self) -> list[Term | Phrase | Prefix | NameLike]:
        """The leaves a match is found by (not those under ``Not``), for highlighting."""
        return list(_positive_leaves(self.tree))

    @cached_property
    def scored(self) -> bool:
        """Whether matches differ in relevance: words, phrases, names (not prefixes only)."""
        return any(isinstance(leaf, Term | Phrase | NameLike) for leaf in self.leaves)


def parse(text: str | None) -> ParsedQuery:
    """Parse the user's query; InvalidInput for empty, too long or purely negative ones."""
    text = checked_text(text)
    tokens = [(m.lastgroup, m.group(m.lastgroup) or "") for m in _TOKEN.finditer(text)]
    tokens = [("op", value) if kind == "word" and value in _OPERATORS else (kind, value)
              for kind, value in tokens]  # fmt: skip
    tree = _Parser(tokens).parse()
    if tree is None or not _positive(tree):
        raise invalid_query("nothing_to_search")
    names = _name_words(text, tokens)
    if names:
        tree = Any((tree, All(tuple(NameLike(w) for w in names))))
    return ParsedQuery(tree)


def checked_text(text: str | None) -> str:
    """The query text, stripped; InvalidInput when it is empty or too long."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_l("Please enter a search term."), fields={"q": "required"})
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            _l("The search query is too long (at most %(n)d characters).", n=MAX_QUERY_CHARS),
            fields={"q": "too_long"},
        )
    return text


def invalid_query(reason: str) -> InvalidInput:
    """ "Suchanfrage ungültig" with ``reason`` as the field code of ``q``."""
    return InvalidInput(
        _l("Invalid search query. Check quotes and brackets."), fields={"q": reason}
    )


def short_prefix() -> InvalidInput:
    """A wildcard with fewer than MIN_PREFIX letters before it."""
    return InvalidInput(
        _l("Wildcards need at least %(n)d letters before them.", n=MIN_PREFIX),
        fields={"q": "short_prefix"},
    )


_TOKEN = re.compile(
    r'"(?P<phrase>[^"]*)"?'
    r"|(?P<open>\()"
    r"|(?P<close>\))"
    r"|(?P<minus>(?<![^\s(])-(?=[^\s)]))"
    rf"|(?P<field>(?:(?<![^\s(])|(?<=[\s(]-)|(?<=^-))(?i:{'|'.join(FIELD_NAMES)}):(?=[^\s)]))"
    r'|(?P<word>[^\s()"]+)'
)
_OPERATORS = {"AND", "OR", "NOT"}
_FUZZY_SUFFIX = re.compile(r"~\d*$")
_WORD_CHARS = re.compile(r"\w+")


class _Parser:
    """Recursive descent over the tokens: or := and (OR and)*; and := unary+;
    unary := (NOT | -) unary | field: unary | ( or ) | phrase | word.
    Stray closing brackets and dangling operators are skipped."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> Node | None:
        parts = []
        while self.pos < len(self.tokens):
            node = self._or(TEXT_FIELDS)
            if node is not None:
                parts.append(node)
            if self._peek() == ("close", ")"):
                self.pos += 1
        return _join(All, parts)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self, fields: tuple[str, ...]) -> Node | None:
        branches = [self._and(fields)]
        while self._peek() == ("op", "OR"):
            self.pos += 1
            branches.append(self._and(fields))
        return _join(Any, [b for b in branches if b is not None])

    def _and(self, fields: tuple[str, ...]) -> Node | None:
        parts = []
        while (token := self._peek()) is not None and token not in (("close", ")"), ("op", "OR")):
            if token == ("op", "AND"):
                self.pos += 1
                continue
            node = self._unary(fields)
            if node is not None:
                parts.append(node)
        return _join(All, parts)

    def _unary(self, fields: tuple[str, ...]) -> Node | None:
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind in ("minus", "field") or (kind, value) == ("op", "NOT"):
            if self._peek() in (None, ("op", "OR"), ("close", ")")):
                return None
            if kind == "field":
                return self._unary(FIELD_NAMES[value[:-1].lower()])
            inner = self._unary(fields)
            return Not(inner) if inner is not None else None
        if kind == "open":
            inner = self._or(fields)
            if self._peek() == ("close", ")"):
                self.pos += 1
            return inner
        if kind == "phrase":
            return _leaf(Phrase(value, fields))
        if kind == "word":
            return _word(value, fields)
        return None  # "AND" after "NOT"


def _word(value: str, fields: tuple[str, ...]) -> Node | None:
    value = _FUZZY_SUFFIX.sub("", value.lstrip("+"))
    if "*" in value or "?" in value:
        stem = re.split(r"[*?]", value, maxsplit=1)[0]
        if len("".join(_WORD_CHARS.findall(stem))) < MIN_PREFIX:
            raise short_prefix()
        folded = fold(stem)
        if _WORD_CHARS.fullmatch(folded):
            return Prefix(folded, tuple(f for f in fields if f != REFERENCE) or fields)
        value = stem
    return _leaf(Term(value, fields))


def _leaf(node: Term | Phrase) -> Node | None:
    """The leaf with the fields its words can be found in; None when it has none, or when
    it is only stop words of the texts ("der" is searched for in names only if asked:
    ``name:der``)."""
    fields = fields_with_words(node)
    if set(node.fields) & set(STEMMED_FIELDS) and not set(fields) & set(STEMMED_FIELDS):
        return None
    return type(node)(node.text, fields) if fields else None


def _join(kind: type[All] | type[Any], parts: list[Node]) -> Node | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else kind(tuple(parts))


def _positive(node: Node) -> bool:
    """Whether ``node`` needs at least one word to be present (not only absences)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, All):
        return any(_positive(child) for child in node.children)
    if isinstance(node, Any):
        return all(_positive(child) for child in node.children)
    return True


def _positive_leaves(node: Node):
    if isinstance(node, All | Any):
        for child in node.children:
            yield from _positive_leaves(child)
    elif not isinstance(node, Not):
        yield node


def _name_words(text: str, tokens: list[tuple[str, str]]) -> list[str]:
    """For a query of plain words only: its folded words of MIN_NAME_WORD letters or more,
    which may also be found as person names with a typo."""
    plain = all(kind == "word" for kind, _value in tokens) and all(
        c.isalnum() or c.isspace() or c in "-'" for c in text
    )
    if not plain:
        return []
    return [w for w in _WORD_CHARS.findall(fold(text)) if len(w) >= MIN_NAME_WORD]
