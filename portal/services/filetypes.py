"""Recognising uploads by their content (magic bytes), and refusing hostile archives.

The filename and the browser's claimed type are never trusted: an HTML page or a
program named ``bescheid.pdf`` is refused, whatever it is called.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path, PurePosixPath

from flask_babel import lazy_gettext as _l

from portal.services.errors import PortalError

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
TXT = "text/plain"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
SUPPORTED = (PDF, DOCX, ODT, TXT, JPEG, PNG, TIFF)
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", ODT: ".odt", TXT: ".txt", JPEG: ".jpg", PNG: ".png",
              TIFF: ".tif"}  # fmt: skip

# Office files are zip archives: limits that stop zip bombs before anything unpacks them.
MAX_ZIP_ENTRIES = 2_000
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024
CHUNK = 1024 * 1024
SNIFF_BYTES = 8192
_MARKUP = re.compile(rb"^\s*(<!doctype|<html|<script|<\?xml|<svg|<head|<body|<iframe)", re.I)


class UnsupportedFile(PortalError):
    """The content is not one of the accepted types."""

    code = "unsupported_type"
    status = 415


class HostileFile(PortalError):
    """The file is of an accepted type but built to harm (zip bomb, path tricks)."""

    code = "invalid_upload"
    status = 400


def detect(path: Path) -> str:
    """The media type of the file at ``path`` from its content; UnsupportedFile otherwise."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return _office_type(path)
    if _is_plain_text(path, head):
        return TXT
    raise UnsupportedFile(_unsupported_message())


def _unsupported_message():
    return _l("This file type is not accepted. Allowed: PDF, DOCX, ODT, TXT, JPEG, PNG, TIFF.")


def _is_plain_text(path: Path, head: bytes) -> bool:
    """UTF-8 text without NUL bytes that is not markup (HTML or SVG would run scripts)."""
    if b"\x00" in head or _MARKUP.match(head.lstrip(b"\xef\xbb\xbf")):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                if b"\x00" in chunk:
                    return False
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _office_type(path: Path) -> str:
    """DOCX or ODT, after checking the archive is safe to open."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive)
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODT.encode():
                return ODT
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except zipfile.BadZipFile as exc:
        raise UnsupportedFile(_l("The file is a damaged archive.")) from exc
    raise UnsupportedFile(_unsupported_message())


def check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse archives with too many entries, too much unpacked data or odd paths."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise HostileFile(_l("The document contains too many parts."))
    total = 0
    for entry in entries:
        name = PurePosixPath(entry.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in entry.filename:
            raise HostileFile(_l("The document contains invalid paths."))
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_CHECK_FROM and ratio > MAX_ZIP_RATIO:
            raise HostileFile(_l("The document unpacks to an implausible size (zip bomb)."))
    if total > MAX_ZIP_UNCOMPRESSED:
        raise HostileFile(_l("The document unpacks to an implausible size (zip bomb)."))
