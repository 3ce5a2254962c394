"""Start-up work of a server, the same under ``portal serve`` (Waitress) and gunicorn.

``prepare`` runs once per start, before any process serves: the database must be
reachable and current, and a search index that is missing or of an older format is
rebuilt. ``warm_up`` runs in every serving process: it drains what a process that died
left in the outbox, and starts what would otherwise make the first requests slow.
"""

from __future__ import annotations

from flask import Flask

from portal.db import database


def prepare(app: Flask) -> None:
    """Check the database (click's error when it is unreachable, outdated, or the audit
    key is new) and rebuild the search index when it was unreadable or missing."""
    from portal.cli.app import check_database
    from portal.services import search

    with app.app_context():
        check_database(needs_schema=True)
        backend = app.extensions["portal.search"]
        if backend.rebuilt:  # unreadable or of an older schema (Whoosh), or missing
            with database().session() as session:
                search.reindex_all(session, backend)


def warm_up(app: Flask) -> None:
    """In each serving process: drain leftover outbox work (e.g. an extraction a killed
    process committed but never did), open the index's columns for facets and dates, and
    start the PDF workers, which take seconds (not on the first caseworker's print)."""
    from portal.services import pdf

    with app.app_context():
        app.extensions["portal.drainer"].wake()
        app.extensions["portal.search"].warm_up()
    pdf.warm_up()
