"""gunicorn's settings for the portal: ``gunicorn --config python:portal.gunicorn_config
portal.wsgi:app``; flags on the command line (``--workers``, ``--bind``) override them.

The master does the start-up work once (database check, index rebuild), before any worker
serves; each worker then warms up (outbox leftovers, search columns, PDF workers), the
same steps as ``portal serve`` (``portal.serving``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

bind = "127.0.0.1:8000"
workers = 2
# Threads per worker: requests mostly wait on the database, the index or a PDF worker.
worker_class = "gthread"
threads = 8
# A worker silent for this long is killed and replaced: longer than the slowest request
# (a PDF may take up to pdf.TIMEOUT_SECONDS, an upload of PORTAL_MAX_UPLOAD_MB some more).
timeout = 120
graceful_timeout = 30
# The portal writes its own access log (portal.access: no queries, ids not names).
accesslog = None
errorlog = "-"


def on_starting(server) -> None:
    """Once, in the master: metrics of an earlier run gone, database checked, index built."""
    import click

    from portal import create_app, serving

    _clear_metrics_directory()
    try:
        app = create_app()
        serving.prepare(app)
    except (click.ClickException, ValueError, OSError) as exc:
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        print(f"KIM Portal: {message}", file=sys.stderr)
        sys.exit(1)
    app.extensions["portal.db"].engine.dispose()


def post_worker_init(worker) -> None:
    """In each worker, its app loaded: warm up before the first request."""
    from portal import serving

    serving.warm_up(worker.wsgi)


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges leave the shared metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _clear_metrics_directory() -> None:
    """Counters of the previous run would otherwise be added to this one's (the
    prometheus-client documentation: wipe the directory between runs)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.glob("*.db"):
        entry.unlink()
