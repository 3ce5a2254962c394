"""Art. 15 GDPR: everything the network holds about a person's case, as one ZIP.

The ZIP holds a summary for the person to read (a PDF in German or English, rendered by
``printouts.print_disclosure`` from ``collect``), ``fall.json`` with all data (follow-ups
included), every version of every document (text or fields, and the original files) and
the access log of the case. Accesses name organisations, not their staff: the person is
told who received their data (Art. 15(1)(c)), not which colleague opened it.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    Case,
    Document,
    DocumentVersion,
    FollowUp,
    Organisation,
    Person,
    User,
)
from portal.models.base import local_date
from portal.services import access, audit, cases
from portal.services.csvfile import csv_document
from portal.services.storage import BlobStore


@dataclass
class ExportData:
    """What the export contains, for the summary and for the ZIP."""

    case: Case
    documents: list[tuple[Document, list[DocumentVersion]]]
    events: list[AuditEvent]
    organisations: dict[int, Organisation]
    phase_history: list
    followups: list[FollowUp] = field(default_factory=list)


def collect(session: Session, who: audit.Requester, case: Case) -> ExportData:
    """Gather the case, all its documents with all versions, and its audit trail, for the
    Art. 15 export by ``who``; the export is audited."""
    actor = who.user
    access.require_visible(actor, access.READ_CASE, case)
    access.require(actor, access.EXPORT_PERSON_DATA, case)
    # Internal documents of other organisations are theirs to disclose (each agency answers
    # Art. 15 for what it controls); the exporter includes only what it may read.
    docs = list(
        session.scalars(
            select(Document)
            .join(Case, Case.id == Document.case_id)
            .where(Document.case_id == case.id, access.document_filter(actor))
            .order_by(Document.id)
        )
    )
    versions = list(
        session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id.in_([d.id for d in docs]))
            .order_by(DocumentVersion.document_id, DocumentVersion.number)
        )
    )
    by_document: dict[int, list[DocumentVersion]] = {d.id: [] for d in docs}
    for version in versions:
        by_document[version.document_id].append(version)
    events = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
        )
    )
    organisations = {o.id: o for o in session.scalars(select(Organisation))}
    data = ExportData(
        case=case,
        documents=[(d, by_document[d.id]) for d in docs],
        events=events,
        organisations=organisations,
        phase_history=cases.phase_history(session, case),
        followups=_followups(session, actor, case),
    )
    # Audited once everything is read: the export is not part of its own access log.
    audit.record_read(session, who, "export", "case", case.id, case.id, kind="art15")
    return data


def _followups(session: Session, actor: User, case: Case) -> list[FollowUp]:
    """The case's follow-ups (open and done), earliest due first."""
    return list(
        session.scalars(
            select(FollowUp)
            .join(Case, Case.id == FollowUp.case_id)
            .where(FollowUp.case_id == case.id, access.followup_filter(actor))
            .order_by(FollowUp.due_on, FollowUp.id)
        )
    )


# The summary's name in the ZIP, by its language.
SUMMARY_NAMES = {"de": "auskunft.pdf", "en": "information.pdf"}
LANGUAGES = tuple(SUMMARY_NAMES)
_ENGLISH = {"englisch", "english", "en"}
_GERMAN = {"deutsch", "german", "de"}


def language_for(person: Person) -> str:
    """The summary's language as the person would read it: English for someone who speaks
    English and not German, else German."""
    spoken = {language.strip().casefold() for language in person.languages}
    return "en" if spoken & _ENGLISH and not spoken & _GERMAN else "de"


@dataclass(frozen=True)
class Access:
    """A line of the access log as the person reads it: on ``day`` ``organisation`` did
    ``action`` to an object (``document``, where it is one the export holds), ``times``
    times."""

    day: date
    organisation: str
    action: str
    object_type: str
    document: Document | None
    times: int


def accesses(data: ExportData) -> list[Access]:
    """The case's trail, oldest first, one line per day, organisation, action and object."""
    documents = {document.id: document for document, _versions in data.documents}
    lines: dict[tuple, int] = {}
    for event in data.events:
        org = data.organisations.get(event.organisation_id)
        key = (local_date(event.at), org.name if org else "", event.action,
               event.object_type, event.object_id)  # fmt: skip
        lines[key] = lines.get(key, 0) + 1
    return [
        Access(day, org, action, kind, documents.get(object_id) if kind == "document" else None, n)
        for (day, org, action, kind, object_id), n in lines.items()
    ]


def write_zip(
    data: ExportData, store: BlobStore, summary: bytes, out: BinaryIO, language: str = "de"
) -> None:
    """Write the export ZIP to ``out`` (a file: large files are streamed, not held in memory);
    ``summary``: the PDF for the person, in ``language``."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY_NAMES[language], summary)
        archive.writestr("fall.json", json.dumps(_case_json(data), ensure_ascii=False, indent=2))
        for document, versions in data.documents:
            folder = f"dokumente/{document.id:05d}-{_slug(document.title)}"
            for version in versions:
                stem = f"{folder}/version-{version.number:03d}"
                if version.text is not None:
                    archive.writestr(f"{stem}.txt", version.text)
                if version.fields is not None:
                    archive.writestr(
                        f"{stem}.json", json.dumps(version.fields, ensure_ascii=False, indent=2)
                    )
                if version.blob_sha256:
                    archive.write(store.path(version.blob_sha256), f"{stem}-{version.filename}")
        for consent in data.case.consents:
            if consent.form_blob_sha256:
                archive.write(
                    store.path(consent.form_blob_sha256),
                    f"einwilligungen/{consent.id:05d}-{consent.form_filename}",
                )
        archive.writestr("zugriffe.csv", _events_csv(data))


def _case_json(data: ExportData) -> dict:
    case, person = data.case, data.case.person
    return {
        "reference": case.reference,
        "person": {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "aliases": person.aliases,
            "birth_date": person.birth_date,
            "nationality": person.nationality,
            "languages": person.languages,
            "gender": person.gender,
            "phone": person.phone,
            "email": person.email,
            "address": person.address,
        },
        "phase": case.phase,
        "focus_areas": case.focus_areas,
        "lead_organisation": case.lead_organisation.name,
        "created_at": case.created_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "phase_history": [
            {"from": c.from_phase, "to": c.to_phase, "at": c.at.isoformat()}
            for c in data.phase_history
        ],
        "consents": [
            {
                "organisations": [o.name for o in c.organisations],
                "purpose": c.purpose,
                "data_categories": c.data_categories,
                "valid_from": c.valid_from.isoformat(),
                "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
            }
            for c in data.case.consents
        ],
        "documents": [
            {
                "id": d.id,
                "type": d.type,
                "title": d.title,
                "visibility": d.visibility,
                "data_categories": d.data_categories,
                "versions": [
                    {
                        "number": v.number,
                        "created_at": v.created_at.isoformat(),
                        "organisation": data.organisations[v.organisation_id].name,
                        "comment": v.comment,
                        "filename": v.filename,
                    }
                    for v in versions
                ],
            }
            for d, versions in data.documents
        ],
        "followups": [
            {
                "due_on": f.due_on.isoformat(),
                "note": f.note,
                "organisation": f.assignee_organisation.name,
                "created_at": f.created_at.isoformat(),
                "done_at": f.done_at.isoformat() if f.done_at else None,
            }
            for f in data.followups
        ],
    }


def _events_csv(data: ExportData) -> str:
    rows = []
    for event in data.events:
        org = data.organisations.get(event.organisation_id)
        rows.append((
            event.at.isoformat(), event.action, org.name if org else "",
            f"{event.object_type} {event.object_id or ''}".strip(),
        ))  # fmt: skip
    return csv_document(["zeitpunkt", "aktion", "organisation", "objekt"], rows)


def _slug(title: str) -> str:
    slug = re.sub(r"[^\w-]+", "-", title.lower()).strip("-")
    return slug[:40] or "dokument"
