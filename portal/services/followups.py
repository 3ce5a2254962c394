"""Follow-ups (Wiedervorlagen): dated tasks on a case for a user or an organisation.

A follow-up belongs to the case's contents: whoever may read the case sees it, and
the lists always go through ``access.followup_filter``, so a revoked consent hides a
partner's follow-ups at once. "Today" is the German calendar day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, joinedload

from portal.models import Case, FollowUp, Organisation, User, utcnow
from portal.models.base import local_today
from portal.models.followup import MAX_FOLLOWUP_NOTE
from portal.services import access, audit
from portal.services.errors import ValidationFailed

BUCKETS = ("overdue", "today", "week", "later")
SCOPES = ("mine", "organisation")
STATUSES = ("open", "done", "all")
DONE_LIST_DAYS = 30
# Due dates further off are typing mistakes ("0226" for "2026"), not plans.
EARLIEST_DAYS_AGO = 366
LATEST_YEARS_AHEAD = 5
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class Buckets:
    """Open follow-ups sorted into overdue / today / this week / later."""

    overdue: list[FollowUp] = field(default_factory=list)
    today: list[FollowUp] = field(default_factory=list)
    week: list[FollowUp] = field(default_factory=list)
    later: list[FollowUp] = field(default_factory=list)

    def total(self) -> int:
        """How many follow-ups all buckets hold."""
        return sum(len(getattr(self, name)) for name in BUCKETS)


def parse_date(value: object) -> date | None:
    """``value`` as a date if it is a date or a ``YYYY-MM-DD`` string, else None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def bucket_of(followup: FollowUp, today: date) -> str:
    """``overdue``, ``today``, ``week`` (until this Sunday) or ``later``."""
    if followup.due_on < today:
        return "overdue"
    if followup.due_on == today:
        return "today"
    sunday = today + timedelta(days=6 - today.weekday())
    return "week" if followup.due_on <= sunday else "later"


def sort_into_buckets(followups: list[FollowUp], today: date | None = None) -> Buckets:
    """Open follow-ups by bucket, each bucket in the given order."""
    today = today or local_today()
    buckets = Buckets()
    for followup in followups:
        getattr(buckets, bucket_of(followup, today)).append(followup)
    return buckets


def is_overdue(followup: FollowUp, today: date | None = None) -> bool:
    """True for an open follow-up whose day has passed."""
    return followup.done_at is None and followup.due_on < (today or local_today())


def create(
    session: Session,
    actor: User,
    case: Case,
    *,
    due_on: object,
    note: object = "",
    assignee_user_id: object = None,
    assignee_organisation_id: object = None,
    ip: str = "",
) -> FollowUp:
    """Add a follow-up to ``case``; without an assignee it is the actor's own."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.EDIT_CASE, case)
    errors: dict[str, str] = {}
    due = _due_date(due_on, errors)
    text = "" if note is None else note
    if not isinstance(text, str):
        errors["note"] = "invalid"
    elif len(text.strip()) > MAX_FOLLOWUP_NOTE:
        errors["note"] = "too_long"
    user, organisation_id = _assignee(
        session, actor, case, assignee_user_id, assignee_organisation_id, errors
    )
    if errors:
        raise ValidationFailed(_l("The follow-up could not be saved."), fields=errors)
    followup = FollowUp(
        case=case, due_on=due, note=text.strip(), assignee_organisation_id=organisation_id,
        assignee_user_id=user.id if user else None, created_by_id=actor.id,
    )  # fmt: skip
    session.add(followup)
    session.flush()
    _record(session, "create", actor, followup, ip, {"due_on": due.isoformat()})
    return followup


def set_done(session: Session, actor: User, followup: FollowUp, done: bool, ip: str = "") -> bool:
    """Mark ``followup`` done (or open again); True when that changed anything."""
    access.require_visible(actor, access.READ_FOLLOWUP, followup)
    access.require(actor, access.EDIT_FOLLOWUP, followup)
    if done == (followup.done_at is not None):
        return False
    followup.done_at = utcnow() if done else None
    followup.done_by_id = actor.id if done else None
    _record(session, "update", actor, followup, ip, {"done": done})
    return True


def open_of(session: Session, case: Case, organisation_ids: set[int]) -> list[FollowUp]:
    """Open follow-ups of ``case`` assigned to these organisations (or people in them)."""
    if not organisation_ids:
        return []
    return list(
        session.scalars(
            select(FollowUp).where(
                FollowUp.case_id == case.id,
                FollowUp.done_at.is_(None),
                FollowUp.assignee_organisation_id.in_(organisation_ids),
            )
        )
    )


def pass_on(
    session: Session, actor: User, case: Case, losing: set[int], to: Organisation, ip: str = ""
) -> int:
    """Open follow-ups of ``case`` assigned to organisations that lose access to it (or to
    their people) go to ``to``, the lead organisation, and say so in their note: none stays
    with someone who can no longer open the case. How many moved."""
    moved = open_of(session, case, losing - {to.id})
    for followup in moved:
        previous = followup.assignee_user or followup.assignee_organisation
        line = str(_l("Passed on from %(previous)s, who no longer has access to the case.",
                      previous=previous.name))  # fmt: skip
        kept = followup.note[: MAX_FOLLOWUP_NOTE - len(line) - 1]
        followup.note = f"{kept}\n{line}" if kept else line
        before = followup.assignee_organisation_id
        followup.assignee_organisation_id, followup.assignee_user_id = to.id, None
        _record(session, "update", actor, followup, ip, {"passed_on_from": before, "to": to.id})
    return len(moved)


def get_followup(
    session: Session, user: User, followup_id: int, action: str = access.READ_FOLLOWUP
) -> FollowUp:
    """The follow-up, if ``user`` may do ``action`` on it; NotFound otherwise."""
    followup = session.get(FollowUp, followup_id)
    access.require_visible(user, action, followup)
    return followup


def list_statement(
    user: User, *, scope: str = "mine", status: str = "open", due_before: date | None = None
) -> Select:
    """Follow-ups for ``user`` (``mine``: theirs and their organisation's unassigned ones;
    ``organisation``: all of their organisation's), earliest due first."""
    organisation = FollowUp.assignee_organisation_id == user.organisation_id
    if scope == "mine":
        whose = or_(
            FollowUp.assignee_user_id == user.id,
            and_(organisation, FollowUp.assignee_user_id.is_(None)),
        )
    else:
        whose = organisation
    statement = _visible(user).where(whose)
    if status == "open":
        statement = statement.where(FollowUp.done_at.is_(None))
    elif status == "done":
        statement = statement.where(FollowUp.done_at.is_not(None))
    if due_before is not None:
        statement = statement.where(FollowUp.due_on < due_before)
    return statement.order_by(FollowUp.due_on, FollowUp.id)


def open_for(session: Session, user: User, scope: str = "mine") -> Buckets:
    """The open follow-ups of ``user`` (or their organisation), sorted into buckets."""
    return sort_into_buckets(list(session.scalars(list_statement(user, scope=scope))))


def recently_done(session: Session, user: User, scope: str = "mine") -> list[FollowUp]:
    """Follow-ups done in the last 30 days, the latest first."""
    since = utcnow() - timedelta(days=DONE_LIST_DAYS)
    statement = (
        list_statement(user, scope=scope, status="done")
        .where(FollowUp.done_at >= since)
        .order_by(None)
        .order_by(FollowUp.done_at.desc(), FollowUp.id.desc())
    )
    return list(session.scalars(statement))


def case_statement(user: User, case: Case, status: str = "open") -> Select:
    """The case's follow-ups ``user`` may see, earliest due first."""
    access.require_visible(user, access.READ_CASE, case)
    statement = _visible(user).where(FollowUp.case_id == case.id)
    if status == "open":
        statement = statement.where(FollowUp.done_at.is_(None))
    elif status == "done":
        statement = statement.where(FollowUp.done_at.is_not(None))
    return statement.order_by(FollowUp.due_on, FollowUp.id)


def assignable_users(session: Session, case: Case) -> list[User]:
    """Users who may be given a follow-up on ``case``: those who may edit it, by name."""
    organisation_ids = access.organisations_with_access(case)
    candidates = session.scalars(
        select(User)
        .where(User.organisation_id.in_(organisation_ids), User.active)
        .order_by(User.name, User.id)
    )
    return [user for user in candidates if access.can(user, access.EDIT_CASE, case)]


def assignable_organisations(session: Session, case: Case) -> list[Organisation]:
    """Organisations that currently have access to ``case``, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(access.organisations_with_access(case)))
            .order_by(Organisation.name)
        )
    )


def _visible(user: User) -> Select:
    return (
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(access.followup_filter(user))
        .options(
            joinedload(FollowUp.case).joinedload(Case.person),
            joinedload(FollowUp.assignee_user),
            joinedload(FollowUp.assignee_organisation),
        )
    )


def _due_date(value: object, errors: dict[str, str]) -> date:
    if value in (None, ""):
        errors["due_on"] = "required"
        return date.min
    due = parse_date(value)
    if due is None:
        errors["due_on"] = "invalid_date"
        return date.min
    today = local_today()
    if due < today - timedelta(days=EARLIEST_DAYS_AGO):
        errors["due_on"] = "too_early"
    elif due.year > today.year + LATEST_YEARS_AHEAD:
        errors["due_on"] = "too_late"
    return due


def _assignee(
    session: Session,
    actor: User,
    case: Case,
    user_id: object,
    organisation_id: object,
    errors: dict[str, str],
) -> tuple[User | None, int]:
    """The assigned user (or None for the whole organisation) and the organisation id."""
    if user_id is None and organisation_id is None:
        return actor, actor.organisation_id
    with_access = access.organisations_with_access(case)
    user = None
    if user_id is not None:
        user = _row(session, User, user_id)
        if user is None or not user.active:
            errors["assignee_user_id"] = "unknown_or_inactive"
        elif not access.can(user, access.EDIT_CASE, case):
            errors["assignee_user_id"] = "no_access"
    if organisation_id is None:
        return user, user.organisation_id if user else 0
    organisation = _row(session, Organisation, organisation_id)
    if organisation is None or not organisation.active:
        errors["assignee_organisation_id"] = "unknown_or_inactive"
    elif organisation.id not in with_access:
        errors["assignee_organisation_id"] = "no_access"
    elif user is not None and user.organisation_id != organisation.id:
        errors["assignee_organisation_id"] = "not_the_users_organisation"
    return user, organisation.id if organisation else 0


def _row(session: Session, model, row_id: object):
    """The row with this id, or None for unknown ids and values that are no ids."""
    if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id < 2**31:
        return None
    return session.get(model, row_id)


def _record(
    session: Session, action: str, actor: User, followup: FollowUp, ip: str, detail: dict
) -> None:
    audit.record(
        session, action, actor=actor, object_type="followup", object_id=followup.id,
        case_id=followup.case_id, ip=ip, detail=detail,
    )  # fmt: skip
