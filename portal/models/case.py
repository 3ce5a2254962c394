"""Cases (Fälle): one per person and network, moving through the KIM phases."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.org import Organisation
from portal.models.person import Person
from portal.models.user import User

if TYPE_CHECKING:
    from portal.models.consent import Consent

PHASES = (
    "erstberatung",
    "bestandsaufnahme",
    "integrationsvereinbarung",
    "monitoring",
    "abgeschlossen",
)
FOCUS_AREAS = (
    "sprache",
    "arbeit",
    "bildung",
    "wohnen",
    "gesundheit",
    "aufenthalt",
    "familie",
    "gleichstellung",
    "ehrenamt",
    "finanzen",
    "sonstiges",
)


class Case(Base):
    """A person's case, led by one organisation; its documents form the case folder."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"phase IN {PHASES!r}", name="phase"),
        Index("ix_cases_lead_organisation_id_phase", "lead_organisation_id", "phase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    lead_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    lead_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    phase: Mapped[str] = mapped_column(String(32), default="erstberatung")
    focus_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(lazy="joined")
    lead_organisation: Mapped[Organisation] = relationship(lazy="joined")
    lead_user: Mapped[User | None] = relationship(foreign_keys=[lead_user_id])
    consents: Mapped[list[Consent]] = relationship(
        lazy="selectin", order_by="Consent.id", passive_deletes=True
    )


class PhaseChange(Base):
    """One step of a case's phase history: who moved it from where to where, and when."""

    __tablename__ = "phase_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_phase: Mapped[str | None] = mapped_column(String(32))
    to_phase: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class CaseNumberCounter(Base):
    """The last case number handed out per year; its row lock makes references unique."""

    __tablename__ = "case_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
