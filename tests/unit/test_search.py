"""Search over documents: German word forms and spellings, ACL, facets, bad queries."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from portal.models import DocumentVersion
from portal.services import consents, documents, search
from portal.services.audit import Requester
from portal.services.errors import InvalidInput
from portal.services.search.backend import SearchQuery
from tests.conftest import index_jobs_done


@pytest.fixture
def backend(search_backend):
    """tantivy on SQLite, the PostgreSQL backend on PostgreSQL."""
    return search_backend


@pytest.fixture
def world(db, backend, make_user, make_case, make_note):
    """A Stadt case with notes, indexed; a Caritas user without consent."""
    stadt, caritas = make_user(), make_user()
    case = make_case(stadt, given_name="Mohammed", family_name="Al-Hassan")
    texts = [
        ("Wohnungssuche", "Die Räume der Wohnung in Gütersloh sind zu klein.", "case"),
        ("Sprachkurs", "Anmeldung zum Integrationskurs beim VHS-Zweckverband.", "case"),
        ("Intern", "Quellenwasser intern vermerkt.", "internal"),
        ("Arabisch", "Der Name حَبيبي wird so geschrieben.", "case"),
    ]
    notes = [make_note(stadt, case, title=t, text=x, visibility=v) for t, x, v in texts]
    for note in notes:
        search.index_document(db, backend, note.id)
    index_jobs_done(db)
    return stadt, caritas, case, notes


def _titles(db, backend, user, text, **kwargs) -> set[str]:
    found, _result = search.search(db, backend, Requester(user), SearchQuery(text=text, **kwargs))
    return {f.document.title for f in found}


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Raum", "Wohnungssuche"),
        ("Raeume", "Wohnungssuche"),
        ("Guetersloh", "Wohnungssuche"),
        ("gutersloh", "Wohnungssuche"),
        ("Integrations*", "Sprachkurs"),
        ('"Räume der Wohnung"', "Wohnungssuche"),
        ("حبيبي", "Arabisch"),
        ("Mohamed Hasan", "Wohnungssuche"),  # typo tolerance in person names
    ],
)
def test_german_forms_spellings_and_names_are_found(db, backend, world, text, title):
    stadt, *_ = world
    assert title in _titles(db, backend, stadt, text)


def test_exclusion_and_or(db, backend, world):
    stadt, *_ = world
    assert _titles(db, backend, stadt, "Wohnung OR Integrationskurs") >= {
        "Wohnungssuche",
        "Sprachkurs",
    }
    assert "Wohnungssuche" not in _titles(db, backend, stadt, "Al-Hassan -Räume")


def test_other_organisation_finds_nothing_until_consent_and_never_internal(db, backend, world):
    stadt, caritas, case, _notes = world
    assert _titles(db, backend, caritas, "Räume") == set()
    consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    search.index_case(db, backend, case.id)
    index_jobs_done(db)
    assert _titles(db, backend, caritas, "Räume") == {"Wohnungssuche"}
    assert _titles(db, backend, caritas, "Quellenwasser") == set()
    assert _titles(db, backend, stadt, "Quellenwasser") == {"Intern"}


def test_revocation_hides_hits_before_the_index_catches_up(db, backend, world):
    stadt, caritas, case, _notes = world
    consent = consents.record(db, stadt, case, organisation_ids=[caritas.organisation_id])
    db.commit()
    search.index_case(db, backend, case.id)
    consents.revoke(db, stadt, case, consent.id)
    db.commit()
    db.expire_all()
    assert _titles(db, backend, caritas, "Räume") == set()  # index still lists Caritas


def test_facets_count_matches(db, backend, world):
    stadt, *_ = world
    _found, result = search.search(db, backend, Requester(stadt), SearchQuery(text="Al-Hassan"))
    assert result.facets["type"] == {"note": 4}
    assert result.total == 4


def test_days_and_years_are_calendar_days_in_germany(db, backend, world):
    """Saved at 00:30 on New Year's Day in Germany, which is still the old year in UTC."""
    stadt, _caritas, _case, notes = world
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    db.execute(
        update(DocumentVersion)
        .where(DocumentVersion.document_id == notes[0].id)
        .values(created_at=new_year)
    )
    db.commit()
    search.index_document(db, backend, notes[0].id)

    def searched(**args):
        query = search.parse_query({"q": "Räume", **args})
        found, result = search.search(db, backend, Requester(stadt), query)
        return {f.document.title for f in found}, result.facets["year"]

    assert searched() == ({"Wohnungssuche"}, {"2027": 1})
    assert searched(**{"from": "2027-01-01", "to": "2027-01-01"})[0] == {"Wohnungssuche"}
    assert searched(to="2026-12-31")[0] == set()
    assert searched(**{"from": "2027-01-02"})[0] == set()
    assert searched(**{"from": "0001-01-01", "to": "9999-12-31"})[0] == {"Wohnungssuche"}


def test_only_current_versions_unless_asked(db, backend, world, save_ctx):
    stadt, _caritas, _case, notes = world
    content = documents.Content(text="Neue Fassung ohne das Wort")
    documents.add_version(db, stadt, notes[0], base_version=1, content=content, ctx=save_ctx)
    db.commit()
    search.index_document(db, backend, notes[0].id)
    assert "Wohnungssuche" not in _titles(db, backend, stadt, "klein")
    assert "Wohnungssuche" in _titles(db, backend, stadt, "klein", all_versions=True)


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "ab*", "-Räume"])
def test_bad_queries_are_clear_errors(db, backend, world, text):
    stadt, *_ = world
    with pytest.raises(InvalidInput):
        search.search(db, backend, Requester(stadt), SearchQuery(text=text))


@pytest.mark.parametrize("text", ['"unbalanced', "(Räume", "Räume)", "AND OR NOT", "[a TO"])
def test_odd_syntax_never_crashes(db, backend, world, text):
    stadt, *_ = world
    with contextlib.suppress(InvalidInput):  # a clear error is fine; a crash is not
        search.search(db, backend, Requester(stadt), SearchQuery(text=text))


def test_reindex_restores_every_result(db, backend, world):
    stadt, *_ = world
    backend.clear()
    assert _titles(db, backend, stadt, "Räume") == set()
    assert search.reindex_all(db, backend) == 4
    assert _titles(db, backend, stadt, "Räume") == {"Wohnungssuche"}


def test_similar_documents_share_key_terms_and_respect_access(db, backend, world, make_note):
    stadt, caritas, case, notes = world
    twin = make_note(
        stadt, case, title="Zweite Wohnung",
        text="Die Räume der Wohnung in Gütersloh sind klein und feucht.",
    )  # fmt: skip
    search.index_document(db, backend, twin.id)
    version = documents.get_version(db, notes[0], 1)
    assert twin in search.similar(db, backend, stadt, version)
    assert notes[0] not in search.similar(db, backend, stadt, version)  # not itself
    assert search.similar(db, backend, caritas, version) == []  # no consent, nothing


def test_check_finds_index_gaps_and_repair_fills_them(app, db, backend, world):
    from datetime import UTC, datetime

    from portal.services import consistency
    from portal.services.search.backend import IndexEntry

    stadt, *_ = world
    store = app.extensions["portal.blobs"]
    assert consistency.check(db, store, backend).unindexed_versions == []
    backend.clear()
    stale = IndexEntry(
        version_id=999_999, document_id=999_999, number=1, current=True, case_id=999_999,
        case_reference="KIM-2026-99999", title="Verwaist", body="Räume", names="", type="note",
        phase="erstberatung", focus=[], organisation_id=stadt.organisation_id,
        date=datetime.now(UTC), acl=[f"o{stadt.organisation_id}"],
    )  # fmt: skip
    backend.update([stale], [])
    report = consistency.check(db, store, backend, repair=True)
    assert (len(report.unindexed_versions), report.stale_index_entries) == (4, [999_999])
    after = consistency.check(db, store, backend)
    assert (after.unindexed_versions, after.stale_index_entries) == ([], [])
    assert _titles(db, backend, stadt, "Räume") == {"Wohnungssuche"}
