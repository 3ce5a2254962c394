"""Documents and their versions: create, save a new version, restore; read (``reading``);
files (``files``).

Every save adds an immutable DocumentVersion. A save names the version it
started from; if another save came first, VersionConflict is raised and
nothing is overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import (
    DOCUMENT_TYPES,
    VISIBILITIES,
    Case,
    Document,
    DocumentVersion,
    User,
    utcnow,
)
from portal.services import access, audit, data_categories, document_fields, goals, outbox
from portal.services.documents.files import (
    EXTRACT_JOB,
    SaveContext,
    Upload,
    case_owner,
    extract_version_text,
    sanitise_filename,
    store_file,
)
from portal.services.documents.reading import (
    PartialAssessment,
    as_read,
    categories_shown,
    content_hash,
    get_document,
    get_version,
    list_documents,
    list_versions,
    read_diff,
    read_document,
    read_file,
    read_version,
)
from portal.services.errors import Conflict, ValidationFailed
from portal.services.search import INDEX_DOCUMENT_JOB
from portal.services.validation import MAX_INTEGER

MAX_NOTE_CHARS = 200_000
MAX_TITLE = 300
__all__ = [
    "EXTRACT_JOB",
    "MAX_NOTE_CHARS",
    "MAX_TITLE",
    "Content",
    "PartialAssessment",
    "SaveContext",
    "Upload",
    "VersionConflict",
    "add_version",
    "append_version",
    "as_read",
    "case_owner",
    "categories_shown",
    "content_hash",
    "create_document",
    "extract_version_text",
    "get_document",
    "get_version",
    "list_documents",
    "list_versions",
    "read_diff",
    "read_document",
    "read_file",
    "read_version",
    "restore",
    "sanitise_filename",
    "store_file",
]  # fmt: skip


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
class Content:
    """What one save carries: note text, form fields or a file, by document type."""

    text: str | None = None
    fields: dict | None = None
    upload: Upload | None = None


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
    categories: object = None,
    comment: str = "",
    ip: str = "",
) -> Document:
    """Add a document with version 1 to the case folder. ``categories``: the data
    categories it touches (None: those proposed from its type, title and the case's focus
    areas; an assessment's follow from its sections)."""
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.EDIT_CASE, case)
    errors = {}
    if doc_type not in DOCUMENT_TYPES:
        errors["type"] = "invalid"
    if visibility not in VISIBILITIES:
        errors["visibility"] = "invalid"
    if errors:
        raise ValidationFailed(_l("Please check the input."), fields=errors)
    version = _new_version(session, actor, doc_type, title, content, ctx.for_case(case.id), comment)
    if categories is None and doc_type != "assessment":
        categories = data_categories.propose(
            doc_type, version.title, case.focus_areas, version.fields
        )
    document = Document(
        case_id=case.id,
        type=doc_type,
        title=version.title,
        visibility=visibility,
        data_categories=data_categories.chosen(doc_type, categories, version.fields),
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
    _after_save(session, actor, case, document, version, "create", ip, recategorised=True)
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
    categories: object = None,
    comment: str = "",
    ip: str = "",
) -> DocumentVersion:
    """Save a new version on top of ``base_version``; VersionConflict if that is stale.
    ``categories``: the document's data categories from now on (None: unchanged)."""
    current = require_editable(session, actor, document)
    version = _new_version(
        session,
        actor,
        document.type,
        title or document.title,
        content,
        ctx.for_case(document.case_id),
        comment,
    )
    if document.type == "agreement":
        goals.require_change_rights(actor, document, current, version.title, version.fields)
        version.fields = goals.carry_signature(current, version.title, version.fields)
    if categories is None and document.type != "assessment":
        categories = document.data_categories
    names = data_categories.chosen(document.type, categories, version.fields)
    if data_categories.merged(document, names) != document.data_categories:
        access.require(actor, access.EDIT_DOCUMENT, document)  # the editor's, not a goal's
    return append_version(session, actor, document, version, base_version, "update", ip, names)


def require_editable(session: Session, actor: User, document: Document) -> DocumentVersion | None:
    """AccessDenied (NotFound when invisible) unless ``actor`` may save some new version of
    ``document``: its editor, or for an agreement also whoever may set a goal's status
    (what exactly they save is checked with the content). The agreement's current version."""
    access.require_visible(actor, access.READ_DOCUMENT, document)
    if document.type != "agreement":
        access.require(actor, access.EDIT_DOCUMENT, document)
        return None
    current = get_version(session, document, document.current_version)
    if not goals.may_change(actor, document, current):
        access.require(actor, access.EDIT_DOCUMENT, document)
    return current


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
    keep = None if document.type == "assessment" else document.data_categories
    names = data_categories.chosen(document.type, keep, version.fields)
    return append_version(session, actor, document, version, base_version, "restore", ip, names)


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


def append_version(
    session: Session,
    actor: User,
    document: Document,
    version: DocumentVersion,
    base_version: int,
    action: str,
    ip: str,
    categories: list[str],
) -> DocumentVersion:
    """Give ``version`` the number after ``base_version``, if nobody else has taken it, and
    the document its data ``categories`` (``data_categories.chosen``) from then on."""
    if not isinstance(base_version, int) or isinstance(base_version, bool):
        raise ValidationFailed(_l("Please check the input."), fields={"base_version": "required"})
    if not 0 < base_version < MAX_INTEGER:  # none has it (nor can have a next): not current
        session.refresh(document)
        raise VersionConflict(document.current_version)
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
    recategorised = data_categories.assign(document, categories)
    version.document_id = document.id
    version.number = base_version + 1
    session.add(version)
    try:
        session.flush()
    except IntegrityError as exc:  # the unique (document, number) is the last line of defence
        raise VersionConflict(base_version + 1) from exc
    _after_save(session, actor, document.case, document, version, action, ip, recategorised)
    return version


def _after_save(
    session: Session,
    actor: User,
    case: Case,
    document: Document,
    version: DocumentVersion,
    action: str,
    ip: str,
    recategorised: bool = False,
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
        detail={
            "version": version.number,
            "restored_from": version.restored_from,
            **({"data_categories": document.data_categories} if recategorised else {}),
        },
    )
