"""Serving a 2-page agreement PDF: the portal route vs bare WeasyPrint on the same HTML.

Target (issue 6): median ≤ 0.5 s after warm-up on a 2-core machine (bare WeasyPrint
renders such a document in about 0.27 s there). SQLite.
Run: .venv/bin/python bench/pdf.py
"""

from __future__ import annotations

import io
import os

from _setup import login, machine, make_app, make_worker, summary, timed
from pypdf import PdfReader

from portal.http import save_context
from portal.models import User
from portal.services import cases, documents, pdf, pdf_worker
from portal.services.documents import Content

GOALS = 9
REPEAT = 30


def build(app) -> int:
    """A case with a two-page agreement; return the agreement's id."""
    user_id = make_worker(app)
    with app.app_context(), app.extensions["portal.db"].session() as session:
        user = session.get(User, user_id)
        user.organisation.address = "Rathausstraße 1\n33397 Rietberg"
        user.organisation.contact = "Tel. 05244 986-0 · kim@rietberg.example"
        case = cases.create_case(
            session, user, person={"given_name": "أمينة", "family_name": "Haddad",
                                   "birth_date": "1990-05-17"}, confirm_new_person=True,
        )  # fmt: skip
        goals = [
            {"area": area, "goal": f"Ziel {i}: Deutschkurs B1 abschließen und Prüfung ablegen",
             "measures": "Integrationskurs beim Träger, Kinderbetreuung während des Kurses, "
             "Fahrtkostenübernahme klären", "responsible_organisation_id": user.organisation_id,
             "due_date": "2027-03-31", "status": "open"}
            for i, area in enumerate(["sprache", "arbeit", "wohnen"] * (GOALS // 3))
        ]  # fmt: skip
        document = documents.create_document(
            session, user, case, doc_type="agreement", title="Integrationsvereinbarung",
            content=Content(fields={"goals": goals, "signatories": ["ለተብርሃን ገብረመድህን"]}),
            ctx=save_context(),
        )  # fmt: skip
        session.commit()
        return document.id


def captured_html(app, client, url: str) -> str:
    """The HTML the portal hands to the renderer for ``url``."""
    seen = []
    original = pdf.render_pdf

    def capture(html, resources=None):
        seen.append(html)
        return original(html, resources)

    pdf.render_pdf = capture
    try:
        client.get(url)
    finally:
        pdf.render_pdf = original
    return seen[0]


def main() -> None:
    app, cleanup = make_app("sqlite")
    try:
        document_id = build(app)
        client = app.test_client()
        login(client)
        url = f"/documents/{document_id}/versions/1/pdf"
        first = timed(lambda: client.get(url), 1)[0]  # starts the worker process
        response = client.get(url)
        pages = len(PdfReader(io.BytesIO(response.data)).pages)
        assert response.status_code == 200 and pages == 2, (response.status_code, pages)
        timed(lambda: client.get(url), 3)  # warm-up
        served = timed(lambda: client.get(url), REPEAT)
        html = captured_html(app, client, url)
        worker = timed(lambda: pdf.render_pdf(html), REPEAT)
        pdf_worker.render(html, pdf.STATIC_ROOT)  # warm this process's fonts too
        bare = timed(lambda: pdf_worker.render(html, pdf.STATIC_ROOT), REPEAT)
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
        print(f"agreement PDF ({pages} pages, {GOALS} goals, PDF/UA-1, sqlite):")
        print(f"  first request (starts the worker): {first:.0f} ms")
        print(f"  GET {url.replace(str(document_id), '<id>')}: {summary(served)}")
        print(f"  worker render only (pipe + WeasyPrint): {summary(worker)}")
        print(f"  bare WeasyPrint in-process, same HTML and options: {summary(bare)}")
    finally:
        pdf.pool().close()
        cleanup()


if __name__ == "__main__":
    main()
