"""Organisations: the agencies of a KIM network."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

ORGANISATION_KINDS = (
    "kommune",
    "kreis",
    "wohlfahrtsverband",
    "jobcenter",
    "ehrenamt",
    "sonstige",
)


class Organisation(Base):
    """An agency: city or district administration, welfare association, Jobcenter, volunteers."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(f"kind IN {ORGANISATION_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text, default="")
    # Letterhead of printed agreements: a contact line and a logo (a blob, PNG or JPEG).
    contact: Mapped[str] = mapped_column(String(300), default="", server_default="")
    logo_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"
