"""Case flow: cases per phase, focus area and lead organisation, per month, phase durations."""

from __future__ import annotations

import statistics as pystats
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, case, extract, func, literal, select, true
from sqlalchemy.orm import Session

from portal.models import Case, Organisation
from portal.models.base import LOCAL_TIMEZONE
from portal.models.case import FOCUS_AREAS, PHASES, PhaseChange
from portal.services.statistics.tables import Row, by_size, count_row

CLOSED = "abgeschlossen"
ACTIVE_PHASES = tuple(phase for phase in PHASES if phase != CLOSED)
MONTHS = 12


def cases_per_phase(session: Session) -> list[Row]:
    """Every case by its current phase (closed ones too), all phases listed."""
    counts = dict(session.execute(select(Case.phase, func.count()).group_by(Case.phase)).all())
    return [count_row(phase, "", counts.get(phase, 0)) for phase in PHASES]


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
    return [count_row(area, "", counts.get(area, 0)) for area in FOCUS_AREAS]


def cases_per_lead(session: Session) -> list[Row]:
    """Open cases per lead organisation, largest first (organisations without any left out)."""
    statement = (
        select(Organisation.name, func.count(Case.id))
        .join(Case, Case.lead_organisation_id == Organisation.id)
        .where(Case.phase != CLOSED)
        .group_by(Organisation.id, Organisation.name)
    )
    return by_size(session.execute(statement).all())


def new_per_month(session: Session, months: list[date]) -> list[Row]:
    """Cases opened in each month (local calendar months)."""
    return _per_month(session, Case.created_at, [], months)


def closed_per_month(session: Session, months: list[date]) -> list[Row]:
    """Phase changes to "abgeschlossen" in each month (a case closed twice counts twice)."""
    return _per_month(session, PhaseChange.at, [PhaseChange.to_phase == CLOSED], months)


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
        count_row(m.isoformat()[:7], f"{m.month:02d}/{m.year}", counts.get(i, 0))
        for i, m in enumerate(months)
    ]


def _json_elements(session: Session, column):
    """The elements of a JSON array column as a table-valued function with column ``value``."""
    if session.get_bind().dialect.name == "sqlite":
        return func.json_each(column).table_valued("value")
    return func.json_array_elements_text(column).table_valued("value")
