"""The PDF renderer: what the URL fetcher refuses, and the worker's time limit."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from portal.services import pdf
from portal.services.pdf_worker import FetchRefused, SafeFetcher
from portal.services.printouts import breakable

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def fetcher(tmp_path) -> SafeFetcher:
    """A fetcher over a small static folder, with a logo resource, and a secret beside it."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "pdf.css").write_text("p { color: black }")
    (tmp_path / "secret.css").write_text("secret")
    (static / "css" / "link.css").symlink_to(tmp_path / "secret.css")
    return SafeFetcher(static, {"logo": (PNG_1PX, "image/png")})


def test_fetcher_serves_static_files_and_resources(fetcher):
    css = fetcher.fetch("portal:static/css/pdf.css")
    assert css.read() == b"p { color: black }" and css.content_type == "text/css"
    logo = fetcher.fetch("portal:resource/logo")
    assert logo.read() == PNG_1PX and logo.content_type == "image/png"
    image = fetcher.fetch("data:image/png;base64," + base64.b64encode(PNG_1PX).decode())
    assert image.read() == PNG_1PX


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:5432/",
        "https://example.org/logo.png",
        "ftp://example.org/x.css",
        "//example.org/x.css",
        "data:text/html;base64,PHNjcmlwdD4=",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "data:image/png,notbase64",
        "portal:static/../../secret.css",
        "portal:static/css/../../secret.css",
        "portal:static/css/link.css",  # a symlink out of the folder
        "portal:static/css/missing.css",
        "portal:static//etc/passwd",
        "portal:static/css/pdf.css%00.png",
        "portal:resource/other",
        "portal:resource/../logo",
        "relative.css",
    ],
)
def test_fetcher_refuses_everything_else(fetcher, url):
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)


def test_rendering_fetches_nothing_from_files_or_the_network(tmp_path):
    html = (
        '<html lang="de"><head><title>t</title>'
        '<link rel="stylesheet" href="file:///etc/passwd">'
        '<link rel="attachment" href="file:///etc/passwd"></head><body>'
        '<p>Sichtbar</p><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
        '<a rel="attachment" href="file:///etc/hostname">Anhang</a></body></html>'
    )

    reader = PdfReader(io.BytesIO(pdf.render_pdf(html)))

    text = reader.pages[0].extract_text()
    assert "Sichtbar" in text and "root:" not in text
    assert not reader.attachments
    assert not reader.pages[0]["/Resources"].get("/XObject")  # no image was embedded


def test_overlong_tokens_get_break_opportunities_and_words_do_not():
    assert breakable("Aufenthaltserlaubnisverlängerungsantrag stellen") == (
        "Aufenthaltserlaubnisverlängerungsantrag stellen"
    )
    broken = breakable("x" * 100)
    assert broken.replace("\u200b", "") == "x" * 100 and broken.count("\u200b") == 4
    assert breakable(None) == ""


def test_a_render_over_the_time_limit_kills_the_worker_and_the_next_one_starts(monkeypatch):
    pool = pdf.WorkerPool(1)
    try:
        pool.render("<p>warm</p>", {}, 60)
        worker = pool.workers[0]
        stuck_pid = worker.process.pid
        limits = Path(f"/proc/{stuck_pid}/limits").read_text()
        assert str(pdf.MEMORY_BYTES) in next(
            line for line in limits.splitlines() if line.startswith("Max address space")
        )
        slow = "<table>" + "<tr><td>Zeile</td></tr>" * 3000 + "</table>"

        with pytest.raises(pdf.PdfFailed) as failure:
            pool.render(slow, {}, 0.05)

        assert failure.value.status == 503
        assert "PDF" in str(failure.value.message)
        assert worker.process is None
        with pytest.raises(ProcessLookupError):
            os.kill(stuck_pid, 0)  # killed and reaped
        assert pool.render("<p>wieder da</p>", {}, 60).startswith(b"%PDF-")
        assert worker.process.pid != stuck_pid
    finally:
        pool.close()
