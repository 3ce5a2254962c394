"""What templates may call: labels, formats and permissions for links, registered in one place.

Nothing here reads the database: a page gets its data from its view.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date

from flask import Flask, current_app, render_template
from flask_babel import force_locale, format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from portal import labels
from portal.config import LANGUAGES
from portal.forms import documents as document_forms
from portal.models.base import local_today
from portal.services import access, goals

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")
_MARKED = re.compile(r"«(.*?)»", re.S)


def init_app(app: Flask) -> None:
    """Make the helpers below available to every template."""
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        get_locale=lambda: str(get_locale()),
        # ``can("read_audit", case)``: what the current user may do, for links and buttons.
        can=lambda action, target=None: access.can(current_user, action, target),
        can_manage_accounts=lambda user: access.can(user, access.MANAGE_ACCOUNTS),
        can_create_cases=lambda user: access.can(user, access.CREATE_CASE),
        role_label=labels.role_label,
        kind_label=labels.kind_label,
        goal_status_label=labels.goal_status_label,
        audit_action_label=labels.audit_action_label,
        **labels.LABEL_HELPERS,
        forms=document_forms,
        local_today=local_today,
        format_iso_date=iso_date,
        format_value=lambda key, value, org_names: document_forms.format_value(
            key, value, org_names, iso_date
        ),
        overdue_label=overdue_label,
        goal_days_overdue=lambda goal: goals.days_overdue(goal, local_today()),
        is_overdue=is_overdue,
        count_overdue=lambda items: sum(1 for goal in items if is_overdue(goal)),
        max_upload_mb=lambda: current_app.extensions["portal.settings"].max_upload_mb,
        paragraphs=paragraphs,
        human_size=human_size,
        inline_diff=inline_diff,
        fold=fold,
        row_counts=row_counts,
    )
    app.jinja_env.filters["marked"] = marked


def render_printout(template: str, context: dict) -> str:
    """The HTML of a printout (``templates/pdf/``), in the portal's default language."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "de")):
        return render_template(template, **context)


def is_overdue(goal: dict) -> bool:
    """True when an open goal is past its due date (in Germany, today)."""
    return goals.is_overdue(goal, local_today())


def overdue_label(days: int) -> str:
    """The words for how long a goal is overdue ("overdue for n days")."""
    if days == 1:
        return _("overdue for one day")
    return _("overdue for %(n)d days", n=days)


def marked(passage: str) -> Markup:
    """A highlight passage, escaped, with the «matches» as <mark>."""
    # Safe: the passage is escaped first; only our own <mark> tags are added.
    html = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", str(escape(passage)))
    return Markup(html)  # noqa: S704


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
