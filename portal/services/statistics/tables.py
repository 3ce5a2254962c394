"""The tables of the network statistics and how they are published (small groups hidden)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_decimal

# Small groups (the anonymous CSV): a value made of 1 to 4 cases (goals, follow-ups, phase
# stays) is published as "<5"; 0 stays 0. No totals are exported. Totals can still be known
# from other tables (the open cases per phase add up to the open cases per lead
# organisation), so in every count table where exactly one value is hidden, the next
# smallest non-zero value is hidden too: a total then reveals only the sum of two hidden
# values. A median of fewer than 5 completed stays is hidden the same way.
SMALL_GROUP = 5
HIDDEN = "<5"


@dataclass(frozen=True)
class Row:
    """One category of a table: a stable ``key``, its display ``label`` (empty where the key
    is a code of the table's ``vocabulary``, named by the presentation layer), the value.

    ``members`` is how many cases (goals, follow-ups, phase stays) the value is made of;
    for counts it equals the value. ``value`` is None when there is nothing to show.
    """

    key: str
    label: str
    value: int | float | None
    members: int


@dataclass(frozen=True)
class Table:
    """One aggregate: shown as a chart with its numbers beside it, and exported as CSV rows."""

    key: str
    title: str
    category: str
    unit: str
    rows: list[Row]
    layout: str = "bars"  # "bars" (horizontal, categories) or "columns" (months)
    vocabulary: str = ""  # "phase" or "focus": the rows' keys are such codes

    def __post_init__(self) -> None:
        # Translated now, in the locale of the caller (the CSV is always German).
        for name in ("title", "category", "unit"):
            object.__setattr__(self, name, str(getattr(self, name)))

    @property
    def is_count(self) -> bool:
        """True when the values are counts (summable), not medians."""
        return self.key != "median_days"


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


def count_row(key: str, label: str, count: int) -> Row:
    """A row of a count: the value is its own number of members."""
    return Row(key, label, count, count)


def by_size(pairs) -> list[Row]:
    """Rows of (name, count), largest first, then by name."""
    ordered = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return [count_row(name, name, count) for name, count in ordered]
