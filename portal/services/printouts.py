"""Printouts: agreements, note and assessment versions, and the case summary as PDF.

Each printout is built from the database for one user, through the access policy
(what the user may not see answers NotFound), rendered from ``templates/pdf/`` by the
caller's ``render`` (the web layer's ``presentation.render_printout``: in the portal's
default language), and audited as ``print`` with the version and short hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import format_date, to_user_timezone
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Blob, Case, Document, DocumentVersion, Organisation, User
from portal.models.base import local_today
from portal.services import access, audit, cases, documents, export, goals, pdf
from portal.services.errors import NotFound
from portal.services.storage import BlobStore

PRINTABLE_TYPES = ("note", "assessment", "agreement")
LOGO = "logo"
# No word is this long: such a token (a pasted link, a row of characters) gets a break
# opportunity every BREAK_EVERY characters. WeasyPrint breaking it by itself (overflow-wrap)
# takes seconds per thousand characters in a narrow table column.
LONG_TOKEN = re.compile(r"\S{61,}")
BREAK_EVERY = 20
ZERO_WIDTH_SPACE = "\u200b"
# Renders a template of templates/pdf/ with a context to HTML.
Render = Callable[[str, dict], str]


@dataclass
class PrintedPdf:
    """A finished printout: the PDF bytes, and what the download's name is made of: the
    document type (or ``case_summary``), the case reference and the version printed."""

    data: bytes
    kind: str
    reference: str
    version: int | None = None


def print_version(
    session: Session,
    who: audit.Requester,
    document_id: int,
    number: int | None,
    store: BlobStore,
    render: Render,
) -> PrintedPdf:
    """Version ``number`` (None: the current one) of a note, assessment or agreement as PDF."""
    document = documents.get_document(session, who.user, document_id)
    if document.type not in PRINTABLE_TYPES:
        raise NotFound()
    version = documents.get_version(
        session, document, document.current_version if number is None else number
    )
    version = documents.as_read(who.user, document, version)
    short = pdf.short_hash(documents.content_hash(version))
    case = document.case
    resources = _resources(session, store, case.lead_organisation)
    context = {
        **_common(case, who.user, resources),
        "document": document,
        "version": version,
        "short_hash": short,
        "org_names": _organisation_names(session, version),
        "signers": _signers(case, version, who.user),
    }
    data = pdf.render_pdf(render(f"pdf/{document.type}.html", context), resources)
    audit.record_read(
        session, who, "print", "document", document.id, case.id,
        version=version.number, content_hash=short,
    )  # fmt: skip
    return PrintedPdf(data, document.type, case.reference, version.number)


def print_case_summary(
    session: Session, who: audit.Requester, case_id: int, store: BlobStore, render: Render
) -> PrintedPdf:
    """The case summary (Fallübersicht) as PDF, with only what ``who.user`` may read."""
    case = cases.get_case(session, who.user, case_id, access.READ_CASE)
    rows = documents.list_documents(session, who.user, case)
    resources = _resources(session, store, case.lead_organisation)
    context = {
        **_common(case, who.user, resources),
        "phases": cases.phase_history(session, case),
        "documents": rows,
        "open_goals": _open_goals(rows),
        "org_names": {org.id: org.name for org in session.scalars(select(Organisation))},
    }
    data = pdf.render_pdf(render("pdf/case_summary.html", context), resources)
    audit.record_read(session, who, "print", "case", case.id, case.id, printout="case_summary")
    return PrintedPdf(data, "case_summary", case.reference)


def print_disclosure(
    session: Session,
    user: User,
    data: export.ExportData,
    language: str,
    store: BlobStore,
    render: Callable[[str, dict, str], str],
) -> bytes:
    """The summary of an Art. 15 export for the person it is about, as PDF in ``language``
    (``render`` takes it as the third argument): their data, the case, consents, documents
    with their versions and current contents, follow-ups, and every access in plain
    words. The export is audited by ``export.collect``."""
    case = data.case
    resources = _resources(session, store, case.lead_organisation)
    context = {
        **_common(case, user, resources),
        "lang": language,
        "data": data,
        "current": {document.id: versions[-1] for document, versions in data.documents},
        "accesses": export.accesses(data),
        "phases": data.phase_history,
        "long_date": lambda day: format_date(day, "long"),
    }
    return pdf.render_pdf(render("pdf/disclosure.html", context, language), resources)


def _common(case: Case, user: User, resources: dict[str, pdf.Resource]) -> dict:
    """What every printout shows: letterhead, case, person, print date, print formats (the
    portal's template helpers, ``is_overdue`` among them, come with the renderer)."""
    return {
        "case": case,
        "person": case.person,
        "organisation": case.lead_organisation,
        "has_logo": LOGO in resources,
        "printed_by": user,
        "printed_on": local_today(),
        "lang": str(current_app.config.get("BABEL_DEFAULT_LOCALE", "de")),
        "print_date": print_date,
        "print_datetime": print_datetime,
        "breakable": breakable,
    }


def breakable(text: str | None) -> str:
    """``text`` with invisible break opportunities inside overlong tokens (see LONG_TOKEN)."""
    return LONG_TOKEN.sub(lambda m: _split(m.group(0)), text or "")


def _split(token: str) -> str:
    return ZERO_WIDTH_SPACE.join(
        token[i : i + BREAK_EVERY] for i in range(0, len(token), BREAK_EVERY)
    )


def print_date(value: date | str | None) -> str:
    """A date as printed (``25.11.2026`` in German); ISO strings accepted; ``–`` for none."""
    if not value:
        return "–"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, "medium")


def print_datetime(value: datetime | None) -> Markup | str:
    """A moment as its local date (printouts do not need the time of day)."""
    return print_date(to_user_timezone(value).date()) if value else "–"


def _organisation_names(session: Session, version: DocumentVersion) -> dict[int, str]:
    """Names of the organisations responsible for the goals of an agreement version."""
    ids = {goal.responsible_organisation_id for goal in goals.goals_of(version.fields)} - {None}
    if not ids:
        return {}
    return {
        org.id: org.name
        for org in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    }


def _signers(case: Case, version: DocumentVersion, user: User) -> list[tuple[str, str]]:
    """(name, role) of everyone who signs an agreement: the signatories, the person, the
    caseworker; each name once."""
    caseworker = case.lead_user or user
    signers = [(case.person.full_name, _("Person")), (caseworker.name, _("Caseworker"))]
    for name in (version.fields or {}).get("signatories", []):
        signers.append((name, _("Signatory")))
    seen: set[str] = set()
    unique = []
    for name, role in signers:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            unique.append((name, role))
    return unique


def _open_goals(
    rows: list[tuple[Document, DocumentVersion]],
) -> list[tuple[Document, goals.Goal]]:
    """The open and in-progress goals of the current versions of the readable agreements."""
    return [
        (document, goal)
        for document, version in rows
        if document.type == "agreement"
        for goal in goals.goals_of(version.fields)
        if goal.is_active
    ]


def _resources(
    session: Session, store: BlobStore, organisation: Organisation
) -> dict[str, pdf.Resource]:
    """The organisation's logo for the letterhead, read by the hash on its row."""
    blob = session.get(Blob, organisation.logo_sha256) if organisation.logo_sha256 else None
    if blob is None or not store.exists(blob.sha256):
        return {}
    with store.open(blob.sha256) as handle:
        return {LOGO: pdf.Resource(handle.read(), blob.media_type)}
