"""Documents and versions: saving, conflicts, restore, visibility, diff, structured fields."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.models import DocumentVersion
from portal.services import document_fields, documents
from portal.services.diff import diff_versions
from portal.services.documents import Content, VersionConflict
from portal.services.errors import AccessDenied, NotFound, ValidationFailed
from portal.services.goals import Goal


def test_every_save_adds_an_immutable_version(db, make_user, make_case, make_note, save_ctx):
    worker = make_user()
    note = make_note(worker, make_case(worker), text="Erstes Gespräch.")
    v2 = documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Erstes Gespräch.\nSprachkurs B1."),
        ctx=save_ctx, comment="Sprachkurs ergänzt",
    )  # fmt: skip
    db.commit()
    assert (v2.number, note.current_version) == (2, 2)
    versions = documents.list_versions(db, note)
    assert [v.number for v in versions] == [2, 1]
    assert versions[1].text == "Erstes Gespräch."
    assert versions[0].comment == "Sprachkurs ergänzt"


def test_stale_base_version_is_a_conflict_and_overwrites_nothing(
    db, make_user, make_case, make_note, save_ctx
):
    worker = make_user()
    note = make_note(worker, make_case(worker))
    documents.add_version(db, worker, note, base_version=1, content=Content(text="A"), ctx=save_ctx)
    db.commit()
    with pytest.raises(VersionConflict) as caught:
        documents.add_version(
            db, worker, note, base_version=1, content=Content(text="B"), ctx=save_ctx
        )
    db.rollback()
    assert caught.value.current_version == 2
    assert next(v.text for v in documents.list_versions(db, note)) == "A"


def test_two_users_saving_at_once_one_wins_one_gets_a_conflict(
    app, make_user, make_case, make_note
):
    worker = make_user()
    note = make_note(worker, make_case(worker))
    colleague = make_user(org=worker.organisation)
    sessionmaker = app.extensions["portal.db"].sessionmaker
    ctx = documents.SaveContext(app.extensions["portal.blobs"], 1024)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(user, text):
        with sessionmaker() as session:
            doc = session.get(type(note), note.id)
            actor = session.merge(user)
            barrier.wait()
            try:
                documents.add_version(
                    session, actor, doc, base_version=1, content=Content(text=text), ctx=ctx
                )
                session.commit()
                outcomes.append("saved")
            except VersionConflict:
                session.rollback()
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=save, args=(u, t)) for u, t in ((worker, "A"), (colleague, "B"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    with sessionmaker() as session:
        numbers = session.scalars(
            select(DocumentVersion.number).where(DocumentVersion.document_id == note.id)
        ).all()
    assert sorted(numbers) == [1, 2]


def test_restore_adds_a_new_version_equal_to_the_old_one(
    db, make_user, make_case, make_note, save_ctx
):
    worker = make_user()
    note = make_note(worker, make_case(worker), text="Original")
    documents.add_version(
        db, worker, note, base_version=1, content=Content(text="Geändert"), ctx=save_ctx
    )
    restored = documents.restore(db, worker, note, number=1, base_version=2)
    db.commit()
    assert (restored.number, restored.text, restored.restored_from) == (3, "Original", 1)
    assert len(documents.list_versions(db, note)) == 3


def test_internal_note_is_visible_only_inside_the_author_organisation(
    db, make_user, make_case, make_note
):
    worker = make_user()
    case = make_case(worker)
    colleague = make_user(role="readonly", org=worker.organisation)
    internal = make_note(worker, case, visibility="internal")
    assert documents.get_document(db, colleague, internal.id).id == internal.id
    stranger = make_user()
    with pytest.raises(NotFound):
        documents.get_document(db, stranger, internal.id)
    coordinator = make_user(role="coordinator")
    with pytest.raises(NotFound):  # metadata across the network, never contents
        documents.get_document(db, coordinator, internal.id)
    listed = documents.list_documents(db, colleague, case)
    assert [d.id for d, _v in listed] == [internal.id]


def test_readonly_user_cannot_save(db, make_user, make_case, make_note, save_ctx):
    worker = make_user()
    note = make_note(worker, make_case(worker))
    reader = make_user(role="readonly", org=worker.organisation)
    with pytest.raises(AccessDenied):
        documents.add_version(
            db, reader, note, base_version=1, content=Content(text="x"), ctx=save_ctx
        )


@pytest.mark.parametrize(
    ("doc_type", "title", "content", "field"),
    [
        ("letter", "T", Content(text="x"), "type"),
        ("note", "", Content(text="x"), "title"),
        ("note", "T", Content(text="   "), "text"),
        ("assessment", "T", Content(fields={"hobbies": "x"}), "fields.hobbies"),
        ("assessment", "T", Content(fields={"languages": [{"language": "Arabisch",
                                                           "level": "D1"}]}),
         "fields.languages[0].level"),
        ("agreement", "T", Content(fields={"goals": [{"goal": "Kurs", "due_date": "31.12.2026"}]}),
         "fields.goals[0].due_date"),
        ("agreement", "T", Content(fields={"goals": [{"goal": "Kurs", "status": "maybe"}]}),
         "fields.goals[0].status"),
        ("file", "T", Content(), "file"),
    ],
)  # fmt: skip
def test_invalid_documents_are_refused_with_the_field(
    db, make_user, make_case, save_ctx, doc_type, title, content, field
):
    worker = make_user()
    case = make_case(worker)
    with pytest.raises(ValidationFailed) as caught:
        documents.create_document(
            db, worker, case, doc_type=doc_type, title=title, content=content, ctx=save_ctx
        )
    assert field in caught.value.fields


def test_form_fields_are_cleaned_and_saved_in_the_order_goals_read_them():
    fields = {"signatories": ["  Amina   Haddad ", " "],
              "goals": [{"status": "done", "goal": " B1 ", "due_date": ""}]}  # fmt: skip
    cleaned = document_fields.validate("agreement", fields)
    assert list(cleaned) == ["goals", "signed_on", "signatories"]
    assert cleaned["signatories"] == ["Amina Haddad"]
    (goal,) = cleaned["goals"]
    assert list(goal.items()) == list(Goal.from_fields(goal).as_fields().items())
    assert (goal["goal"], goal["due_date"], goal["area"]) == ("B1", None, "")
    assessment = document_fields.validate("assessment", {"housing": None})
    assert list(assessment) == ["languages", *document_fields.ASSESSMENT_TEXT_FIELDS]
    assert assessment["housing"] == ""


@pytest.mark.parametrize(
    ("doc_type", "fields", "errors"),
    [
        ("agreement", None, {"fields": "must_be_object"}),
        ("agreement", {"goals": "B1"}, {"fields.goals": "must_be_list"}),
        ("agreement", {"goals": [{}] * 501}, {"fields.goals": "must_be_list"}),
        ("agreement", {"goals": ["B1"]}, {"fields.goals[0]": "must_be_object"}),
        ("agreement", {"signatories": ["A", 1]}, {"fields.signatories": "must_be_list_of_names"}),
        ("agreement", {"signed_on": "2026-2-3"}, {"fields.signed_on": "invalid_date"}),
        ("agreement", {"goals": [{"goal": "B1", "responsible_organisation_id": True}]},
         {"fields.goals[0].responsible_organisation_id": "must_be_integer"}),
        ("assessment", {"languages": [{"language": " ", "level": "A1"}], "family": 3},
         {"fields.languages[0].language": "required", "fields.family": "must_be_text"}),
        ("assessment", {"health": "x" * 20_001}, {"fields.health": "too_long"}),
    ],
)  # fmt: skip
def test_form_fields_are_refused_by_their_path(doc_type, fields, errors):
    with pytest.raises(ValidationFailed) as caught:
        document_fields.validate(doc_type, fields)
    assert caught.value.fields == errors


def test_agreement_fields_are_kept_and_diffed_field_by_field(db, make_user, make_case, save_ctx):
    worker = make_user()
    case = make_case(worker)
    goals = [
        {"area": "sprache", "goal": "B1-Prüfung", "measures": "Integrationskurs",
         "responsible_organisation_id": worker.organisation_id, "due_date": "2027-03-31",
         "status": "open"},
    ]  # fmt: skip
    agreement = documents.create_document(
        db, worker, case, doc_type="agreement", title="Integrationsvereinbarung",
        content=Content(fields={"goals": goals, "signatories": ["Amina Haddad"]}), ctx=save_ctx,
    )  # fmt: skip
    goals[0]["status"] = "in_progress"
    v2 = documents.add_version(
        db,
        worker,
        agreement,
        base_version=1,
        content=Content(fields={"goals": goals}),
        ctx=save_ctx,
    )
    db.commit()
    v1 = documents.get_version(db, agreement, 1)
    assert v1.fields["goals"][0]["due_date"] == "2027-03-31"
    assert "B1-Prüfung" in v1.extracted_text
    changes = {c.field: (c.old, c.new) for c in diff_versions(v1, v2).changes}
    assert changes["goals[0].status"] == ("open", "in_progress")
    assert changes["signatories"] == (["Amina Haddad"], [])


def test_text_diff_marks_added_and_removed_lines(db, make_user, make_case, make_note, save_ctx):
    worker = make_user()
    note = make_note(worker, make_case(worker), text="eins\nzwei\ndrei")
    v2 = documents.add_version(
        db,
        worker,
        note,
        base_version=1,
        content=Content(text="eins\nzwei neu\ndrei\nvier"),
        ctx=save_ctx,
    )
    diff = diff_versions(documents.get_version(db, note, 1), v2)
    ops = [(r.op, r.old, r.new) for r in diff.rows]
    assert ("equal", "eins", "eins") in ops
    assert ("replace", "zwei", "zwei neu") in ops
    assert ("insert", None, "vier") in ops


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ('Bescheid "final".txt', "Bescheid final.txt"),
        ("zeile\r\numbruch.txt", "zeileumbruch.txt"),
        ("Rechnung\u202efdp.exe", "Rechnungfdp.exe.txt"),
        ("C:\\Users\\x\\brief.txt", "brief.txt"),
        ("", "datei.txt"),
    ],
)
def test_filenames_are_sanitised(raw, expected):
    assert documents.sanitise_filename(raw, "text/plain") == expected


def test_long_filename_keeps_its_extension():
    name = documents.sanitise_filename("a" * 300 + ".pdf", "application/pdf")
    assert len(name) == 200 and name.endswith(".pdf")
