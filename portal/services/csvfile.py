"""CSV for spreadsheets, written one way for every export.

German Excel opens these as they are: UTF-8 with a byte order mark (without it umlauts are
garbled), ``;`` between cells, CRLF between rows. A text cell that a spreadsheet would read
as a formula (a leading ``=``, ``+``, ``-``, ``@``, tab or line break) gets an apostrophe, so
a name like ``=HYPERLINK(...)`` stays text. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The CSV text (with BOM) of ``header`` and ``rows``; None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet shows it literally: text never starts a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
