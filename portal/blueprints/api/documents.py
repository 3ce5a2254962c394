"""API: documents, versions, contents, diff and restore."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from portal.blueprints.api import (
    api_user,
    bp,
    check,
    json_object,
    list_page,
    unknown_fields,
    whole_number,
)
from portal.blueprints.api.serialise import org_ref, version_json, version_summary_json
from portal.db import db_session
from portal.downloads import send_version_file
from portal.http import client_ip, requester, save_context
from portal.models import Case, Document, DocumentVersion
from portal.pipeline import with_case, with_document
from portal.services import access, documents
from portal.services.diff import diff_versions
from portal.services.documents import Content, Upload
from portal.services.errors import InvalidInput

COMMON_FIELDS = {"title", "visibility"}
CONTENT_FIELDS = {
    "note": {"text"},
    "assessment": {"fields"},
    "agreement": {"fields"},
    "file": set(),
}
VERSION_FIELDS = {"base_version", "comment"}
RESTORE_FIELDS = {"version", "base_version"}


@bp.get("/cases/<int:case_id>/documents")
@with_case()
def list_documents(case: Case):
    """The case's documents the user may see, a page at a time."""
    rows = documents.list_documents(db_session(), api_user(), case)
    return list_page([document for document, _version in rows], document_summary_json)


@bp.post("/cases/<int:case_id>/documents")
@with_case(access.EDIT_CASE)
def create_document(case: Case):
    """A new document with version 1: JSON for notes and forms, multipart for files."""
    user = api_user()
    data, multipart = _body()
    if multipart:
        doc_type = "file"
        errors = unknown_fields(data, COMMON_FIELDS | {"file"})
    else:
        doc_type = data.get("type")
        known = isinstance(doc_type, str) and doc_type in CONTENT_FIELDS
        content_fields = CONTENT_FIELDS[doc_type] if known else {"text", "fields"}
        errors = unknown_fields(data, COMMON_FIELDS | {"type"} | content_fields)
        if not known:
            errors["type"] = "required" if doc_type is None else "invalid"
    visibility = data.get("visibility", "case")
    if not isinstance(visibility, str):
        errors["visibility"] = "invalid"
    content = _content(doc_type, data, errors)
    check(errors)
    document = documents.create_document(
        db_session(), user, case, doc_type=doc_type, title=data.get("title") or "",
        content=content, ctx=save_context(), visibility=visibility, ip=client_ip(),
    )  # fmt: skip
    location = url_for("api.get_document", document_id=document.id)
    return document_json(document), 201, {"Location": location}


@bp.get("/documents/<int:document_id>")
def get_document(document_id: int):
    """A document with its version list (newest first)."""
    return document_json(documents.read_document(db_session(), requester(), document_id))


@bp.post("/documents/<int:document_id>/versions")
@with_document(access.EDIT_DOCUMENT)
def add_version(document: Document):
    """Save a new version on top of ``base_version``; 409 when that is stale."""
    user = api_user()
    data, multipart = _body()
    allowed = COMMON_FIELDS | VERSION_FIELDS | CONTENT_FIELDS[document.type]
    if not multipart:
        allowed.add("type")
    elif document.type == "file":
        allowed.add("file")
    errors = unknown_fields(data, allowed)
    for name in ("type", "visibility"):
        if name in data and data[name] != getattr(document, name):
            errors[name] = "cannot_change"
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        errors["comment"] = "must_be_text"
    base_version = _integer(data, "base_version", errors, multipart)
    content = _content(document.type, data, errors)
    check(errors)
    version = documents.add_version(
        db_session(), user, document, base_version=base_version, content=content,
        ctx=save_context(), title=data.get("title"), comment=comment, ip=client_ip(),
    )  # fmt: skip
    return _created_version(document, version)


@bp.get("/documents/<int:document_id>/versions/<int:number>")
def get_version(document_id: int, number: int):
    """One version: metadata and its text, fields or file description."""
    _document, version = documents.read_version(db_session(), requester(), document_id, number)
    return version_json(version)


@bp.get("/documents/<int:document_id>/versions/<int:number>/content")
def get_version_content(document_id: int, number: int):
    """The stored file of an upload version, always as a download."""
    version = documents.read_file(db_session(), requester(), document_id, number)
    return send_version_file(current_app.extensions["portal.blobs"], version)


@bp.get("/documents/<int:document_id>/diff")
def diff(document_id: int):
    """What changed between versions ``from`` and ``to``."""
    errors: dict[str, str] = {}
    numbers = {}
    for name in ("from", "to"):
        value = request.args.get(name, "")
        numbers[name] = whole_number(value)
        if numbers[name] is None:
            errors[name] = "must_be_integer" if value else "required"
    if errors:
        raise InvalidInput(_l("Please check the input."), fields=errors)
    document, old, new = documents.read_diff(
        db_session(), requester(), document_id, numbers["from"], numbers["to"]
    )
    return diff_json(document, old, new)


@bp.post("/documents/<int:document_id>/restore")
@with_document(access.EDIT_DOCUMENT)
def restore(document: Document):
    """Add a new version equal to an old one."""
    user = api_user()
    data = json_object()
    errors = unknown_fields(data, RESTORE_FIELDS)
    number = _integer(data, "version", errors, multipart=False)
    base_version = _integer(data, "base_version", errors, multipart=False)
    check(errors)
    version = documents.restore(
        db_session(), user, document, number=number, base_version=base_version, ip=client_ip()
    )
    return _created_version(document, version)


# ---------------------------------------------------------------- parsing


def _body() -> tuple[dict, bool]:
    """The request's fields: from multipart/form-data (with ``file``) or a JSON object."""
    if request.mimetype == "multipart/form-data":
        data: dict = dict(request.form.items())
        for name, upload in request.files.items():
            data[name] = upload
        return data, True
    return json_object(), False


def _content(doc_type: object, data: dict, errors: dict[str, str]) -> Content:
    """What the save carries for ``doc_type``; type errors go into ``errors``."""
    if data.get("title") is not None and not isinstance(data["title"], str):
        errors["title"] = "must_be_text"
    if doc_type == "note":
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            errors["text"] = "must_be_text"
        return Content(text=text)
    if doc_type in ("assessment", "agreement"):
        return Content(fields=data.get("fields"))
    upload = data.get("file")
    if doc_type != "file" or upload is None:
        return Content()
    if not isinstance(upload, FileStorage):
        errors["file"] = "must_be_file"
        return Content()
    return Content(upload=Upload(upload.stream, upload.filename or ""))


def _integer(data: dict, name: str, errors: dict[str, str], multipart: bool) -> int | None:
    """A required whole number (a digit string in multipart forms)."""
    value = data.get(name)
    if multipart and value == "":
        value = None
    elif multipart and isinstance(value, str) and whole_number(value) is not None:
        value = whole_number(value)
    if value is None:
        errors[name] = "required"
    elif not isinstance(value, int) or isinstance(value, bool):
        errors[name] = "must_be_integer"
    else:
        return value
    return None


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
        "author_organisation": org_ref(document.author_organisation),
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
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
