"""The PostgreSQL search backend itself: the query tree compiled to tsquery (checked against
a brute-force evaluation of the semantics), fields, names, its schema, concurrent writers,
the time limit, set-up.

The shared search tests (test_search.py) run this backend too, on PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from portal import create_app
from portal.services.errors import InvalidInput
from portal.services.search import make_backend, pg_backend, pg_results
from portal.services.search.backend import IndexEntry, SearchQuery
from portal.services.search.pg_backend import FORMAT, PostgresBackend
from tests.conftest import TEST_AUDIT_KEY
from tests.search_oracle import evaluate


@pytest.fixture
def engine(postgres_url):
    """An engine on the test run's PostgreSQL database, with an empty search schema."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS portal_search CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture(params=["gin", "rum"])
def backend(engine, request, monkeypatch):
    """The backend on a GIN index, and on RUM where that extension is installed."""
    monkeypatch.setattr(pg_backend, "USE_RUM", request.param == "rum")
    backend = PostgresBackend(engine)
    if backend.rum != (request.param == "rum"):
        pytest.skip("the rum extension is not installed")
    return backend


def _entry(
    version_id: int, case_id: int = 1, body: str = "Wohnung gesucht", **fields
) -> IndexEntry:
    values = dict(
        version_id=version_id, document_id=version_id, number=1, current=True, case_id=case_id,
        case_reference=f"KIM-2026-{case_id:05d}", title=f"Vermerk {version_id}", body=body,
        names="Mohammed Al-Hassan", type="note", phase="erstberatung", focus=["wohnen"],
        organisation_id=1, date=datetime.now(UTC), acl=["o1"],
    )  # fmt: skip
    return IndexEntry(**{**values, **fields})


def _found(backend: PostgresBackend, query: str, acl=("o1",)) -> set[int]:
    result = backend.search(SearchQuery(text=query, per_page=1000), list(acl))
    assert result.total == len(result.hits)
    return {hit.version_id for hit in result.hits}


# ---------------------------------------------------------------- what is found


def test_fields_are_told_apart(backend):
    backend.update(
        [
            _entry(1, title="Wohnung", body="Kurs", names="Amina Haddad"),
            _entry(2, title="Kurs", body="Wohnung", names="Amina Haddad"),
            _entry(3, title="Kurs", body="Kurs", names="Wohnung Haddad", case_id=2),
            _entry(4, title="Kurs", body="Kurs", names="Amina Haddad", case_reference="Wohnung"),
        ],
        [],
    )
    assert _found(backend, "Wohnung") == {1, 2, 3, 4}
    assert _found(backend, "titel:Wohnung") == {1}
    assert _found(backend, "text:Wohnung") == {2}
    assert _found(backend, "name:Wohnung") == {3}
    assert _found(backend, "az:Wohnung") == {4}
    assert _found(backend, "titel:Wohnung OR name:Wohnung") == {1, 3}
    assert _found(backend, "Kurs NOT titel:Kurs") == {1}


def test_words_of_a_term_are_all_in_one_field(backend):
    """ "Al-Hassan" is two words: both in the title, or both in the body, not one in each."""
    backend.update(
        [
            _entry(1, title="Brief von Al", body="Hassan schreibt", names=""),
            _entry(2, title="Brief", body="Al-Hassan schreibt", names=""),
            _entry(3, title="Brief", body="Schreiben", names="Ali Al-Hassan"),
        ],
        [],
    )
    assert _found(backend, "Al-Hassan") == {2, 3}
    assert _found(backend, "titel:Al-Hassan") == set()


def test_phrases_close_up_over_stop_words_and_never_span_fields(backend):
    backend.update(
        [
            _entry(1, title="Räume", body="Wohnung in Gütersloh", names=""),
            _entry(2, title="Vermerk", body="Die Räume und die Wohnung", names=""),
            _entry(3, title="Vermerk", body="Räume Küche Wohnung", names=""),
        ],
        [],
    )
    assert _found(backend, '"Räume der Wohnung"') == {2}
    assert _found(backend, '"Raeume Wohnung"') == {2}
    assert _found(backend, 'titel:"Räume Wohnung"') == set()


def test_case_reference_is_one_whole_value(backend):
    backend.update([_entry(1, case_id=7), _entry(2, case_id=17)], [])
    assert _found(backend, "az:KIM-2026-00007") == {1}
    assert _found(backend, '"KIM-2026-00017"') == {2}
    assert _found(backend, "az:KIM-2026") == set()


def test_prefixes_of_each_field_are_highlighted(backend):
    backend.update(
        [_entry(1, title="Sprachkurs", body="Der Sprachkursus beginnt. Sprache: Deutsch.")], []
    )
    result = backend.search(SearchQuery(text="Sprach*"), ["o1"])
    assert result.hits[0].highlights == [
        "Der «Sprachkursus» beginnt. «Sprache»: Deutsch.",
        "«Sprachkurs»",
    ]
    assert backend.search(SearchQuery(text="titel:Sprach*"), ["o1"]).hits[0].highlights == [
        "«Sprachkurs»"
    ]


def test_names_one_edit_away_with_the_same_first_letter(backend):
    backend.update(
        [
            _entry(1, names="Mohammed Hassan", body="Termin"),
            _entry(2, names="Aly Abi", body="Termin", case_id=2),
        ],
        [],
    )
    assert _found(backend, "Mohamed Hasan") == {1}
    assert _found(backend, "Ali") == {2}  # short names too (trigrams would miss these)
    assert _found(backend, "Abu") == {2}
    assert _found(backend, "Mohamad Hasan") == set()  # two edits
    assert _found(backend, "Ohammed") == set()  # another first letter
    highlights = backend.search(SearchQuery(text="Mohamed Hasan"), ["o1"]).hits[0].highlights
    assert highlights == ["«Mohammed» «Hassan»"]


def test_name_words_leave_with_their_case(backend):
    backend.update([_entry(1, names="Mohammed Hassan")], [])
    backend.replace_case(1, [])
    backend.update([_entry(2, case_id=2, names="Amina Haddad")], [])
    with backend.engine.connect() as connection:
        words = set(connection.scalars(text("SELECT word FROM portal_search.case_names")))
    assert words == {"amina", "haddad"}


def test_similar_documents_are_the_best_few_others(backend):
    body = "Kaution Mietvertrag Wohnung Vermieter Kaution Mietvertrag"
    backend.update([_entry(n, body=body) for n in range(1, 9)], [])
    backend.update([_entry(9, title="Sprachkurs", body="Sprachkurs")], [])
    similar = backend.similar(1, ["o1"], limit=3)
    assert len(similar) == 3 and 1 not in {h.version_id for h in similar}
    assert backend.similar(1, ["o2"]) == [] and backend.similar(9, ["o1"]) == []


def test_any_access_token_of_an_entry_admits_it(backend):
    tokens = [f"c{n}o2" for n in range(1, 7)]
    backend.update([_entry(n, acl=tokens[:n]) for n in range(1, 7)], [])
    many = [f"c{n}o9" for n in range(100)]  # a long list is looked up in a hash
    assert _found(backend, "Wohnung", acl=[*many, "c6o2"]) == {6}
    assert _found(backend, "Wohnung", acl=[*many, "c1o2"]) == {1, 2, 3, 4, 5, 6}
    assert _found(backend, "Wohnung", acl=["c5o2", "c3o2"]) == {3, 4, 5, 6}
    assert _found(backend, "Wohnung", acl=many) == set()


def test_rebuild_builds_the_text_indexes_again(backend):
    backend.update([_entry(9)], [])
    assert backend.rebuild([[_entry(1)], [_entry(2, body="Kurs")]]) == 2
    assert _found(backend, "Wohnung") == {1}
    with backend.engine.connect() as connection:
        indexes = set(
            connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = 'portal_search'")
            )
        )
    assert {"entries_tsv", "entries_prefix"} & indexes == (
        {"entries_tsv", "entries_prefix"} if backend.rum else {"entries_tsv"}
    )


def test_a_huge_body_is_indexed_within_postgresql_limits(backend):
    rng = random.Random(1)
    words = ["".join(rng.choice("bcdfghklmnprstvwz") for _ in range(13)) for _ in range(70_000)]
    backend.update([_entry(1, body="Anfang " + " ".join(words))], [])
    assert _found(backend, "Anfang") == {1}


# ---------------------------------------------------------------- against the semantics


def _words(text_: str) -> list[str]:
    return text_.split()


VOCABULARY = _words("""
    Wohnung Wohnungen Räume Raeume Raum Küche Kueche Straße Strasse Kurs Sprachkurs Sprachkurse
    Termin Termine Antrag Anträge Schule Kinder Kind Arbeit Bescheid Jobcenter Miete
    der die und in mit von nicht Al-Hassan B1-Kurs""")
NAME_POOL = _words("Mohammed Mohamed Muhammad Hassan Hasan Ali Aly Amina Amine Olena Olga Haddad")


def _corpus(rng: random.Random, count: int) -> list[IndexEntry]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        _entry(
            n,
            case_id=n % 7 + 1,
            title=" ".join(rng.choices(VOCABULARY, k=rng.randint(1, 3))),
            body=" ".join(rng.choices(VOCABULARY + NAME_POOL, k=rng.randint(3, 25))),
            names=" ".join(rng.sample(NAME_POOL, rng.randint(1, 3))),
            type=rng.choice(["note", "file"]),
            phase=rng.choice(["a", "b"]),
            focus=rng.sample(["wohnen", "arbeit", "sprache"], rng.randint(0, 2)),
            organisation_id=rng.randint(1, 2),
            date=start + timedelta(days=rng.randint(0, 800)),
            acl=rng.choice([["o1"], ["o2"], ["o1", "o2"]]),
            current=rng.random() > 0.1,
        )
        for n in range(1, count + 1)
    ]


def _query(rng: random.Random, corpus: list[IndexEntry]) -> str:
    def part() -> str:
        field = rng.choice(["", "", "", "titel:", "text:", "name:", "az:"])
        kind = rng.random()
        if kind < 0.5:
            return field + rng.choice(VOCABULARY + NAME_POOL)
        if kind < 0.7:
            return field + rng.choice(VOCABULARY + NAME_POOL)[:4] + "*"
        words = rng.choice(corpus).body.split()
        at = rng.randrange(len(words))
        return f'{field}"{" ".join(words[at : at + rng.randint(1, 3)])}"'

    shape = rng.random()
    if shape < 0.3:
        return part()
    if shape < 0.5:
        return f"{part()} {part()}"
    if shape < 0.7:
        return f"{part()} OR {part()}"
    if shape < 0.85:
        return f"{part()} -{part()}"
    return f"{part()} ({part()} OR -{part()})"


def _filters(rng: random.Random) -> dict:
    """Some of the filters of a SearchQuery, at random."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 800))
    options = {
        "types": [rng.choice(["note", "file"])], "phase": rng.choice(["a", "b"]),
        "focus": rng.choice(["wohnen", "arbeit"]), "organisation_id": rng.randint(1, 2),
        "case_id": rng.randint(1, 7), "exclude_case_ids": rng.sample(range(1, 8), 3),
        "date_from": start, "date_to": start + timedelta(days=200), "all_versions": True,
    }  # fmt: skip
    return {k: v for k, v in options.items() if rng.random() < 0.15}


def test_hits_totals_and_facets_equal_the_semantics_on_random_corpora(backend):
    rng = random.Random(20261201)
    corpus = _corpus(rng, 80)
    backend.update(corpus, [])
    checked = 0
    for _ in range(250):
        query = SearchQuery(text=_query(rng, corpus), per_page=100, **_filters(rng))
        try:
            expected = evaluate(corpus, query, ["o1"])
        except InvalidInput:
            continue
        result = backend.search(query, ["o1"])
        assert {h.version_id for h in result.hits} == expected.version_ids, query
        assert (result.total, result.facets) == (expected.total, expected.facets), query
        checked += 1
    assert checked > 200


def test_ranking_puts_title_before_names_before_body(backend):
    backend.update(
        [
            _entry(1, title="Vermerk", body="Haddad", names=""),
            _entry(2, title="Haddad", body="Vermerk", names=""),
            _entry(3, title="Vermerk", body="Vermerk", names="Haddad", case_id=2),
        ],
        [],
    )
    hits = backend.search(SearchQuery(text="Haddad"), ["o1"]).hits
    assert [h.version_id for h in hits] == [2, 3, 1]


def test_only_the_newest_matches_are_ranked(backend, monkeypatch):
    monkeypatch.setattr(pg_results, "RANK_CANDIDATES", 2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    backend.update(
        [
            _entry(1, title="Haddad", body="", names="", date=start),
            _entry(2, title="Vermerk", body="Haddad", names="", date=start + timedelta(days=1)),
            _entry(3, title="Haddad", body="", names="", date=start + timedelta(days=2)),
            _entry(4, title="Vermerk", body="Haddad", names="", date=start + timedelta(days=3)),
        ],
        [],
    )
    found = backend.search(SearchQuery(text="Haddad", per_page=2), ["o1"])
    assert ([h.version_id for h in found.hits], found.total) == ([3, 4], 4)
    second = backend.search(SearchQuery(text="Haddad", per_page=2, page=2), ["o1"])
    assert [h.version_id for h in second.hits] == [2, 1]  # unranked beyond the candidates


def test_pages_by_date_and_prefixes_unscored(backend):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    backend.update(
        [_entry(n, title="Haddad" * (n % 2), date=start + timedelta(days=n)) for n in range(1, 6)],
        [],
    )
    pages = [
        backend.search(SearchQuery(text="Wohnung", sort="date", per_page=2, page=p), ["o1"])
        for p in (1, 2, 3, 4)
    ]
    assert [[h.version_id for h in r.hits] for r in pages] == [[5, 4], [3, 2], [1], []]
    assert {r.total for r in pages} == {5}
    prefixed = backend.search(SearchQuery(text="Wohn*"), ["o1"])
    assert [(h.version_id, h.score) for h in prefixed.hits] == [(n, 0.0) for n in range(5, 0, -1)]


# ---------------------------------------------------------------- the backend itself


def test_schema_is_created_once_even_by_servers_starting_together(engine):
    backends: list[PostgresBackend] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            backends.append(PostgresBackend(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(b.rebuilt for b in backends) == [False, False, True]  # one found it missing
    backends[0].update([_entry(1)], [])
    again = PostgresBackend(engine)
    assert not again.rebuilt and again.version_ids() == {1}  # opening keeps the entries


@pytest.mark.parametrize("older", ["'kim-search 1'", "NULL"])  # NULL: before formats
def test_an_index_of_another_format_is_made_anew(engine, backend, older):
    backend.update([_entry(1)], [])
    with engine.begin() as connection:
        connection.execute(text(f"COMMENT ON SCHEMA portal_search IS {older}"))
    again = PostgresBackend(engine)
    assert again.rebuilt and again.version_ids() == set()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT obj_description('portal_search'::regnamespace)")) == (
            FORMAT
        )


def test_writers_from_several_connections_lose_nothing(engine, postgres_url):
    """Two backends on their own engines (as two server processes) upsert overlapping
    entries and replace cases at once: no error, no lost or duplicated entry."""
    other_engine = create_engine(postgres_url)
    first, second = PostgresBackend(engine), PostgresBackend(other_engine)
    errors: list[BaseException] = []

    def write(backend: PostgresBackend, offset: int) -> None:
        try:
            for n in range(20):
                backend.update([_entry(n, case_id=n % 3), _entry(100 + offset + n)], [])
                if n % 5 == 0:
                    backend.replace_case(2, [_entry(v, case_id=2) for v in range(2, 20, 3)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b, o)) for b, o in ((first, 0), (second, 50))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_engine.dispose()
    assert errors == []
    expected = set(range(20)) | set(range(100, 120)) | set(range(150, 170))
    assert first.version_ids() == expected
    found = first.search(SearchQuery(text="Wohnung", per_page=100), ["o1"])
    assert found.total == len(expected)


def test_time_limit_returns_incomplete_instead_of_hanging(engine, postgres_url):
    backend = PostgresBackend(engine, time_limit=0.3)
    backend.update([_entry(1)], [])
    blocker = create_engine(postgres_url)
    with blocker.connect() as connection:  # holds the table until the search gave up
        connection.execute(text("LOCK TABLE portal_search.entries IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        result = backend.search(SearchQuery(text="Wohnung"), ["o1"])
        elapsed = time.monotonic() - started
        connection.rollback()
    blocker.dispose()
    assert result.incomplete and (result.hits, result.total) == ([], 0)
    assert elapsed < 2.0
    assert not backend.search(SearchQuery(text="Wohnung"), ["o1"]).incomplete


def test_bad_syntax_is_refused_before_the_database_even_without_access(backend):
    with pytest.raises(InvalidInput):
        backend.search(SearchQuery(text="ab*"), [])


def test_search_schema_stays_out_of_the_migrated_schema(engine):
    PostgresBackend(engine)
    with engine.connect() as connection:
        schema = connection.scalar(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'entries'")
        )
    assert schema == "portal_search"


def test_make_backend_needs_a_postgresql_engine(tmp_path):
    sqlite = create_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        make_backend("postgres", tmp_path, sqlite)
    with pytest.raises(ValueError, match="database engine"):
        make_backend("postgres", tmp_path, None)
    with pytest.raises(ValueError, match="unknown search backend"):
        make_backend("elastic", tmp_path, sqlite)


def test_postgres_backend_on_sqlite_is_a_clear_error_at_start(tmp_path):
    config = {
        "database_url": f"sqlite:///{tmp_path / 'portal.db'}", "data_dir": tmp_path,
        "secret_key": "x", "audit_key": TEST_AUDIT_KEY, "search_backend": "postgres",
    }  # fmt: skip
    with pytest.raises(ValueError, match="PORTAL_SEARCH_BACKEND=postgres needs"):
        create_app(config)


def test_create_app_builds_the_postgres_backend(engine, postgres_url, tmp_path):
    config = {
        "database_url": postgres_url, "data_dir": tmp_path, "secret_key": "x",
        "audit_key": TEST_AUDIT_KEY, "search_backend": "postgres",
    }  # fmt: skip
    app = create_app(config)
    assert isinstance(app.extensions["portal.search"], PostgresBackend)
    app.extensions["portal.db"].engine.dispose()


@pytest.fixture
def postgres_runner(app_config, request):
    """The ``portal`` command line with PORTAL_SEARCH_BACKEND=postgres."""
    app_config["search_backend"] = "postgres"
    return request.getfixturevalue("runner")


def test_reindex_and_check_with_the_postgres_backend(postgres_runner, app_config):
    if app_config["database_url"].startswith("sqlite"):
        result = postgres_runner("reindex")
        assert result.exit_code == 1
        assert "PORTAL_SEARCH_BACKEND=postgres needs" in result.output
        return
    result = postgres_runner("reindex")
    assert result.exit_code == 0 and "0 Einträge" in result.output, result.output
    assert postgres_runner("check").exit_code == 0
