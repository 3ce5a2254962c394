"""API: documents, versions, contents, diff and restore."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from portal.blueprints.api import api_user, bp, list_page
from portal.blueprints.api.operations import Body, File, ListOf, json_object, operation
from portal.blueprints.api.schemas import documents as schemas
from portal.blueprints.api.schemas.documents import (
    AgreementCreate,
    AgreementVersion,
    AssessmentCreate,
    AssessmentVersion,
    Diff,
    DiffQuery,
    DocumentSummary,
    FileUpload,
    FileVersionUpload,
    NoteCreate,
    NoteVersion,
    Restore,
    Version,
    form_data,
)
from portal.blueprints.api.serialise import org_ref, version_json, version_summary_json
from portal.db import db_session
from portal.downloads import send_version_file
from portal.http import client_ip, requester, save_context
from portal.models import Case, Document, DocumentVersion
from portal.pipeline import with_case, with_document
from portal.services import access, documents, filetypes
from portal.services.diff import diff_versions
from portal.services.documents import Content, Upload
from portal.services.errors import ValidationFailed
from portal.services.validation import Shape, validated

CREATE_MODELS = {"note": NoteCreate, "assessment": AssessmentCreate, "agreement": AgreementCreate}
VERSION_MODELS = {
    "note": NoteVersion,
    "assessment": AssessmentVersion,
    "agreement": AgreementVersion,
    "file": FileVersionUpload,
}
# What a version carries, by type: a note's text, a form's fields, an upload's file.
CONTENT_FIELDS = ("text", "fields", "file")
HOSTILE = "The body is not a JSON object, or the file is hostile"
CONFLICT = "`base_version` is stale: someone saved a newer version; `error.fields.current_version`"


@bp.get("/cases/<int:case_id>/documents")
@with_case()
@operation(
    "The case's documents you may see",
    paged=True,
    returns=ListOf(DocumentSummary),
    errors={400: "Invalid paging parameters"},
)
def list_documents(case: Case):
    """The case's documents the user may see, a page at a time."""
    rows = documents.list_documents(db_session(), api_user(), case)
    return list_page([document for document, _version in rows], document_summary_json)


@bp.post("/cases/<int:case_id>/documents")
@with_case(access.EDIT_CASE)
@operation(
    "Add a document with version 1",
    description="JSON for notes, assessments and agreements; "
    "multipart/form-data with the file in `file` for uploads.",
    body=Body(json=(NoteCreate, AssessmentCreate, AgreementCreate), multipart=FileUpload),
    returns=schemas.Document,
    status=201,
    returns_description="The new document",
    errors={400: HOSTILE, 403: None, 413: None, 415: None},
)
def create_document(case: Case):
    """A new document with version 1: JSON for notes and forms, multipart for files."""
    body = _new_document()
    document = documents.create_document(
        db_session(), api_user(), case, doc_type=getattr(body, "type", "file"),
        title=body.title or "", content=_content(body), ctx=save_context(),
        visibility=body.visibility, categories=getattr(body, "data_categories", None),
        ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_document", document_id=document.id)
    return document_json(document), 201, {"Location": location}


@bp.get("/documents/<int:document_id>")
@operation("A document with its version list", returns=schemas.Document)
def get_document(document_id: int):
    """A document with its version list (newest first)."""
    return document_json(documents.read_document(db_session(), requester(), document_id))


@bp.post("/documents/<int:document_id>/versions")
@with_document(access.READ_DOCUMENT)
@operation(
    "Save a new version",
    description="The body of the document's type plus `base_version`, the version the edit "
    "started from. `type` and `visibility` cannot change. Each organisation edits its own "
    "documents; an agreement is edited by the case's lead organisation, and an organisation "
    "responsible for some of its goals may save a version that changes only those goals' "
    "statuses (403 otherwise).",
    body=Body(json=(NoteVersion, AssessmentVersion, AgreementVersion), multipart=FileVersionUpload),
    returns=Version,
    status=201,
    returns_description="The new version",
    errors={400: HOSTILE, 403: None, 409: CONFLICT, 413: None, 415: None},
)
def add_version(document: Document):
    """Save a new version on top of ``base_version``; 409 when that is stale. (A partner
    responsible for a goal of an agreement may save a version changing its status.)"""
    documents.require_editable(db_session(), api_user(), document)  # 403 before the body
    body = _new_version(document)
    version = documents.add_version(
        db_session(), api_user(), document, base_version=body.base_version,
        content=_content(body), ctx=save_context(), title=body.title,
        categories=getattr(body, "data_categories", None), comment=body.comment or "",
        ip=client_ip(),
    )  # fmt: skip
    return _created_version(document, version)


@bp.get("/documents/<int:document_id>/versions/<int:number>")
@operation("One version with its text, fields or file description", returns=Version)
def get_version(document_id: int, number: int):
    """One version: metadata and its text, fields or file description."""
    _document, version = documents.read_version(db_session(), requester(), document_id, number)
    return version_json(version)


@bp.get("/documents/<int:document_id>/versions/<int:number>/content")
@operation(
    "The stored file of an upload version",
    description="Always `Content-Disposition: attachment` with `filename` and `filename*` "
    "(RFC 6266/5987), `X-Content-Type-Options: nosniff`.",
    returns=File(filetypes.SUPPORTED, headers=("Content-Disposition", "ETag")),
    returns_description="The file, with its detected media type",
    errors={404: "Unknown, not visible, or not an upload"},
)
def get_version_content(document_id: int, number: int):
    """The stored file of an upload version, always as a download."""
    version = documents.read_file(db_session(), requester(), document_id, number)
    return send_version_file(current_app.extensions["portal.blobs"], version)


@bp.get("/documents/<int:document_id>/diff")
@operation(
    "What changed between two versions",
    query=DiffQuery,
    returns=Diff,
    errors={400: "`from` or `to` missing or not a number; `error.fields`"},
    operation_id="diffVersions",
)
def diff(document_id: int, query: DiffQuery):
    """What changed between versions ``from`` and ``to``."""
    document, old, new = documents.read_diff(
        db_session(), requester(), document_id, query.from_, query.to
    )
    return diff_json(document, old, new)


@bp.post("/documents/<int:document_id>/restore")
@with_document(access.EDIT_DOCUMENT)
@operation(
    "Restore an old version as a new version",
    body=Restore,
    returns=Version,
    status=201,
    returns_description="The new version, equal to the old one",
    errors={403: None, 404: "Unknown or invisible document, or no such version", 409: CONFLICT},
    operation_id="restoreVersion",
)
def restore(document: Document, body: Restore):
    """Add a new version equal to an old one."""
    version = documents.restore(
        db_session(), api_user(), document, number=body.version,
        base_version=body.base_version, ip=client_ip(),
    )  # fmt: skip
    return _created_version(document, version)


# ---------------------------------------------------------------- bodies


def _data() -> dict:
    """The request's fields: from multipart/form-data (with ``file``) or a JSON object."""
    if request.mimetype == "multipart/form-data":
        return form_data(request.form, request.files)
    return json_object()


def _new_document() -> Shape:
    """The body of a new document: an upload (multipart), else the model of its ``type``."""
    if request.mimetype == "multipart/form-data":
        return validated(FileUpload, form_data(request.form, request.files))
    data = json_object()
    kind = data.get("type")
    if kind == "file":  # files come as multipart: as JSON, one lacks its file
        return validated(FileUpload, {name: v for name, v in data.items() if name != "type"})
    if not isinstance(kind, str) or kind not in CREATE_MODELS:
        code = "required" if kind is None else "invalid"
        raise ValidationFailed(_l("Please check the input."), fields={"type": code})
    return validated(CREATE_MODELS[kind], data)


def _new_version(document: Document) -> Shape:
    """The body of a new version of ``document``, whose type and visibility cannot change."""
    data = _data()
    kept = {"type": document.type, "visibility": document.visibility}
    changed = {
        name: "cannot_change"
        for name, value in kept.items()
        if name in data and data[name] != value
    }
    others = {name: value for name, value in data.items() if name not in changed}
    try:
        body = validated(VERSION_MODELS[document.type], others)
    except ValidationFailed as failed:
        raise ValidationFailed(
            failed.message, fields=_foreign_first({**failed.fields, **changed})
        ) from None
    if changed:
        raise ValidationFailed(_l("Please check the input."), fields=changed)
    return body


def _foreign_first(errors: dict[str, str]) -> dict[str, str]:
    """``errors`` of a version body; one with another type's content (a file for a note) is
    told that alone, not also that its own content is missing."""
    foreign = any(errors.get(name) == "unknown_field" for name in CONTENT_FIELDS)
    missing = {name for name in CONTENT_FIELDS if errors.get(name) == "required"}
    return {path: code for path, code in errors.items() if not (foreign and path in missing)}


def _content(body: Shape) -> Content:
    """What the save carries: the note's text, the form's fields or the uploaded file."""
    fields = getattr(body, "fields", None)
    upload = getattr(body, "file", None)
    return Content(
        text=getattr(body, "text", None),
        fields=None if fields is None else fields.model_dump(),
        upload=None if upload is None else Upload(upload.stream, upload.filename or ""),
    )


def _created_version(document: Document, version: DocumentVersion):
    location = url_for("api.get_version", document_id=document.id, number=version.number)
    return version_json(version), 201, {"Location": location}


# ---------------------------------------------------------------- serialisers


def document_summary_json(document: Document) -> dict:
    """A document as the case folder lists it."""
    return {
        "id": document.id,
        "case_id": document.case_id,
        "type": document.type,
        "title": document.title,
        "visibility": document.visibility,
        "current_version": document.current_version,
        "data_categories": documents.categories_shown(api_user(), document),
        "author_organisation": org_ref(document.author_organisation),
        "created_at": document.created_at,
        "updated_at": document.updated_at,
    }


def document_json(document: Document) -> dict:
    """A document with its versions, newest first."""
    versions = documents.list_versions(db_session(), document)
    summary = document_summary_json(document)
    return {**summary, "versions": [version_summary_json(v) for v in versions]}


def diff_json(document: Document, old: DocumentVersion, new: DocumentVersion) -> dict:
    """A version diff: text lines or field changes, plus title and file changes."""
    result = diff_versions(old, new)
    file = None
    if result.file is not None:
        file = {"from": result.file["old"], "to": result.file["new"]}
    return {
        "document_id": document.id,
        "from": result.old,
        "to": result.new,
        "kind": result.kind,
        "unchanged": result.unchanged,
        "title": None if result.title is None else {"from": result.title[0], "to": result.title[1]},
        "lines": [{"op": row.op, "old": row.old, "new": row.new} for row in result.rows],
        "changes": [{"field": c.field, "from": c.old, "to": c.new} for c in result.changes],
        "file": file,
    }
