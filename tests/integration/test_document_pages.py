"""Document pages through the real forms: the four editors, versions, conflicts, diff, files."""

from __future__ import annotations

import html
import io
import re
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from portal.models import Document, DocumentVersion
from portal.services import documents
from portal.services.documents import Content, Upload
from tests.conftest import REALDOCS, csrf_token

PDF = REALDOCS / "002-trivial-libre-office-writer.pdf"


# ---------------------------------------------------------------- helpers


def new_url(case, doc_type: str) -> str:
    return f"/cases/{case.id}/documents/new?type={doc_type}"


def submit(client, url: str, data: dict, page_url: str | None = None, **kwargs):
    """GET the form page, then POST ``data`` with its CSRF token."""
    page = client.get(page_url or url)
    assert page.status_code == 200, page.text
    return client.post(url, data={**data, "csrf_token": csrf_token(page.text)}, **kwargs)


def document_id(response) -> int:
    assert response.status_code == 302, response.text
    match = re.fullmatch(r"/documents/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def versions_of(db, doc_id: int) -> list[DocumentVersion]:
    db.expire_all()
    return list(
        db.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == doc_id)
            .order_by(DocumentVersion.number)
        )
    )


def text_of(response) -> str:
    """The page's visible text, roughly: tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def count_documents(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Document))


@pytest.fixture
def worker(make_user):
    return make_user(name="Sven Hoffmann")


@pytest.fixture
def case(worker, make_case):
    return make_case(worker)


@pytest.fixture
def logged_in(client, auth, worker):
    auth.login(worker.email)
    return client


@pytest.fixture
def note(db, worker, case, make_note):
    return make_note(worker, case, text="Erstgespräch geführt.\nSprachkurs empfohlen.")


def upload(client, case, data: bytes, filename: str, **fields):
    return submit(
        client,
        new_url(case, "file"),
        {"file": (io.BytesIO(data), filename), "title": "", "visibility": "case", **fields},
        content_type="multipart/form-data",
    )


# ---------------------------------------------------------------- the four editors


def test_type_chooser_links_to_the_four_editors(logged_in, case):
    page = logged_in.get(f"/cases/{case.id}/documents/new")
    assert page.status_code == 200
    for doc_type in ("note", "assessment", "agreement", "file"):
        assert f"/cases/{case.id}/documents/new?type={doc_type}" in page.text
    assert logged_in.get(new_url(case, "letter")).status_code == 404


def test_note_is_written_and_shown_escaped_as_paragraphs(logged_in, db, case):
    page = logged_in.get(new_url(case, "note"))
    assert 'name="text"' in page.text and "Nur meine Organisation" in page.text
    assert "Alle mit Zugriff auf den Fall" in page.text
    response = submit(
        logged_in,
        new_url(case, "note"),
        {
            "title": "Erstgespräch",
            "text": "Erste Zeile\nzweite Zeile\n\n<script>alert(1)</script> Absatz",
            "visibility": "case",
            "comment": "Termin am Montag",
        },
    )
    doc_id = document_id(response)
    [version] = versions_of(db, doc_id)
    assert (version.title, version.comment) == ("Erstgespräch", "Termin am Montag")
    shown = logged_in.get(f"/documents/{doc_id}")
    assert shown.status_code == 200
    assert "<p>Erste Zeile<br>zweite Zeile</p>" in shown.text
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Absatz" in shown.text
    assert "Termin am Montag" in shown.text


def test_empty_note_is_refused_with_field_errors(logged_in, db, case):
    response = submit(
        logged_in, new_url(case, "note"), {"title": "", "text": "  ", "visibility": "case"}
    )
    assert response.status_code == 422
    assert response.text.count('aria-invalid="true"') == 2
    assert 'href="#text"' in response.text  # the error summary links to the field
    assert count_documents(db) == 0


def test_assessment_is_saved_with_language_rows(logged_in, db, case):
    response = submit(
        logged_in,
        new_url(case, "assessment"),
        {
            "title": "Bestandsaufnahme",
            "languages-0-language": "Arabisch",
            "languages-0-level": "Muttersprache",
            "languages-1-language": "",
            "languages-1-level": "",
            "education": "Abitur in Damaskus",
            "work_experience": "5 Jahre Elektriker",
            "residence_status": "Aufenthaltserlaubnis",
            "housing": "Gemeinschaftsunterkunft",
            "health": "",
            "family": "verheiratet, zwei Kinder",
            "goals_text": "Arbeit als Elektriker",
        },
    )
    doc_id = document_id(response)
    [version] = versions_of(db, doc_id)
    assert version.fields["languages"] == [{"language": "Arabisch", "level": "Muttersprache"}]
    assert version.fields["education"] == "Abitur in Damaskus"
    shown = logged_in.get(f"/documents/{doc_id}")
    assert "<dl" in shown.text and "Arabisch: Muttersprache" in text_of(shown)
    assert "Schule und Ausbildung" in shown.text


def test_assessment_language_without_level_is_an_error(logged_in, db, case):
    response = submit(
        logged_in,
        new_url(case, "assessment"),
        {"title": "Bestandsaufnahme", "languages-0-language": "Farsi", "languages-0-level": ""},
    )
    assert response.status_code == 422
    assert 'id="languages-0-level-error"' in response.text
    assert count_documents(db) == 0


def goal(n: int, **values) -> dict:
    row = {"area": "sprache", "goal": "", "measures": "", "responsible_organisation_id": "",
           "due_date": "", "status": "open", **values}  # fmt: skip
    return {f"goals-{n}-{key}": value for key, value in row.items()}


def test_agreement_is_saved_with_goals_signatories_and_date(logged_in, db, case, worker):
    response = submit(
        logged_in,
        new_url(case, "agreement"),
        {
            "title": "Integrationsvereinbarung",
            **goal(0, goal="B1-Prüfung", measures="Integrationskurs",
                   responsible_organisation_id=str(worker.organisation_id),
                   due_date="2027-03-31", status="in_progress"),
            **goal(1, area="", status="open"),  # an empty row is not saved
            "signatories": "Amina Haddad\n\nSven Hoffmann\n",
            "signed_on": "15.09.2026",
        },
    )  # fmt: skip
    doc_id = document_id(response)
    [version] = versions_of(db, doc_id)
    assert version.fields == {
        "goals": [
            {"area": "sprache", "goal": "B1-Prüfung", "measures": "Integrationskurs",
             "responsible_organisation_id": worker.organisation_id, "due_date": "2027-03-31",
             "status": "in_progress"},
        ],
        "signatories": ["Amina Haddad", "Sven Hoffmann"],
        "signed_on": "2026-09-15",
    }  # fmt: skip
    shown = logged_in.get(f"/documents/{doc_id}")
    assert "31.03.2027" in shown.text and worker.organisation.name in shown.text
    assert "in Arbeit" in shown.text and "überfällig" not in shown.text


def test_overdue_goals_are_flagged_in_words(logged_in, db, case, worker, save_ctx):
    goals = [
        {"goal": "Alt und offen", "due_date": "2020-01-31", "status": "open"},
        {"goal": "Alt aber erledigt", "due_date": "2020-01-31", "status": "done"},
    ]
    agreement = documents.create_document(
        db, worker, case, doc_type="agreement", title="IV",
        content=Content(fields={"goals": goals}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    page = logged_in.get(f"/documents/{agreement.id}")
    assert page.text.count('class="overdue"') == 1
    assert "Überfällige Ziele: 1." in text_of(page)
    assert "überfällig" in page.text


def test_agreement_rows_are_added_and_removed_without_javascript(logged_in, db, case):
    url = new_url(case, "agreement")
    first = goal(0, goal="Deutschkurs B1", due_date="2027-01-31")
    added = submit(logged_in, url, {"title": "IV", **first, "add_row": "goals"})
    assert added.status_code == 200
    assert 'name="goals-1-goal"' in added.text and 'name="goals-2-goal"' not in added.text
    assert "Deutschkurs B1" in added.text  # the first row keeps its input
    [focused] = re.findall(r"<[^>]* autofocus[^>]*>", added.text)
    assert 'id="goals-1-area"' in focused  # the new row, for keyboard users
    assert count_documents(db) == 0  # nothing saved

    second = goal(1, goal="Arbeitssuche", due_date="2027-06-30")
    removed = submit(
        logged_in,
        url,
        {"title": "IV", **first, **second, "remove_row": "goals-0"},
        page_url=url,
    )
    assert removed.status_code == 200
    assert count_documents(db) == 0
    assert "Deutschkurs B1" not in removed.text
    assert re.search(r'name="goals-0-goal"[^>]*>\s*Arbeitssuche', removed.text)
    assert 'name="goals-1-goal"' not in removed.text

    saved = submit(logged_in, url, {"title": "IV", **goal(0, goal="Arbeitssuche")})
    [version] = versions_of(db, document_id(saved))
    assert [g["goal"] for g in version.fields["goals"]] == ["Arbeitssuche"]


def test_language_rows_are_added_without_javascript(logged_in, case):
    response = submit(
        logged_in,
        new_url(case, "assessment"),
        {"title": "BA", "languages-0-language": "Arabisch", "languages-0-level": "A1",
         "add_row": "languages"},
    )  # fmt: skip
    assert response.status_code == 200
    assert 'name="languages-1-language"' in response.text


def test_goal_due_date_in_a_wrong_format_is_a_form_error(logged_in, db, case):
    response = submit(
        logged_in,
        new_url(case, "agreement"),
        {"title": "IV", **goal(0, goal="Kurs", due_date="nächste Woche")},
    )
    assert response.status_code == 422
    assert 'id="goals-0-due_date-error"' in response.text
    assert re.search(r'id="goals-0-due_date"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*'
                     r'id="goals-0-due_date"', response.text)  # fmt: skip
    assert "TT.MM.JJJJ" in response.text
    assert count_documents(db) == 0


def test_goal_without_text_is_a_form_error(logged_in, db, case):
    response = submit(
        logged_in, new_url(case, "agreement"), {"title": "IV", **goal(0, measures="Kurs")}
    )
    assert response.status_code == 422
    assert 'id="goals-0-goal-error"' in response.text


# ---------------------------------------------------------------- versions, conflicts, diff


def edit(client, doc_id: int, **data):
    return submit(client, f"/documents/{doc_id}/edit", data)


def test_editing_a_note_adds_version_2(logged_in, db, note):
    page = logged_in.get(f"/documents/{note.id}/edit")
    assert page.status_code == 200
    assert re.search(r'name="base_version"[^>]*value="1"', page.text)
    assert "Erstgespräch geführt." in page.text
    response = edit(
        logged_in, note.id, title="Beratungsvermerk", text="Neu.", comment="ergänzt",
        base_version="1",
    )  # fmt: skip
    assert response.status_code == 302
    versions = versions_of(db, note.id)
    assert [(v.number, v.text, v.comment) for v in versions] == [
        (1, "Erstgespräch geführt.\nSprachkurs empfohlen.", ""),
        (2, "Neu.", "ergänzt"),
    ]
    shown = logged_in.get(response.headers["Location"], follow_redirects=True)
    assert "Version 2" in shown.text and "ergänzt" in shown.text


def test_stale_edit_shows_both_texts_overwrites_nothing_and_can_be_merged(
    logged_in, db, note, worker, save_ctx
):
    stale_page = logged_in.get(f"/documents/{note.id}/edit")
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Kollegin: Termin verlegt."),
        ctx=save_ctx, comment="von nebenan",
    )  # fmt: skip
    db.commit()
    response = logged_in.post(
        f"/documents/{note.id}/edit",
        data={"csrf_token": csrf_token(stale_page.text), "title": "Beratungsvermerk",
              "text": "Meine Ergänzung: Kita-Platz beantragt.", "base_version": "1",
              "comment": "meins"},
    )  # fmt: skip
    assert response.status_code == 409
    assert "Kollegin: Termin verlegt." in response.text
    assert "Meine Ergänzung: Kita-Platz beantragt." in response.text
    assert "Version 2" in response.text
    # The merge form carries the user's text and builds on the new current version.
    assert re.search(r'name="base_version"[^>]*value="2"', response.text)
    assert re.search(r"<textarea[^>]*>\s*Meine Ergänzung: Kita-Platz beantragt.", response.text)
    versions = versions_of(db, note.id)
    assert [v.text for v in versions][-1] == "Kollegin: Termin verlegt."
    assert len(versions) == 2

    merged = logged_in.post(
        f"/documents/{note.id}/edit",
        data={"csrf_token": csrf_token(response.text), "title": "Beratungsvermerk",
              "text": "Kollegin: Termin verlegt.\nMeine Ergänzung: Kita-Platz beantragt.",
              "base_version": "2", "comment": "zusammengeführt"},
    )  # fmt: skip
    assert merged.status_code == 302
    latest = versions_of(db, note.id)[-1]
    assert (latest.number, latest.comment) == (3, "zusammengeführt")
    assert latest.text == "Kollegin: Termin verlegt.\nMeine Ergänzung: Kita-Platz beantragt."


def test_stale_agreement_edit_shows_saved_and_own_values(logged_in, db, case, worker, save_ctx):
    goals = [{"area": "arbeit", "goal": "Praktikum", "status": "open"}]
    agreement = documents.create_document(
        db, worker, case, doc_type="agreement", title="IV",
        content=Content(fields={"goals": goals}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    stale_page = logged_in.get(f"/documents/{agreement.id}/edit")
    documents.add_version(
        db, worker, agreement, base_version=1, ctx=save_ctx,
        content=Content(fields={"goals": [dict(goals[0], status="done")]}),
    )  # fmt: skip
    db.commit()
    response = logged_in.post(
        f"/documents/{agreement.id}/edit",
        data={"csrf_token": csrf_token(stale_page.text), "title": "IV", "base_version": "1",
              **goal(0, area="arbeit", goal="Praktikum", status="dropped")},
    )  # fmt: skip
    assert response.status_code == 409
    page = text_of(response)
    assert "Ziel 1: Status" in page and "erledigt" in page and "entfallen" in page
    assert "auf beiden Seiten" in page  # the status was changed on both sides since version 1
    assert re.search(r'name="base_version"[^>]*value="2"', response.text)
    assert versions_of(db, agreement.id)[-1].fields["goals"][0]["status"] == "done"


def test_diff_page_marks_inserted_and_deleted_lines(
    logged_in, db, worker, case, make_note, save_ctx
):
    note = make_note(
        worker, case, text="Erstgespräch geführt.\nSprachkurs empfohlen.\nAkte angelegt."
    )
    documents.add_version(
        db, worker, note, base_version=1, ctx=save_ctx,
        content=Content(text="Erstgespräch geführt.\nAkte angelegt.\nKita-Platz beantragt."),
    )  # fmt: skip
    db.commit()
    page = logged_in.get(f"/documents/{note.id}/diff?from=1&to=2")
    assert page.status_code == 200
    assert re.search(r'<tr class="delete">.*<del>.*Sprachkurs empfohlen.</del>', page.text)
    assert re.search(r'<tr class="insert">.*<ins>.*Kita-Platz beantragt.</ins>', page.text)
    assert "entfernt:" in page.text and "hinzugefügt:" in page.text  # not by colour alone
    assert "Zeilen hinzugefügt: 1, entfernt: 1, geändert: 0." in page.text
    assert "<td>Erstgespräch geführt.</td>" in page.text
    assert logged_in.get(f"/documents/{note.id}/diff?from=1&to=9").status_code == 404


def test_diff_marks_the_changed_words_of_a_changed_line(logged_in, db, note, worker, save_ctx):
    documents.add_version(
        db, worker, note, base_version=1, ctx=save_ctx,
        content=Content(text="Erstgespräch geführt.\nSprachkurs B1 empfohlen."),
    )  # fmt: skip
    db.commit()
    page = logged_in.get(f"/documents/{note.id}/diff")  # default: previous → current
    assert page.status_code == 200
    assert re.search(
        r"Sprachkurs ?<ins><span[^>]*>hinzugefügt: </span> ?B1 ?</ins> ?empfohlen", page.text
    )


def test_diff_of_an_agreement_is_field_by_field(logged_in, db, case, worker, save_ctx):
    goals = [{"area": "sprache", "goal": "B1", "status": "open", "due_date": "2027-03-31"}]
    agreement = documents.create_document(
        db, worker, case, doc_type="agreement", title="IV",
        content=Content(fields={"goals": goals}), ctx=save_ctx,
    )  # fmt: skip
    documents.add_version(
        db, worker, agreement, base_version=1, ctx=save_ctx,
        content=Content(fields={"goals": [dict(goals[0], status="done")],
                                "signatories": ["Amina Haddad"]}),
    )  # fmt: skip
    db.commit()
    page = logged_in.get(f"/documents/{agreement.id}/diff?from=1&to=2")
    assert page.status_code == 200
    text = text_of(page)
    assert "Ziel 1: Status" in text and "Unterschriften" in text
    assert re.search(r"<del>.*offen</del>", page.text)
    assert re.search(r"<ins>.*erledigt</ins>", page.text)


def test_restoring_version_1_adds_version_3_equal_to_it(logged_in, db, note, worker, save_ctx):
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Falsch."), ctx=save_ctx
    )
    db.commit()
    response = submit(
        logged_in, f"/documents/{note.id}/restore", {"version": "1", "base_version": "2"},
        page_url=f"/documents/{note.id}/versions/1",
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == f"/documents/{note.id}"
    versions = versions_of(db, note.id)
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[2].text == versions[0].text and versions[2].restored_from == 1
    page = logged_in.get(f"/documents/{note.id}")
    assert "wiederhergestellt aus Version 1" in page.text
    assert "Version 1 wurde als Version 3 wiederhergestellt." in page.text


def test_restore_with_a_stale_base_overwrites_nothing(logged_in, db, note, worker, save_ctx):
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Neuer."), ctx=save_ctx
    )
    db.commit()
    response = submit(
        logged_in, f"/documents/{note.id}/restore", {"version": "1", "base_version": "1"},
        page_url=f"/documents/{note.id}", follow_redirects=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "neuere Version (2)" in response.text
    assert len(versions_of(db, note.id)) == 2


def test_version_page_shows_an_old_version(logged_in, db, note, worker, save_ctx):
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Neuer Stand."), ctx=save_ctx
    )
    db.commit()
    page = logged_in.get(f"/documents/{note.id}/versions/1")
    assert page.status_code == 200
    assert "Sprachkurs empfohlen." in page.text and "Neuer Stand." not in page.text
    assert "frühere Version" in page.text
    assert logged_in.get(f"/documents/{note.id}/versions/7").status_code == 404


# ---------------------------------------------------------------- files


def test_real_pdf_is_uploaded_and_downloaded_byte_for_byte(logged_in, db, case):
    data = PDF.read_bytes()
    response = upload(logged_in, case, data, "Bescheid März.pdf")
    doc_id = document_id(response)
    [version] = versions_of(db, doc_id)
    assert (version.title, version.filename) == ("Bescheid März.pdf", "Bescheid März.pdf")
    page = logged_in.get(f"/documents/{doc_id}")
    assert "PDF-Dokument" in page.text
    assert f"/documents/{doc_id}/versions/1/file?inline=1" in page.text
    download = logged_in.get(f"/documents/{doc_id}/versions/1/file")
    assert download.status_code == 200
    assert download.data == data
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('Bescheid März.pdf', safe='')}" in disposition
    assert download.headers["Content-Type"] == "application/pdf"
    inline = logged_in.get(f"/documents/{doc_id}/versions/1/file?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in inline.headers["Content-Security-Policy"]


def test_a_new_file_version_is_uploaded_on_the_edit_page(logged_in, db, case):
    doc_id = document_id(upload(logged_in, case, b"erste Fassung\n", "brief.txt"))
    response = submit(
        logged_in,
        f"/documents/{doc_id}/edit",
        {"file": (io.BytesIO(b"zweite Fassung\n"), "brief-v2.txt"), "title": "Brief",
         "base_version": "1", "comment": "korrigiert"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    versions = versions_of(db, doc_id)
    assert [(v.number, v.filename) for v in versions] == [(1, "brief.txt"), (2, "brief-v2.txt")]
    assert logged_in.get(f"/documents/{doc_id}/versions/1/file").data == b"erste Fassung\n"
    diff = logged_in.get(f"/documents/{doc_id}/diff?from=1&to=2")
    assert re.search(r"<ins>.*zweite", diff.text)
    # a plain-text file is never shown inline
    txt = logged_in.get(f"/documents/{doc_id}/versions/2/file?inline=1")
    assert txt.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("claimed", "stored"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ("Rechnung\u202efdp.exe", "Rechnungfdp.exe.txt"),
        ("  .versteckt. ", "versteckt.txt"),
        ("<img src=x onerror=alert(1)>.txt", "img src=x onerror=alert(1).txt"),
    ],
)
def test_hostile_filenames_are_neutralised(logged_in, db, case, claimed, stored):
    response = upload(logged_in, case, b"harmlos\n", claimed)
    doc_id = document_id(response)
    [version] = versions_of(db, doc_id)
    assert version.filename == stored
    page = logged_in.get(f"/documents/{doc_id}")
    assert "<img" not in page.text.split("<main", 1)[1]
    disposition = logged_in.get(f"/documents/{doc_id}/versions/1/file").headers[
        "Content-Disposition"
    ]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    assert "\u202e" not in disposition


def test_html_disguised_as_pdf_is_refused_with_415(logged_in, db, case):
    response = upload(logged_in, case, b"<!DOCTYPE html><script>alert(1)</script>", "b.pdf")
    assert response.status_code == 415
    assert "Dieser Dateityp wird nicht angenommen" in response.text
    assert 'type="file"' in response.text  # the form is shown again
    assert count_documents(db) == 0


def test_zip_bomb_is_refused_with_400(logged_in, db, case):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (8 * 2**20))
    response = upload(logged_in, case, buffer.getvalue(), "bombe.docx")
    assert response.status_code == 400
    assert "Zip-Bombe" in response.text and 'type="file"' in response.text
    assert count_documents(db) == 0


def test_missing_file_is_a_form_error(logged_in, db, case):
    response = submit(
        logged_in, new_url(case, "file"), {"title": "x", "visibility": "case"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 422
    assert "Bitte wählen Sie eine Datei aus." in response.text


def test_encrypted_pdf_is_stored_and_marked_unreadable(logged_in, db, case):
    data = (REALDOCS / "libreoffice-writer-password.pdf").read_bytes()
    doc_id = document_id(upload(logged_in, case, data, "geschützt.pdf"))
    page = logged_in.get(f"/documents/{doc_id}")
    assert "Text nicht lesbar" in page.text
    assert "verschlüsselt" in page.text
    assert logged_in.get(f"/documents/{doc_id}/versions/1/file").data == data


class TestUploadLimit:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["max_upload_mb"] = 1
        return app_config

    def test_request_over_the_limit_gets_the_413_page(self, logged_in, db, case):
        response = upload(logged_in, case, b"a" * (2 * 2**20), "gross.txt")
        assert response.status_code == 413
        assert "Die Datei ist größer als 1 MB." in response.text
        assert 'type="file"' in response.text
        assert count_documents(db) == 0

    def test_file_just_over_the_limit_gets_the_413_page(self, logged_in, db, case):
        response = upload(logged_in, case, b"a" * (2**20 + 10), "knapp.txt")
        assert response.status_code == 413
        assert "Die Datei ist größer als 1 MB." in response.text
        assert count_documents(db) == 0

    def test_new_version_over_the_limit_gets_the_413_page(self, logged_in, db, case, worker):
        doc_id = document_id(upload(logged_in, case, b"klein\n", "klein.txt"))
        response = submit(
            logged_in,
            f"/documents/{doc_id}/edit",
            {"file": (io.BytesIO(b"a" * (2 * 2**20)), "gross.txt"), "base_version": "1"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        assert "Die Datei ist größer als 1 MB." in response.text
        assert len(versions_of(db, doc_id)) == 1


# ---------------------------------------------------------------- access


def document_urls(doc_id: int) -> list[str]:
    return [
        f"/documents/{doc_id}",
        f"/documents/{doc_id}/versions/1",
        f"/documents/{doc_id}/diff?from=1&to=1",
        f"/documents/{doc_id}/versions/1/file",
        f"/documents/{doc_id}/edit",
    ]


@pytest.mark.parametrize("role", ["caseworker", "coordinator", "readonly"])
def test_another_organisation_gets_404_everywhere(
    client, auth, db, make_user, worker, case, save_ctx, role
):
    document = documents.create_document(
        db, worker, case, doc_type="file", title="Bescheid", ctx=save_ctx,
        content=Content(upload=Upload(io.BytesIO(b"vertraulich\n"), "bescheid.txt")),
    )  # fmt: skip
    db.commit()
    auth.login(make_user(role=role).email)
    for url in document_urls(document.id):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client.get("/").text)
    for url in (f"/documents/{document.id}/edit", f"/documents/{document.id}/restore"):
        data = {"csrf_token": token, "version": "1", "base_version": "1", "text": "x"}
        response = client.post(url, data={**data, "title": "x"})
        assert response.status_code == 404, url
    assert client.get(new_url(case, "note")).status_code == 404
    assert len(versions_of(db, document.id)) == 1


def test_readonly_user_reads_but_gets_403_on_edit_and_restore(
    client, auth, db, make_user, worker, note, save_ctx
):
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Zweite."), ctx=save_ctx
    )
    db.commit()
    reader = make_user(role="readonly", org=worker.organisation)
    auth.login(reader.email)
    page = client.get(f"/documents/{note.id}")
    assert page.status_code == 200
    assert f"/documents/{note.id}/edit" not in page.text
    assert f"/documents/{note.id}/restore" not in page.text
    assert client.get(f"/documents/{note.id}/edit").status_code == 403
    token = csrf_token(page.text)
    edit_post = client.post(
        f"/documents/{note.id}/edit",
        data={"csrf_token": token, "title": "x", "text": "y", "base_version": "2"},
    )
    assert edit_post.status_code == 403
    restore_post = client.post(
        f"/documents/{note.id}/restore",
        data={"csrf_token": token, "version": "1", "base_version": "2"},
    )
    assert restore_post.status_code == 403
    assert client.get(f"/cases/{note.case_id}/documents/new?type=note").status_code == 403
    assert len(versions_of(db, note.id)) == 2


def test_internal_documents_are_invisible_outside_the_author_organisation(
    client, auth, db, make_user, worker, case, make_note
):
    internal = make_note(worker, case, text="Nur intern.", visibility="internal")
    colleague = make_user(org=worker.organisation)
    auth.login(colleague.email)
    page = client.get(f"/documents/{internal.id}")
    assert page.status_code == 200 and "Nur intern." in page.text
    assert "nur meine Organisation" in page.text
    auth.logout()
    auth.login(make_user(role="coordinator").email)
    for url in document_urls(internal.id)[:3]:
        assert client.get(url).status_code == 404, url


def test_internal_visibility_is_chosen_on_the_note_form(logged_in, db, case):
    response = submit(
        logged_in, new_url(case, "note"),
        {"title": "Intern", "text": "Rückruf abwarten.", "visibility": "internal"},
    )  # fmt: skip
    db.expire_all()
    assert db.get(Document, document_id(response)).visibility == "internal"


def test_views_and_downloads_are_audited(logged_in, db, case):
    from portal.models import AuditEvent

    doc_id = document_id(upload(logged_in, case, b"text\n", "a.txt"))
    logged_in.get(f"/documents/{doc_id}")
    logged_in.get(f"/documents/{doc_id}/versions/1/file")
    db.expire_all()
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "document", AuditEvent.object_id == doc_id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "view", "download"]


def test_with_consent_another_organisation_reads_shared_but_not_internal_documents(
    client, auth, db, make_user, make_org, worker, case, make_note
):
    from portal.services import consents

    shared = make_note(worker, case, text="Für alle Beteiligten.")
    internal = make_note(worker, case, text="Nur intern.", visibility="internal")
    partner = make_org(name="Caritas", kind="wohlfahrtsverband")
    consents.record(db, worker, case, organisation_ids=[partner.id], purpose="Beratung")
    db.commit()
    auth.login(make_user(org=partner).email)
    assert "Für alle Beteiligten." in client.get(f"/documents/{shared.id}").text
    for url in document_urls(internal.id):
        assert client.get(url).status_code == 404, url


def test_edit_without_base_version_is_refused_and_saves_nothing(logged_in, db, note):
    response = edit(logged_in, note.id, title="Beratungsvermerk", text="Neu.")
    assert response.status_code == 400
    assert len(versions_of(db, note.id)) == 1


def test_a_note_has_no_file_to_download(logged_in, note):
    assert logged_in.get(f"/documents/{note.id}/versions/1/file").status_code == 404


def test_pages_speak_english_too(client, auth, db, note, worker):
    auth.login(worker.email)
    auth.post("/language", {"lang": "en"})
    page = client.get(f"/documents/{note.id}")
    assert "Versions" in page.text and "Compare two versions" not in page.text  # one version
    editor = client.get(f"/documents/{note.id}/edit")
    assert "You are editing version 1." in editor.text
    agreement = client.get(f"/cases/{note.case_id}/documents/new?type=agreement")
    assert "Add a row" in agreement.text and "Due date" in agreement.text


def test_stale_file_upload_shows_the_conflict_and_asks_for_the_file_again(
    logged_in, db, case, worker, save_ctx
):
    doc_id = document_id(upload(logged_in, case, b"erste\n", "brief.txt"))
    stale_page = logged_in.get(f"/documents/{doc_id}/edit")
    document = db.get(Document, doc_id)
    documents.add_version(
        db, worker, document, base_version=1, ctx=save_ctx,
        content=Content(upload=Upload(io.BytesIO(b"von nebenan\n"), "nebenan.txt")),
    )  # fmt: skip
    db.commit()
    response = logged_in.post(
        f"/documents/{doc_id}/edit",
        data={"csrf_token": csrf_token(stale_page.text), "title": "Brief", "base_version": "1",
              "file": (io.BytesIO(b"meine\n"), "meine.txt")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 409
    assert "nebenan.txt" in response.text and "meine.txt" in response.text
    assert 'type="file"' in response.text
    assert re.search(r'name="base_version"[^>]*value="2"', response.text)
    assert [v.filename for v in versions_of(db, doc_id)] == ["brief.txt", "nebenan.txt"]


class TestUploadLimitWhenLoggedOut:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["max_upload_mb"] = 1
        return app_config

    def test_anonymous_oversized_post_gets_a_plain_413(self, client, case):
        # The CSRF check reads the body first, so the size error comes before any login check.
        response = client.post(
            new_url(case, "file"),
            data={"file": (io.BytesIO(b"a" * (2 * 2**20)), "gross.txt")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        assert "Die Datei ist größer als 1 MB." in response.text
