"""Plain text from stored files, for search. Never raises: unreadable files are marked."""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from portal.services import filetypes, ocr

MAX_CHARS = 2_000_000
TOO_LARGE = "file too large or complex to read"
ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extraction:
    """The outcome: ``status`` is ``done``, ``none`` (no text layer) or ``unreadable``."""

    text: str
    status: str
    note: str = ""


def extract(path: Path, media_type: str) -> Extraction:
    """Extract the text of the file at ``path``; failures become ``unreadable`` with a note.

    Images, and PDFs without a text layer, go through OCR where Tesseract is installed.
    """
    reader = _READERS.get(media_type)
    try:
        text = reader(path) if reader else ""
        note = ""
        if not _normalise(text) and media_type in OCR_TYPES:
            text, note = _recognise(path, media_type)
    except _Unreadable as exc:
        return Extraction("", "unreadable", str(exc))
    except MemoryError:  # the child's memory limit: a bomb, or simply too much
        return Extraction("", "unreadable", TOO_LARGE)
    except Exception as exc:  # a damaged file must not lose the upload
        log.info("text extraction failed for %s: %s", media_type, exc)
        return Extraction("", "unreadable", f"damaged file: {type(exc).__name__}")
    text = _normalise(text)[:MAX_CHARS]
    if not text:
        return Extraction("", "none", note or "no text layer (scanned image?)")
    return Extraction(text, "done", note)


def extract_isolated(
    path: Path, media_type: str, *, timeout: float = 300, memory_mb: int = 1536
) -> Extraction:
    """``extract`` in a child process with a time and memory limit.

    A hostile or pathological file (a PDF that loops, an image bomb) then costs at
    most ``timeout`` seconds and ``memory_mb`` of memory, and is marked unreadable.
    """
    # The child sets its own memory limit (preexec_fn is unsafe with threads running).
    command = [sys.executable, "-m", "portal.services.extract", str(path), media_type,
               str(memory_mb * 2**20)]  # fmt: skip
    try:
        # Our own interpreter and arguments, no shell: nothing from the user is executed.
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Extraction("", "unreadable", "reading took too long")
    if result.returncode != 0:
        log.warning("extraction child failed (%s): %s", result.returncode, result.stderr[-500:])
        return Extraction("", "unreadable", TOO_LARGE)
    return Extraction(**json.loads(result.stdout))


def _recognise(path: Path, media_type: str) -> tuple[str, str]:
    """OCR of an image, or of the page images of a PDF without text."""
    if not ocr.available():
        return "", "scan without text; text recognition (Tesseract) is not installed"
    if media_type == filetypes.PDF:
        from pypdf import PdfReader

        texts = []
        for page in PdfReader(path, strict=False).pages:
            for image in page.images:
                texts.append(ocr.pil_image_text(image.image))
        text = "\n\n".join(texts)
    else:
        text = ocr.image_text(path)
    return text, "text recognised by OCR" if text.strip() else "no text recognised in the scan"


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


OCR_TYPES = (filetypes.PDF, filetypes.PNG, filetypes.JPEG, filetypes.TIFF)

_READERS = {
    filetypes.PDF: _pdf,
    filetypes.DOCX: _docx,
    filetypes.ODT: _odt,
    filetypes.TXT: _txt,
}


if __name__ == "__main__":  # the child process of extract_isolated
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    result = extract(Path(sys.argv[1]), sys.argv[2])
    outcome = {"text": result.text, "status": result.status, "note": result.note}
    sys.stdout.write(json.dumps(outcome))
