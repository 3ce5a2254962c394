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
from portal.services import access, audit, document_fields
from portal.services.errors import NotFound
from portal.services.validation import MAX_INTEGER


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
    return document, as_read(who.user, document, version)


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
    return document, as_read(who.user, document, old), as_read(who.user, document, new)


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
    return [(document, as_read(user, document, version)) for document, version in rows]


class PartialAssessment:
    """An assessment version as a reader without every release sees it: the sections of
    the categories released to their organisation, the others (``withheld``, whatever they
    hold) empty. Read-only; every other attribute is the version's."""

    def __init__(self, version: DocumentVersion, released: set[str]) -> None:
        self._version = version
        self.withheld = [
            name
            for name, category in document_fields.ASSESSMENT_SECTIONS.items()
            if category is not None and category not in released
        ]
        self.fields = document_fields.only_sections(version.fields, released)
        self.extracted_text = document_fields.as_text(self.fields)

    def __getattr__(self, name: str):
        return getattr(self._version, name)


def as_read(user: User, document: Document, version: DocumentVersion):
    """``version`` as ``user`` (who may read ``document``) reads it: an assessment only in
    the sections released to them (``access.sections_shown``)."""
    if document.type != "assessment":
        return version
    released = access.sections_shown(user, document)
    return version if released is None else PartialAssessment(version, released)


def categories_shown(user: User, document: Document) -> list[str]:
    """The document's data categories as ``user`` may learn them: of an assessment read in
    part, only the released ones (the others would tell what its hidden sections hold)."""
    released = access.sections_shown(user, document) if document.type == "assessment" else None
    return [c for c in document.data_categories if released is None or c in released]


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
    if not isinstance(number, int) or not 0 < number <= MAX_INTEGER:
        raise NotFound()  # no version has it (and the database's integers end before)
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
