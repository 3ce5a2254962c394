"""The outbox drain: index updates of many documents in one commit, and a failing batch
falls back to its jobs one at a time so that one bad job holds up no other."""

from __future__ import annotations

from sqlalchemy import select

from portal import jobs
from portal.models import OutboxJob
from portal.services import outbox, search
from portal.services.audit import Requester
from portal.services.search.backend import SearchQuery


def _count_updates(backend, monkeypatch) -> list[int]:
    """Record the number of entries of every ``backend.update`` (one per index commit)."""
    calls: list[int] = []
    update = backend.update

    def counting(entries, removed):
        calls.append(len(entries))
        return update(entries, removed)

    monkeypatch.setattr(backend, "update", counting)
    return calls


def _titles(db, backend, user, text: str) -> set[str]:
    found, _result = search.search(db, backend, Requester(user), SearchQuery(text=text))
    return {f.document.title for f in found}


def test_index_jobs_of_a_drain_are_one_commit(
    app, db, search_backend, make_user, make_case, make_note, monkeypatch
):
    worker = make_user()
    case = make_case(worker)
    for n in range(5):
        make_note(worker, case, title=f"Vermerk {n}", text="Kaution für die Wohnung gezahlt.")
    assert outbox.pending(db) == 5
    calls = _count_updates(search_backend, monkeypatch)
    assert jobs.drain(app) == 5
    assert calls == [5]
    assert outbox.pending(db) == 0
    assert _titles(db, search_backend, worker, "Kaution") == {f"Vermerk {n}" for n in range(5)}


def test_a_failing_batch_is_retried_job_by_job(
    app, db, search_backend, make_user, make_case, make_note, monkeypatch
):
    worker = make_user()
    case = make_case(worker)
    make_note(worker, case, title="Gut", text="Mietvertrag liegt vor.")
    bad = make_note(worker, case, title="Schlecht", text="Mietvertrag fehlt.")
    index_document = search.index_document

    def fails_for_bad(session, backend, document_id):
        if document_id == bad.id:
            raise RuntimeError("broken document")
        index_document(session, backend, document_id)

    monkeypatch.setattr(search, "index_documents", lambda *args: 1 / 0)
    monkeypatch.setattr(search, "index_document", fails_for_bad)
    assert jobs.drain(app) == 2
    assert _titles(db, search_backend, worker, "Mietvertrag") == {"Gut"}
    db.expire_all()
    (parked,) = db.scalars(select(OutboxJob))
    assert (parked.object_id, parked.attempts) == (bad.id, 1)
    assert "broken document" in parked.last_error
