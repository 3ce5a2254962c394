"""Background work from the outbox: which handler does which job, and the drain thread.

After a request commits jobs, the app wakes a daemon thread that drains the
outbox, so a slow extraction never holds up the response. Jobs live in the
database, so a crash loses nothing: the next start (or ``portal index-worker``)
picks them up.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from portal.services import documents, outbox, search

log = logging.getLogger(__name__)


def handlers(app: Flask) -> dict[str, outbox.Handler]:
    """The outbox handlers of ``app``."""
    store = app.extensions["portal.blobs"]
    backend = app.extensions["portal.search"]
    return {
        documents.EXTRACT_JOB: lambda session, object_id: documents.extract_version_text(
            session, store, object_id
        ),
        search.INDEX_DOCUMENT_JOB: lambda session, object_id: search.index_document(
            session, backend, object_id
        ),
        search.INDEX_CASE_JOB: lambda session, object_id: search.index_case(
            session, backend, object_id
        ),
    }


def batch_handlers(app: Flask) -> dict[str, outbox.BatchHandler]:
    """The handlers of ``app`` that do many jobs of a kind at once (one index commit)."""
    backend = app.extensions["portal.search"]
    return {
        search.INDEX_DOCUMENT_JOB: lambda session, object_ids: search.index_documents(
            session, backend, object_ids
        ),
    }


def drain(app: Flask, limit: int = 1000) -> int:
    """Run due outbox jobs now, in this thread; return how many ran."""
    return outbox.drain(
        app.extensions["portal.db"].sessionmaker,
        handlers(app),
        limit=limit,
        batch_handlers=batch_handlers(app),
    )


class Drainer:
    """A daemon thread that drains the outbox whenever it is woken."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Ask for a drain soon (starts the thread on first use)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                with self.app.app_context():
                    drain(self.app)
            except Exception:
                log.exception("outbox drain failed; jobs stay queued")
