"""Data categories: what a consent releases, and what a document touches.

A category is kept twice on a row: as names (JSON, what people and the API read) and as
bits (what the access filter compares in SQL, on SQLite and PostgreSQL alike). A consent
covers a document when the document's bits are a subset of the consent's released bits.
"""

from __future__ import annotations

from collections.abc import Iterable

# Bit i stands for DATA_CATEGORIES[i] in every stored row: append new ones, never reorder.
DATA_CATEGORIES = (
    "sprache",
    "arbeit",
    "bildung",
    "wohnen",
    "gesundheit",
    "aufenthalt",
    "familie",
    "finanzen",
)
HEALTH = "gesundheit"
# What a consent recorded without categories releases (API.md lets clients leave them out):
# everything but health data, which Art. 9 GDPR wants released by name.
RELEASED_BY_DEFAULT = tuple(c for c in DATA_CATEGORIES if c != HEALTH)
ALL_BITS = (1 << len(DATA_CATEGORIES)) - 1


def ordered(names: Iterable[str]) -> list[str]:
    """The known categories among ``names``, once each, in the vocabulary's order."""
    wanted = set(names)
    return [c for c in DATA_CATEGORIES if c in wanted]


def to_bits(names: Iterable[str]) -> int:
    """The bits of the categories ``names`` (unknown names count for nothing)."""
    wanted = set(names)
    return sum(1 << i for i, c in enumerate(DATA_CATEGORIES) if c in wanted)


def from_bits(bits: int) -> list[str]:
    """The categories whose bits are set, in the vocabulary's order."""
    return [c for i, c in enumerate(DATA_CATEGORIES) if bits & (1 << i)]


def covers(released: int, touched: int) -> bool:
    """Whether ``released`` bits include every one of ``touched``."""
    return touched & ~released == 0
