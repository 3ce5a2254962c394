"""Goals of integration agreements: open and overdue goals, status history, signature carry-over.

A goal is saved as a dict in an agreement version's fields (``document_fields`` checks
it); everything that reads goals reads them as ``Goal`` values (``goals_of``). A goal has
no id of its own: across versions it is recognised by its area and text, and by its
position when the text was reworded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, Document, DocumentVersion, Organisation, User
from portal.services import access

ACTIVE_GOAL_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class Goal:
    """One goal of an integration agreement: what, in which area, by whom, until when."""

    goal: str = ""
    area: str = ""
    measures: str = ""
    responsible_organisation_id: int | None = None
    due_date: str | None = None  # ISO date
    status: str = "open"

    @classmethod
    def from_fields(cls, saved: dict) -> Goal:
        """The goal as a version's fields hold it (older versions may lack keys)."""
        return cls(
            goal=saved.get("goal") or "",
            area=saved.get("area") or "",
            measures=saved.get("measures") or "",
            responsible_organisation_id=saved.get("responsible_organisation_id"),
            due_date=saved.get("due_date") or None,
            status=saved.get("status") or "open",
        )

    def as_fields(self) -> dict:
        """The goal as a version's fields hold it, and as the API shows it (in this order:
        a version's text for search lists a goal's values in it)."""
        return {
            "area": self.area,
            "goal": self.goal,
            "measures": self.measures,
            "responsible_organisation_id": self.responsible_organisation_id,
            "due_date": self.due_date,
            "status": self.status,
        }

    @property
    def is_active(self) -> bool:
        """Open or in progress: still to be reached."""
        return self.status in ACTIVE_GOAL_STATUSES

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a goal across versions: its area and its normalised text."""
        return self.area, " ".join(self.goal.split())

    def days_overdue(self, today: date) -> int:
        """How many days an active goal is past its due date (0 when it is not overdue)."""
        if not self.due_date or not self.is_active:
            return 0
        try:
            return max((today - date.fromisoformat(self.due_date)).days, 0)
        except ValueError:
            return 0

    def is_overdue(self, today: date) -> bool:
        """True when the goal is still active and its due date has passed."""
        return self.days_overdue(today) > 0


def goals_of(fields: dict | None) -> list[Goal]:
    """The goals of an agreement version's fields, in their order."""
    return [Goal.from_fields(saved) for saved in (fields or {}).get("goals") or []]


# ---------------------------------------------------------------- signatures


def content_without_statuses(title: str, fields: dict | None) -> dict:
    """What a signature covers: title and fields, without goal statuses and the signing date."""
    fields = dict(fields or {})
    fields.pop("signed_on", None)
    fields["goals"] = [
        {k: v for k, v in goal.items() if k != "status"} for goal in fields.get("goals") or []
    ]
    return {"title": title, "fields": fields}


def only_statuses_changed(old: DocumentVersion, title: str, fields: dict) -> bool:
    """True when ``title``/``fields`` say what ``old`` says, apart from goal statuses."""
    return content_without_statuses(old.title, old.fields) == content_without_statuses(
        title, fields
    )


def carry_signature(previous: DocumentVersion, title: str, fields: dict) -> dict:
    """The fields of a new version after ``previous``, with ``signed_on`` as signing allows.

    A signed version is frozen: a status update keeps its signature, any other change
    (a Fortschreibung) is unsigned until a new signed scan is uploaded.
    """
    signed_on = (previous.fields or {}).get("signed_on")
    if not signed_on:
        return fields
    keep = only_statuses_changed(previous, title, fields)
    return {**fields, "signed_on": signed_on if keep else None}


# ---------------------------------------------------------------- who may change what


def may_change(actor: User, document: Document, current: DocumentVersion) -> bool:
    """Whether ``actor`` may save any new version of the agreement: as its editor (the
    lead organisation), or to set the status of a goal it is responsible for."""
    return access.can(actor, access.EDIT_DOCUMENT, document) or any(
        settable(actor, document, goals_of(current.fields))
    )


def settable(actor: User, document: Document, goals: list[Goal]) -> list[bool]:
    """For each of ``goals``: whether ``actor`` may set its status (``SET_GOAL_STATUS``)."""
    return [
        access.can(
            actor, access.SET_GOAL_STATUS, access.GoalOf(document, goal.responsible_organisation_id)
        )
        for goal in goals
    ]


def require_change_rights(
    actor: User, document: Document, current: DocumentVersion, title: str, fields: dict
) -> None:
    """AccessDenied unless ``actor`` may save ``title``/``fields`` after ``current``: an
    editor anything, others only statuses, each of a goal they may set."""
    if access.can(actor, access.EDIT_DOCUMENT, document):
        return
    if not only_statuses_changed(current, title, fields):
        access.require(actor, access.EDIT_DOCUMENT, document)
    for old, new in zip(goals_of(current.fields), goals_of(fields), strict=True):
        if old.status != new.status:
            target = access.GoalOf(document, old.responsible_organisation_id)
            access.require(actor, access.SET_GOAL_STATUS, target)


# ---------------------------------------------------------------- history


@dataclass
class StatusChange:
    """One status a goal had from a version on."""

    status: str
    version: int
    at: datetime
    author: User | None
    organisation: Organisation


@dataclass
class GoalHistory:
    """A goal of the newest version walked, with every status it had, oldest first."""

    goal: Goal
    changes: list[StatusChange] = field(default_factory=list)


def history(versions: list[DocumentVersion]) -> list[GoalHistory]:
    """For each goal of the last of ``versions`` (oldest first): when its status changed."""
    tracked: list[GoalHistory] = []
    for version in versions:
        goals = goals_of(version.fields)
        matched = _match(tracked, goals)
        current: list[GoalHistory] = []
        for goal, entry in zip(goals, matched, strict=True):
            entry = entry or GoalHistory(goal=goal)
            if not entry.changes or entry.changes[-1].status != goal.status:
                entry.changes.append(
                    StatusChange(
                        goal.status,
                        version.number,
                        version.created_at,
                        version.author,
                        version.organisation,
                    )
                )
            entry.goal = goal
            current.append(entry)
        tracked = current
    return tracked


def _match(tracked: list[GoalHistory], goals: list[Goal]) -> list[GoalHistory | None]:
    """The earlier goal each of ``goals`` continues: same area and text, else same position."""
    free = list(range(len(tracked)))
    matched: list[GoalHistory | None] = [None] * len(goals)
    for i, goal in enumerate(goals):
        for j in free:
            if tracked[j].goal.key == goal.key:
                matched[i] = tracked[j]
                free.remove(j)
                break
    for i in range(len(goals)):
        if matched[i] is None and i in free:
            matched[i] = tracked[i]
            free.remove(i)
    return matched


# ---------------------------------------------------------------- concurrent status updates


def rebase_statuses(
    base_goals: list[Goal], chosen: list[str], current_goals: list[Goal]
) -> list[tuple[str, str]]:
    """The statuses someone chose for ``base_goals``, carried onto ``current_goals``.

    For each current goal: the proposed status and who changed it since the base
    (``""``, ``"mine"``, ``"theirs"`` or ``"both"`` when the two disagree).
    """
    tracked = [GoalHistory(goal=goal) for goal in base_goals]
    position = {id(entry): i for i, entry in enumerate(tracked)}
    out = []
    for goal, entry in zip(current_goals, _match(tracked, current_goals), strict=True):
        status = goal.status
        if entry is None:
            out.append((status, "theirs"))
            continue
        before = entry.goal.status
        mine = chosen[position[id(entry)]] if position[id(entry)] < len(chosen) else before
        theirs_changed = status != before
        if mine == before:
            out.append((status, "theirs" if theirs_changed else ""))
        else:
            out.append((mine, "both" if theirs_changed and status != mine else "mine"))
    return out


# ---------------------------------------------------------------- the case folder


@dataclass
class OpenGoal:
    """An open goal of an agreement, for the case folder."""

    document: Document
    goal: Goal
    days_overdue: int
    responsible: str


def open_goals(session: Session, user: User, case: Case, today: date) -> list[OpenGoal]:
    """Open goals of the current agreement versions ``user`` may read; by due date, undated last."""
    if not access.can(user, access.READ_CASE, case):
        return []
    rows = session.execute(
        select(Document, DocumentVersion)
        .join(Case, Case.id == Document.case_id)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id)
            & (DocumentVersion.number == Document.current_version),
        )
        .where(Document.case_id == case.id, Document.type == "agreement")
        .where(access.document_filter(user))
        .order_by(Document.id)
    )
    found = [
        (document, goal)
        for document, version in rows
        if access.can(user, access.READ_DOCUMENT, document)
        for goal in goals_of(version.fields)
        if goal.is_active
    ]
    ids = {goal.responsible_organisation_id for _document, goal in found} - {None}
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        ).all()
        if ids
        else []
    )
    items = [
        OpenGoal(document, goal, goal.days_overdue(today),
                 names.get(goal.responsible_organisation_id, ""))
        for document, goal in found
    ]  # fmt: skip
    return sorted(items, key=lambda item: (not item.goal.due_date, item.goal.due_date or ""))
