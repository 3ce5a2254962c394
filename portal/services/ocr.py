"""Text recognition (OCR) of scans with Tesseract and its German language data.

Used for images and for PDFs without a text layer. Tesseract is a Debian package
(`tesseract-ocr`, `tesseract-ocr-deu`); where it is missing, scans are stored
without text and marked so.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 60
LANGUAGES = "deu+eng"
MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not recognised
MIN_SIDE = 32  # icons and rules carry no text worth recognising


@functools.cache
def _tesseract() -> str | None:
    return shutil.which("tesseract")


@functools.cache
def available() -> bool:
    """True when Tesseract with German is installed."""
    if _tesseract() is None:
        return False
    listed = subprocess.run(  # noqa: S603  (fixed arguments, no shell)
        [_tesseract(), "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    )
    return "deu" in (listed.stdout + listed.stderr).split()


def image_text(path: Path) -> str:
    """The text Tesseract reads in the image at ``path`` (a stored blob, not a user path)."""
    result = subprocess.run(  # noqa: S603  (fixed arguments, no shell)
        [_tesseract(), str(path), "stdout", "-l", LANGUAGES],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    return result.stdout


def pil_image_text(image) -> str:
    """OCR of a Pillow image (e.g. a page image taken from a scanned PDF)."""
    width, height = image.size
    if width * height > MAX_PIXELS or min(width, height) < MIN_SIDE:
        return ""
    with tempfile.TemporaryDirectory(prefix="kim-ocr-") as folder:
        path = Path(folder) / "page.png"
        image.save(path)
        return image_text(path)
