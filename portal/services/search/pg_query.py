"""The portal's query syntax as a PostgreSQL ``tsquery`` expression, for the PostgreSQL backend.

The same syntax as with Whoosh: words are ANDed; ``"..."`` is a phrase; ``word*``
a prefix (at least MIN_PREFIX letters); ``-word`` (at the start of a word only, so
"B1-Kurs" and "KIM-2026-00001" stay words) and ``NOT`` exclude; ``OR``, ``AND``
and brackets combine. Unbalanced quotes and brackets are closed, stray operators
dropped: odd input gives a query or a clear InvalidInput, never a database error.

Every word is folded with the portal's own ``analysis.fold`` (ü = ue = u, ß = ss,
accents and vowel marks dropped) and then handed to PostgreSQL's ``german``
configuration (tokenising, stop words, Snowball stemming), exactly as the indexed
text is. Prefixes are not stemmed (the ``simple`` configuration), as in Whoosh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portal.services.search.analysis import fold
from portal.services.search.backend import MIN_PREFIX, checked_text, invalid_query, short_prefix

_TOKEN = re.compile(
    r'"(?P<phrase>[^"]*)"?'
    r"|(?P<open>\()"
    r"|(?P<close>\))"
    r"|(?P<minus>(?<![^\s(])-(?=[^\s)]))"
    r'|(?P<word>[^\s()"]+)'
)
_OPERATORS = {"AND", "OR", "NOT"}
_FUZZY_SUFFIX = re.compile(r"~\d*$")
_WORD_CHARS = re.compile(r"\w+")


@dataclass
class TsQuery:
    """A tsquery SQL expression with its parameters, and the words for typo-tolerant names."""

    sql: str
    params: dict[str, str] = field(default_factory=dict)
    # Folded words of a query made of plain words only ([] otherwise).
    name_words: list[str] = field(default_factory=list)


def parse(text: str) -> TsQuery:
    """Parse the user's query; InvalidInput for empty, too long or purely negative queries."""
    text = checked_text(text)
    tokens = [(m.lastgroup, m.group(m.lastgroup) or "") for m in _TOKEN.finditer(text)]
    tokens = [("op", value) if kind == "word" and value in _OPERATORS else (kind, value)
              for kind, value in tokens]  # fmt: skip
    parser = _Parser(tokens)
    tree = parser.parse()
    if tree is None or not _positive(tree):
        raise invalid_query("nothing_to_search")
    params: dict[str, str] = {}
    sql = _compile(tree, params)
    plain = all(kind == "word" for kind, _value in tokens) and _plain_words(text)
    words = [w for w in _WORD_CHARS.findall(fold(text)) if len(w) > 2] if plain else []
    return TsQuery(sql, params, words)


class _Parser:
    """Recursive descent over the tokens: or := and (OR and)*; and := unary+; unary := NOT unary
    | ( or ) | term. Stray closing brackets and dangling operators are skipped."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self):
        parts = []
        while self.pos < len(self.tokens):
            node = self._or()
            if node is not None:
                parts.append(node)
            if self._peek() == ("close", ")"):
                self.pos += 1
        return _join("and", parts)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self):
        branches = [self._and()]
        while self._peek() == ("op", "OR"):
            self.pos += 1
            branches.append(self._and())
        return _join("or", [b for b in branches if b is not None])

    def _and(self):
        parts = []
        while (token := self._peek()) is not None and token not in (("close", ")"), ("op", "OR")):
            if token == ("op", "AND"):
                self.pos += 1
                continue
            node = self._unary()
            if node is not None:
                parts.append(node)
        return _join("and", parts)

    def _unary(self):
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "minus" or (kind, value) == ("op", "NOT"):
            ends = (None, ("op", "OR"), ("close", ")"))
            inner = self._unary() if self._peek() not in ends else None
            return ("not", inner) if inner is not None else None
        if kind == "open":
            inner = self._or()
            if self._peek() == ("close", ")"):
                self.pos += 1
            return inner
        if kind == "phrase":
            return _term("phrase", value)
        if kind == "word":
            return _word(value)
        return None  # "AND" after "NOT"


def _word(value: str):
    value = _FUZZY_SUFFIX.sub("", value.lstrip("+"))
    if "*" in value or "?" in value:
        stem = re.split(r"[*?]", value, maxsplit=1)[0]
        if len("".join(_WORD_CHARS.findall(stem))) < MIN_PREFIX:
            raise short_prefix()
        folded = fold(stem)
        return ("prefix", folded) if _WORD_CHARS.fullmatch(folded) else _term("word", stem)
    return _term("word", value)


def _term(kind: str, value: str):
    folded = fold(value)
    return (kind, folded) if _WORD_CHARS.search(folded) else None


def _join(kind: str, parts: list):
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else (kind, parts)


def _positive(node) -> bool:
    """Whether ``node`` needs at least one word to be present (not only absences)."""
    kind = node[0]
    if kind == "not":
        return False
    if kind == "and":
        return any(_positive(child) for child in node[1])
    if kind == "or":
        return all(_positive(child) for child in node[1])
    return True


def _compile(node, params: dict[str, str]) -> str:
    kind = node[0]
    if kind in ("and", "or"):
        joiner = " && " if kind == "and" else " || "
        return "(" + joiner.join(_compile(child, params) for child in node[1]) + ")"
    if kind == "not":
        return f"(!! {_compile(node[1], params)})"
    name = f"q{len(params)}"
    params[name] = node[1]
    if kind == "prefix":
        return f"to_tsquery('simple', quote_literal(:{name}) || ':*')"
    function = "phraseto_tsquery" if kind == "phrase" else "plainto_tsquery"
    return f"{function}('german', :{name})"


def _plain_words(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in "-'" for c in text)
