"""PDF rendering with WeasyPrint: locked down, time- and memory-limited, in warm workers.

Variant: **PDF/UA-1** (``pdf/ua-1``), a tagged PDF with structure tree, language and
title. Municipal bodies must publish accessible documents (BITV 2.0), caseworkers and
persons use screen readers, and the printout is a working copy that can be made again
at any time from the immutable version it names (version number and content hash).
The archival record is the signed scan uploaded afterwards, not this file, so PDF/A-3b's
archival guarantees would buy nothing that PDF/UA does not, and cost accessibility.

Safety: templates are autoescaped and never carry user CSS; the worker's URL fetcher
(``pdf_worker.SafeFetcher``) serves only ``static/`` and the job's own resources (the
logo); rendering runs in a separate process with an address-space limit and a time
limit, and a worker that overruns is killed and replaced. Fonts come from the machine.

The worker pool is per server process: workers start on first use (or ``warm_up()``),
import WeasyPrint once and are reused for every request after that.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal import metrics
from portal.config import RESOURCES
from portal.services.errors import PortalError

TIMEOUT_SECONDS = 30.0
MEMORY_BYTES = 1024**3
POOL_SIZE = 2
STATIC_ROOT = RESOURCES / "static"
log = logging.getLogger(__name__)


class PdfFailed(PortalError):
    """The PDF could not be made (took too long, too large, or the renderer failed)."""

    code = "pdf_failed"
    status = 503

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or _l(
                "The PDF could not be created. Please try again in a moment; if it keeps"
                " failing, the document may be too large to print."
            )
        )


@dataclass
class Resource:
    """A file the document may embed by name (``portal:resource/<name>``), e.g. the logo."""

    data: bytes
    media_type: str


@dataclass
class _Worker:
    """One worker process and our end of its pipe; started lazily, replaced when killed."""

    process: multiprocessing.process.BaseProcess | None = None
    connection: object | None = None
    renders: int = field(default=0)

    def render(self, html: str, resources: dict[str, Resource], timeout: float) -> bytes:
        """Send the job and wait at most ``timeout`` seconds for the PDF."""
        if self.process is None or not self.process.is_alive():
            self._start()
        payload = {name: (item.data, item.media_type) for name, item in resources.items()}
        try:
            self.connection.send((html, payload))
            if not self.connection.poll(timeout):
                log.warning("PDF rendering took longer than %.1f s: worker killed", timeout)
                self.stop(kill=True)
                raise PdfFailed()
            status, result = self.connection.recv()
        except (EOFError, OSError) as exc:  # the worker died (crash, memory limit)
            log.warning("PDF worker died: %s", exc)
            self.stop(kill=True)
            raise PdfFailed() from exc
        if status != "ok":
            log.warning("PDF rendering failed: %s", result)
            raise PdfFailed()
        self.renders += 1
        return result

    def _start(self) -> None:
        from portal.services import pdf_worker

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=pdf_worker.serve,
            args=(theirs, str(STATIC_ROOT), MEMORY_BYTES),
            name="portal-pdf-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        self.process, self.connection, self.renders = process, ours, 0

    def stop(self, *, kill: bool = False) -> None:
        """End the worker: politely, or at once (``kill``) when it may be stuck."""
        process, connection = self.process, self.connection
        self.process = self.connection = None
        if process is None:
            return
        if not kill:
            try:
                connection.send(None)
            except OSError:
                kill = True
            process.join(2)
        if process.is_alive():
            process.kill()
            process.join(5)
        connection.close()


class WorkerPool:
    """At most ``size`` workers; a job waits for a free one as long as its own time limit."""

    def __init__(self, size: int) -> None:
        self.size = size
        # Last in, first out: the warm worker is reused; the second starts only under load.
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self.workers = [_Worker() for _ in range(size)]
        for worker in self.workers:
            self._idle.put(worker)

    def render(self, html: str, resources: dict[str, Resource], timeout: float) -> bytes:
        """Render on the next free worker."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty as exc:
            raise PdfFailed() from exc
        try:
            return worker.render(html, resources, timeout)
        finally:
            self._idle.put(worker)

    def warm_up(self) -> None:
        """Start the processes now, so that the first print does not pay for it."""
        for worker in self.workers:
            if worker.process is None:
                worker._start()

    def close(self) -> None:
        """Stop every worker (tests, shutdown)."""
        for worker in self.workers:
            worker.stop()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    """This server process's worker pool, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(POOL_SIZE)
        return _pool


def render_pdf(html: str, resources: dict[str, Resource] | None = None) -> bytes:
    """The PDF of ``html`` (a rendered ``templates/pdf/`` page); PdfFailed on timeout or error."""
    with metrics.PDF_FAILURES.count_exceptions(), metrics.PDF_SECONDS.time():
        return pool().render(html, resources or {}, TIMEOUT_SECONDS)


def warm_up() -> None:
    """Start the PDF workers in the background (e.g. when a server process starts)."""
    pool().warm_up()


def short_hash(hex_digest: str) -> str:
    """The first 12 hex digits in groups of four, as printed: ``3f2a 9c1b 7d4e``."""
    head = hex_digest[:12]
    return " ".join(head[i : i + 4] for i in range(0, len(head), 4))
