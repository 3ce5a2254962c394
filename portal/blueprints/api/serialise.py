"""JSON of the objects that several API modules answer with: references, versions."""

from __future__ import annotations

from portal.models import DocumentVersion, Organisation, User


def org_ref(org: Organisation | None) -> dict | None:
    """``{id, name}`` of an organisation."""
    return None if org is None else {"id": org.id, "name": org.name}


def user_ref(user: User | None) -> dict | None:
    """``{id, name}`` of a user."""
    return None if user is None else {"id": user.id, "name": user.name}


def version_summary_json(version: DocumentVersion) -> dict:
    """Who saved a version, when, and why."""
    return {
        "number": version.number,
        "title": version.title,
        "created_at": version.created_at,
        "author": user_ref(version.author),
        "organisation": org_ref(version.organisation),
        "comment": version.comment,
        "restored_from": version.restored_from,
        "signed_from": version.signed_from,
    }


def version_json(version: DocumentVersion) -> dict:
    """A version with its contents: note text, form fields or the file's description."""
    blob = version.blob
    file = None
    if blob is not None:
        file = {
            "filename": version.filename,
            "media_type": blob.media_type,
            "size": blob.size,
            "sha256": blob.sha256,
            "extraction": version.extraction,
            "extraction_note": version.extraction_note,
        }
    return {
        **version_summary_json(version),
        "document_id": version.document_id,
        "text": version.text,
        "fields": version.fields,
        "file": file,
        "extracted_text": version.extracted_text,
    }
