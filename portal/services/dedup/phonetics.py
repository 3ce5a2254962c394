"""Kölner Phonetik: a German phonetic code of a name, for one more kind of match."""

from __future__ import annotations

import unicodedata

_KOELNER_FIXED = {
    **dict.fromkeys("aeijouy", "0"),
    "h": "",
    "b": "1",
    **dict.fromkeys("fvw", "3"),
    **dict.fromkeys("gkq", "4"),
    "l": "5",
    "m": "6",
    "n": "6",
    "r": "7",
    "s": "8",
    "z": "8",
}
_C_HARD_INITIAL = frozenset("ahkloqrux")
_C_HARD = frozenset("ahkoqux")


def koelner_digits(text: str) -> str:
    """The Kölner Phonetik code of every letter, before merging and removing zeros.

    ``koelner_digits("Müller-Lüdenscheidt") == "60550750206880022"`` (H has no code).
    """
    letters = [c for c in _phonetic_fold(text) if "a" <= c <= "z"]
    codes = []
    for i, c in enumerate(letters):
        before = letters[i - 1] if i else ""
        after = letters[i + 1] if i + 1 < len(letters) else ""
        if c in _KOELNER_FIXED:
            code = _KOELNER_FIXED[c]
        elif c == "p":
            code = "3" if after == "h" else "1"
        elif c in "dt":
            code = "8" if after and after in "csz" else "2"
        elif c == "c":
            if i == 0:
                code = "4" if after in _C_HARD_INITIAL else "8"
            elif before in ("s", "z"):
                code = "8"
            else:
                code = "4" if after in _C_HARD else "8"
        else:  # x
            code = "8" if before and before in "ckq" else "48"
        codes.append(code)
    return "".join(codes)


def koelner_phonetik(text: str) -> str:
    """The Kölner Phonetik (Postel 1969) of ``text``: ``"Müller-Lüdenscheidt"`` → ``"65752682"``.

    Letters are coded by their context, runs of the same digit merged, and every
    ``0`` removed except at the start.
    """
    merged = []
    for digit in koelner_digits(text):
        if not merged or merged[-1] != digit:
            merged.append(digit)
    return "".join(d for i, d in enumerate(merged) if d != "0" or i == 0)


def _phonetic_fold(text: str) -> str:
    text = text.lower().replace("ß", "s")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))
