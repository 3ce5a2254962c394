"""Persons: the newly arrived people whose cases the network looks after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

GENDERS = ("female", "male", "diverse", "unspecified")


class Person(Base):
    """A client. The birth date may be partial: year only, year and month, or complete."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint(f"gender IN {GENDERS!r}", name="gender"),
        CheckConstraint("birth_month IS NULL OR birth_month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("birth_day IS NULL OR birth_day BETWEEN 1 AND 31", name="day"),
        CheckConstraint("birth_day IS NULL OR birth_month IS NOT NULL", name="day_needs_month"),
        CheckConstraint("birth_month IS NULL OR birth_year IS NOT NULL", name="month_needs_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    birth_month: Mapped[int | None] = mapped_column(Integer)
    birth_day: Mapped[int | None] = mapped_column(Integer)
    nationality: Mapped[str] = mapped_column(String(100), default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    gender: Mapped[str] = mapped_column(String(16), default="unspecified")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def birth_date(self) -> str | None:
        """ISO 8601 with reduced precision: ``1990``, ``1990-05`` or ``1990-05-17``."""
        if self.birth_year is None:
            return None
        parts = [f"{self.birth_year:04d}"]
        if self.birth_month is not None:
            parts.append(f"{self.birth_month:02d}")
        if self.birth_day is not None:
            parts.append(f"{self.birth_day:02d}")
        return "-".join(parts)
