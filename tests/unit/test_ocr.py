"""Scans: text recognition with Tesseract, and extraction in a child with limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from portal.services import extract, filetypes, ocr

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
needs_ocr = pytest.mark.skipif(
    not ocr.available(), reason="Tesseract with German (tesseract-ocr-deu) is not installed"
)


def _scan(path: Path) -> Path:
    """A 'scanned' page: black German text on white, saved as PNG or image-only PDF."""
    font = ImageFont.truetype(str(FONT), 40) if FONT.exists() else ImageFont.load_default()
    image = Image.new("L", (1400, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.text((40, 60), "Bescheinigung über die Teilnahme", font=font, fill=0)
    draw.text((40, 150), "am Integrationskurs in Gütersloh", font=font, fill=0)
    image.save(path)
    return path


@needs_ocr
@pytest.mark.parametrize("suffix", [".png", ".pdf", ".tif"])
def test_scanned_text_is_recognised(tmp_path, suffix):
    path = _scan(tmp_path / f"scan{suffix}")
    result = extract.extract_isolated(path, filetypes.detect(path))
    assert result.status == "done" and result.note == "text recognised by OCR"
    assert "Integrationskurs" in result.text and "Gütersloh" in result.text


@needs_ocr
def test_tiny_fax_image_has_no_text(tmp_path):
    from tests.conftest import REALDOCS

    result = extract.extract(REALDOCS / "imagemagick-CCITTFaxDecode.pdf", filetypes.PDF)
    assert (result.status, result.note) == ("none", "no text recognised in the scan")


def test_text_layer_wins_over_ocr(tmp_path):
    path = tmp_path / "brief.txt"
    path.write_text("Ganz normaler Text")
    assert extract.extract_isolated(path, filetypes.TXT).text == "Ganz normaler Text"


def test_a_file_that_takes_too_long_is_marked_not_waited_for(tmp_path):
    path = _scan(tmp_path / "scan.png")
    result = extract.extract_isolated(path, filetypes.PNG, timeout=0.05)
    assert (result.status, result.note) == ("unreadable", "reading took too long")


def test_a_file_that_needs_too_much_memory_is_marked():
    from tests.conftest import REALDOCS

    path = REALDOCS / "GeoTopo-komprimiert.pdf"  # its 117 pages need more than 32 MB
    result = extract.extract_isolated(path, filetypes.PDF, memory_mb=32)
    assert (result.status, result.note) == ("unreadable", "file too large or complex to read")
