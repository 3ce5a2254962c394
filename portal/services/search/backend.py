"""The search-backend interface: what indexing and querying need, whatever does the work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from portal.models.base import LOCAL_TIMEZONE, as_utc
from portal.services.search.query import NAMES, TITLE, ParsedQuery, parse

# What every backend keeps to: the most terms one prefix expands to (the most frequent;
# more: the result is incomplete), the time a search may take, the weight of a match
# in the title and in the names against one in the body, the facets of every result.
MAX_EXPANSIONS = 200
TIME_LIMIT_SECONDS = 2.0
BOOSTS = {TITLE: 2.0, NAMES: 1.5}
FACETS = ("type", "phase", "focus", "organisation", "year")


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without its zone; a naive ``moment`` is taken to be UTC already."""
    return as_utc(moment).replace(tzinfo=None)


def name_like(term: str, word: str) -> bool:
    """Whether ``NameLike(word)`` matches the names term ``term``: the same first letter,
    at most one edit (Levenshtein: insert, delete, substitute) apart."""
    return term[:1] == word[:1] and Levenshtein.distance(term, word, score_cutoff=1) <= 1


@dataclass
class IndexEntry:
    """One document version as the index sees it."""

    version_id: int
    document_id: int
    number: int
    current: bool
    case_id: int
    case_reference: str
    title: str
    body: str
    names: str
    type: str
    phase: str
    focus: list[str]
    organisation_id: int
    date: datetime  # aware; a naive one is read as UTC
    acl: list[str]

    @property
    def utc_date(self) -> datetime:
        """The date as a naive UTC datetime, as both indexes store it."""
        return utc_naive(self.date)

    @property
    def year(self) -> int:
        """The calendar year in Germany, for the year facet."""
        return as_utc(self.date).astimezone(LOCAL_TIMEZONE).year


@dataclass
class SearchQuery:
    """What the user asked for."""

    text: str
    types: list[str] = field(default_factory=list)
    phase: str | None = None
    focus: str | None = None
    organisation_id: int | None = None
    date_from: datetime | None = None  # aware, e.g. the start of a day in Germany
    date_to: datetime | None = None
    case_id: int | None = None
    # Cases whose index entries may be stale for this user (see services.search.search).
    exclude_case_ids: list[int] = field(default_factory=list)
    all_versions: bool = False
    sort: str = "relevance"  # or "date"
    page: int = 1
    per_page: int = 20

    @cached_property
    def parsed(self) -> ParsedQuery:
        """``text`` parsed (once); InvalidInput when it is no query."""
        return parse(self.text)

    @property
    def by_date(self) -> bool:
        """Whether hits come newest first: asked for, or nothing the query finds by is
        scored (prefixes only: their expansions are unscored on every backend)."""
        return self.sort == "date" or not self.parsed.scored


@dataclass
class Hit:
    """A matching version, with highlighted passages (plain text with «» marks)."""

    version_id: int
    document_id: int
    case_id: int
    score: float
    highlights: list[str]


@dataclass
class SearchResult:
    """Hits of one page, the number of matches, facet counts, and whether time ran out."""

    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    incomplete: bool = False


def no_matches() -> SearchResult:
    """A result without hits, every facet present and empty."""
    return SearchResult([], 0, {name: {} for name in FACETS})


class SearchBackend(Protocol):
    """Implemented by the Whoosh backend (default) and the PostgreSQL one."""

    def update(self, entries: list[IndexEntry], remove_version_ids: list[int]) -> None:
        """Add or replace ``entries`` and drop ``remove_version_ids``, in one commit."""

    def replace_case(self, case_id: int, entries: list[IndexEntry]) -> None:
        """Drop every entry of a case and add ``entries`` instead (none: the case is gone)."""

    def search(self, query: SearchQuery, acl: list[str]) -> SearchResult:
        """Entries matching ``query`` whose acl shares a token with ``acl``."""

    def similar(self, version_id: int, acl: list[str], limit: int = 5) -> list[Hit]:
        """Current versions of other documents most like ``version_id`` that ``acl`` may see."""

    def version_ids(self) -> set[int]:
        """Ids of every indexed version (for consistency checks)."""

    def rebuild(self, batches: Iterable[list[IndexEntry]]) -> int:
        """Replace the whole index by the entries of ``batches``; return how many."""

    def clear(self) -> None:
        """Drop everything."""

    def warm_up(self) -> object:
        """Prepare, in the background, what the first search would otherwise wait for."""
