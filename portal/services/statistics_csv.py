"""The dashboard's aggregates as CSV for reporting to the Land: anonymous, small groups hidden.

One row per (table, category, value), in the portal's CSV format (``services/csvfile``).

Small groups: a value made of 1 to 4 cases (goals, follow-ups, phase stays) is written
as "<5"; 0 stays 0. No totals are exported. Totals can still be known from other
tables (the open cases per phase add up to the open cases per lead organisation), so
in every count table where exactly one value is hidden, the next smallest non-zero
value is hidden too: a total then reveals only the sum of two hidden values.
A median of fewer than 5 completed stays is hidden the same way.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale, format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal.services import access, audit
from portal.services.csvfile import csv_document
from portal.services.statistics import Row, Table, network_tables

SMALL_GROUP = 5
HIDDEN = "<5"


def export(session: Session, who: audit.Requester, today: date) -> str:
    """The network's numbers as of ``today`` as German CSV for ``who``; the export is audited."""
    access.require(who.user, access.READ_NETWORK_STATISTICS)
    with force_locale("de"):
        text = csv_text(network_tables(session, who.user, today))
    audit.record_read(session, who, "export", "statistics", format="csv", as_of=today.isoformat())
    return text


def csv_text(tables: list[Table]) -> str:
    """The CSV document of ``tables``, small groups hidden."""
    rows = [
        (str(table.title), str(row.label), value)
        for table in tables
        for row, value in zip(table.rows, published_values(table), strict=True)
    ]
    return csv_document([str(_l("Table")), str(_l("Category")), str(_l("Value"))], rows)


def published_values(table: Table) -> list[str]:
    """The values of the table's rows as exported: small groups replaced by "<5"."""
    hidden = {i for i, row in enumerate(table.rows) if _is_small(row)}
    if table.is_count and len(hidden) == 1:
        rest = [(row.members, i) for i, row in enumerate(table.rows) if i not in hidden]
        rest = [pair for pair in rest if pair[0] > 0]
        if rest:
            hidden.add(min(rest)[1])
    return [HIDDEN if i in hidden else _value(row) for i, row in enumerate(table.rows)]


def _is_small(row: Row) -> bool:
    return 0 < row.members < SMALL_GROUP


def _value(row: Row) -> str:
    if row.value is None:
        return ""
    if isinstance(row.value, float):
        return format_decimal(row.value, format="0.0")
    return str(row.value)
