"""The PDF worker process: WeasyPrint with a URL fetcher that reads nothing but our own files.

Runs in a child process started by ``portal.services.pdf`` (multiprocessing "spawn"),
under an address-space limit, and serves render jobs over a pipe until it is told to
stop, or killed because a job took too long.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import resource
from pathlib import Path

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

SCHEME = "portal:"
STATIC_PREFIX = SCHEME + "static/"
RESOURCE_PREFIX = SCHEME + "resource/"
STATIC_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
DATA_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
# PDF/UA-1: tagged PDF with a structure tree, document language and title (see pdf.py).
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}
_STATIC_PATH = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*$")
_DATA_URL = re.compile(r"^data:([a-z]+/[a-z0-9.+-]+);base64,(.*)$", re.I | re.S)
_WARM_UP = '<html lang="de"><title>x</title><p>Warm-up ÄÖÜß Ж ሰላም سلام</p></html>'


class FetchRefused(ValueError):
    """The document asked for something outside the portal's own files."""


class SafeFetcher(URLFetcher):
    """Serves ``portal:static/<path>`` from the static folder and ``portal:resource/<name>``
    from the job's resources (the organisation logo); refuses everything else.

    No ``file:``, no network (http, https, ftp, …), no ``data:`` except raster images,
    no path outside the static folder (``..``, symlinks out, odd characters).
    """

    def __init__(self, static_root: Path, resources: dict[str, tuple[bytes, str]] | None = None):
        super().__init__(allowed_protocols=())
        self.static_root = Path(static_root).resolve()
        self.resources = resources or {}

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """The response for ``url``; FetchRefused when it is not ours to serve."""
        if url.startswith(STATIC_PREFIX):
            body, media_type = self._static(url.removeprefix(STATIC_PREFIX))
        elif url.startswith(RESOURCE_PREFIX) and url.removeprefix(RESOURCE_PREFIX) in (
            self.resources
        ):
            body, media_type = self.resources[url.removeprefix(RESOURCE_PREFIX)]
        elif url[:5].lower() == "data:":
            body, media_type = _data_image(url)
        else:
            raise FetchRefused(f"refused: {url[:80]}")
        return URLFetcherResponse(url, body, {"Content-Type": media_type})

    def _static(self, relative: str) -> tuple[bytes, str]:
        media_type = STATIC_TYPES.get(Path(relative).suffix.lower())
        if not _STATIC_PATH.match(relative) or ".." in relative or media_type is None:
            raise FetchRefused(f"refused static path: {relative[:80]}")
        path = (self.static_root / relative).resolve()
        if not path.is_relative_to(self.static_root) or not path.is_file():
            raise FetchRefused(f"no such static file: {relative[:80]}")
        return path.read_bytes(), media_type


def _data_image(url: str) -> tuple[bytes, str]:
    """A base64 ``data:`` URL of a PNG, JPEG or GIF image; FetchRefused for anything else."""
    match = _DATA_URL.match(url)
    if not match or match.group(1).lower() not in DATA_IMAGE_TYPES:
        raise FetchRefused("refused data: URL (only base64 PNG, JPEG and GIF images)")
    try:
        return base64.b64decode(match.group(2), validate=True), match.group(1).lower()
    except binascii.Error as exc:
        raise FetchRefused("invalid base64 in data: URL") from exc


def render(html: str, static_root: Path, resources: dict[str, tuple[bytes, str]] | None = None):
    """The PDF (bytes) of ``html``, with only our own files fetchable; no base URL."""
    fetcher = SafeFetcher(static_root, resources)
    return HTML(string=html, url_fetcher=fetcher).write_pdf(**PDF_OPTIONS)


def serve(connection, static_root: str, memory_bytes: int) -> None:
    """The worker loop: receive ``(html, resources)``, answer ``("ok", pdf)`` or ``("error", why)``.

    ``None`` ends the loop. The memory limit applies to this process only.
    """
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    root = Path(static_root)
    render(_WARM_UP, root)  # loads fonts and caches once, before the first real job
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        html, resources = job
        try:
            answer = ("ok", render(html, root, resources))
        except MemoryError:
            answer = ("error", "memory limit reached")
        except Exception as exc:  # any failure of one document must not end the worker
            log.warning("PDF rendering failed: %s", exc)
            answer = ("error", f"{type(exc).__name__}: {exc}"[:300])
        connection.send(answer)
