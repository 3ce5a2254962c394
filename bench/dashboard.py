"""Coordinators' dashboard for 5,000 cases: server time of GET /dashboard/ and SQL statements.

The network: 12 organisations, 5,000 cases opened over three years with phase
histories (1–5 steps), focus areas, one agreement per case from the agreement phase
on (1–3 versions of 3–8 goals each) and about two follow-ups per case.
Target (issue 6): under 300 ms server time on a 2-core machine.
Run: .venv/bin/python bench/dashboard.py [sqlite|postgresql] [--cases N]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

from _setup import PASSWORD, QueryCounter, login, machine, make_app, summary, timed
from sqlalchemy import insert

from portal.models import Case, Document, DocumentVersion, FollowUp, Person
from portal.models.base import local_today, utcnow
from portal.models.case import FOCUS_AREAS, PHASES, PhaseChange
from portal.services import access, accounts
from portal.services.document_fields import GOAL_STATUSES

SEED = 20261126
ORGANISATIONS = 12
AREAS = ("Sprache", "Arbeit", "Bildung", "Wohnen", "Gesundheit")


def build(app, count: int, rng: random.Random) -> str:
    """Organisations, a coordinator and ``count`` cases with everything the dashboard reads."""
    with app.extensions["portal.db"].session() as session:
        orgs = [
            accounts.save_organisation(
                session, actor=access.SYSTEM, name=f"Träger {i}", kind="kommune"
            )
            for i in range(ORGANISATIONS)
        ]
        accounts.create_user(
            session, actor=access.SYSTEM, email="coordinator@example.org",
            name="Bench Koordination",
            organisation=orgs[0], role="coordinator", password=PASSWORD, chosen_by_user=True,
        )  # fmt: skip
        session.flush()
        org_ids = [org.id for org in orgs]
        persons = [{"id": i, "given_name": "Bench", "family_name": f"Person {i}"}
                   for i in range(1, count + 1)]  # fmt: skip
        session.execute(insert(Person), persons)
        rows = _cases(count, org_ids, rng)
        for table, values in rows.items():
            for start in range(0, len(values), 2000):
                session.execute(insert(table), values[start : start + 2000])
        session.commit()
        return "coordinator@example.org"


def _cases(count: int, org_ids: list[int], rng: random.Random) -> dict:
    """Rows per table: cases, phase changes, agreements with versions, follow-ups."""
    now, today = utcnow(), local_today()
    rows: dict = {Case: [], PhaseChange: [], Document: [], DocumentVersion: [], FollowUp: []}
    for case_id in range(1, count + 1):
        opened = now - timedelta(days=rng.uniform(0, 3 * 365))
        lead = rng.choice(org_ids)
        at, steps = opened, rng.randint(1, len(PHASES))
        for step in range(steps):
            previous = PHASES[step - 1] if step else None
            rows[PhaseChange].append(
                {"case_id": case_id, "from_phase": previous, "to_phase": PHASES[step], "at": at}
            )
            at = min(now, at + timedelta(days=rng.uniform(3, 90)))
        phase = PHASES[steps - 1]
        rows[Case].append({
            "id": case_id, "reference": f"KIM-B-{case_id:05d}", "person_id": case_id,
            "lead_organisation_id": lead, "phase": phase, "created_at": opened, "updated_at": at,
            "focus_areas": rng.sample(FOCUS_AREAS, rng.randint(1, 3)),
            "closed_at": at if phase == "abgeschlossen" else None,
        })  # fmt: skip
        if steps >= 3:
            _agreement(rows, case_id, lead, org_ids, today, rng)
        for _ in range(rng.randint(0, 4)):
            rows[FollowUp].append({
                "case_id": case_id, "due_on": today + timedelta(days=rng.randint(-60, 60)),
                "assignee_organisation_id": rng.choice(org_ids), "note": "Nachfassen",
                "done_at": now if rng.random() < 0.5 else None,
            })  # fmt: skip
    return rows


def _agreement(rows: dict, case_id: int, lead: int, org_ids: list[int], today, rng) -> None:
    versions = rng.randint(1, 3)
    rows[Document].append({
        "id": case_id, "case_id": case_id, "type": "agreement", "title": "Integrationsvereinbarung",
        "author_organisation_id": lead, "current_version": versions,
    })  # fmt: skip
    for number in range(1, versions + 1):
        goals = [
            {"area": rng.choice(AREAS), "goal": f"Ziel {n}: " + "Deutschkurs B1 abschließen " * 3,
             "measures": "Anmeldung beim Kursträger, Fahrtkosten klären. " * 3,
             "responsible_organisation_id": rng.choice(org_ids),
             "due_date": (today + timedelta(days=rng.randint(-365, 365))).isoformat(),
             "status": rng.choice(GOAL_STATUSES)}
            for n in range(rng.randint(3, 8))
        ]  # fmt: skip
        rows[DocumentVersion].append({
            "document_id": case_id, "number": number, "organisation_id": lead,
            "title": "Integrationsvereinbarung", "fields": {"goals": goals, "signatories": []},
        })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", nargs="?", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    app, cleanup = make_app(args.backend)
    try:
        started = time.perf_counter()
        email = build(app, args.cases, random.Random(SEED))
        built = time.perf_counter() - started
        client = app.test_client()
        login(client, email)
        assert client.get("/dashboard/").status_code == 200
        timed(lambda: client.get("/dashboard/"), 5)  # warm-up
        cpu = time.process_time()
        samples = timed(lambda: client.get("/dashboard/"), args.requests)
        cpu = (time.process_time() - cpu) / args.requests * 1000
        csv_samples = timed(lambda: client.get("/dashboard/export.csv"), 5)
        counter = QueryCounter(app.extensions["portal.db"].engine)
        client.get("/dashboard/")
        print(f"machine: {machine()}")
        print(f"dashboard ({args.backend}, {args.cases} cases, built in {built:.0f} s):")
        print(f"  GET /dashboard/ ({args.requests} requests): {summary(samples)};"
              f" {counter.count} SQL statements per render")  # fmt: skip
        print(f"  CPU time of the portal process per request: {cpu:.0f} ms"
              " (SQLite: including the queries; less sensitive to other load)")  # fmt: skip
        print(f"  GET /dashboard/export.csv (5 requests): {summary(csv_samples)}")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
