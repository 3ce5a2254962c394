"""The access matrix: who may do what with a case, through the real HTTP layer, on both databases.

``TABLE`` below is the expectation, written from DESIGN.md ("Access rule") and API.md, not
from the code: organisation A leads the case, organisation B is a partner whose consent is
in one of five states, organisation C is the administrators' organisation. The outcome of
every route of the web pages and of the JSON API is derived from the user's row of that
table (the ``Route`` lists below):

- an allowed read answers 200 (a listing: 200 with exactly the readable documents in it);
- a read of something the user may not see answers 404: its existence is not revealed;
- an action on something the user sees but may not change answers 403.

Data categories are a dimension of every route: A's documents touch none (general case
information), ``arbeit`` (the file) or ``gesundheit`` (a note on health). B's current
consent releases either no category by name (so every one but health) or health alone
(``current-health``); B reads a document of A only when its consent releases each of the
document's categories.

"Sees" depends on the route: a document when it may be read; the case's contents pages
(consents, data requests, new documents, phase, erasure) when the contents may be seen; the
case itself (audit trail, the API's case and consent actions) when its metadata may be seen.

Every 200 answer is also searched for leaks: the titles and unique words of the documents the
user may not read must not be in it (in a ZIP: in any of its files). One test builds one case
and checks every route for one user; a failure prints the whole route table, expected
against actual. Disagreements between the table and the code are strict xfails, with reasons.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

import pytest
from jinja2 import BytecodeCache

from portal import jobs, pipeline
from portal.models import Document, categories
from portal.models.base import local_today
from portal.services import accounts, consents, documents, pdf
from portal.services.documents import Content, Upload
from tests.conftest import Auth, csrf_token

# ---------------------------------------------------------------- the table


class Allowed(NamedTuple):
    """What one user may do with the case (DESIGN.md "Access rule")."""

    metadata: bool  # reference, person name, phase, lead organisation; the case list
    contents: bool  # the folder with its documents, the consent list
    case_doc: bool  # read a document of visibility "case" (views, versions, diff, file, search)
    internal_doc: bool  # read an "internal" document of the lead organisation A
    write: bool  # change the case (phase, new documents)
    edit: bool  # new versions of organisation A's documents (each organisation edits its own)
    manage_consent: bool  # record and revoke consents, hand the case over
    audit: bool  # read the case's audit trail (API.md: lead organisation and coordinators)
    export: bool  # data-subject requests: Art. 15 export, Art. 17 erasure (lead organisation)


Y, N = True, False
ROLES = ("caseworker", "readonly", "coordinator")
CONSENT_STATES = ("none", "current", "current-health", "expired", "revoked", "future")

# Organisation A leads the case; B is the partner; C is the administrators' organisation.
# Consent states (of B): none; current (started, not ended, not revoked); expired (valid
# until yesterday); revoked (recorded, then revoked); future (valid from tomorrow).
# fmt: off
TABLE: dict[tuple[str, str, str], Allowed] = {
    # Columns: metadata, contents, case document, internal document, write, edit A's
    # documents, manage consent, audit trail, Art. 15 export (see ``Allowed``).
    #  role           org  B's consent       meta  cont  case  intl  write edit  cons  audit export
    ("caseworker",  "A", "none"):    Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "A", "current"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "A", "expired"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "A", "revoked"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "A", "future"):  Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "A", "current-health"): Allowed(Y, Y, Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("readonly",    "A", "none"):    Allowed(Y,    Y,    Y,    Y,    N,    N,    N,    Y,    N),
    ("readonly",    "A", "current"): Allowed(Y,    Y,    Y,    Y,    N,    N,    N,    Y,    N),
    ("readonly",    "A", "expired"): Allowed(Y,    Y,    Y,    Y,    N,    N,    N,    Y,    N),
    ("readonly",    "A", "revoked"): Allowed(Y,    Y,    Y,    Y,    N,    N,    N,    Y,    N),
    ("readonly",    "A", "future"):  Allowed(Y,    Y,    Y,    Y,    N,    N,    N,    Y,    N),
    ("readonly",    "A", "current-health"): Allowed(Y, Y, Y,    Y,    N,    N,    N,    Y,    N),
    ("coordinator", "A", "none"):    Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("coordinator", "A", "current"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("coordinator", "A", "expired"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("coordinator", "A", "revoked"): Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("coordinator", "A", "future"):  Allowed(Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("coordinator", "A", "current-health"): Allowed(Y, Y, Y,    Y,    Y,    Y,    Y,    Y,    Y),
    ("caseworker",  "B", "none"):    Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("caseworker",  "B", "current"): Allowed(Y,    Y,    Y,    N,    Y,    N,    N,    N,    N),
    ("caseworker",  "B", "current-health"): Allowed(Y, Y, Y,    N,    Y,    N,    N,    N,    N),
    ("caseworker",  "B", "expired"): Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("caseworker",  "B", "revoked"): Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("caseworker",  "B", "future"):  Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "none"):    Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "current"): Allowed(Y,    Y,    Y,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "current-health"): Allowed(Y, Y, Y,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "expired"): Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "revoked"): Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("readonly",    "B", "future"):  Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("coordinator", "B", "none"):    Allowed(Y,    N,    N,    N,    N,    N,    N,    Y,    N),
    ("coordinator", "B", "current"): Allowed(Y,    Y,    Y,    N,    Y,    N,    N,    Y,    N),
    ("coordinator", "B", "current-health"): Allowed(Y, Y, Y,    N,    Y,    N,    N,    Y,    N),
    ("coordinator", "B", "expired"): Allowed(Y,    N,    N,    N,    N,    N,    N,    Y,    N),
    ("coordinator", "B", "revoked"): Allowed(Y,    N,    N,    N,    N,    N,    N,    Y,    N),
    ("coordinator", "B", "future"):  Allowed(Y,    N,    N,    N,    N,    N,    N,    Y,    N),
    ("admin",       "C", "none"):    Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
    ("admin",       "C", "current"): Allowed(N,    N,    N,    N,    N,    N,    N,    N,    N),
}
# fmt: on

# What B's consent releases in each state where it is in force (A, the lead, reads all).
RELEASED = {
    "current": frozenset(categories.RELEASED_BY_DEFAULT),  # recorded without categories
    "current-health": frozenset({"gesundheit"}),
}

# Known disagreements between TABLE (the design) and the code: {key: reason}. Empty: none.
DISAGREEMENTS: dict[tuple[str, str, str], str] = {}


def _matrix_params() -> list:
    params = []
    for key in TABLE:
        role, org, consent = key
        marks = ()
        if key in DISAGREEMENTS:
            marks = pytest.mark.xfail(strict=True, reason=DISAGREEMENTS[key])
        params.append(pytest.param(role, org, consent, marks=marks, id=f"{org}-{role}-{consent}"))
    return params


def test_table_is_complete():
    """Every role of A and B under every consent state, and the admin, has a row."""
    wanted = {(r, o, c) for r in ROLES for o in ("A", "B") for c in CONSENT_STATES}
    assert wanted <= set(TABLE)
    assert {key for key in TABLE if key[0] == "admin"}
    for (_role, _org, _consent), allowed in TABLE.items():  # the rule's own implications
        assert allowed.contents <= allowed.metadata
        assert allowed.case_doc == allowed.contents
        assert allowed.internal_doc <= allowed.contents
        assert allowed.write <= allowed.case_doc and allowed.edit <= allowed.write
        assert allowed.export <= allowed.contents and allowed.manage_consent <= allowed.contents


# ---------------------------------------------------------------- the scenario

# Four documents by organisation A; each has a unique title and a unique word in its text,
# and touches the data categories of ``DOC_CATEGORIES``.
DOCS = {
    "case-note": ("Fallnotiz Amselweg", "Mandelbaum"),  # visibility "case", 2 versions
    "internal-note": ("Interna Birkenhain", "Wasserturm"),  # visibility "internal", 2 versions
    "health-note": ("Befund Eichenhain", "Zaunkoenig"),  # visibility "case", 2 versions
    "file": ("Anlage Cedernallee", "Leuchtfeuer"),  # an uploaded TXT, visibility "case"
}
DOC_CATEGORIES = {
    "case-note": frozenset(),
    "internal-note": frozenset(),
    "health-note": frozenset({"gesundheit"}),
    "file": frozenset({"arbeit"}),
}
NOTES = ("case-note", "internal-note", "health-note")
FAMILY_NAME = "Sarrafzadeh"
PERSON = {
    "given_name": "Rania",
    "family_name": FAMILY_NAME,
    "birth_date": "1987-03-14",
    "nationality": "Jemenitisch",
    "languages": ["Tigrinya"],
}


class _People(dict):
    """The users, made on first use: "A-caseworker", ..., "B-coordinator", "admin"."""

    def __init__(self, make_user, orgs: dict) -> None:
        super().__init__()
        self.make_user, self.orgs = make_user, orgs

    def __missing__(self, who: str):
        org, role = ("C", "admin") if who == "admin" else who.split("-")
        user = self.make_user(role=role, org=self.orgs[org], name=f"{org} {role.title()}")
        self[who] = user
        return user


@dataclass
class Scenario:
    """The case, its documents, and who is who."""

    app: object
    db: object
    case_id: int
    reference: str
    doc_ids: dict[str, int]
    users: _People  # "A-caseworker", ..., "B-coordinator", "admin"
    orgs: dict[str, object]  # "A", "B", "C"
    consent_ids: list[int] = field(default_factory=list)


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by the apps of this module (a new app per test otherwise
    compiles every template again; Jinja checks the source's checksum, so nothing stale)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


@pytest.fixture
def build(app, db, make_org, make_user, make_case, make_note, save_ctx):
    """``build(consent, release_to=("B",))``: the case with B's consent in state ``consent``."""

    app.jinja_env.bytecode_cache = _BYTECODE

    def make(consent: str, release_to: tuple[str, ...] = ("B",)) -> Scenario:
        orgs = {name: make_org(name=f"Organisation {name}") for name in ("A", "B", "C")}
        users = _People(make_user, orgs)
        author = users["A-caseworker"]
        case = make_case(author, **PERSON)
        doc_ids = {}
        for label in NOTES:
            title, word = DOCS[label]
            visibility = "internal" if label == "internal-note" else "case"
            note = make_note(author, case, title=title, text=f"Erster Stand: {word}.",
                             visibility=visibility,
                             categories=list(DOC_CATEGORIES[label]))  # fmt: skip
            documents.add_version(
                db, author, note, base_version=1, content=Content(text=f"Zweiter Stand: {word}."),
                ctx=save_ctx, comment="ergänzt",
            )  # fmt: skip
            doc_ids[label] = note.id
        title, word = DOCS["file"]
        upload = Upload(io.BytesIO(f"Anlage zum Gespräch. {word}.\n".encode()), "anlage.txt")
        file_doc = documents.create_document(
            db, author, case, doc_type="file", title=title, content=Content(upload=upload),
            ctx=save_ctx, categories=list(DOC_CATEGORIES["file"]),
        )  # fmt: skip
        doc_ids["file"] = file_doc.id
        db.commit()
        scenario = Scenario(app, db, case.id, case.reference, doc_ids, users, orgs)
        _give_consent(scenario, case, consent, [orgs[name].id for name in release_to])
        jobs.drain(app)
        return scenario

    return make


def _give_consent(s: Scenario, case, state: str, organisation_ids: list[int]) -> None:
    """Record B's consent in ``state`` through the consent service, as A's caseworker."""
    if state == "none":
        return
    today = local_today()
    dates = {
        "current": (today - timedelta(days=7), today + timedelta(days=30)),
        "current-health": (today - timedelta(days=7), today + timedelta(days=30)),
        "revoked": (today - timedelta(days=7), today + timedelta(days=30)),
        "expired": (today - timedelta(days=60), today - timedelta(days=1)),
        "future": (today + timedelta(days=1), today + timedelta(days=30)),
    }[state]
    actor = s.users["A-caseworker"]
    consent = consents.record(
        s.db, actor, case, organisation_ids=organisation_ids, valid_from=dates[0],
        valid_until=dates[1], purpose="Beratung im Netzwerk",
        data_categories=sorted(RELEASED[state]) if state == "current-health" else [],
    )  # fmt: skip
    s.db.commit()
    if state == "revoked":
        consents.revoke(s.db, actor, case, consent.id, note="widerrufen")
        s.db.commit()
    s.consent_ids.append(consent.id)


# ---------------------------------------------------------------- the routes


@dataclass
class Probe:
    """One user's way in: a logged-in browser and an API token."""

    s: Scenario
    allowed: Allowed
    released: frozenset[str]  # the data categories of A's documents the user may read
    web: object
    token: str
    csrf: str = ""

    @property
    def readable(self) -> set[str]:
        """The documents this user may read, by the table."""
        return {label for label in DOCS if self.may_read(label)}

    def may_read(self, label: str) -> bool:
        if label == "internal-note":
            return self.allowed.internal_doc
        return self.allowed.case_doc and DOC_CATEGORIES[label] <= self.released

    def may_write(self, label: str) -> bool:
        return self.allowed.edit and self.may_read(label)

    def url(self, template: str) -> str:
        ids = {label.replace("-", "_"): doc_id for label, doc_id in self.s.doc_ids.items()}
        words = {f"{label.replace('-', '_')}_word": word for label, (_t, word) in DOCS.items()}
        return template.format(case=self.s.case_id, family=FAMILY_NAME, **ids, **words)

    def get(self, url: str):
        return self.web.get(url)

    def api(self, method: str, url: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.web.open(url, method=method, headers=headers, **kwargs)

    def post_form(self, url: str, data: dict):
        """POST a form with the session's CSRF token (taken once from the start page)."""
        self.csrf = self.csrf or csrf_token(self.web.get("/").text)
        return self.web.post(url, data={**data, "csrf_token": self.csrf})

    def fresh_consent(self) -> int:
        """A current consent for organisation C, recorded by A's caseworker: one to revoke."""
        s = self.s
        s.db.expire_all()  # the requests before changed the case in other sessions
        case = s.db.get(Document, s.doc_ids["case-note"]).case
        consent = consents.record(
            s.db, s.users["A-caseworker"], case, organisation_ids=[s.orgs["C"].id], purpose="x"
        )
        s.db.commit()
        return consent.id

    def current_version(self, label: str) -> int:
        self.s.db.expire_all()
        return self.s.db.get(Document, self.s.doc_ids[label]).current_version


def _ok(flag: bool, ok: str = "200") -> str:
    """An allowed read answers ``ok``; anything else must not reveal the object: 404."""
    return ok if flag else "404"


def _act(visible: bool, allowed: bool, ok: str = "200") -> str:
    """An action: ``ok`` when allowed, 403 on a visible object, 404 on an invisible one."""
    return ok if allowed else "403" if visible else "404"


def _shows(flag: bool, labels) -> str:
    """A listing: 200 with exactly ``labels`` in it, or 404 when the listing is invisible."""
    return f"200 shows{sorted(labels)}" if flag else "404"


@dataclass(frozen=True)
class Route:
    """One request and its expected outcome, derived from the user's row of the table."""

    name: str
    call: Callable[[Probe], object]
    expect: Callable[[Probe], str]
    kind: str = "status"  # "status", "docs" (which documents it shows), "case" (listed or not)
    search: bool = False  # the page echoes the query: only titles count as leaks


def _web(template: str) -> Callable[[Probe], object]:
    return lambda p: p.get(p.url(template))


def _api(template: str) -> Callable[[Probe], object]:
    return lambda p: p.api("GET", p.url(template))


def _reads(label: str) -> Callable[[Probe], str]:
    return lambda p: _ok(p.may_read(label))


def _finds(label: str) -> Callable[[Probe], str]:
    """A search for the document's unique word: its title shows exactly when it is readable."""
    return lambda p: f"200 shows{sorted({label} & p.readable)}"


def _document_routes() -> list[Route]:
    routes = []
    for label in DOCS:
        doc = f"{{{label.replace('-', '_')}}}"
        routes += [
            Route(f"GET  /documents/<{label}>", _web(f"/documents/{doc}"), _reads(label)),
            Route(f"GET  /documents/<{label}>/versions/1", _web(f"/documents/{doc}/versions/1"),
                  _reads(label)),
            Route(f"GET  /api/v1/documents/<{label}>", _api(f"/api/v1/documents/{doc}"),
                  _reads(label)),
            Route(f"GET  /api/v1/documents/<{label}>/versions/1",
                  _api(f"/api/v1/documents/{doc}/versions/1"), _reads(label)),
        ]  # fmt: skip
        if label in NOTES:
            routes += [
                Route(f"GET  /documents/<{label}>/diff?from=1&to=2",
                      _web(f"/documents/{doc}/diff?from=1&to=2"), _reads(label)),
                Route(f"GET  /documents/<{label}>/edit", _web(f"/documents/{doc}/edit"),
                      lambda p, lb=label: _act(p.may_read(lb), p.may_write(lb))),
                Route(f"GET  /api/v1/documents/<{label}>/diff?from=1&to=2",
                      _api(f"/api/v1/documents/{doc}/diff?from=1&to=2"), _reads(label)),
            ]  # fmt: skip
        else:
            routes += [
                Route(f"GET  /documents/<{label}>/versions/1/file",
                      _web(f"/documents/{doc}/versions/1/file"), _reads(label)),
                Route(f"GET  /api/v1/documents/<{label}>/versions/1/content",
                      _api(f"/api/v1/documents/{doc}/versions/1/content"), _reads(label)),
            ]  # fmt: skip
    return routes


def _search_routes() -> list[Route]:
    return [
        Route(f"GET  /search?q=<word of {label}>",
              _web(f"/search?q={{{label.replace('-', '_')}_word}}"), _finds(label),
              kind="docs", search=True)
        for label in DOCS
    ]  # fmt: skip


# fmt: off
CASE_ROUTES = [
    Route("GET  /cases/?q=<family name>", _web("/cases/?q={family}"),
          lambda p: "200 listed" if p.allowed.metadata else "200 -", kind="case"),
    Route("GET  /cases/<case>", _web("/cases/{case}"),
          lambda p: _shows(p.allowed.metadata, p.readable), kind="docs"),
    Route("GET  /cases/<case>/consents", _web("/cases/{case}/consents"),
          lambda p: _ok(p.allowed.contents)),
    Route("GET  /cases/<case>/audit", _web("/cases/{case}/audit"),
          lambda p: _act(p.allowed.metadata, p.allowed.audit)),
    Route("GET  /cases/<case>/audit.csv", _web("/cases/{case}/audit.csv"),
          lambda p: _act(p.allowed.metadata, p.allowed.audit)),
    Route("GET  /cases/<case>/documents/new", _web("/cases/{case}/documents/new"),
          lambda p: _act(p.allowed.contents, p.allowed.write)),
    Route("GET  /cases/<case>/data-request", _web("/cases/{case}/data-request"),
          lambda p: _act(p.allowed.contents, p.allowed.export)),
    Route("POST /cases/<case>/export", lambda p: p.post_form(p.url("/cases/{case}/export"), {}),
          lambda p: _act(p.allowed.contents, p.allowed.export)),
    Route("GET  /api/v1/cases?q=<family name>", _api("/api/v1/cases?q={family}"),
          lambda p: "200 listed" if p.allowed.metadata else "200 -", kind="case"),
    Route("GET  /api/v1/cases/<case>", _api("/api/v1/cases/{case}"),
          lambda p: _ok(p.allowed.metadata)),
    Route("GET  /api/v1/cases/<case>/documents", _api("/api/v1/cases/{case}/documents"),
          lambda p: _shows(p.allowed.contents, p.readable), kind="docs"),
]
# fmt: on


def _api_and_print_routes() -> list[Route]:
    """API search, consents and audit; the printouts of each note and of the case."""
    routes = [
        Route(f"GET  /api/v1/search?q=<word of {label}>",
              _api(f"/api/v1/search?q={{{label.replace('-', '_')}_word}}"), _finds(label),
              kind="docs")
        for label in DOCS
    ]  # fmt: skip
    routes += [
        Route("GET  /api/v1/cases/<case>/consents", _api("/api/v1/cases/{case}/consents"),
              lambda p: _ok(p.allowed.contents)),
        Route("GET  /api/v1/cases/<case>/audit", _api("/api/v1/cases/{case}/audit"),
              lambda p: _act(p.allowed.metadata, p.allowed.audit)),
        Route("GET  /cases/<case>/summary.pdf", _web("/cases/{case}/summary.pdf"),
              lambda p: _shows(p.allowed.contents, p.readable), kind="docs"),
        Route("GET  /cases/<case>/followups", _web("/cases/{case}/followups"),
              lambda p: _ok(p.allowed.contents)),
        Route("GET  /api/v1/cases/<case>/followups", _api("/api/v1/cases/{case}/followups"),
              lambda p: _ok(p.allowed.contents)),
    ]  # fmt: skip
    for label in NOTES:
        doc = f"{{{label.replace('-', '_')}}}"
        routes += [
            Route(f"GET  /documents/<{label}>/versions/1/pdf",
                  _web(f"/documents/{doc}/versions/1/pdf"), _reads(label)),
            Route(f"GET  /api/v1/documents/<{label}>/pdf?version=1",
                  _api(f"/api/v1/documents/{doc}/pdf?version=1"), _reads(label)),
        ]  # fmt: skip
    return routes


def _note_write_routes() -> list[Route]:
    routes = []
    for label in NOTES:
        doc = f"{{{label.replace('-', '_')}}}"
        title = DOCS[label][0]
        routes += [
            Route(f"POST /documents/<{label}>/edit",
                  lambda p, d=doc, lb=label, t=title: p.post_form(
                      p.url(f"/documents/{d}/edit"),
                      {"title": t, "text": "Dritter Stand.", "comment": "",
                       "base_version": str(p.current_version(lb))}),
                  lambda p, lb=label: _act(p.may_read(lb), p.may_write(lb), ok="302")),
            Route(f"POST /api/v1/documents/<{label}>/versions",
                  lambda p, d=doc, lb=label: p.api(
                      "POST", p.url(f"/api/v1/documents/{d}/versions"),
                      json={"text": "Vierter Stand.", "base_version": p.current_version(lb)}),
                  lambda p, lb=label: _act(p.may_read(lb), p.may_write(lb), ok="201")),
            Route(f"POST /documents/<{label}>/restore",
                  lambda p, d=doc, lb=label: p.post_form(
                      p.url(f"/documents/{d}/restore"),
                      {"version": "1", "base_version": str(p.current_version(lb))}),
                  lambda p, lb=label: _act(p.may_read(lb), p.may_write(lb), ok="302")),
            Route(f"POST /api/v1/documents/<{label}>/restore",
                  lambda p, d=doc, lb=label: p.api(
                      "POST", p.url(f"/api/v1/documents/{d}/restore"),
                      json={"version": 1, "base_version": p.current_version(lb)}),
                  lambda p, lb=label: _act(p.may_read(lb), p.may_write(lb), ok="201")),
        ]  # fmt: skip
    return routes


# fmt: off
CASE_WRITE_ROUTES = [
    Route("POST /cases/<case>/phase",
          lambda p: p.post_form(p.url("/cases/{case}/phase"), {"phase": "bestandsaufnahme"}),
          lambda p: _act(p.allowed.contents, p.allowed.write, ok="303")),
    Route("PATCH /api/v1/cases/<case>",
          lambda p: p.api("PATCH", p.url("/api/v1/cases/{case}"), json={"phase": "monitoring"}),
          lambda p: _act(p.allowed.metadata, p.allowed.write)),
    Route("POST /cases/<case>/documents/new?type=note",
          lambda p: p.post_form(p.url("/cases/{case}/documents/new?type=note"),
                                {"title": "Neu im Web", "text": "Neu.", "visibility": "case"}),
          lambda p: _act(p.allowed.contents, p.allowed.write, ok="302")),
    Route("POST /api/v1/cases/<case>/documents",
          lambda p: p.api("POST", p.url("/api/v1/cases/{case}/documents"),
                          json={"type": "note", "title": "Neu per API", "text": "Neu."}),
          lambda p: _act(p.allowed.contents, p.allowed.write, ok="201")),
    Route("POST /cases/<case>/consents",
          lambda p: p.post_form(p.url("/cases/{case}/consents"),
                                {"organisation_ids": str(p.s.orgs["C"].id), "purpose": "Web"}),
          lambda p: _act(p.allowed.contents, p.allowed.manage_consent, ok="302")),
    Route("POST /cases/<case>/consents/<id>/revoke (asks first)",
          lambda p: p.post_form(p.url(f"/cases/{{case}}/consents/{p.fresh_consent()}/revoke"),
                                {"note": "Web"}),
          lambda p: _act(p.allowed.contents, p.allowed.manage_consent, ok="200")),
    Route("POST /cases/<case>/consents/<id>/revoke (confirmed)",
          lambda p: p.post_form(p.url(f"/cases/{{case}}/consents/{p.fresh_consent()}/revoke"),
                                {"note": "Web", "confirmed": "yes"}),
          lambda p: _act(p.allowed.contents, p.allowed.manage_consent, ok="302")),
    Route("POST /cases/<case>/erase (wrong reference)",
          lambda p: p.post_form(p.url("/cases/{case}/erase"), {"confirm_reference": "KIM-0"}),
          lambda p: _act(p.allowed.contents, p.allowed.export, ok="422")),
]
# fmt: on


# fmt: off
API_WRITE_ROUTES = [
    Route("POST /api/v1/cases/<case>/consents",
          lambda p: p.api("POST", p.url("/api/v1/cases/{case}/consents"),
                          json={"organisation_ids": [p.s.orgs["C"].id], "purpose": "API"}),
          lambda p: _act(p.allowed.metadata, p.allowed.manage_consent, ok="201")),
    Route("DELETE /api/v1/cases/<case>/consents/<id>",
          lambda p: p.api("DELETE", p.url(f"/api/v1/cases/{{case}}/consents/{p.fresh_consent()}")),
          lambda p: _act(p.allowed.metadata, p.allowed.manage_consent)),
    Route("POST /cases/<case>/followups",
          lambda p: p.post_form(p.url("/cases/{case}/followups"),
                                {"due_on": local_today().isoformat(), "note": "Anrufen",
                                 "assignee": f"org:{p.s.orgs['A'].id}"}),
          lambda p: _act(p.allowed.contents, p.allowed.write, ok="303")),
    Route("POST /api/v1/cases/<case>/followups",
          lambda p: p.api("POST", p.url("/api/v1/cases/{case}/followups"),
                          json={"due_on": local_today().isoformat(), "note": "Anrufen"}),
          lambda p: _act(p.allowed.contents, p.allowed.write, ok="201")),
]
# fmt: on


def read_routes() -> list[Route]:
    """The reading routes of the matrix."""
    return CASE_ROUTES + _document_routes() + _search_routes() + _api_and_print_routes()


def write_routes() -> list[Route]:
    """The changing routes of the matrix; they run last (they add versions and consents)."""
    return _note_write_routes() + CASE_WRITE_ROUTES + API_WRITE_ROUTES


# ---------------------------------------------------------------- running and comparing


def _body_text(response) -> str:
    """The answer as text; a ZIP (the Art. 15 export) as the text of all its members."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    text = data.decode("utf-8", "replace")
    if response.mimetype == "application/json":
        text += json.dumps(response.get_json(silent=True), ensure_ascii=False)
    return text


def _titles_in(text: str) -> set[str]:
    return {label for label, (title, _word) in DOCS.items() if title in text}


def _outcome(route: Route, probe: Probe, response) -> str:
    """What happened, in the same words as the expectation; LEAK when hidden text came through."""
    status = str(response.status_code)
    if response.status_code != 200:
        return status
    text = _body_text(response)
    hidden = set(DOCS) - probe.readable
    leaks = {lb for lb in hidden if DOCS[lb][0] in text}
    if not route.search:
        leaks |= {lb for lb in hidden if re.search(DOCS[lb][1], text, re.IGNORECASE)}
    if route.kind == "docs":
        result = f"{status} shows{sorted(_titles_in(text))}"
    elif route.kind == "case":
        result = f"{status} {'listed' if probe.s.reference in text else '-'}"
    else:
        result = status
    return result + (f" LEAK{sorted(leaks)}" if leaks else "")


def check_all_routes(probe: Probe) -> None:
    """Run every route for the probe's user; fail with the whole table when any differs.

    The reads run first, on a drained search index. During the writes that follow, the
    index updates a request queues are not run after it (``pipeline._run_outbox`` made a no-op):
    nothing reads the index afterwards, and indexing is most of the time a write costs.
    Printouts are "rendered" as their HTML: the access decision and the printed contents
    are what is checked here (WeasyPrint has its own tests), and HTML can be searched for
    leaks where compressed PDF text could not.
    """
    rows = []
    reads, writes = read_routes(), write_routes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "render_pdf", lambda html, resources=None: html.encode())
        for route in reads + writes:
            if route is writes[0]:
                patch.setattr(pipeline, "_run_outbox", lambda _app: None)
            rows.append(
                (route.name, route.expect(probe), _outcome(route, probe, route.call(probe)))
            )
    wrong = [row for row in rows if row[1] != row[2]]
    if wrong:
        width = max(len(name) for name, _e, _a in rows)
        lines = [f"{'route':<{width}}  {'expected':<34}  actual"]
        for name, expected, actual in rows:
            mark = "" if expected == actual else "   <-- differs"
            lines.append(f"{name:<{width}}  {expected:<34}  {actual}{mark}")
        pytest.fail(f"{len(wrong)} of {len(rows)} routes differ from the table:\n"
                    + "\n".join(lines), pytrace=False)  # fmt: skip


def row(who: str, consent: str) -> Allowed:
    """The table's row for ``who`` ("A-readonly", "admin", ...) under B's ``consent``."""
    role, org = ("admin", "C") if who == "admin" else (who[2:], who[0])
    return TABLE[(role, org, consent)]


def probe_for(s: Scenario, who: str, consent: str, make_token) -> Probe:
    """A fresh browser logged in as ``who`` and an API token of ``who``."""
    user = s.users[who]
    browser = s.app.test_client()
    assert Auth(browser).login(user.email).status_code == 302
    everything = frozenset(categories.DATA_CATEGORIES)
    released = everything if who.startswith("A") else RELEASED.get(consent, frozenset())
    return Probe(s, row(who, consent), released, browser, make_token(user))


# ---------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("role", "org", "consent"), _matrix_params())
def test_access_matrix(build, make_token, role, org, consent):
    """One user, one consent state of B: every route answers as the table says."""
    s = build(consent)
    who = "admin" if role == "admin" else f"{org}-{role}"
    check_all_routes(probe_for(s, who, consent, make_token))


# ---------------------------------------------------------------- beside the matrix


def test_admin_sees_no_contents_even_when_a_consent_names_their_organisation(build, make_token):
    """A consent naming the admins' organisation gives them nothing: admins run accounts."""
    s = build("current", release_to=("B", "C"))
    probe = probe_for(s, "admin", "current", make_token)
    check_all_routes(probe)
    assert probe.get("/admin/users").status_code == 200  # and their own pages still work
    assert probe.api("GET", "/api/v1/me").status_code == 200


def test_deactivated_users_token_gets_401(app, build, make_token):
    """Deactivation ends API access at once, with or without the token being revoked."""
    s = build("current")
    urls = ["/api/v1/me", f"/api/v1/cases/{s.case_id}",
            f"/api/v1/documents/{s.doc_ids['case-note']}"]  # fmt: skip
    for who in ("B-caseworker", "A-readonly"):
        probe = probe_for(s, who, "current", make_token)
        assert [probe.api("GET", url).status_code for url in urls] == [200, 200, 200]
        user = s.users[who]
        if who == "B-caseworker":  # through the admin service: also revokes the tokens
            accounts.update_user(
                s.db, user, actor=s.users.make_user(role="network_admin", org=s.orgs["C"]),
                email=user.email, name=user.name,
                organisation=user.organisation, role=user.role, active=False,
            )  # fmt: skip
        else:  # only the flag: the token is still unrevoked, the inactive user must not pass
            user.active = False
        s.db.commit()
        answers = [probe.api("GET", url) for url in urls]
        assert [a.status_code for a in answers] == [401, 401, 401], who
        assert all(a.get_json()["error"]["code"] == "unauthenticated" for a in answers)
        page = probe.get(f"/cases/{s.case_id}")
        assert page.status_code == 302 and "/login" in page.headers["Location"], who


def test_internal_documents_never_reach_another_organisation(build, make_token, save_ctx):
    """With a current consent, B sees the case but not A's internal note, and A not B's."""
    s = build("current")
    for who in ("B-caseworker", "B-readonly", "B-coordinator"):
        probe = probe_for(s, who, "current", make_token)
        internal = s.doc_ids["internal-note"]
        for url in (f"/documents/{internal}", f"/documents/{internal}/versions/2",
                    f"/documents/{internal}/diff?from=1&to=2"):  # fmt: skip
            assert probe.get(url).status_code == 404, (who, url)
        for url in (f"/api/v1/documents/{internal}", f"/api/v1/documents/{internal}/versions/2"):
            assert probe.api("GET", url).status_code == 404, (who, url)
        listed = probe.api("GET", f"/api/v1/cases/{s.case_id}/documents").get_json()["items"]
        assert internal not in {item["id"] for item in listed}
        assert "Birkenhain" not in probe.get(f"/cases/{s.case_id}").text
        assert "Birkenhain" not in probe.get("/search?q=Wasserturm").text
    # B's own internal note stays inside B, however A's users look for it.
    author = s.users["B-caseworker"]
    case = s.db.get(Document, s.doc_ids["case-note"]).case
    secret = documents.create_document(
        s.db, author, case, doc_type="note", title="Partnerintern Dornbusch",
        content=Content(text="Nur fuer B: Eulenspiegel."), ctx=save_ctx, visibility="internal",
    )  # fmt: skip
    s.db.commit()
    jobs.drain(s.app)
    own = probe_for(s, "B-readonly", "current", make_token)
    assert own.get(f"/documents/{secret.id}").status_code == 200  # B reads its own
    for who in ("A-caseworker", "A-readonly", "A-coordinator"):
        probe = probe_for(s, who, "current", make_token)
        assert probe.get(f"/documents/{secret.id}").status_code == 404, who
        assert probe.api("GET", f"/api/v1/documents/{secret.id}").status_code == 404, who
        assert "Dornbusch" not in probe.get(f"/cases/{s.case_id}").text, who
        assert "Dornbusch" not in probe.get("/search?q=Eulenspiegel").text, who
        listed = probe.api("GET", f"/api/v1/cases/{s.case_id}/documents").get_json()["items"]
        assert secret.id not in {item["id"] for item in listed}, who


def test_art15_export_of_the_lead_holds_no_internal_documents_of_a_partner(
    build, make_token, save_ctx
):
    """A's caseworker exports the case: B's internal note must not come out with it."""
    s = build("current")
    case = s.db.get(Document, s.doc_ids["case-note"]).case
    documents.create_document(
        s.db, s.users["B-caseworker"], case, doc_type="note", title="Partnerintern Dornbusch",
        content=Content(text="Nur fuer B: Eulenspiegel."), ctx=save_ctx, visibility="internal",
    )  # fmt: skip
    s.db.commit()
    probe = probe_for(s, "A-caseworker", "current", make_token)
    response = probe.post_form(f"/cases/{s.case_id}/export", {})
    assert response.status_code == 200
    text = _body_text(response)
    assert "Wasserturm" in text  # A's own internal note is A's to hand out
    assert "Dornbusch" not in text and "Eulenspiegel" not in text


# The person's birth year (as a number of its own: "1987-03-14", "14.03.1987", not digits
# inside a timestamp such as "01:21:05.198753", which once failed this test), nationality
# and language.
PERSON_DETAILS = re.compile(r"(?<!\d)1987(?!\d)|Jemenitisch|Tigrinya")


def test_metadata_only_folder_shows_no_person_details(build, make_token):
    """DESIGN.md: coordinators see reference, person name, phase, lead organisation."""
    s = build("none")
    probe = probe_for(s, "B-coordinator", "none", make_token)
    for url in (f"/cases/{s.case_id}", f"/cases/?q={FAMILY_NAME}"):
        page = probe.get(url)
        assert page.status_code == 200 and s.reference in page.text and FAMILY_NAME in page.text
        assert not PERSON_DETAILS.search(page.text), url


def test_metadata_only_api_shows_no_person_details(build, make_token):
    """The same through the API (fixed in dd50c01: person_json gave them all to coordinators)."""
    s = build("none")
    probe = probe_for(s, "B-coordinator", "none", make_token)
    for url in (f"/api/v1/cases/{s.case_id}", f"/api/v1/cases?q={FAMILY_NAME}"):
        response = probe.api("GET", url)
        assert response.status_code == 200 and s.reference in response.text
        assert not PERSON_DETAILS.search(response.text), url


def test_only_the_lead_organisations_writers_hand_the_case_over(build, make_token):
    """Hand-over (part of managing consents): B holds a current consent, so it is a valid target."""
    s = build("current")
    url, data = f"/cases/{s.case_id}/handover", {"organisation_id": str(s.orgs["B"].id)}
    refused = ("A-readonly", "B-caseworker", "B-readonly", "B-coordinator", "admin")
    answers = {
        who: probe_for(s, who, "current", make_token).post_form(url, data).status_code
        for who in refused
    }
    assert answers == {who: 404 if who == "admin" else 403 for who in refused}
    s.db.expire_all()
    case = s.db.get(Document, s.doc_ids["case-note"]).case
    assert case.lead_organisation_id == s.orgs["A"].id
    lead = probe_for(s, "A-coordinator", "current", make_token)
    assert lead.post_form(url, data).status_code == 200  # what changes, to confirm
    s.db.expire_all()
    assert case.lead_organisation_id == s.orgs["A"].id
    assert lead.post_form(url, {**data, "confirmed": "yes"}).status_code == 302
    s.db.expire_all()
    assert case.lead_organisation_id == s.orgs["B"].id
