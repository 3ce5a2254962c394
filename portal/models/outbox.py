"""The transactional outbox (work to do after a commit, written in the same transaction),
and the schedule of recurring maintenance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow


class OutboxJob(Base):
    """A pending job (e.g. extract the text of a version). Deleted once done."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_not_before_id", "not_before", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ScheduledTask(Base):
    """A recurring task (``maintenance``) and when it is next due: the worker that moves
    ``next_run_at`` on runs it, so that of several workers exactly one does."""

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
