"""Printouts: the agreement, note and case summary as PDF, read back with pypdf.

PDF rendering takes a moment: each test renders few PDFs and checks much of each.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.models import AuditEvent, DocumentVersion
from portal.services import consents, documents
from portal.services.pdf import short_hash
from tests.integration.test_api import assert_error

ARABIC_GIVEN, ARABIC_FAMILY = "أمينة", "الحداد"
TIGRINYA = "ለተብርሃን ገብረመድህን"
PASSWD_MARKERS = ("root:x:", "/bin/bash", "daemon:")
HOSTILE_GOAL = '<img src="file:///etc/passwd"> <link rel=attachment href="file:///etc/passwd">'


@pytest.fixture
def lead_org(worker, db):
    """The worker's organisation, with a letterhead address and contact line."""
    org = worker.organisation
    org.address = "Rathausstraße 1\n33397 Rietberg"
    org.contact = "Tel. 05244 986-0 · kim@rietberg.example"
    db.commit()
    return org


@pytest.fixture
def case(make_case, worker, lead_org):
    """A case of a person with an Arabic name, led by the worker's organisation."""
    return make_case(worker, given_name=ARABIC_GIVEN, family_name=ARABIC_FAMILY,
                     birth_date="1990-05-17")  # fmt: skip


def _agreement(db, save_ctx, actor, case, goals, **fields):
    document = documents.create_document(
        db, actor, case, doc_type="agreement", title="Integrationsvereinbarung",
        content=documents.Content(fields={"goals": goals, **fields}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    return document


def _goal(text, **extra):
    return {"area": "sprache", "goal": text, "measures": "Integrationskurs", "due_date":
            "2027-03-31", "status": "open", **extra}  # fmt: skip


def _pdf(response) -> PdfReader:
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def _texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def _font_names(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_agreement_pdf_shows_letterhead_goals_signatures_and_footer(
    client, auth, db, save_ctx, worker, partner, case, lead_org, tmp_path
):
    goals = [
        _goal("Deutschkurs B1 abschließen", responsible_organisation_id=partner.organisation_id),
        _goal(HOSTILE_GOAL, area="arbeit", measures="Bewerbungstraining"),
        _goal("Wohnung finden", area="wohnen", due_date="1901-01-01", status="in_progress"),
        _goal(("Lange Beschreibung des Ziels mit vielen Worten " * 120)[:5_000], area="bildung"),
    ]
    document = _agreement(db, save_ctx, worker, case, goals,
                          signatories=[TIGRINYA, "Olena Kovalenko"])  # fmt: skip
    version = db.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
    auth.login(worker.email)

    response = client.get(f"/documents/{document.id}/versions/1/pdf")

    reader = _pdf(response)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    pages = _texts(reader)
    text = " ".join(" ".join(pages).split())  # cells wrap: compare words, not lines
    assert len(pages) >= 2
    for expected in (case.reference, "Stadt Rietberg", "Rathausstraße 1", "kim@rietberg.example",
                     "17.05.1990", "Deutschkurs B1 abschließen", "Caritasverband Gütersloh",
                     "31.03.2027", "01.01.1901", "überfällig", "Ort, Datum", "Sabine Hoffmann",
                     "Olena Kovalenko", "Integrationsvereinbarung"):  # fmt: skip
        assert expected in text, expected
    # The hostile goal is printed as text; nothing was fetched or attached.
    compact = "".join(text.split())
    assert '<imgsrc="file:///etc/passwd"><linkrel=attachmenthref="file:///etc/passwd">' in compact
    assert not any(marker in text for marker in PASSWD_MARKERS)
    assert not reader.attachments
    # 5,000 characters wrap onto the following page(s) instead of being cut off.
    assert text.count("Lange Beschreibung des Ziels") >= 80
    # Every page carries the footer: version, print date, short hash, "Seite x von y".
    hash_text = short_hash(documents.content_hash(version))
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {len(pages)}" in page
        assert "Version 1" in page and "gedruckt am" in page
        assert f"Prüfsumme {hash_text}" in page
    # Arabic and Tigrinya names come from fonts that have their glyphs.
    fonts = _font_names(reader)
    assert any("Arabic" in name for name in fonts), fonts
    assert any("Ethiopic" in name for name in fonts), fonts
    assert ARABIC_FAMILY in text or ARABIC_FAMILY[::-1] in text
    assert TIGRINYA.split()[0] in text
    # Tagged PDF/UA: structure tree and document language.
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and str(root["/Lang"]).startswith("de")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "print")).one()
    assert (event.object_type, event.object_id, event.case_id) == ("document", document.id,
                                                                    case.id)  # fmt: skip
    assert f'"content_hash": "{hash_text}"' in event.detail and '"version": 1' in event.detail
    if shutil.which("pdftoppm"):  # poppler renders page 1 (look at it: --basetemp=DIR)
        (tmp_path / "agreement.pdf").write_bytes(response.data)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                        str(tmp_path / "agreement.pdf"), str(tmp_path / "page")],
                       check=True, timeout=60)  # fmt: skip
        assert (tmp_path / "page-1.png").stat().st_size > 10_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # slow: one database is enough
def test_two_hundred_goals_paginate_with_the_header_on_every_page(
    client, auth, db, save_ctx, worker, case
):
    goals = [_goal(f"Ziel Nummer {i}: Sprachkurs besuchen und abschließen") for i in range(200)]
    document = _agreement(db, save_ctx, worker, case, goals)
    auth.login(worker.email)

    pages = _texts(_pdf(client.get(f"/documents/{document.id}/versions/1/pdf")))

    assert len(pages) >= 8
    for number, page in enumerate(pages, start=1):
        assert f"Seite {number} von {len(pages)}" in page
    goal_pages = [page for page in pages if "Ziel Nummer" in page]
    assert len(goal_pages) >= len(pages) - 1
    for page in goal_pages:
        assert "Bereich Ziel Maßnahmen Verantwortlich" in " ".join(page.split())
    flat = " ".join(" ".join(pages).split())
    assert all(f"Ziel Nummer {i}:" in flat for i in range(200))


def test_printing_a_version_you_may_not_see_is_404_on_web_and_api(
    client, auth, api, spec, db, save_ctx, worker, partner, make_user, case, make_note
):
    note = make_note(worker, case, text="Первая версия заметки.")
    second = documents.Content(text="Zweite Fassung.")
    documents.add_version(db, worker, note, base_version=1, content=second, ctx=save_ctx)
    upload = documents.create_document(
        db, worker, case, doc_type="file", title="Bescheid", ctx=save_ctx,
        content=documents.Content(upload=documents.Upload(io.BytesIO(b"%PDF-1.4\n%%EOF"), "b.pdf")),
    )  # fmt: skip
    db.commit()
    coordinator = make_user(role="coordinator", org=partner.organisation)

    # The lead organisation prints the old version through the API (a download).
    response = api(worker).get(f"/api/v1/documents/{note.id}/pdf?version=1")
    text = " ".join(_texts(_pdf(response)))
    assert "Первая версия заметки." in text and "Version 1 von 2" in " ".join(text.split())
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "application/pdf" in spec["paths"]["/documents/{document_id}/pdf"]["get"][
        "responses"]["200"]["content"]  # fmt: skip
    assert "Zweite Fassung." in " ".join(_texts(_pdf(api(worker).get(
        f"/api/v1/documents/{note.id}/pdf"))))  # fmt: skip
    # Unknown version, an upload, or a document of a case one may not read: 404; junk: 400.
    for user, url in ((worker, f"/api/v1/documents/{note.id}/pdf?version=3"),
                      (worker, f"/api/v1/documents/{note.id}/pdf?version=0"),
                      (worker, f"/api/v1/documents/{upload.id}/pdf"),
                      (partner, f"/api/v1/documents/{note.id}/pdf?version=1"),
                      (coordinator, f"/api/v1/documents/{note.id}/pdf")):  # fmt: skip
        assert_error(api(user).get(url), 404, "not_found")
    error = assert_error(api(worker).get(f"/api/v1/documents/{note.id}/pdf?version=x"), 400)
    assert error["fields"] == {"version": "must_be_integer"}
    auth.login(partner.email)
    assert client.get(f"/documents/{note.id}/versions/1/pdf").status_code == 404
    assert client.get(f"/cases/{case.id}/summary.pdf").status_code == 404
    # Nothing was printed for the refused requests.
    printed = db.scalars(select(AuditEvent).where(AuditEvent.action == "print")).all()
    assert [(e.user_id, e.object_id) for e in printed] == [(worker.id, note.id)] * 2


def test_case_summary_lists_what_the_user_may_read(
    client, auth, db, save_ctx, worker, partner, case, make_note, lead_org
):
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id],
                    purpose="Sprachförderung", valid_from="2026-01-01")  # fmt: skip
    db.commit()
    make_note(worker, case, title="Erstgespräch")
    make_note(partner, case, title="Interner Caritas-Vermerk", visibility="internal")
    _agreement(db, save_ctx, worker, case, [
        _goal("Deutschkurs B1 abschließen"),
        _goal("Führerschein machen", status="done"),
        _goal("Praktikum finden", area="arbeit", due_date="2001-02-03", status="in_progress"),
    ])  # fmt: skip
    auth.login(worker.email)

    response = client.get(f"/cases/{case.id}/summary.pdf")

    text = " ".join(" ".join(_texts(_pdf(response))).split())
    for expected in ("Fallübersicht", case.reference, "Phasenverlauf", "Erstberatung",
                     "Einwilligungen", "Caritasverband Gütersloh", "Sprachförderung", "gültig",
                     "Erstgespräch", "Integrationsvereinbarung", "Offene Ziele",
                     "Deutschkurs B1 abschließen", "Praktikum finden", "03.02.2001",
                     "überfällig", "Seite 1 von"):  # fmt: skip
        assert expected in text, expected
    assert "Interner Caritas-Vermerk" not in text  # the partner's internal note
    assert "Führerschein machen" not in text  # done: not an open goal
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "print")).one()
    assert (event.object_type, event.object_id, event.user_id) == ("case", case.id, worker.id)
    folder = client.get(f"/cases/{case.id}").text
    assert f'href="/cases/{case.id}/summary.pdf"' in folder
