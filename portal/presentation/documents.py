"""How document pages show contents and changes: field names and values, paragraphs,
file sizes, dates, and diffs (folded stretches, word marks)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from portal.forms.documents import SERVICE_PATH
from portal.labels import (
    AGREEMENT_LABELS,
    ASSESSMENT_LABELS,
    FOCUS_AREA_LABELS,
    GOAL_STATUS_LABELS,
    LEVEL_LABELS,
)

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def field_label(path: str) -> str:
    """A readable name for a field path of the diff, e.g. ``goals[0].status`` → "Goal 1: Status"."""
    match = SERVICE_PATH.match(path)
    if not match:
        return path
    name, index, sub = match.groups()
    if index is None:
        return str(ASSESSMENT_LABELS.get(name) or AGREEMENT_LABELS.get(name) or name)
    row = f"{AGREEMENT_LABELS['goal' if name == 'goals' else 'language']} {int(index) + 1}"
    return f"{row}: {AGREEMENT_LABELS.get(sub, sub)}" if sub else row


def format_value(key: str | None, value, org_names: dict) -> str:
    """A field value as text for people: labels for codes, names for organisations, dates."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, dict):
        parts = (
            f"{AGREEMENT_LABELS.get(k, k)}: {format_value(k, v, org_names)}"
            for k, v in value.items()
        )
        return "; ".join(part for part in parts if not part.endswith(": "))
    if isinstance(value, list):
        return ", ".join(format_value(key, item, org_names) for item in value)
    if key == "area":
        return str(FOCUS_AREA_LABELS.get(value, value))
    if key == "status":
        return str(GOAL_STATUS_LABELS.get(value, value))
    if key == "level":
        return str(LEVEL_LABELS.get(value, value))
    if key == "responsible_organisation_id":
        return org_names.get(value, str(value))
    if key in ("due_date", "signed_on"):
        return iso_date(value)
    return str(value)


def leaf_key(path: str) -> str | None:
    """The last field name of a path (``goals[0].status`` → ``status``), None for a whole row."""
    if path.endswith("]"):
        return None
    return path.rsplit(".", 1)[-1]


@dataclass
class Skipped:
    """Unchanged lines left out of a diff table."""

    count: int
    op: str = "skip"


def fold(rows: list, context: int = 3) -> list:
    """The diff rows with long unchanged stretches replaced by a Skipped marker."""
    changed = [i for i, row in enumerate(rows) if row.op != "equal"]
    keep = {j for i in changed for j in range(i - context, i + context + 1)}
    out: list = []
    hidden = 0
    for i, row in enumerate(rows):
        if i in keep:
            if hidden:
                out.append(Skipped(hidden) if hidden > 1 else rows[i - 1])
                hidden = 0
            out.append(row)
        else:
            hidden += 1
    if hidden:
        out.append(Skipped(hidden) if hidden > 1 else rows[-1])
    return out


def row_counts(rows: list) -> dict[str, int]:
    """How many rows of each kind a line diff has."""
    counts = {"insert": 0, "delete": 0, "replace": 0, "equal": 0}
    for row in rows:
        counts[row.op] += 1
    return counts


def paragraphs(text: str | None) -> list[list[str]]:
    """Text as paragraphs (split at blank lines), each a list of lines."""
    blocks = re.split(r"\n\s*\n", (text or "").strip())
    return [block.split("\n") for block in blocks if block.strip()]


def human_size(size: int) -> str:
    """Bytes as people read them, in the current language (``1,2 MB``)."""
    for unit, factor in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#')} {unit}"
    return _("%(n)d bytes", n=size)


def iso_date(value: str | None) -> str:
    """An ISO date (``2027-03-31``) in the current language's medium format."""
    if not value:
        return ""
    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def inline_diff(old: str, new: str) -> tuple[list, list]:
    """Word-level segments ``(text, changed)`` of a changed line, for old and new.

    Lines that have little in common are marked as a whole: word marks would only be noise.
    """
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.5:
        return [(old, True)] if old else [], [(new, True)] if new else []
    left, right = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            left.append(("".join(a[i1:i2]), op != "equal"))
        if j2 > j1:
            right.append(("".join(b[j1:j2]), op != "equal"))
    return _merge(left), _merge(right)


def _merge(segments: list) -> list:
    """Join changed segments separated only by spaces, so "two words" is one mark."""
    out: list = []
    for text, changed in segments:
        if out and out[-1][1] == changed:
            out[-1] = (out[-1][0] + text, changed)
        elif changed and len(out) >= 2 and out[-2][1] and not out[-1][1] and not out[-1][0].strip():
            space = out.pop()[0]
            out[-1] = (out[-1][0] + space + text, True)
        else:
            out.append((text, changed))
    return out
