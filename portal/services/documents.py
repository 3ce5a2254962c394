"""Documents and their versions: create, save a new version, restore, read.

Every save adds an immutable DocumentVersion. A save names the version it
started from; if another save came first, VersionConflict is raised and
nothing is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import insert_or_ignore
from portal.models import (
    DOCUMENT_TYPES,
    VISIBILITIES,
    Blob,
    Case,
    Document,
    DocumentVersion,
    User,
    utcnow,
)
from portal.services import access, audit, document_fields, filetypes, goals, outbox
from portal.services.errors import Conflict, NotFound, ValidationFailed
from portal.services.search import INDEX_DOCUMENT_JOB
from portal.services.storage import BlobStore

EXTRACT_JOB = "extract"
MAX_NOTE_CHARS = 200_000
MAX_TITLE = 300
# Bidirectional controls can make "gpj.exe" look like "exe.jpg"; they never belong in a name.
_INVISIBLE = (
    {"\u200e", "\u200f", "\u061c"}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
)
_FORBIDDEN = set('"<>:|?*\\/')


class VersionConflict(Conflict):
    """Someone saved a newer version since the edit began."""

    code = "version_conflict"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            _l(
                "Someone saved a newer version (%(n)d) while you were editing. Nothing was"
                " overwritten.",
                n=current_version,
            ),
            fields={"current_version": current_version},
        )
        self.current_version = current_version


@dataclass
class Upload:
    """An uploaded file as the web layer hands it over: a stream and the claimed name."""

    stream: BinaryIO
    filename: str


@dataclass
class Content:
    """What one save carries: note text, form fields or a file, by document type."""

    text: str | None = None
    fields: dict | None = None
    upload: Upload | None = None


@dataclass
class SaveContext:
    """Where uploads go and how large they may be."""

    store: BlobStore
    max_upload_bytes: int


def create_document(
    session: Session,
    actor: User,
    case: Case,
    *,
    doc_type: str,
    title: str,
    content: Content,
    ctx: SaveContext,
    visibility: str = "case",
    comment: str = "",
    ip: str = "",
) -> Document:
    """Add a document with version 1 to the case folder."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.EDIT_CASE, case)
    errors = {}
    if doc_type not in DOCUMENT_TYPES:
        errors["type"] = "invalid"
    if visibility not in VISIBILITIES:
        errors["visibility"] = "invalid"
    if errors:
        raise ValidationFailed(_l("Please check the input."), fields=errors)
    version = _new_version(session, actor, doc_type, title, content, ctx, comment)
    document = Document(
        case_id=case.id,
        type=doc_type,
        title=version.title,
        visibility=visibility,
        author_organisation_id=actor.organisation_id,
        created_by_id=actor.id,
        current_version=1,
    )
    session.add(document)
    session.flush()
    version.document_id = document.id
    version.number = 1
    session.add(version)
    session.flush()
    _after_save(session, actor, case, document, version, "create", ip)
    return document


def add_version(
    session: Session,
    actor: User,
    document: Document,
    *,
    base_version: int,
    content: Content,
    ctx: SaveContext,
    title: str | None = None,
    comment: str = "",
    ip: str = "",
) -> DocumentVersion:
    """Save a new version on top of ``base_version``; VersionConflict if that is stale."""
    access.require_visible(actor, access.READ_DOCUMENT, document)
    access.require(actor, access.EDIT_DOCUMENT, document)
    version = _new_version(
        session, actor, document.type, title or document.title, content, ctx, comment
    )
    if document.type == "agreement":
        current = get_version(session, document, document.current_version)
        version.fields = goals.carry_signature(current, version.title, version.fields)
    return append_version(session, actor, document, version, base_version, "update", ip)


def restore(
    session: Session,
    actor: User,
    document: Document,
    *,
    number: int,
    base_version: int,
    ip: str = "",
) -> DocumentVersion:
    """Add a new version equal to version ``number``."""
    access.require_visible(actor, access.READ_DOCUMENT, document)
    access.require(actor, access.EDIT_DOCUMENT, document)
    old = get_version(session, document, number)
    version = DocumentVersion(
        author_id=actor.id,
        organisation_id=actor.organisation_id,
        comment="",
        title=old.title,
        text=old.text,
        fields=old.fields,
        blob_sha256=old.blob_sha256,
        filename=old.filename,
        extracted_text=old.extracted_text,
        extraction=old.extraction,
        extraction_note=old.extraction_note,
        restored_from=number,
    )
    return append_version(session, actor, document, version, base_version, "restore", ip)


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


def sanitise_filename(name: str, media_type: str) -> str:
    """A harmless display name: no path, no control or direction characters, sane length.

    The extension is corrected to the detected type, so a PNG called ``x.pdf``
    downloads as ``x.pdf.png``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = "".join(
        c
        for c in name
        if c not in _INVISIBLE and c not in _FORBIDDEN and unicodedata.category(c)[0] != "C"
    )
    name = " ".join(name.split()).strip(". ") or "datei"
    extension = filetypes.EXTENSIONS[media_type]
    if (
        not name.lower().endswith(extension)
        and not (extension == ".jpg" and name.lower().endswith(".jpeg"))
        and not (extension == ".tif" and name.lower().endswith(".tiff"))
    ):
        name += extension
    stem, dot, suffix = name.rpartition(".")
    return (stem[: 200 - len(suffix) - 1] + dot + suffix) if len(name) > 200 else name


def extract_version_text(session: Session, store: BlobStore, version_id: int) -> None:
    """Outbox job: extract the text of an uploaded version (slow for large PDFs).

    A signed agreement scan keeps its fields' text beside what the scan says.
    """
    from portal.services import extract

    version = session.get(DocumentVersion, version_id)
    if version is None or version.blob is None or version.extraction != "pending":
        return  # purged meanwhile, or done already
    result = extract.extract_isolated(store.path(version.blob_sha256), version.blob.media_type)
    fields_text = document_fields.as_text(version.fields) if version.fields else ""
    version.extracted_text = "\n".join(text for text in (fields_text, result.text) if text)
    version.extraction = result.status
    version.extraction_note = result.note[:300]
    outbox.enqueue(session, INDEX_DOCUMENT_JOB, version.document_id)


def _new_version(
    session: Session,
    actor: User,
    doc_type: str,
    title: str,
    content: Content,
    ctx: SaveContext,
    comment: str,
) -> DocumentVersion:
    """A version (not yet numbered) for ``content``, after validating it for the type."""
    title = " ".join((title or "").split())
    if not title and content.upload is None:
        raise ValidationFailed(
            _l("Please give the document a title."), fields={"title": "required"}
        )
    version = DocumentVersion(
        author_id=actor.id,
        organisation_id=actor.organisation_id,
        comment=" ".join((comment or "").split())[:500],
        title=title[:MAX_TITLE],
    )
    if doc_type == "note":
        text = content.text
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed(_l("The note is empty."), fields={"text": "required"})
        if len(text) > MAX_NOTE_CHARS:
            raise ValidationFailed(_l("The note is too long."), fields={"text": "too_long"})
        version.text = text.replace("\r\n", "\n")
        version.extracted_text = version.text
        version.extraction = "done"
    elif doc_type in ("assessment", "agreement"):
        version.fields = document_fields.validate(doc_type, content.fields)
        version.extracted_text = document_fields.as_text(version.fields)
        version.extraction = "done"
    elif doc_type == "file":
        if content.upload is None:
            raise ValidationFailed(_l("Please choose a file."), fields={"file": "required"})
        _store_upload(session, version, content.upload, ctx)
        version.title = version.title or version.filename
    return version


def _store_upload(
    session: Session, version: DocumentVersion, upload: Upload, ctx: SaveContext
) -> None:
    """Point the version at the stored upload; its text is extracted later (outbox)."""
    version.blob_sha256, version.filename = store_file(session, upload, ctx)
    version.extraction = "pending"


def store_file(
    session: Session, upload: Upload, ctx: SaveContext, accepted: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Stream an upload into the blob store, checked by content; return (sha256, safe name).

    ``accepted`` narrows the supported types (e.g. scans: PDF and images).
    """
    staged = ctx.store.stage(upload.stream, ctx.max_upload_bytes)
    try:
        media_type = filetypes.detect(staged.path)
        if accepted and media_type not in accepted:
            names = ", ".join(filetypes.EXTENSIONS[t][1:].upper() for t in accepted)
            raise filetypes.UnsupportedFile(
                _l("This file type is not accepted here. Allowed: %(types)s.", types=names)
            )
        ctx.store.commit(staged)
    finally:
        staged.discard()
    blob = {"sha256": staged.sha256, "size": staged.size, "media_type": media_type,
            "created_at": utcnow()}  # fmt: skip
    insert_or_ignore(session, Blob, blob, ["sha256"])
    return staged.sha256, sanitise_filename(upload.filename, media_type)


def append_version(
    session: Session,
    actor: User,
    document: Document,
    version: DocumentVersion,
    base_version: int,
    action: str,
    ip: str,
) -> DocumentVersion:
    """Give ``version`` the number after ``base_version``, if nobody else has taken it."""
    if not isinstance(base_version, int) or isinstance(base_version, bool):
        raise ValidationFailed(_l("Please check the input."), fields={"base_version": "required"})
    now = utcnow()
    claimed = session.execute(
        update(Document)
        .where(Document.id == document.id, Document.current_version == base_version)
        .values(current_version=base_version + 1, updated_at=now, title=version.title)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(document)
        raise VersionConflict(document.current_version)
    session.refresh(document)
    version.document_id = document.id
    version.number = base_version + 1
    session.add(version)
    try:
        session.flush()
    except IntegrityError as exc:  # the unique (document, number) is the last line of defence
        raise VersionConflict(base_version + 1) from exc
    _after_save(session, actor, document.case, document, version, action, ip)
    return version


def _after_save(
    session: Session,
    actor: User,
    case: Case,
    document: Document,
    version: DocumentVersion,
    action: str,
    ip: str,
) -> None:
    case.updated_at = utcnow()
    if version.extraction == "pending":
        outbox.enqueue(session, EXTRACT_JOB, version.id)
    outbox.enqueue(session, INDEX_DOCUMENT_JOB, document.id)
    audit.record(
        session,
        "create" if action == "create" else "update",
        actor=actor,
        object_type="document",
        object_id=document.id,
        case_id=case.id,
        ip=ip,
        detail={"version": version.number, "restored_from": version.restored_from},
    )
