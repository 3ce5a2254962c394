"""Goals of integration agreements: what counts as open and as overdue."""

from __future__ import annotations

from datetime import date

ACTIVE_GOAL_STATUSES = ("open", "in_progress")


def is_overdue(goal: dict, today: date) -> bool:
    """True when the goal is still open or in progress and its due date has passed."""
    due = goal.get("due_date")
    return (
        goal.get("status", "open") in ACTIVE_GOAL_STATUSES and bool(due) and due < today.isoformat()
    )
