"""The search-backend interface: what indexing and querying need, whatever does the work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from flask_babel import lazy_gettext as _l

from portal.models.base import LOCAL_TIMEZONE, as_utc
from portal.services.errors import InvalidInput

MAX_QUERY_CHARS = 500
MIN_PREFIX = 3


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without its zone; a naive ``moment`` is taken to be UTC already."""
    return as_utc(moment).replace(tzinfo=None)


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
