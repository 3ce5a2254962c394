"""The audit trail: append-only events chained by keyed hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
HASH_VERSION = 2


class AuditEvent(Base):
    """Who did what to which object, when. Never updated or deleted by the portal.

    User, organisation and case are plain ids, not foreign keys: the trail must
    outlive the objects it speaks of (deleted cases leave their events behind).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_case_id_id", "case_id", "id"),
        Index("ix_audit_events_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer)
    # The client's address, for the admin's security view; removed after the configured
    # days (``audit.prune_addresses``). The chain hashes ``ip_digest`` instead (a keyed
    # digest of it), so that removing the address leaves every hash verifiable.
    ip: Mapped[str] = mapped_column(String(64), default="")
    ip_digest: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # 1: the hash covers the address itself (events before migration 0010, until
    # ``audit.reseal``); 2: it covers ``ip_digest``.
    hash_version: Mapped[int] = mapped_column(Integer, default=HASH_VERSION)


class AuditChainHead(Base):
    """The single row that serialises appends and remembers the newest link."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # HMAC of length and last hash: whoever edits the database without the audit key
    # cannot move the head back over deleted events (``audit.head_seal``).
    seal: Mapped[str] = mapped_column(String(64), default="")
