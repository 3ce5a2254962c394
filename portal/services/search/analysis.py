"""German text analysis for search: stemming, and spellings without umlauts.

"Räume", "Raeume" and "Raume" all become ``raum``; "Straße" and "Strasse" ``strass``;
"Mannigfaltigkeiten" and "Mannigfaltigkeit" ``mannigfalt``. Documents and queries
go through the same steps, so every spelling finds every other.

The steps (lower case, spelling, accents, stop words, stem) are one cached function
per distinct word rather than a chain of filters per token: German text repeats its
words, and indexing, querying and highlighting all go through here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Analyzer, Token
from whoosh.lang import stopwords_for_language
from whoosh.lang.snowball.german import GermanStemmer

# Letters with their combining marks (Latin accents, Arabic vowel signs), so that a word
# like "حَبيبي" stays one token.
MARKS = r"[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]"
WORD = rf"(?:\w|{MARKS})+"
WORD_RE = re.compile(WORD)

# "ue" after "q" is no umlaut (Quelle); elsewhere ae/oe/ue are how umlauts are typed.
_SPELLED_UMLAUT = re.compile(r"ae|oe|(?<!q)ue")
_UMLAUT = {"ae": "ä", "oe": "ö", "ue": "ü"}
# Letters that do not decompose into a base letter and a mark.
_UNDECOMPOSABLE = str.maketrans({"ß": "ss", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "æ": "ae"})
STOP_WORDS = frozenset(stopwords_for_language("de"))
MIN_WORD = 2
_stem = GermanStemmer().stem


def unify_spelling(text: str) -> str:
    """Typed-out umlauts (ae, oe, ue) as umlauts, ß as ss (``text`` in lower case)."""
    return _SPELLED_UMLAUT.sub(lambda m: _UMLAUT[m.group(0)], text).translate(_UNDECOMPOSABLE)


def strip_marks(text: str) -> str:
    """Drop accents and vowel marks: ü → u, é → e, حَ → ح."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The spelling the index keeps, for a whole text: lower case, ``unify_spelling``,
    ``strip_marks`` ("Raeume", "Räume" and "Raume" all become "raume").

    The same steps as the analyzers below, for backends that tokenise and stem
    elsewhere (PostgreSQL's ``german`` configuration)."""
    return strip_marks(unify_spelling(text.lower()))


@lru_cache(maxsize=262_144)
def word_forms(word: str) -> tuple[str, bool, str]:
    """A word as the index sees it: (folded spelling, whether it is a stop word, stem)."""
    folded = fold(word)
    stop = len(folded) < MIN_WORD or folded in STOP_WORDS
    return folded, stop, folded if stop else _stem(folded)


def index_term(word: str, stem: bool = True) -> str | None:
    """The term a word becomes in a stemmed (``stem``) or a names field; None for stop words
    of stemmed fields."""
    folded, stop, stemmed = word_forms(word)
    if not stem:
        return folded
    return None if stop else stemmed


class GermanAnalyzer(Analyzer):
    """Words (``WORD``), folded; for text fields (``stem``) without stop words and stemmed
    (Snowball), for names just folded. Takes Whoosh's analyzer arguments."""

    def __init__(self, stem: bool = True) -> None:
        self.stem = stem

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.stem == self.stem

    def has_morph(self) -> bool:
        """Whether words are stemmed (Whoosh asks, e.g. for spelling suggestions)."""
        return self.stem

    def __call__(
        self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
        start_pos=0, start_char=0, tokenize=True, mode="", no_morph=False, **kwargs,
    ):  # fmt: skip
        """Tokens of ``value`` (one reused ``Token``, as Whoosh's own analyzers do)."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        matches = WORD_RE.finditer(value) if tokenize else [_Whole(value)]
        stem, renumbered = self.stem and not no_morph, None
        for number, match in enumerate(matches):
            word = match.group(0)
            folded, stop, stemmed = word_forms(word)
            stop = stop and self.stem
            if stop and removestops:
                continue
            token.text = folded if stop or not stem else stemmed
            token.stopped = stop
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                # Positions close up over removed stop words (Whoosh's StopFilter renumbers).
                if stop:
                    token.pos = start_pos + number
                else:
                    renumbered = start_pos + number if renumbered is None else renumbered + 1
                    token.pos = renumbered
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class _Whole:
    """A whole value as one match (``tokenize=False``)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def group(self, _index: int) -> str:
        return self.value

    def start(self) -> int:
        return 0

    def end(self) -> int:
        return len(self.value)


def german_analyzer() -> GermanAnalyzer:
    """Tokenise, lower-case, unify spellings, fold accents, drop stop words, stem (Snowball)."""
    return GermanAnalyzer(stem=True)


def name_analyzer() -> GermanAnalyzer:
    """For person names: unify spellings and fold accents, but no stemming or stop words."""
    return GermanAnalyzer(stem=False)
