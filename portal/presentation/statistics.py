"""The dashboard's tables for people: row names, SVG charts and the CSV for the Land.

Charts are server-rendered SVG: no JavaScript, no external assets, no inline styles.

A chart is an ``<svg role="img">`` labelled by its ``<title>``; the page puts the same
numbers in a table beside it. All text is escaped; colours are the portal's brand
colour on white (contrast about 9:1) and its ink colour for text.
"""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal import labels
from portal.services.csvfile import csv_document
from portal.services.statistics.tables import Row, Table, published_values

BAR_FILL = "#0b4f6c"
TEXT_FILL = "#1b1f23"
AXIS_STROKE = "#4a5560"
FONT = 'font-family="DejaVu Sans, Noto Sans, sans-serif" font-size="13"'
MAX_LABEL = 28

# Horizontal bars: label column, bar area, room for the number after the bar.
BAR_WIDTH, BAR_LABEL, BAR_AREA, BAR_ROW, BAR_HEIGHT = 600, 220, 310, 26, 18
# Columns: one per month, numbers above, labels below.
COL_WIDTH, COL_HEIGHT, COL_TOP, COL_BOTTOM, COL_SIDE = 640, 230, 22, 38, 8


def row_label(table: Table, row: Row) -> str:
    """The name of a row: its phase or focus area in the user's language, else its label."""
    if table.vocabulary == "phase":
        return labels.phase_label(row.key)
    if table.vocabulary == "focus":
        return labels.focus_label(row.key)
    return row.label


def csv_text(tables: list[Table]) -> str:
    """The CSV document of ``tables`` (one row per table, category and value), small groups
    hidden (``statistics.published_values``)."""
    rows = [
        (table.title, row_label(table, row), value)
        for table in tables
        for row, value in zip(table.rows, published_values(table), strict=True)
    ]
    return csv_document([str(_l("Table")), str(_l("Category")), str(_l("Value"))], rows)


def number(value: int | float | None) -> str:
    """A value as people read it in their language (1.234 / 12,5 in German); "–" for none."""
    if value is None:
        return "–"
    group, decimal = _symbols(str(get_locale()))
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@lru_cache(maxsize=16)
def _symbols(locale: str) -> tuple[str, str]:
    """The locale's thousands and decimal separators (babel's number formatting is slow)."""
    return get_group_symbol(locale), get_decimal_symbol(locale)


def chart(table: Table, chart_id: str) -> Markup:
    """The table's chart: columns for monthly series, horizontal bars otherwise."""
    if table.layout == "columns":
        return column_chart(table, chart_id)
    return bar_chart(table, chart_id)


def bar_chart(table: Table, chart_id: str) -> Markup:
    """Horizontal bars, one row per category, the number after each bar."""
    height = max(1, len(table.rows)) * BAR_ROW + 8
    scale = _scale(table.rows, BAR_AREA)
    parts = [_open(chart_id, table.title, BAR_WIDTH, height)]
    for i, row in enumerate(table.rows):
        top = 4 + i * BAR_ROW
        middle = top + BAR_HEIGHT / 2 + 5
        width = (row.value or 0) * scale
        parts.append(
            f'<text x="{BAR_LABEL - 8}" y="{middle:.1f}" text-anchor="end" fill="{TEXT_FILL}">'
            f"{escape(_short(row_label(table, row)))}</text>"
            f'<rect x="{BAR_LABEL}" y="{top}" width="{width:.1f}" height="{BAR_HEIGHT}"'
            f' fill="{BAR_FILL}">{_tooltip(table, row)}</rect>'
            f'<text x="{BAR_LABEL + width + 6:.1f}" y="{middle:.1f}" fill="{TEXT_FILL}">'
            f"{escape(number(row.value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text part escaped above)


def column_chart(table: Table, chart_id: str) -> Markup:
    """Vertical columns in order (months), the number above and the label below each."""
    slot = (COL_WIDTH - 2 * COL_SIDE) / max(1, len(table.rows))
    base = COL_HEIGHT - COL_BOTTOM
    scale = _scale(table.rows, base - COL_TOP)
    parts = [
        _open(chart_id, table.title, COL_WIDTH, COL_HEIGHT),
        f'<line x1="{COL_SIDE}" y1="{base}" x2="{COL_WIDTH - COL_SIDE}" y2="{base}"'
        f' stroke="{AXIS_STROKE}" stroke-width="1"/>',
    ]
    for i, row in enumerate(table.rows):
        centre = COL_SIDE + slot * (i + 0.5)
        height = (row.value or 0) * scale
        parts.append(
            f'<rect x="{centre - slot * 0.3:.1f}" y="{base - height:.1f}" width="{slot * 0.6:.1f}"'
            f' height="{height:.1f}" fill="{BAR_FILL}">{_tooltip(table, row)}</rect>'
            f'<text x="{centre:.1f}" y="{base - height - 5:.1f}" text-anchor="middle"'
            f' fill="{TEXT_FILL}">{escape(number(row.value))}</text>'
            f'<text y="{base + 14}" text-anchor="middle" fill="{TEXT_FILL}">'
            f"{_lines(row_label(table, row), centre)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text part escaped above)


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    title_id = f"{chart_id}-chart-title"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' aria-labelledby="{escape(title_id)}" viewBox="0 0 {width} {height}" {FONT}>'
        f'<title id="{escape(title_id)}">{escape(title)}</title>'
    )


def _scale(rows: list[Row], room: float) -> float:
    """Pixels per unit, so that the largest value fills ``room``."""
    largest = max((row.value or 0 for row in rows), default=0)
    return room / largest if largest else 0.0


def _tooltip(table: Table, row: Row) -> str:
    return f"<title>{escape(row_label(table, row))}: {escape(number(row.value))}</title>"


def _lines(label: str, x: float) -> str:
    """A column label as lines under the column: "03/2026" becomes "03" over "2026"."""
    return "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 14}">{escape(part)}</tspan>'
        for i, part in enumerate(label.split("/"))
    )


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
