"""Plain text from stored files, for search. Never raises: unreadable files are marked."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from portal.services import filetypes

MAX_CHARS = 2_000_000
ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extraction:
    """The outcome: ``status`` is ``done``, ``none`` (no text layer) or ``unreadable``."""

    text: str
    status: str
    note: str = ""


def extract(path: Path, media_type: str) -> Extraction:
    """Extract the text of the file at ``path``; failures become ``unreadable`` with a note."""
    reader = _READERS.get(media_type)
    if reader is None:
        return Extraction("", "none", "no text layer")
    try:
        text = reader(path)
    except _Unreadable as exc:
        return Extraction("", "unreadable", str(exc))
    except Exception as exc:  # a damaged file must not lose the upload
        log.info("text extraction failed for %s: %s", media_type, exc)
        return Extraction("", "unreadable", f"damaged file: {type(exc).__name__}")
    text = _normalise(text)[:MAX_CHARS]
    if not text:
        return Extraction("", "none", "no text layer (scanned image?)")
    return Extraction(text, "done")


class _Unreadable(Exception):
    """A known reason why the text cannot be read."""


def _pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise _Unreadable("encrypted PDF (password protected)")
        except _Unreadable:
            raise
        except Exception as exc:
            raise _Unreadable("encrypted PDF (password protected)") from exc
    try:
        pages = list(reader.pages)
    except Exception as exc:  # broken page tree: find the pages one by one
        log.info("PDF page tree broken (%s); scanning objects", exc)
        pages = _pages_by_scanning(reader)
    parts: list[str] = []
    size = 0
    for page in pages:
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # one broken page should not hide the others
            log.info("PDF page not readable: %s", exc)
            continue
        parts.append(text)
        size += len(text)
        if size > MAX_CHARS:
            break
    return "\n\n".join(parts)


def _pages_by_scanning(reader) -> list:
    """Every object that says it is a page, in file order: best effort for damaged PDFs."""
    from pypdf import PageObject
    from pypdf.generic import DictionaryObject, IndirectObject

    pages = []
    for generation, objects in reader.xref.items():
        for number in sorted(objects):
            reference = IndirectObject(number, generation, reader)
            try:
                obj = reader.get_object(reference)
            except Exception:  # noqa: S112  (an unreadable object: keep the others)
                continue
            if isinstance(obj, DictionaryObject) and obj.get("/Type") == "/Page":
                page = PageObject(reader, reference)
                page.update(obj)
                pages.append(page)
    return pages


def _docx(path: Path) -> str:
    import docx

    with zipfile.ZipFile(path) as archive:
        filetypes.check_archive(archive)
    document = docx.Document(str(path))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _odt(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        filetypes.check_archive(archive)
        root = ElementTree.fromstring(archive.read("content.xml"))
    blocks = []
    for element in root.iter():
        if element.tag in (f"{{{ODF_TEXT}}}p", f"{{{ODF_TEXT}}}h"):
            blocks.append(_odf_text(element))
    return "\n".join(blocks)


def _odf_text(element) -> str:
    """The text of an ODF paragraph, with spaces, tabs and line breaks restored."""
    out = [element.text or ""]
    for child in element:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "s":
            out.append(" " * int(child.get(f"{{{ODF_TEXT}}}c", "1")))
        elif tag == "tab":
            out.append("\t")
        elif tag == "line-break":
            out.append("\n")
        else:
            out.append(_odf_text(child))
        out.append(child.tail or "")
    return "".join(out)


def _txt(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return handle.read(MAX_CHARS)


def _normalise(text: str) -> str:
    """Drop NULs and trailing blanks; keep paragraphs."""
    lines = (line.rstrip() for line in text.replace("\x00", "").splitlines())
    return "\n".join(lines).strip()


_READERS = {
    filetypes.PDF: _pdf,
    filetypes.DOCX: _docx,
    filetypes.ODT: _odt,
    filetypes.TXT: _txt,
}
