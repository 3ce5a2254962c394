"""What templates may call: labels, formats and permissions for links, registered in one place.

Nothing here reads the database: a page gets its data from its view.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from portal import labels
from portal.config import LANGUAGES
from portal.models.base import local_today
from portal.presentation import documents
from portal.services import access, document_fields, goals

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
        labels=labels,
        assessment_sections=document_fields.ASSESSMENT_SECTIONS,
        role_label=labels.role_label,
        kind_label=labels.kind_label,
        goal_status_label=labels.goal_status_label,
        audit_action_label=labels.audit_action_label,
        extraction_note=labels.extraction_note,
        **labels.LABEL_HELPERS,
        local_today=local_today,
        format_iso_date=documents.iso_date,
        format_value=documents.format_value,
        field_label=documents.field_label,
        leaf_key=documents.leaf_key,
        overdue_label=overdue_label,
        goals_of=goals.goals_of,
        goal_days_overdue=lambda goal: goal.days_overdue(local_today()),
        is_overdue=is_overdue,
        count_overdue=lambda items: sum(1 for goal in items if is_overdue(goal)),
        max_upload_mb=lambda: current_app.extensions["portal.settings"].max_upload_mb,
        paragraphs=documents.paragraphs,
        human_size=documents.human_size,
        inline_diff=documents.inline_diff,
        fold=documents.fold,
        row_counts=documents.row_counts,
    )
    app.jinja_env.filters["marked"] = marked


def render_printout(template: str, context: dict, locale: str | None = None) -> str:
    """The HTML of a printout (``templates/pdf/``), in ``locale`` (by default the portal's
    default language)."""
    with force_locale(locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "de")):
        return render_template(template, **context)


def is_overdue(goal: goals.Goal) -> bool:
    """True when an open goal is past its due date (in Germany, today)."""
    return goal.is_overdue(local_today())


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
