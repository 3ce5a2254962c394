"""A crawl of every page as every demo login: no server errors, no broken links, no huge pages.

The demo network of ``portal seed-demo`` goes into the test's database; each demo login
then follows, breadth-first from the start page, every portal link rendered for it (GET only).
A link the portal shows a user must work for that user: any 4xx or 5xx fails, 403 included.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from sqlalchemy import select

from portal import jobs
from portal.http import save_context
from portal.models import Base, Case, Document, DocumentVersion
from portal.services import demo
from portal.services.goals import ACTIVE_GOAL_STATUSES
from tests.conftest import Auth

ORIGIN = "http://localhost"  # the test client's host: links elsewhere are not the portal's
HTML_BUDGET = 512 * 1024  # a page a caseworker waits for; the largest demo page has 35 KB
MAX_PAGES = 1000  # per login; reaching it fails, so that a link explosion is seen, not cut off
MAX_QUERY_VARIANTS = 6  # per path: pagination, filters, facets and a search per case
MAX_PRINTS = 2  # per printout route and login: WeasyPrint takes its time (test_printing)
SEARCH_WORD = "Integrationskurs"  # typed into empty search fields; in many demo documents
MIN_PAGES = {"network_admin": 15, "coordinator": 60, "readonly": 80, "caseworker": 100}
NOT_GET = {"/logout", "/language"}  # POST-only; following them would only test the 405
# Written by reading on purpose (audit trail, sessions), or by the logins themselves.
WRITTEN_BY_READING = {
    "audit_chain_head", "audit_events", "login_attempts", "login_sessions", "outbox_jobs",
}  # fmt: skip
NUMBER = re.compile(r"\d+")


@dataclass
class Failure:
    url: str
    status: int
    linked_from: str
    problem: str

    def __str__(self) -> str:
        return f"{self.status or '-'} {self.url}  (linked from {self.linked_from}): {self.problem}"


@dataclass
class Crawl:
    """What one login reached, and what went wrong on the way."""

    visited: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class LinkParser(HTMLParser):
    """The URLs a browser would GET from a page: links, images, stylesheets, GET forms.

    A GET form is submitted as the page fills it in (selected options, checked boxes),
    with ``SEARCH_WORD`` in an empty search field.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.form: tuple[str, list[tuple[str, str]]] | None = None
        self.select: list[str | None] | None = None  # [name, chosen value]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag in ("a", "link"):
            self.urls.append(values.get("href", ""))
        elif tag == "img":
            self.urls.append(values.get("src", ""))
        elif tag == "form" and values.get("method", "get").lower() == "get":
            self.form = (values.get("action", ""), [])
        elif self.form and tag == "input":
            self._input(values)
        elif self.form and tag == "select":
            self.select = [values.get("name"), None]
        elif self.select and tag == "option" and (self.select[1] is None or "selected" in values):
            self.select[1] = values.get("value", "")

    def _input(self, values: dict[str, str]) -> None:
        kind, name = values.get("type", "text").lower(), values.get("name")
        if not name or kind in ("submit", "button", "image", "reset", "file"):
            return
        if kind in ("checkbox", "radio") and "checked" not in values:
            return
        value = values.get("value", "")
        self.form[1].append((name, value or (SEARCH_WORD if kind == "search" else "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.form and self.select:
            name, value = self.select
            if name and value is not None:
                self.form[1].append((name, value))
            self.select = None
        elif tag == "form" and self.form:
            action, fields = self.form
            self.urls.append(f"{action}?{urlencode(fields)}")  # no action: this page
            self.form = None


def links(html: str) -> list[str]:
    parser = LinkParser()
    parser.feed(html)
    return [url for url in parser.urls if url]


def normalise(page: str, href: str) -> str | None:
    """``href`` on ``page`` as a portal path with sorted query, or None if not ours to follow."""
    if href.startswith("#"):
        return None
    parts = urlsplit(urljoin(ORIGIN + page, href.strip()))
    # mailto:, tel:, javascript:, data: and other hosts are not portal pages.
    if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def print_route(url: str) -> str | None:
    """The printout route of ``url`` (ids replaced), or None if it is no PDF printout."""
    path = urlsplit(url).path
    return NUMBER.sub("N", path) if path.endswith(("/pdf", ".pdf")) else None


class Frontier:
    """The pages still to visit, each once, with bounds on query variants and printouts."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, str]] = deque([("/", "(start)")])
        self.seen = {"/"}
        self.variants: Counter[str] = Counter()
        self.prints: Counter[str] = Counter()

    def add(self, url: str, linked_from: str) -> None:
        path, _, query = url.partition("?")
        route = print_route(url)
        if url in self.seen or path in NOT_GET:
            return
        if query and self.variants[path] >= MAX_QUERY_VARIANTS:
            return
        if route and self.prints[route] >= MAX_PRINTS:
            return
        self.seen.add(url)
        self.variants[path] += bool(query)
        if route:
            self.prints[route] += 1
        self.queue.append((url, linked_from))


def crawl(app, email: str) -> Crawl:
    """Log in as ``email`` through the login form and visit everything reachable."""
    client = app.test_client()
    assert Auth(client).login(email, demo.DEMO_PASSWORD).status_code == 302, email
    result, frontier = Crawl(), Frontier()
    while frontier.queue:
        if len(result.visited) >= MAX_PAGES:
            result.failures.append(Failure("…", 0, "", f"stopped after {MAX_PAGES} pages"))
            break
        url, linked_from = frontier.queue.popleft()
        with client.get(url) as response:
            result.visited.append(url)
            found = check(response, url, linked_from, result.failures)
        if to_login(response) and to_login(client.get("/")):
            # Logged out by this GET: everything after it would fail too.
            result.failures.append(Failure(url, 0, linked_from, "ended the session"))
            break
        for href in found:
            if (target := normalise(url, href)) is not None:
                frontier.add(target, url)
    return result


def to_login(response) -> bool:
    return urlsplit(response.headers.get("Location", "")).path == "/login"


def check(response, url: str, linked_from: str, failures: list[Failure]) -> list[str]:
    """Record what is wrong with ``response``; return the links to follow from it."""
    status, body = response.status_code, response.get_data()  # streamed bodies run to their end
    if status >= 400:
        failures.append(Failure(url, status, linked_from, "error status"))
        return []
    if 300 <= status < 400:
        if to_login(response):
            # A rendered link the user may not follow, or a GET that logged the user out.
            failures.append(Failure(url, status, linked_from, "sent to the login page"))
            return []
        return [response.headers["Location"]]
    if response.mimetype != "text/html":
        # Downloads and printouts (PDF, CSV, ZIP, uploads): their size is the file's own,
        # bounded by the upload limit and checked by their own tests. Not parsed.
        return []
    if len(body) > HTML_BUDGET:
        failures.append(Failure(url, status, linked_from, f"{len(body)} bytes of HTML"))
    return links(response.text)


def seed_demo(app) -> list[tuple[str, str, str]]:
    """What ``portal seed-demo`` does: the demo network, then the text extraction and index."""
    with app.app_context():
        with app.extensions["portal.db"].session() as session:
            logins = demo.seed(session, save_context())
        jobs.drain(app)
    return logins


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row the portal must not change by being read (the users' last login aside)."""
    db.rollback()
    tables = [t for t in Base.metadata.sorted_tables if t.name not in WRITTEN_BY_READING]
    return {
        table.name: sorted(
            tuple(str(value) for key, value in row._mapping.items() if key != "last_login_at")
            for row in db.execute(select(table))
        )
        for table in tables
    }


def is_page(url: str, prefix: str) -> bool:
    """``url`` is ``prefix`` and a number: a case folder or a document page."""
    return url.startswith(prefix) and url[len(prefix) :].isdigit()


def cases_naming_responsible_organisations(db) -> set[int]:
    """Cases whose current agreement has an active goal with a responsible organisation."""
    rows = db.execute(
        select(Document.case_id, DocumentVersion.fields)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .where(Document.type == "agreement", DocumentVersion.number == Document.current_version)
    )
    return {
        case_id
        for case_id, fields in rows
        for goal in (fields or {}).get("goals") or []
        if goal.get("responsible_organisation_id")
        and goal.get("status", "open") in ACTIVE_GOAL_STATUSES
    }


def test_every_demo_login_reaches_only_working_pages(app, db, search_backend):
    """Every demo login, on both databases (and on PostgreSQL with its own search backend)."""
    logins = seed_demo(app)
    before = snapshot(db)
    role_of = {email: label.split(",")[0] for email, _password, label in logins}
    crawls = {email: crawl(app, email) for email in role_of}

    failures = [
        f"{email} ({role_of[email]}): {failure}"
        for email, result in crawls.items()
        for failure in result.failures
    ]
    assert not failures, "\n".join([f"{len(failures)} broken pages:", *failures])
    after = snapshot(db)
    changed = [name for name in before if after[name] != before[name]]
    assert not changed, f"GET requests changed rows of {changed}"
    assert_not_vacuous(db, crawls, role_of)


def assert_not_vacuous(db, crawls: dict[str, Crawl], role_of: dict[str, str]) -> None:
    """The crawl went where the bugs were: case folders with goals, documents, every role."""
    for email, result in crawls.items():
        role = role_of[email]
        assert len(result.visited) >= MIN_PAGES[role], (email, len(result.visited))
        if role == "caseworker":
            assert any(is_page(url, "/cases/") for url in result.visited), email
            assert any(is_page(url, "/documents/") for url in result.visited), email
    # The caseworkers, who see them in full, opened every case folder and document of the demo,
    # among them the folders that once answered 500 for a goal's responsible organisation.
    seen = {url for e, c in crawls.items() if role_of[e] == "caseworker" for url in c.visited}
    with_responsible = cases_naming_responsible_organisations(db)
    assert with_responsible, "the demo no longer names responsible organisations for goals"
    unseen = {f"/cases/{id_}" for id_ in db.scalars(select(Case.id))} - seen
    unseen |= {f"/documents/{id_}" for id_ in db.scalars(select(Document.id))} - seen
    assert not unseen, sorted(unseen)
