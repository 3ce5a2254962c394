"""Follow-ups (Wiedervorlagen): dated tasks on a case for a person or an organisation."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.case import Case
from portal.models.org import Organisation
from portal.models.user import User

MAX_FOLLOWUP_NOTE = 2000


class FollowUp(Base):
    """A task due on a date: for one user, or for anyone of the assigned organisation.

    ``assignee_organisation_id`` is always set (a user's follow-up belongs to their
    organisation too, so colleagues can cover absences); ``done_at`` marks it done.
    """

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_org_due", "assignee_organisation_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(MAX_FOLLOWUP_NOTE), default="")
    assignee_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    assignee_organisation: Mapped[Organisation] = relationship()
    assignee_user: Mapped[User | None] = relationship(foreign_keys=[assignee_user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
