"""One pager for every list: pages, links with gaps, and pages past the end."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Organisation
from portal.services.paging import Page, page_count, page_of


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (50, 1), (51, 2), (100, 2), (101, 3)])
def test_page_count(total, pages):
    assert page_count(total, 50) == pages


@pytest.mark.parametrize(
    ("number", "links"),
    [
        (1, [1, 2, 3, None, 10]),
        (5, [1, None, 3, 4, 5, 6, 7, None, 10]),
        (10, [1, None, 8, 9, 10]),
    ],
)
def test_links_show_first_last_and_two_around_with_gaps(number, links):
    assert Page([], total=100, number=number, per_page=10).links == links


def test_a_page_of_a_query_and_past_its_end(db, make_org):
    for i in range(5):
        make_org(name=f"Träger {i}")
    statement = select(Organisation).order_by(Organisation.name)
    second = page_of(db, statement, 2, 2)
    assert [o.name for o in second.items] == ["Träger 2", "Träger 3"]
    assert (second.total, second.pages) == (5, 3)
    assert page_of(db, statement, 10**12, 2).items == []  # no offset overflow, just empty
    last = page_of(db, statement, 99, 2, last_if_past=True)
    assert last.number == 3 and [o.name for o in last.items] == ["Träger 4"]
