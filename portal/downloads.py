"""Sending stored files and printouts safely: bytes by hash from the database row, never by a
user's path."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, send_file
from flask_babel import gettext as _

from portal.labels import document_type_label
from portal.models import DocumentVersion
from portal.services import filetypes
from portal.services.printouts import PrintedPdf
from portal.services.storage import BlobStore

# Browsers may show these themselves; everything else is always a download.
INLINE_TYPES = {filetypes.PDF, filetypes.PNG, filetypes.JPEG}


def send_version_file(
    store: BlobStore, version: DocumentVersion, *, inline: bool = False
) -> Response:
    """The file of an upload version, with an RFC 6266/5987 Content-Disposition."""
    blob = version.blob
    disposition = "inline" if inline and blob.media_type in INLINE_TYPES else "attachment"
    response = send_file(
        store.path(blob.sha256),
        mimetype=blob.media_type,
        conditional=True,
        etag=blob.sha256,
        max_age=0,
    )
    response.headers["Content-Disposition"] = content_disposition(disposition, version.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # A served PDF or image must not run anything, even when opened inline.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def content_disposition(disposition: str, filename: str | None) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266, 5987)."""
    filename = filename or "datei"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in filename)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pdf_response(printed: PrintedPdf, *, inline: bool = True) -> Response:
    """The PDF, shown by the browser (ready to print) or as a download; never cached."""
    response = Response(printed.data, mimetype="application/pdf")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = content_disposition(
        disposition, printout_filename(printed)
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A PDF viewer in the browser must not run anything from the document.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def printout_filename(printed: PrintedPdf) -> str:
    """``Integrationsvereinbarung KIM-2026-00042 v3.pdf``, ``Fallübersicht KIM-2026-00042.pdf``."""
    if printed.kind == "case_summary":
        return f"{_('Case summary')} {printed.reference}.pdf"
    return f"{document_type_label(printed.kind)} {printed.reference} v{printed.version}.pdf"
