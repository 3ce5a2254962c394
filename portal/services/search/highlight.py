"""Highlighted passages of a hit: the places in its stored texts (body, then title, then
names) where query terms occur.

Whoosh's own highlighter re-analyses a hit's whole text through the analyzer chain for
every hit and field (it was 70 % of a search). Here the regex engine finds the words,
only the distinct ones go through the cached analysis, and the scan for their places
stops as soon as enough passages are found. Matches are marked «like this» in plain
text (escaped by the templates, never trusted HTML).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from portal.services.search.analysis import MARKS, WORD_RE, fold, index_term
from portal.services.search.query import (
    BODY,
    NAMES,
    STEMMED_FIELDS,
    TITLE,
    NameLike,
    Prefix,
    words_of,
)

PASSAGES = 3
WIDTH = 160
SURROUND = 40
SCAN_CHARS = 20_000
# With more terms than this (a long query, a Whoosh fuzzy name's expansions), the regex
# looks for their first ``SHORT_START`` letters only; compiling a regex of 200
# spelled-out words took 0.3 s, longer than the search itself.
MANY_TERMS = 16
SHORT_START = 4
HIGHLIGHTED = (BODY, TITLE, NAMES)  # the order a hit's passages are taken in


@dataclass(frozen=True)
class Marks:
    """What is marked in a field: words whose index term is one of ``terms`` or begins
    with one of ``prefixes`` (the stems of ``Prefix`` leaves: every expansion, not only
    those a backend searched for)."""

    terms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes)

    def marks(self, term: str | None) -> bool:
        return term is not None and (term in self.terms or term.startswith(self.prefixes))


def query_marks(leaves) -> tuple[dict[str, Marks], list[str]]:
    """What the query's positive ``leaves`` mark per highlighted field (their words, the
    stems of prefixes), and the words whose close names are marked (a backend finds them:
    ``NameLike``)."""
    terms: dict[str, set[str]] = {field: set() for field in HIGHLIGHTED}
    prefixes: dict[str, list[str]] = {field: [] for field in HIGHLIGHTED}
    name_words = []
    for leaf in leaves:
        if isinstance(leaf, NameLike):
            name_words.append(leaf.word)
            continue
        for field in set(leaf.fields) & set(HIGHLIGHTED):
            if isinstance(leaf, Prefix):
                prefixes[field].append(leaf.stem)
            else:
                terms[field].update(words_of(leaf.text, field))
    marks = {field: Marks(frozenset(terms[field]), tuple(prefixes[field])) for field in terms}
    return marks, name_words


def hit_passages(text_of: Callable[[str], str], marks_of: Callable[[str, str], Marks]) -> list[str]:
    """Up to ``PASSAGES`` passages of one hit: body first, then title, then names, each
    field's stored ``text_of(field)`` marked where ``marks_of(field, text)`` says. A field
    is read only while passages are missing."""
    found: list[str] = []
    for field in HIGHLIGHTED:
        text = text_of(field)
        marks = marks_of(field, text)
        found += passages(
            text, marks.terms, field in STEMMED_FIELDS, PASSAGES - len(found), marks.prefixes
        )
        if len(found) >= PASSAGES:
            break
    return found


def passages(
    text: str,
    terms: set[str] | frozenset[str],
    stem: bool = True,
    limit: int = PASSAGES,
    prefixes: tuple[str, ...] = (),
) -> list[str]:
    """Up to ``limit`` passages of ``text`` (its first ``SCAN_CHARS``) around words whose
    index term (stemmed when ``stem``) is in ``terms`` or begins with one of ``prefixes``,
    in text order."""
    if not (terms or prefixes) or not text:
        return []
    # Composed letters (NFC: "a" + combining diaeresis is "ä"), as the passage will show.
    text = unicodedata.normalize("NFC", text[:SCAN_CHARS])
    found: list[list[tuple[int, int]]] = []  # matches grouped into passages
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lower case is longer (İ)
        lowered = text
    marks = Marks(frozenset(terms), prefixes)
    for candidate in _finder(marks.terms | frozenset(prefixes)).finditer(lowered):
        match = WORD_RE.match(text, candidate.start())
        if not marks.marks(index_term(match.group(), stem)):
            continue
        start, end = match.span()
        if found and end - found[-1][0][0] <= WIDTH - 2 * SURROUND:
            found[-1].append((start, end))
        elif len(found) == limit:
            break
        else:
            found.append([(start, end)])
    return [_marked(text, group) for group in found]


@lru_cache(maxsize=256)
def _finder(terms: frozenset[str]) -> re.Pattern:
    """A regex for the starts of lower-case words that may fold to one of ``terms`` or a
    longer word (so a prefix's words too): index terms are (stemmed) prefixes of folded
    words, so each letter stands for the letters folding to it (a: a, ä, á, ae …; ss:
    ß). Candidates are then
    checked with the analysis itself: the regex may find too much, never too little (so
    many terms may be looked for by their beginnings alone)."""
    starts = {_start(term) for term in terms} if len(terms) > MANY_TERMS else terms
    alternatives = "|".join(_spellings(term) for term in sorted(starts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})")


def _start(term: str) -> str:
    """The first ``SHORT_START`` letters of a term, not cutting an "ss" (it stands for ß)."""
    cut = SHORT_START + 1 if term[SHORT_START - 1 : SHORT_START + 1] == "ss" else SHORT_START
    return term[:cut]


def _spellings(term: str) -> str:
    parts, i = [], 0
    while i < len(term):
        if term.startswith("ss", i):
            parts.append(f"(?:ß|{_letter('s')}{_letter('s')})")
            i += 2
            continue
        parts.append(_letter(term[i]))
        i += 1
    return "".join(parts)


def _letter(base: str) -> str:
    variants = _FOLDING_TO.get(base)
    letter = f"[{re.escape(base)}{variants}]" if variants else re.escape(base)
    spelled = f"(?:{re.escape(base)}e|{letter})" if base in "aou" else letter
    return spelled if base.isascii() else f"{spelled}{MARKS}*"


# Lower-case letters that fold to a base letter (ä, á, â … → a), Latin-1 and Latin
# Extended-A; combining marks only follow letters of other scripts (Arabic vowel signs).
_FOLDING_TO: dict[str, str] = {}
for _code in range(0xC0, 0x180):
    _char = chr(_code)
    _base = fold(_char)
    if len(_base) == 1 and _base != _char and _char == _char.lower() and _base.isascii():
        _FOLDING_TO[_base] = _FOLDING_TO.get(_base, "") + re.escape(_char)


def _marked(text: str, matches: list[tuple[int, int]]) -> str:
    """The passage around ``matches``, cut at word boundaries, with the matches marked and
    leaders (". . . . 47" of a table of contents) shortened to an ellipsis."""
    begin = _word_start(text, max(0, matches[0][0] - SURROUND))
    finish = _word_end(text, min(len(text), matches[-1][1] + SURROUND))
    parts, at = [], begin
    for start, end in matches:
        parts += [_LEADER.sub(" … ", text[at:start]), "«", text[start:end], "»"]
        at = end
    parts.append(_LEADER.sub(" … ", text[at:finish]))
    return " ".join("".join(parts).split())


# Four or more dots, middle dots, ellipses, underscores or dashes, spaced or not.
_LEADER = re.compile(r"(?:[.·…_\-–—]\s*){4,}")


def _word_start(text: str, index: int) -> int:
    """``index`` moved forward to the start of a word, unless it is one already."""
    if index == 0 or not text[index - 1].isalnum():
        return index
    while index < len(text) and text[index].isalnum():
        index += 1
    return index


def _word_end(text: str, index: int) -> int:
    """``index`` moved back to the end of a word, unless it is one already."""
    if index == len(text) or not text[index].isalnum():
        return index
    while index > 0 and text[index - 1].isalnum():
        index -= 1
    return index
