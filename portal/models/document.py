"""Documents in a case folder, their immutable versions, and the stored file contents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.models import categories
from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.case import Case
from portal.models.org import Organisation
from portal.models.user import User

DOCUMENT_TYPES = ("note", "assessment", "agreement", "file")
VISIBILITIES = ("case", "internal")
EXTRACTION_STATES = ("none", "pending", "done", "unreadable")


class Document(Base):
    """A versioned document; ``current_version`` is the number of its newest version."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"type IN {DOCUMENT_TYPES!r}", name="type"),
        CheckConstraint(f"visibility IN {VISIBILITIES!r}", name="visibility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    visibility: Mapped[str] = mapped_column(String(16), default="case")
    author_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # The data categories it touches (all its versions): a partner reads it only under a
    # consent releasing each of them; none is general case information. An assessment's
    # are those of the sections any version filled in. ``category_bits``: the same as bits,
    # set with ``data_categories``.
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_bits: Mapped[int] = mapped_column(Integer, default=0)

    case: Mapped[Case] = relationship()
    author_organisation: Mapped[Organisation] = relationship(lazy="joined")

    @validates("data_categories")
    def _categorise(self, _key: str, names: list[str]) -> list[str]:
        names = categories.ordered(names or ())
        self.category_bits = categories.to_bits(names)
        return names


class Blob(Base):
    """Stored file bytes, addressed by SHA-256; identical uploads share one blob."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentVersion(Base):
    """One immutable state of a document. Saving never changes a version: it adds one."""

    __tablename__ = "document_versions"
    __table_args__ = (
        # Two saves from the same base both claim the next number: one of them loses.
        UniqueConstraint("document_id", "number", name="uq_document_versions_document_number"),
        CheckConstraint(f"extraction IN {EXTRACTION_STATES!r}", name="extraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(String(500), default="")
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict | None] = mapped_column(JSON)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    extracted_text: Mapped[str] = mapped_column(Text, default="")
    extraction: Mapped[str] = mapped_column(String(16), default="none")
    extraction_note: Mapped[str] = mapped_column(String(300), default="")
    restored_from: Mapped[int | None] = mapped_column(Integer)
    # An agreement version carrying the signed scan of the printed version ``signed_from``
    # (its fields equal that version's, with ``signed_on``); the scan is the version's blob.
    signed_from: Mapped[int | None] = mapped_column(Integer)

    author: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    blob: Mapped[Blob | None] = relationship(lazy="joined")
