"""German text analysis for search: stemming, and spellings without umlauts.

"Räume", "Raeume" and "Raume" all become ``raum``; "Straße" and "Strasse" ``strass``;
"Mannigfaltigkeiten" and "Mannigfaltigkeit" ``mannigfalt``. Documents and queries
go through the same chain, so every spelling finds every other.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang import stopwords_for_language

# Letters with their combining marks (Latin accents, Arabic vowel signs), so that a word
# like "حَبيبي" stays one token.
WORD = r"(?:\w|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed])+"

# "ue" after "q" is no umlaut (Quelle); elsewhere ae/oe/ue are how umlauts are typed.
_SPELLED_UMLAUT = re.compile(r"ae|oe|(?<!q)ue")
_UMLAUT = {"ae": "ä", "oe": "ö", "ue": "ü"}
# Letters that do not decompose into a base letter and a mark.
_UNDECOMPOSABLE = str.maketrans({"ß": "ss", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "æ": "ae"})


def unify_spelling(text: str) -> str:
    """Typed-out umlauts (ae, oe, ue) as umlauts, ß as ss (``text`` in lower case)."""
    return _SPELLED_UMLAUT.sub(lambda m: _UMLAUT[m.group(0)], text).translate(_UNDECOMPOSABLE)


def strip_marks(text: str) -> str:
    """Drop accents and vowel marks: ü → u, é → e, حَ → ح."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The spelling the index keeps, for a whole text: lower case, ``unify_spelling``,
    ``strip_marks`` ("Raeume", "Räume" and "Raume" all become "raume").

    The same steps as the analyzer chain below, for backends that tokenise and stem
    elsewhere (PostgreSQL's ``german`` configuration)."""
    return strip_marks(unify_spelling(text.lower()))


# Words repeat: the folding of a token is cached (it was half the analyzer's time).
_unify_token = lru_cache(maxsize=65_536)(unify_spelling)


@lru_cache(maxsize=65_536)
def _strip_token_marks(text: str) -> str:
    return text if text.isascii() else strip_marks(text)


class GermanSpellingFilter(Filter):
    """Turn typed-out umlauts (ae, oe, ue) into umlauts, and ß into ss."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = _unify_token(token.text)
            yield token


class FoldMarksFilter(Filter):
    """Drop accents and vowel marks: ü → u, é → e, حَ → ح."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = _strip_token_marks(token.text)
            yield token


def german_analyzer():
    """Tokenise, lower-case, unify spellings, fold accents, drop stop words, stem (Snowball)."""
    return (
        RegexTokenizer(WORD)
        | LowercaseFilter()
        | GermanSpellingFilter()
        | FoldMarksFilter()
        | StopFilter(stoplist=stopwords_for_language("de"), minsize=2)
        | StemFilter(lang="de", cachesize=50_000)
    )


def name_analyzer():
    """For person names: unify spellings and fold accents, but no stemming or stop words."""
    return RegexTokenizer(WORD) | LowercaseFilter() | GermanSpellingFilter() | FoldMarksFilter()
