"""The tables of the network statistics and how they are published (small groups hidden)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_decimal

# Small groups (the anonymous CSV): a count of 1 to 4 cases (goals, follow-ups) is
# published as "<5" (5 is 5); 0 stays 0. No totals are exported, but a reader may know a
# sum from another table: the open phases of "cases per phase" add up to the open cases
# per lead organisation, so either table published in full gives the other's sum. Every
# count table is therefore protected as if the sums of its ``sums`` groups were published
# (by default the whole table; for the phases, the open ones: the closed cases are in no
# other table, and protecting the whole table's sum as well would make them public by
# subtraction): more values are withheld ("x", each at least 5) until no withheld value
# can be worked out from the sums, the published values and what "<5" and "x" say
# (secondary suppression; rounding totals would leave the same sums to solve). Where that
# cannot protect them (a group of 1 and 5 and zeros), the whole table is withheld. A
# median of fewer than 5 stays is withheld as "x" (a median is no count, and its value
# is no "<5").
SMALL_GROUP = 5
HIDDEN = "<5"
WITHHELD = "x"


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
    # Keys of the rows whose sum a reader may know from elsewhere, per group (see above);
    # empty: the whole table.
    sums: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        # Translated now, in the locale of the caller (the CSV is always German).
        for name in ("title", "category", "unit"):
            object.__setattr__(self, name, str(getattr(self, name)))

    @property
    def is_count(self) -> bool:
        """True when the values are counts (summable), not medians."""
        return self.key != "median_days"


def published_values(table: Table) -> list[str]:
    """The values of the table's rows as exported: small counts "<5", withheld values "x"."""
    small = {i for i, row in enumerate(table.rows) if _is_small(row)}
    if not table.is_count:
        return [WITHHELD if i in small else _value(row) for i, row in enumerate(table.rows)]
    withheld: set[int] = set()
    counts = [row.members for row in table.rows]
    for group in _groups(table):
        in_group = small & group
        while in_group and not _protected(counts, in_group, withheld & group):
            shown = [(counts[i], i) for i in group if counts[i] > 0 and i not in small | withheld]
            if not shown:  # e.g. 1 and 5 beside zeros: only withholding everything protects
                return [WITHHELD] * len(table.rows)
            withheld.add(min(shown)[1])
    return [
        HIDDEN if i in small else WITHHELD if i in withheld else _value(row)
        for i, row in enumerate(table.rows)
    ]


def _groups(table: Table) -> list[set[int]]:
    """The row indices of each group whose sum a reader may know."""
    if not table.sums:
        return [set(range(len(table.rows)))]
    index = {row.key: i for i, row in enumerate(table.rows)}
    return [{index[key] for key in group} for group in table.sums]


def _protected(counts: list[int], small: set[int], withheld: set[int]) -> bool:
    """Whether every hidden count can take more than one value, for a reader who knows the
    total, the published counts, that each "<5" is 1 to 4 and each "x" at least 5: with one
    sum and bounds, a value ranges over [max(low, rest - others' highs), min(high, rest -
    others' lows)]."""
    hidden = sorted(small | withheld)
    rest = sum(counts[i] for i in hidden)
    low = {i: 1 if i in small else SMALL_GROUP for i in hidden}
    high = {i: SMALL_GROUP - 1 if i in small else rest for i in hidden}
    for i in hidden:
        others_low = sum(low[j] for j in hidden if j != i)
        others_high = sum(high[j] for j in hidden if j != i)
        if min(high[i], rest - others_low) <= max(low[i], rest - others_high):
            return False
    return True


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
