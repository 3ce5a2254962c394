"""Demo data for ``portal seed-demo``: a believable KIM network in the Kreis Gütersloh."""

from __future__ import annotations

import io
import itertools
import random
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import PHASES, Case, Document, DocumentVersion, Organisation, PhaseChange, User
from portal.models.base import local_today, utcnow
from portal.services import (
    access,
    accounts,
    cases,
    consents,
    data_categories,
    demo_data,
    documents,
    followups,
)
from portal.services.documents import Content, SaveContext, Upload

DEMO_PASSWORD = "Emsufer-Lindenblatt-26"  # noqa: S105  (printed for the demo on purpose)

ORGANISATIONS = [
    ("Stadt Rietberg – Fachbereich Soziales", "kommune", "Rügenstraße 1, 33397 Rietberg"),
    (
        "Kommunales Integrationszentrum Kreis Gütersloh",
        "kreis",
        "Herzebrocker Straße 140, 33334 Gütersloh",
    ),
    (
        "Caritasverband für den Kreis Gütersloh e. V.",
        "wohlfahrtsverband",
        "Kökerstraße 7–11, 33330 Gütersloh",
    ),
    ("Diakonie Gütersloh e. V.", "wohlfahrtsverband", "Kirchstraße 14a, 33330 Gütersloh"),
    ("Jobcenter Kreis Gütersloh", "jobcenter", "Moltkestraße 12, 33330 Gütersloh"),
    ("Ehrenamtsinitiative „Willkommen in Rietberg“", "ehrenamt", "Bahnhofstraße 5, 33397 Rietberg"),
]

# (e-mail, full name, organisation index, role)
USERS = [
    ("admin@rietberg.example", "Petra Vogelsang", 0, "network_admin"),
    ("koordination@kreis-guetersloh.example", "Dr. Miriam Özdemir", 1, "coordinator"),
    ("s.hoffmann@rietberg.example", "Sabine Hoffmann", 0, "caseworker"),
    ("j.becker@rietberg.example", "Jonas Becker", 0, "readonly"),
    ("a.nowak@caritas-gt.example", "Agnieszka Nowak", 2, "caseworker"),
    ("t.schulte@diakonie-gt.example", "Thomas Schulte", 3, "caseworker"),
    ("l.meier@jobcenter-gt.example", "Lena Meier", 4, "caseworker"),
    ("k.yilmaz@willkommen-rietberg.example", "Kerem Yılmaz", 5, "caseworker"),
]


# The caseworker (index into USERS) who leads cases for each organisation with cases.
CASE_LEADS = [2, 4, 5, 6, 7]


def seed(session: Session, ctx: SaveContext) -> list[tuple[str, str, str]]:
    """Create the demo network unless it exists; return (e-mail, password, who) for each login."""
    existing = session.scalar(select(Organisation).where(Organisation.name == ORGANISATIONS[0][0]))
    if existing is None:
        orgs = [
            accounts.save_organisation(
                session, actor=access.SYSTEM, name=name, kind=kind, address=address, ip="seed-demo"
            )
            for name, kind, address in ORGANISATIONS
        ]
        for email, name, org_index, role in USERS:
            accounts.create_user(
                session,
                actor=access.SYSTEM,
                email=email,
                name=name,
                organisation=orgs[org_index],
                role=role,
                password=DEMO_PASSWORD,
                ip="seed-demo",
                chosen_by_user=True,  # published in the README, to try the portal out
            )
        session.flush()
        _seed_cases(session, ctx)
    return [
        (email, DEMO_PASSWORD, f"{role}, {ORGANISATIONS[org_index][0]}")
        for email, _name, org_index, role in USERS
    ]


def _seed_cases(session: Session, ctx: SaveContext) -> None:
    """About thirty cases in every phase, with notes, assessments, agreements and files."""
    rng = random.Random(2026)  # noqa: S311  (reproducible demo data, not a secret)
    followup_numbers: dict[int, itertools.count] = defaultdict(itertools.count)
    leads = [
        session.scalar(select(User).where(User.email == USERS[index][0])) for index in CASE_LEADS
    ]
    for i, (given, family, born, nationality, languages, gender, aliases) in enumerate(
        demo_data.PERSONS
    ):
        # Shifted every round, so that every organisation has cases in every phase.
        lead = leads[(i + i // len(PHASES)) % len(leads)]
        person = {
            "given_name": given, "family_name": family, "birth_date": born,
            "nationality": nationality, "languages": languages, "gender": gender,
            "aliases": aliases,
        }  # fmt: skip
        areas = rng.sample(["sprache", "arbeit", "wohnen", "bildung", "aufenthalt", "familie"], 3)
        case = cases.create_case(
            session, lead, person=person, focus_areas=areas, confirm_new_person=True, ip="seed-demo"
        )
        phase = PHASES[i % len(PHASES)]
        _documents_for(session, ctx, rng, lead, case, phase, i)
        for step in PHASES[1 : PHASES.index(phase) + 1]:
            cases.update_case(session, lead, case, phase=step, ip="seed-demo")
        if phase != "abgeschlossen" and i % 3 != 2:
            # The person releases what the case is about to the next organisation.
            partner = leads[(leads.index(lead) + 1) % len(leads)]
            consents.record(
                session, lead, case, organisation_ids=[partner.organisation_id],
                purpose=demo_data.CONSENT_PURPOSE, data_categories=areas, ip="seed-demo",
            )  # fmt: skip
        _backdate(session, case, days=400 - i * 12)
        if phase != "abgeschlossen":
            # Numbered per caseworker, so that everyone's list has every kind of follow-up.
            numbers = [next(followup_numbers[lead.id]) for _ in range(1 + i % 2)]
            _followups_for(session, lead, case, numbers)


def _documents_for(session, ctx, rng, lead, case, phase: str, i: int) -> None:
    given = case.person.given_name
    stage = PHASES.index(phase)
    title, first, second = demo_data.NOTES[i % len(demo_data.NOTES)]
    words = {
        "given": given, "language": case.person.languages[0], "months": 3 + i % 14,
        "date": f"{1 + i % 27:02d}.{1 + i % 12:02d}.2027",
    }  # fmt: skip
    note = _create(session, ctx, lead, case, "note", title, Content(text=first.format(**words)))
    if i % 2:
        text = first.format(**words) + "\n\n" + second.format(**words)
        _update(session, ctx, lead, note, Content(text=text), "Ergänzung nach Rückmeldung")
    if i % 5 == 0:
        _create(
            session, ctx, lead, case, "note", "Interne Notiz",
            Content(text="Nur für unser Haus: Rückruf der Betreuerin abwarten."),
            visibility="internal",
        )  # fmt: skip
    if stage >= 1:
        fields = {
            key: value.format(subject=rng.choice(demo_data.SUBJECTS), years=2 + i % 9,
                              job=rng.choice(demo_data.JOBS))
            for key, value in demo_data.ASSESSMENT.items()
        }  # fmt: skip
        fields["languages"] = [{"language": case.person.languages[0], "level": "Muttersprache"},
                               {"language": "Deutsch", "level": "A1"}]  # fmt: skip
        assessment = _create(
            session, ctx, lead, case, "assessment", "Bestandsaufnahme", Content(fields=fields)
        )
        fields["languages"][1]["level"] = "A2"
        _update(session, ctx, lead, assessment, Content(fields=fields), "Sprachstand aktualisiert")
    if stage >= 2:
        goals = [
            {"area": area, "goal": goal, "measures": measures, "status": "open",
             "responsible_organisation_id": lead.organisation_id,
             "due_date": _goal_due(i + n)}
            for n, (area, goal, measures) in enumerate(demo_data.GOALS[: 2 + i % 3])
        ]  # fmt: skip
        signatories = [case.person.full_name, lead.name]
        agreement = _create(
            session, ctx, lead, case, "agreement", "Integrationsvereinbarung",
            Content(fields={"goals": goals, "signatories": signatories}),
        )  # fmt: skip
        if stage >= 3:
            for n, goal in enumerate(goals):
                goal["status"] = _goal_status(i + n, closed=stage == 4)
            _update(
                session, ctx, lead, agreement,
                Content(fields={"goals": goals, "signatories": signatories,
                                "signed_on": "2026-09-15"}),
                "Stand der Ziele im Monitoring",
            )  # fmt: skip
    if i % 6 == 0:
        _create(
            session, ctx, lead, case, "file", "Anmeldebestätigung Integrationskurs",
            Content(upload=Upload(io.BytesIO(_course_pdf(case)), "Anmeldebestaetigung.pdf")),
        )  # fmt: skip
    if i % 7 == 3:
        memo = f"Telefonnotiz {case.reference}\nRückruf von {given} wegen Termin beim Jobcenter."
        _create(
            session, ctx, lead, case, "file", "Telefonnotiz",
            Content(upload=Upload(io.BytesIO(memo.encode()), "telefonnotiz.txt")),
        )  # fmt: skip


def _goal_due(n: int) -> str:
    """A goal's due date relative to today, so that some are always overdue."""
    offsets = demo_data.GOAL_DUE_OFFSETS
    return (local_today() + timedelta(days=offsets[n % len(offsets)])).isoformat()


def _goal_status(n: int, closed: bool) -> str:
    """Mixed statuses in monitoring; a closed case's goals are all done or dropped."""
    if closed:
        return "dropped" if n % 3 == 0 else "done"
    return demo_data.GOAL_PROGRESS[n % len(demo_data.GOAL_PROGRESS)]


def _followups_for(session: Session, lead: User, case: Case, numbers: list[int]) -> None:
    """Follow-ups number ``n`` of the lead: some overdue, some due today or this week;
    some for the whole organisation, some done in the last days."""
    now, today = utcnow(), local_today()
    for n in numbers:
        offset = demo_data.FOLLOWUP_OFFSETS[n % len(demo_data.FOLLOWUP_OFFSETS)]
        followup = followups.create(
            session, lead, case, due_on=today + timedelta(days=offset),
            note=demo_data.FOLLOWUPS[n % len(demo_data.FOLLOWUPS)],
            assignee_organisation_id=lead.organisation_id if n % 4 == 3 else None,
            ip="seed-demo",
        )  # fmt: skip
        followup.created_at = now - timedelta(days=12 + n % 20)
        if n % 5 == 4:
            followups.set_done(session, lead, followup, True, ip="seed-demo")
            followup.done_at = now - timedelta(days=1 + n % 10)


def _create(session, ctx, lead, case, doc_type, title, content, visibility="case") -> Document:
    # As a writer would tick them: what the title says, not every focus of the case.
    categories = None if doc_type == "assessment" else data_categories.propose(doc_type, title)
    return documents.create_document(
        session, lead, case, doc_type=doc_type, title=title, content=content, ctx=ctx,
        visibility=visibility, categories=categories, ip="seed-demo",
    )  # fmt: skip


def _update(session, ctx, lead, document, content, comment) -> None:
    documents.add_version(
        session, lead, document, base_version=document.current_version, content=content, ctx=ctx,
        comment=comment, ip="seed-demo",
    )  # fmt: skip


def _backdate(session: Session, case: Case, days: int) -> None:
    """Spread the demo history over the past months, so lists and timelines look lived-in."""
    start = utcnow() - timedelta(days=days)
    case.created_at = start
    changes = session.scalars(select(PhaseChange).where(PhaseChange.case_id == case.id)).all()
    for n, change in enumerate(changes):
        change.at = start + timedelta(days=n * days / (len(changes) + 1))
    docs = session.scalars(select(Document).where(Document.case_id == case.id)).all()
    latest = start
    for n, document in enumerate(docs):
        versions = session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document.id)
        ).all()
        for m, version in enumerate(versions):
            version.created_at = start + timedelta(days=(n + 1) * 9 + m * 5, hours=9 + m)
            latest = max(latest, version.created_at)
        document.created_at = versions[0].created_at
        document.updated_at = versions[-1].created_at
    case.updated_at = latest


def _course_pdf(case: Case) -> bytes:
    """A small registration letter, rendered like a real one (WeasyPrint, no outside fetches)."""
    from weasyprint import HTML

    def refuse(url: str):
        raise ValueError(f"demo PDF may not fetch {url}")

    html = f"""<html lang="de"><head><style>
      body {{ font-family: 'DejaVu Sans', sans-serif; font-size: 11pt; margin: 2cm; }}
      h1 {{ font-size: 15pt; }}</style></head><body>
      <p>VHS-Zweckverband Reckenberg-Ems · Integrationskurse</p>
      <h1>Anmeldebestätigung Integrationskurs</h1>
      <p>Teilnehmende Person: {case.person.full_name}, Fall {case.reference}</p>
      <p>Kursbeginn: 12. Januar 2027, Montag bis Freitag 8:30–12:45 Uhr, Kursort Rietberg.</p>
      <p>Bitte bringen Sie den Berechtigungsschein und einen Lichtbildausweis mit.</p>
      </body></html>"""
    return HTML(string=html, url_fetcher=refuse).write_pdf()
