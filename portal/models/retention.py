"""Deletion certificates: proof of what was deleted, when and why, without personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

DELETION_REASONS = ("retention", "erasure_request")


class DeletionCertificate(Base):
    """One purge run's record: counts and internal ids only, no names or contents."""

    __tablename__ = "deletion_certificates"
    __table_args__ = (CheckConstraint(f"reason IN {DELETION_REASONS!r}", name="reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))
    # Plain ids: the user may be gone by the time anyone reads the certificate.
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    case_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
