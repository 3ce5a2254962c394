"""Reading documents and versions, each read of content audited for the requester."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    Case,
    Document,
    DocumentVersion,
    User,
)
from portal.services import access, audit
from portal.services.errors import NotFound


def get_document(
    session: Session, user: User, document_id: int, action: str = access.READ_DOCUMENT
) -> Document:
    """The document, if ``user`` may do ``action`` on it; NotFound otherwise."""
    document = session.get(Document, document_id)
    access.require_visible(user, action, document)
    return document


def read_document(session: Session, who: audit.Requester, document_id: int) -> Document:
    """A document ``who`` may read, for its version list; the view is audited."""
    document = get_document(session, who.user, document_id)
    _record_read(session, who, "view", document)
    return document


def read_version(
    session: Session, who: audit.Requester, document_id: int, number: int | None = None
) -> tuple[Document, DocumentVersion]:
    """Version ``number`` (None: the current one) of a document ``who`` may read; audited."""
    document = get_document(session, who.user, document_id)
    version = get_version(session, document, _or(number, document.current_version))
    _record_read(session, who, "view", document, version=version.number)
    return document, version


def read_file(
    session: Session, who: audit.Requester, document_id: int, number: int
) -> DocumentVersion:
    """The upload version ``number`` whose file ``who`` downloads (NotFound if it has no
    file); the download is audited."""
    document = get_document(session, who.user, document_id)
    version = get_version(session, document, number)
    if version.blob is None:
        raise NotFound()
    _record_read(session, who, "download", document, version=number)
    return version


def read_diff(
    session: Session,
    who: audit.Requester,
    document_id: int,
    old_number: int | None,
    new_number: int | None,
) -> tuple[Document, DocumentVersion, DocumentVersion]:
    """Two versions of a document ``who`` may read, to compare (by default the current one
    and the one before it); audited as one view."""
    document = get_document(session, who.user, document_id)
    new = get_version(session, document, _or(new_number, document.current_version))
    old = get_version(session, document, _or(old_number, max(new.number - 1, 1)))
    _record_read(session, who, "view", document, diff=[old.number, new.number])
    return document, old, new


def _or(number: int | None, default: int) -> int:
    return default if number is None else number


def _record_read(session: Session, who, action: str, document: Document, **detail) -> None:
    audit.record_read(session, who, action, "document", document.id, document.case_id, **detail)


def list_documents(
    session: Session, user: User, case: Case
) -> list[tuple[Document, DocumentVersion]]:
    """The case's documents ``user`` may see, each with its current version (one query)."""
    access.require_visible(user, access.READ_CASE, case)
    rows = session.execute(
        select(Document, DocumentVersion)
        .join(Case, Case.id == Document.case_id)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id)
            & (DocumentVersion.number == Document.current_version),
        )
        .where(Document.case_id == case.id, access.document_filter(user))
        .order_by(Document.type, Document.updated_at.desc(), Document.id)
    )
    return [(document, version) for document, version in rows]


def list_versions(session: Session, document: Document) -> list[DocumentVersion]:
    """All versions of a document, newest first."""
    return list(
        session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == document.id)
            .order_by(DocumentVersion.number.desc())
        )
    )


def get_version(session: Session, document: Document, number: int) -> DocumentVersion:
    """Version ``number`` of a document (already access-checked); NotFound otherwise."""
    version = session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.number == number
        )
    )
    if version is None:
        raise NotFound()
    return version


def content_hash(version: DocumentVersion) -> str:
    """SHA-256 (hex) of what a version says: title, text, fields and file; printed on PDFs.

    Two versions with equal content have equal hashes, so a printout can be matched to
    the version it came from, and a signed paper to the printout.
    """
    content = {
        "title": version.title,
        "text": version.text,
        "fields": version.fields,
        "file": version.blob_sha256,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
