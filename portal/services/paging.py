"""One page of a list: its rows, how many there are in all, and which pages to link.

Pages are numbered from 1. A page past the end is empty (the database is not asked to
skip more rows than there are: a huge offset would overflow its integer).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class Page:
    """Rows ``items`` of page ``number`` (``per_page`` a page) out of ``total``."""

    items: list
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, empty lists too)."""
        return page_count(self.total, self.per_page)

    @property
    def links(self) -> list[int | None]:
        """Page numbers to link: the first, the last and two around this one; None is a gap."""
        wanted = {1, self.pages, *range(self.number - 2, self.number + 3)}
        links: list[int | None] = []
        for number in sorted(n for n in wanted if 1 <= n <= self.pages):
            if links and number - links[-1] > 1:
                links.append(None)
            links.append(number)
        return links


def page_count(total: int, per_page: int) -> int:
    """How many pages of ``per_page`` hold ``total`` rows (at least one)."""
    return max(1, -(-total // per_page))


def page_of(
    session: Session, statement: Select, number: int, per_page: int, *, last_if_past: bool = False
) -> Page:
    """Page ``number`` of ``statement``'s rows; ``last_if_past`` shows the last page instead
    of an empty one past the end (for pages people click through)."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    if last_if_past:
        number = min(number, page_count(total, per_page))
    offset = (number - 1) * per_page
    rows = list(session.scalars(statement.limit(per_page).offset(offset))) if offset < total else []
    return Page(rows, total, number, per_page)
