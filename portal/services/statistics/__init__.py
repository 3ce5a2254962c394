"""The network's anonymous numbers for coordinators: counts, monthly series and medians.

Everything here is an aggregate over all cases of the network; no row carries a
person's name or a case reference. Counts are computed by the database (GROUP BY);
only the goals of the current agreement versions are read into Python (one query),
because whether a goal is overdue is decided by ``goals.Goal.is_overdue``.
``tables`` holds the tables and their publication rules, ``cases`` the case flow,
``overdue`` what is overdue.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal.models import PHASES, User
from portal.models.base import local_today
from portal.services import access, audit
from portal.services.statistics.cases import (
    cases_per_focus,
    cases_per_lead,
    cases_per_phase,
    closed_per_month,
    median_days_per_phase,
    month_starts,
    new_per_month,
)
from portal.services.statistics.overdue import overdue_followups, overdue_goals
from portal.services.statistics.tables import Table

# The open cases per phase add up to the open cases per lead organisation.
OPEN_PHASES = tuple(phase for phase in PHASES if phase != "abgeschlossen")


def export_tables(session: Session, who: audit.Requester, today: date) -> list[Table]:
    """The tables for the German CSV report as of ``today``; the export is audited."""
    with force_locale("de"):
        tables = network_tables(session, who.user, today)
    audit.record_read(session, who, "export", "statistics", format="csv", as_of=today.isoformat())
    return tables


def network_tables(session: Session, user: User, today: date | None = None) -> list[Table]:
    """All aggregates of the dashboard, in display order; coordinators only."""
    access.require(user, access.READ_NETWORK_STATISTICS)
    today = today or local_today()
    months = month_starts(today)
    cases_unit, org = _l("Cases"), _l("Organisation")
    return [
        Table("phase", _l("Cases per phase"), _l("Phase"), cases_unit, cases_per_phase(session),
              vocabulary="phase", sums=(OPEN_PHASES,)),
        Table("focus", _l("Open cases per focus area"), _l("Focus area"), cases_unit,
              cases_per_focus(session), vocabulary="focus"),
        Table("lead", _l("Open cases per lead organisation"), org, cases_unit,
              cases_per_lead(session)),
        Table("new", _l("New cases per month"), _l("Month"), cases_unit,
              new_per_month(session, months), "columns"),
        Table("closed", _l("Closed cases per month"), _l("Month"), cases_unit,
              closed_per_month(session, months), "columns"),
        Table("overdue_goals", _l("Overdue goals per responsible organisation"), org,
              _l("Goals"), overdue_goals(session, today)),
        Table("overdue_followups", _l("Overdue follow-ups per organisation"), org,
              _l("Follow-ups"), overdue_followups(session, today)),
        Table("median_days", _l("Median days spent in each phase"), _l("Phase"),
              _l("Median days"), median_days_per_phase(session), vocabulary="phase"),
    ]  # fmt: skip
