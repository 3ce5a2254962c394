"""Consents (Einwilligung / Schweigepflichtentbindung): the person releases a case to agencies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.models import categories
from portal.models.base import Base, UTCDateTime, local_today, utcnow
from portal.models.org import Organisation
from portal.models.user import User

DATA_CATEGORIES = categories.DATA_CATEGORIES

consent_organisations = Table(
    "consent_organisations",
    Base.metadata,
    Column("consent_id", ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), primary_key=True, index=True),
)


class Consent(Base):
    """One signed release: which organisations, for what, from when until when.

    Revoking keeps the row (with who and when): the history of what was allowed
    is part of the record.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # as recorded
    # What it releases, as bits: the recorded categories, or without any recorded
    # ``categories.RELEASED_BY_DEFAULT``. Set with ``data_categories``.
    released_bits: Mapped[int] = mapped_column(
        Integer, default=categories.to_bits(categories.RELEASED_BY_DEFAULT)
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    form_blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    form_filename: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The day in Germany it was recorded: it "starts later" when valid_from is after it.
    recorded_on: Mapped[date] = mapped_column(Date, default=local_today)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_note: Mapped[str] = mapped_column(Text, default="")

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=consent_organisations, lazy="selectin", order_by=Organisation.name
    )
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @validates("data_categories")
    def _release(self, _key: str, names: list[str]) -> list[str]:
        names = categories.ordered(names or ())
        self.released_bits = categories.to_bits(names or categories.RELEASED_BY_DEFAULT)
        return names

    @property
    def released(self) -> list[str]:
        """The categories it releases (all but health when none were recorded)."""
        return categories.from_bits(self.released_bits)

    def covers(self, category_bits: int) -> bool:
        """Whether it releases every category of ``category_bits``."""
        return categories.covers(self.released_bits, category_bits)

    @hybrid_property
    def starts_later(self) -> bool:
        """Recorded to come into force on a later day (else in force from its recording)."""
        return self.valid_from > self.recorded_on

    def may_apply(self, today: date) -> bool:
        """In force on ``today`` or on a later day: not revoked, not expired."""
        return self.revoked_at is None and (self.valid_until is None or today <= self.valid_until)

    def is_current(self, today: date) -> bool:
        """In force on ``today``: not revoked, started, not expired."""
        return (
            self.revoked_at is None
            and self.valid_from <= today
            and (self.valid_until is None or today <= self.valid_until)
        )
