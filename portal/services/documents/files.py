"""Files of documents (and consent forms): safe names, storage, text extraction."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import metrics
from portal.db import insert_or_ignore
from portal.models import (
    Blob,
    DocumentVersion,
    utcnow,
)
from portal.services import document_fields, filetypes, outbox
from portal.services.search import INDEX_DOCUMENT_JOB
from portal.services.storage import BlobStore

EXTRACT_JOB = "extract"


# Bidirectional controls can make "gpj.exe" look like "exe.jpg"; they never belong in a name.
_INVISIBLE = (
    {"\u200e", "\u200f", "\u061c"}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
)
_FORBIDDEN = set('"<>:|?*\\/')


@dataclass
class Upload:
    """An uploaded file as the web layer hands it over: a stream and the claimed name."""

    stream: BinaryIO
    filename: str


@dataclass(frozen=True)
class SaveContext:
    """Where uploads go and how large they may be; for which case (``for_case``: its
    erasure removes what a failed upload left in the store)."""

    store: BlobStore
    max_upload_bytes: int
    case_id: int | None = None

    def for_case(self, case_id: int) -> SaveContext:
        return replace(self, case_id=case_id)

    @property
    def owner(self) -> str:
        return "" if self.case_id is None else case_owner(self.case_id)


def case_owner(case_id: int) -> str:
    """The blob store's name for a case's uploads (``BlobStore.release_owner``)."""
    return f"case-{case_id}"


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


def store_file(
    session: Session, upload: Upload, ctx: SaveContext, accepted: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Stream an upload into the blob store, checked by content; return (sha256, safe name).

    ``accepted`` narrows the supported types (e.g. scans: PDF and images).
    """
    staged = ctx.store.stage(upload.stream, ctx.max_upload_bytes, ctx.owner)
    try:
        media_type = filetypes.detect(staged.path)
        if accepted and media_type not in accepted:
            names = ", ".join(filetypes.EXTENSIONS[t][1:].upper() for t in accepted)
            raise filetypes.UnsupportedFile(
                _l("This file type is not accepted here. Allowed: %(types)s.", types=names)
            )
        ctx.store.commit(staged, ctx.owner)
    finally:
        staged.discard()
    blob = {"sha256": staged.sha256, "size": staged.size, "media_type": media_type,
            "created_at": utcnow()}  # fmt: skip
    insert_or_ignore(session, Blob, blob, ["sha256"])
    return staged.sha256, sanitise_filename(upload.filename, media_type)


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
    metrics.EXTRACTIONS.labels(result.status).inc()
    version.extraction_note = result.note[:300]
    outbox.enqueue(session, INDEX_DOCUMENT_JOB, version.document_id)
