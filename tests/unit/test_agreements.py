"""Agreements after printing: goal history, overdue goals, signatures carried or cleared."""

from __future__ import annotations

import io
from datetime import date

import pytest

from portal.models import DocumentVersion
from portal.services import agreements, documents, goals
from portal.services.documents import Content, Upload, VersionConflict
from portal.services.errors import ValidationFailed
from portal.services.goals import Goal
from tests.conftest import REALDOCS

TODAY = date(2026, 11, 25)
PDF = REALDOCS / "002-trivial-libre-office-writer.pdf"


def test_overdue_means_open_or_in_progress_and_past_the_due_date():
    assert Goal(due_date="2026-11-20", status="open").days_overdue(TODAY) == 5
    assert Goal(due_date="1990-01-01", status="in_progress").is_overdue(TODAY)
    assert not Goal(due_date="2026-11-25", status="open").is_overdue(TODAY)
    assert not Goal(due_date="2020-01-01", status="done").is_overdue(TODAY)
    assert not Goal(due_date="2020-01-01", status="dropped").is_overdue(TODAY)
    assert not Goal(due_date=None, status="open").is_overdue(TODAY)
    assert Goal(due_date="not a date", status="open").days_overdue(TODAY) == 0


def test_a_goal_reads_what_a_version_saved_even_with_keys_missing():
    saved = {
        "area": "arbeit",
        "goal": "Praktikum",
        "measures": "",
        "responsible_organisation_id": 7,
        "due_date": "2027-01-31",
        "status": "in_progress",
    }  # fmt: skip  (the order document_fields saves)
    assert list(Goal.from_fields(saved).as_fields().items()) == list(saved.items())  # order too
    old = Goal.from_fields({"goal": "B1"})
    assert (old.status, old.area, old.due_date, old.is_active) == ("open", "", None, True)
    assert Goal.from_fields({"goal": " Deutsch   B1 ", "area": "sprache"}).key == (
        "sprache", "Deutsch B1",
    )  # fmt: skip
    assert goals.goals_of({"goals": [saved, {"goal": "B1"}]})[1] == old
    assert goals.goals_of(None) == [] and goals.goals_of({"goals": None}) == []


def _version(number: int, statuses_by_goal: list[tuple[str, str]]) -> DocumentVersion:
    fields = {"goals": [{"area": "sprache", "goal": text, "status": s}
                        for text, s in statuses_by_goal]}  # fmt: skip
    return DocumentVersion(number=number, title="IV", fields=fields)


def test_history_follows_goals_by_text_then_by_position():
    versions = [
        _version(1, [("Deutsch B1", "open"), ("Arbeit finden", "open")]),
        _version(2, [("Arbeit finden", "in_progress"), ("Deutsch B1", "open")]),  # reordered
        _version(3, [("Arbeit finden", "in_progress"), ("Deutsch B1 (Prüfung)", "done")]),
        _version(
            4, [("Arbeit finden", "done"), ("Deutsch B1 (Prüfung)", "done"), ("Wohnung", "open")]
        ),
    ]
    work, german, housing = goals.history(versions)
    assert [(c.version, c.status) for c in work.changes] == [
        (1, "open"), (2, "in_progress"), (4, "done"),
    ]  # fmt: skip
    assert [(c.version, c.status) for c in german.changes] == [(1, "open"), (3, "done")]
    assert german.goal.goal == "Deutsch B1 (Prüfung)"
    assert [(c.version, c.status) for c in housing.changes] == [(4, "open")]


def test_signature_is_kept_by_status_updates_and_cleared_by_other_changes():
    signed = DocumentVersion(
        title="IV",
        fields={"goals": [{"goal": "B1", "status": "open"}], "signatories": ["A"],
                "signed_on": "2026-11-01"},
    )  # fmt: skip
    status_only = {"goals": [{"goal": "B1", "status": "done"}], "signatories": ["A"],
                   "signed_on": None}  # fmt: skip
    assert goals.carry_signature(signed, "IV", status_only)["signed_on"] == "2026-11-01"
    reworded = {**status_only, "goals": [{"goal": "B2", "status": "done"}]}
    assert goals.carry_signature(signed, "IV", reworded)["signed_on"] is None
    assert goals.carry_signature(signed, "IV neu", status_only)["signed_on"] is None
    unsigned = DocumentVersion(title="IV", fields={"goals": [], "signed_on": None})
    typed = {"goals": [], "signed_on": "2026-11-02"}
    assert goals.carry_signature(unsigned, "IV", typed)["signed_on"] == "2026-11-02"


def test_rebase_carries_my_choices_onto_a_newer_version():
    base = [Goal("A"), Goal("B"), Goal("C")]
    current = [Goal("C", status="done"), Goal("A"), Goal("B", status="in_progress"), Goal("D")]
    chosen = ["dropped", "done", "open"]
    assert goals.rebase_statuses(base, chosen, current) == [
        ("done", "theirs"), ("dropped", "mine"), ("done", "both"), ("open", "theirs"),
    ]  # fmt: skip


@pytest.fixture
def setting(db, make_user, make_case, save_ctx):
    worker = make_user()
    agreement = documents.create_document(
        db, worker, make_case(worker), doc_type="agreement", title="IV",
        content=Content(fields={"goals": [{"goal": "B1"}]}), ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    return worker, agreement


def test_status_update_conflicts_on_a_stale_base_and_refuses_unknown_statuses(
    db, setting, save_ctx
):
    worker, agreement = setting
    saved = agreements.update_statuses(
        db, worker, agreement, base_version=1, statuses=["done"], ctx=save_ctx
    )
    db.commit()
    assert saved.number == 2 and saved.comment == "Status update"
    with pytest.raises(VersionConflict):
        agreements.update_statuses(
            db, worker, agreement, base_version=1, statuses=["dropped"], ctx=save_ctx
        )
    db.rollback()
    with pytest.raises(ValidationFailed) as caught:
        agreements.update_statuses(
            db, worker, agreement, base_version=2, statuses=["finished"], ctx=save_ctx
        )
    assert caught.value.fields == {"goals[0].status": "invalid_status"}
    db.rollback()
    unchanged = agreements.update_statuses(
        db, worker, agreement, base_version=2, statuses=["done"], ctx=save_ctx
    )
    assert unchanged is None


def test_signed_scan_is_refused_for_an_unsaved_future_version(db, setting, save_ctx):
    worker, agreement = setting
    with pytest.raises(ValidationFailed) as caught:
        agreements.attach_signed_scan(
            db, worker, agreement, printed_version=7, signed_on=TODAY.isoformat(),
            upload=Upload(io.BytesIO(PDF.read_bytes()), "scan.pdf"),
            ctx=save_ctx, today=TODAY,
        )  # fmt: skip
    assert caught.value.fields == {"version": "unknown"}
