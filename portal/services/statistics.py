"""The network's anonymous numbers for coordinators: counts, monthly series and medians.

Everything here is an aggregate over all cases of the network; no row carries a
person's name or a case reference. Counts are computed by the database (GROUP BY);
only the goals of the current agreement versions are read into Python (one query),
because whether a goal is overdue is decided by ``goals.Goal.is_overdue``.
"""

from __future__ import annotations

import statistics as pystats
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import force_locale, format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from portal.models import Case, Document, DocumentVersion, FollowUp, Organisation, User
from portal.models.base import LOCAL_TIMEZONE, local_today
from portal.models.case import FOCUS_AREAS, PHASES, PhaseChange
from portal.services import access, audit
from portal.services.goals import ACTIVE_GOAL_STATUSES, Goal

CLOSED = "abgeschlossen"
ACTIVE_PHASES = tuple(phase for phase in PHASES if phase != CLOSED)
MONTHS = 12
NO_ORGANISATION = ""  # key of the goals without a (known) responsible organisation
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


def export_tables(session: Session, who: audit.Requester, today: date) -> list[Table]:
    """The tables for the German CSV report as of ``today``; the export is audited."""
    with force_locale("de"):
        tables = network_tables(session, who.user, today)
    audit.record_read(session, who, "export", "statistics", format="csv", as_of=today.isoformat())
    return tables


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


def network_tables(session: Session, user: User, today: date | None = None) -> list[Table]:
    """All aggregates of the dashboard, in display order; coordinators only."""
    access.require(user, access.READ_NETWORK_STATISTICS)
    today = today or local_today()
    months = month_starts(today)
    cases_unit, org = _l("Cases"), _l("Organisation")
    return [
        Table("phase", _l("Cases per phase"), _l("Phase"), cases_unit, cases_per_phase(session),
              vocabulary="phase"),
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


def cases_per_phase(session: Session) -> list[Row]:
    """Every case by its current phase (closed ones too), all phases listed."""
    counts = dict(session.execute(select(Case.phase, func.count()).group_by(Case.phase)).all())
    return [_count(phase, "", counts.get(phase, 0)) for phase in PHASES]


def cases_per_focus(session: Session) -> list[Row]:
    """Open (not closed) cases per focus area; a case with several areas counts in each."""
    areas = _json_elements(session, Case.focus_areas)
    statement = (
        select(areas.c.value, func.count(func.distinct(Case.id)))
        .select_from(Case)
        .join(areas, true())
        .where(Case.phase != CLOSED)
        .group_by(areas.c.value)
    )
    counts = dict(session.execute(statement).all())
    return [_count(area, "", counts.get(area, 0)) for area in FOCUS_AREAS]


def cases_per_lead(session: Session) -> list[Row]:
    """Open cases per lead organisation, largest first (organisations without any left out)."""
    statement = (
        select(Organisation.name, func.count(Case.id))
        .join(Case, Case.lead_organisation_id == Organisation.id)
        .where(Case.phase != CLOSED)
        .group_by(Organisation.id, Organisation.name)
    )
    return _by_size(session.execute(statement).all())


def new_per_month(session: Session, months: list[date]) -> list[Row]:
    """Cases opened in each month (local calendar months)."""
    return _per_month(session, Case.created_at, [], months)


def closed_per_month(session: Session, months: list[date]) -> list[Row]:
    """Phase changes to "abgeschlossen" in each month (a case closed twice counts twice)."""
    return _per_month(session, PhaseChange.at, [PhaseChange.to_phase == CLOSED], months)


def overdue_goals(session: Session, today: date) -> list[Row]:
    """Overdue goals of the current agreement versions of open cases, per responsible organisation.

    One query reads the goals of those versions: the database unpacks the JSON,
    keeps the candidates (active, due before today) and counts them per organisation,
    status and due date; ``Goal.is_overdue`` has the last word on each group.
    Goals without a (known) responsible organisation form their own group.
    """
    counts: Counter = Counter()
    for org_id, status, due, count in session.execute(_goal_statement(session, today)):
        if Goal.from_fields({"status": status, "due_date": due}).is_overdue(today):
            counts[org_id] += count
    ids = [key for key in counts if isinstance(key, int)]
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        ).all()
    )
    named: Counter = Counter()
    for org_id, count in counts.items():
        named[names.get(org_id, NO_ORGANISATION)] += count
    unnamed = str(_l("No responsible organisation"))
    return [
        Row(row.key, unnamed, row.value, row.members) if row.key == NO_ORGANISATION else row
        for row in _by_size(named.items())
    ]


def _goal_statement(session: Session, today: date):
    """(organisation id, status, due date, count) of the candidate overdue goals."""
    if session.get_bind().dialect.name == "sqlite":
        goals = func.json_each(DocumentVersion.fields, "$.goals").table_valued("value")

        def field(name):
            return func.json_extract(goals.c.value, f"$.{name}")

        organisation = field("responsible_organisation_id")
    else:
        # JSONB: the version's JSON text is parsed once, not again for every field read.
        fields = cast(DocumentVersion.fields, JSONB)
        goals = func.jsonb_array_elements(fields["goals"]).table_valued("value")

        def field(name):
            return goals.c.value.op("->>")(name)

        organisation = cast(field("responsible_organisation_id"), Integer)
    status, due = field("status"), field("due_date")
    return (
        select(organisation, status, due, func.count())
        .select_from(DocumentVersion)
        .join(
            Document,
            and_(
                Document.id == DocumentVersion.document_id,
                Document.current_version == DocumentVersion.number,
            ),
        )
        .join(Case, Case.id == Document.case_id)
        .join(goals, true())
        .where(
            Document.type == "agreement",
            Case.phase != CLOSED,
            due < today.isoformat(),
            func.coalesce(status, "open").in_(ACTIVE_GOAL_STATUSES),
        )
        .group_by(organisation, status, due)
    )


def overdue_followups(session: Session, today: date) -> list[Row]:
    """Follow-ups not done and due before today, per assigned organisation."""
    statement = (
        select(Organisation.name, func.count(FollowUp.id))
        .join(FollowUp, FollowUp.assignee_organisation_id == Organisation.id)
        .where(FollowUp.done_at.is_(None), FollowUp.due_on < today)
        .group_by(Organisation.id, Organisation.name)
    )
    return _by_size(session.execute(statement).all())


def median_days_per_phase(session: Session) -> list[Row]:
    """Median length in days of the completed stays in each phase except "abgeschlossen".

    A stay runs from the phase change into a phase to the case's next phase change.
    Open stays (the phase a case is in now) are left out: their length is not known
    yet, and counting them as ending today would shorten the median of young phases.
    ``members`` is the number of completed stays; the value is None without any.
    """
    medians = _stay_medians(session)
    return [Row(phase, "", *medians.get(phase, (None, 0))) for phase in ACTIVE_PHASES]


def _stay_medians(session: Session) -> dict[str, tuple[float | None, int]]:
    """{phase: (median days rounded to 0.1, number of completed stays)}.

    PostgreSQL computes the median itself; SQLite has no median function, so the
    lengths are fetched (one float per stay) and the median is taken here.
    """
    stays = _stay_statement(session).subquery()
    if session.get_bind().dialect.name != "sqlite":
        statement = select(
            stays.c.phase, func.percentile_cont(0.5).within_group(stays.c.days), func.count()
        ).group_by(stays.c.phase)
        return {
            phase: (round(float(median), 1), count)
            for phase, median, count in session.execute(statement)
        }
    durations: dict[str, list[float]] = {}
    for phase, days in session.execute(select(stays.c.phase, stays.c.days)):
        durations.setdefault(phase, []).append(days)
    return {
        phase: (round(pystats.median(values), 1), len(values))
        for phase, values in durations.items()
    }


def _stay_statement(session: Session):
    """(phase, days) of every completed stay, computed by the database with LEAD()."""
    following = func.lead(PhaseChange.at).over(
        partition_by=PhaseChange.case_id, order_by=(PhaseChange.at, PhaseChange.id)
    )
    stays = select(
        PhaseChange.to_phase.label("phase"),
        PhaseChange.at.label("started"),
        following.label("ended"),
    ).subquery()
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(stays.c.ended) - func.julianday(stays.c.started)
    else:
        days = extract("epoch", stays.c.ended - stays.c.started) / 86400.0
    return select(stays.c.phase, days.label("days")).where(
        stays.c.ended.is_not(None), stays.c.phase != CLOSED
    )


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the last ``count`` calendar months, oldest first, this month last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _next_month(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    """The instant (UTC) a calendar day starts in Germany."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def _per_month(
    session: Session, column, where: list[ColumnElement[bool]], months: list[date]
) -> list[Row]:
    """Count rows per local month with one GROUP BY over a CASE of month boundaries."""
    bounds = [_local_midnight(m) for m in months] + [_local_midnight(_next_month(months[-1]))]
    bucket = case(
        *[(column < bounds[i + 1], literal(i)) for i in range(len(months))], else_=literal(-1)
    )
    # Grouped in an outer query: PostgreSQL does not match the bound parameters of a
    # CASE in SELECT and in GROUP BY as the same expression.
    inner = (
        select(bucket.label("month"))
        .where(*where, column >= bounds[0], column < bounds[-1])
        .subquery()
    )
    counts = dict(
        session.execute(select(inner.c.month, func.count()).group_by(inner.c.month)).all()
    )
    return [
        _count(m.isoformat()[:7], f"{m.month:02d}/{m.year}", counts.get(i, 0))
        for i, m in enumerate(months)
    ]


def _json_elements(session: Session, column):
    """The elements of a JSON array column as a table-valued function with column ``value``."""
    if session.get_bind().dialect.name == "sqlite":
        return func.json_each(column).table_valued("value")
    return func.json_array_elements_text(column).table_valued("value")


def _count(key: str, label: str, count: int) -> Row:
    return Row(key, label, count, count)


def _by_size(pairs) -> list[Row]:
    """Rows of (name, count), largest first, then by name."""
    ordered = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return [_count(name, name, count) for name, count in ordered]
