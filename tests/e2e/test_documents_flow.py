"""End to end in Chromium: a note through versions, diff and restore; a PDF up and down."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REALDOCS
from tests.e2e.conftest import NO_PLAYWRIGHT
from tests.e2e.test_browser import log_in

expect = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT).expect

pytestmark = pytest.mark.e2e

PDF = REALDOCS / "002-trivial-libre-office-writer.pdf"


def test_note_versions_diff_restore_and_pdf_download(
    page, axe_page, axe, make_user, make_case, tmp_path
):
    worker = make_user(name="Sven Hoffmann")
    case = make_case(worker)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.goto("/login")
    log_in(page, worker.email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sven Hoffmann")

    # Write a note.
    page.goto(f"/cases/{case.id}/documents/new?type=note")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neuer Beratungsvermerk")
    page.get_by_label("Titel").fill("Erstgespräch")
    page.get_by_label("Text", exact=True).fill("Termin vereinbart.\nSprachkurs empfohlen.")
    page.get_by_role("button", name="Speichern").click()
    expect(page).to_have_url(re.compile(r"/documents/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("als Version 1 gespeichert")
    expect(page.get_by_role("heading", level=1)).to_have_text("Erstgespräch")
    note_url = page.url

    # Edit it into version 2.
    page.get_by_role("link", name="Bearbeiten", exact=True).click()
    page.get_by_label("Text", exact=True).fill("Termin vereinbart.\nKita-Platz beantragt.")
    page.get_by_label("Kommentar zu dieser Version").fill("Kita ergänzt")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Version 2 von 2")).to_be_visible()
    expect(page.locator(".note-text")).to_contain_text("Kita-Platz beantragt.")

    # Look at the differences.
    page.get_by_role("link", name="Änderungen gegenüber Version 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Änderungen von Version 1 zu Version 2"
    )
    expect(page.locator("table.diff del")).to_contain_text("Sprachkurs empfohlen.")
    expect(page.locator("table.diff ins")).to_contain_text("Kita-Platz beantragt.")

    # Restore version 1: it comes back as version 3.
    page.goto(note_url)
    page.get_by_role("button", name="Wiederherstellen Version 1").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Version 1 wurde als Version 3 wiederhergestellt."
    )
    expect(page.locator(".note-text")).to_contain_text("Sprachkurs empfohlen.")
    expect(page.get_by_text("wiederhergestellt aus Version 1").first).to_be_visible()

    # Upload a PDF and download it byte for byte.
    page.goto(f"/cases/{case.id}/documents/new?type=file")
    page.get_by_label("Datei", exact=True).set_input_files(str(PDF))
    page.get_by_role("button", name="Hochladen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PDF.name)
    expect(page.get_by_text("PDF-Dokument")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("^Herunterladen")).click()
    download = info.value
    assert download.suggested_filename == PDF.name
    saved = tmp_path / "download.pdf"
    download.save_as(saved)
    assert Path(saved).read_bytes() == PDF.read_bytes()
    file_url = page.url
    assert console_errors == []

    # Accessibility of the editors and pages just used.
    axe_page.goto("/login")
    log_in(axe_page, worker.email)
    for path, label in [
        (f"/cases/{case.id}/documents/new?type=note", "note editor"),
        (f"/cases/{case.id}/documents/new?type=agreement", "agreement editor"),
        (note_url, "note view with versions"),
        (f"{note_url}/diff?from=1&to=2", "diff page"),
        (file_url, "file view"),
    ]:
        response = axe_page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        axe.check(axe_page, label)
    axe_page.goto(f"/cases/{case.id}/documents/new?type=note")
    axe_page.get_by_role("button", name="Speichern").click()
    expect(axe_page.locator('[aria-invalid="true"]').first).to_be_visible()
    axe.check(axe_page, "note editor with errors")
    assert not axe.problems, axe.summary()
