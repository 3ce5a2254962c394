"""Prometheus metrics: what an operator watches (latency, errors, backlog, failures).

Counters and histograms count in this process; under gunicorn, with
``PROMETHEUS_MULTIPROC_DIR`` set, in files its workers share (prometheus-client's
multiprocess mode), so that any worker answers a scrape for all. What is shared state
anyway (the outbox, live sessions) is read from the database at scrape time. Labels are
route templates and fixed names, never ids or user input: the number of series stays
bounded whatever clients send.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from portal.db import Database

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the first process to count creates it
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
disable_created_metrics()  # a "_created" series beside each counter only doubles the series
REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUEST_SECONDS = Histogram(
    "kim_http_request_duration_seconds", "Time to answer a request, by route template.",
    ["method", "route"], registry=REGISTRY,
)  # fmt: skip
RESPONSES = Counter(
    "kim_http_responses", "Answers by route template and status code.",
    ["method", "route", "status"], registry=REGISTRY,
)  # fmt: skip
EXTRACTIONS = Counter(
    "kim_text_extractions", "Text extractions of uploads by outcome (done, none, unreadable).",
    ["status"], registry=REGISTRY,
)  # fmt: skip
PDF_SECONDS = Histogram(
    "kim_pdf_render_duration_seconds", "Time to render a PDF printout.",
    buckets=SLOW_BUCKETS, registry=REGISTRY,
)  # fmt: skip
PDF_FAILURES = Counter(
    "kim_pdf_render_failures", "PDF printouts that failed or timed out.", registry=REGISTRY
)
SEARCH_SECONDS = Histogram(
    "kim_search_duration_seconds", "Time of a search in the search backend.", ["backend"],
    registry=REGISTRY,
)  # fmt: skip
LOGINS_THROTTLED = Counter(
    "kim_logins_throttled", "Login attempts refused while an account or address is locked.",
    registry=REGISTRY,
)  # fmt: skip


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request (``route``: the URL rule's template, ``-`` when none matched)."""
    method = method if method in METHODS else "other"
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    RESPONSES.labels(method, route, str(status)).inc()


class _SharedState:
    """Gauges read from the database at scrape time."""

    def __init__(self, database: Database, idle: timedelta, absolute: timedelta) -> None:
        self.database, self.idle, self.absolute = database, idle, absolute

    def collect(self):
        from portal.services import outbox, sessions

        with self.database.session() as session:
            jobs, oldest = outbox.backlog(session)
            live = sessions.active(session, idle=self.idle, absolute=self.absolute)
        yield GaugeMetricFamily("kim_outbox_jobs", "Outbox jobs waiting.", value=jobs)
        yield GaugeMetricFamily(
            "kim_outbox_oldest_job_age_seconds", "Age of the oldest waiting outbox job.",
            value=oldest,
        )  # fmt: skip
        yield GaugeMetricFamily("kim_sessions_active", "Login sessions in use.", value=live)


def exposition(database: Database, idle: timedelta, absolute: timedelta) -> bytes:
    """The metrics in Prometheus' text format: this process's (or, in multiprocess mode,
    all workers') counters and histograms, and the shared state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    shared = CollectorRegistry()
    shared.register(_SharedState(database, idle, absolute))
    return generate_latest(counted) + generate_latest(shared)
