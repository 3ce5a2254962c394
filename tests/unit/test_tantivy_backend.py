"""The tantivy backend itself: analysis in the index, the compiled queries against the
brute-force oracle, bounded prefixes, fuzzy names, exact tie-breaking, highlights, the
deadline, writers and their lock, readers across commits and processes, engine failures.

What every backend must find is the contract suite's; this covers what is tantivy's own.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import tantivy

from portal.services.errors import InvalidInput, SearchUnavailable
from portal.services.search import make_backend, tantivy_backend, tantivy_query, tantivy_results
from portal.services.search.backend import IndexEntry, SearchQuery
from portal.services.search.query import words_of
from portal.services.search.tantivy_backend import TantivyBackend
from tests.search_oracle import evaluate

ROOT = Path(__file__).resolve().parents[2]


def entry(n: int, body: str = "", **fields) -> IndexEntry:
    """An index entry for version ``n`` (one version per document, one case per ten)."""
    values = {
        "version_id": n, "document_id": n, "number": 1, "current": True, "case_id": n // 10,
        "case_reference": f"KIM-2026-{n:05d}", "title": f"Notiz {n}", "body": body,
        "names": "Amina Yusuf", "type": "note", "phase": "erstberatung", "focus": [],
        "organisation_id": 1, "date": datetime(2026, 1, 1 + n % 28, tzinfo=UTC), "acl": ["o1"],
    }  # fmt: skip
    values.update(fields)
    return IndexEntry(**values)


@pytest.fixture
def backend(tmp_path) -> TantivyBackend:
    return TantivyBackend(tmp_path / "index")


def search(backend: TantivyBackend, text: str, acl=("o1",), **kwargs):
    return backend.search(
        SearchQuery(text=text, per_page=kwargs.pop("per_page", 100), **kwargs), list(acl)
    )


def found(backend: TantivyBackend, text: str, acl=("o1",), **kwargs) -> list[int]:
    return [hit.version_id for hit in search(backend, text, acl, **kwargs).hits]


def panic_class() -> type[BaseException]:
    """pyo3's PanicException, from a real panic (tantivy asserts a limit above zero)."""
    index = tantivy.Index(tantivy.SchemaBuilder().build())
    try:
        index.searcher().search(tantivy.Query.all_query(), limit=0)
    except BaseException as exc:  # a BaseException, not an Exception
        assert not isinstance(exc, Exception)
        return type(exc)
    raise AssertionError("no panic")


# --------------------------------------------------------------------------- analysis


def test_made_by_make_backend_and_new_directories_are_rebuilt(tmp_path):
    backend = make_backend("tantivy", tmp_path / "index")
    assert isinstance(backend, TantivyBackend) and backend.rebuilt
    backend.update([entry(1, "Räume")], [])
    again = TantivyBackend(tmp_path / "index")
    assert not again.rebuilt and again.version_ids() == {1}


def test_index_terms_are_words_of_and_phrases_close_up_over_stop_words(backend):
    body = "Die Räume der Straße, und Mannigfaltigkeiten"
    backend.update([entry(1, body, names="Müller-Lüdenscheidt", case_reference="KIM 2026/7")], [])
    searcher = backend.index.searcher()
    for field, text in (("body", body), ("names", "Müller-Lüdenscheidt")):
        terms = {term for term, _count in searcher.terms_with_prefix(field, "")}
        assert terms == set(words_of(text, field))
    reference = searcher.terms_with_prefix("case_reference", "")
    assert reference == [("kim 2026/7", 1)]  # the whole folded value, one term
    assert found(backend, '"Räume Strasse"') == [1]  # "der" is no position
    assert found(backend, '"Strasse Räume"') == []
    assert found(backend, "az:KIM-2026/7") == [] and found(backend, '"kim 2026/7"') == [1]


def test_highlights_come_from_the_stored_original_text(backend):
    backend.update([entry(1, "Die RÄUME sind feucht.", title="Raeume")], [])
    (hit,) = search(backend, "Räume").hits
    assert hit.highlights == ["Die «RÄUME» sind feucht.", "«Raeume»"]


# --------------------------------------------------------------------------- the oracle

WORDS = ["Räume", "Raeume", "Wohnung", "Wohnungen", "Straße", "Strasse", "Kita", "Kinder",
         "Schule", "Antrag", "Anträge", "Termin", "und", "der", "mit", "Gütersloh"]  # fmt: skip
TOKENS = ["o1", "o2", "c7"]
NAMES = ["Mohammed Hassan", "Mohamed Hasan", "Amina Yusuf", "Aminah Jusuf", "Ali Hasani"]
QUERIES = [
    "Räume", "raum", "Wohnung Kinder", '"Räume Wohnung"', '"der Kita"', "wohn*", "str*",
    "Strasse -Kita", "Kita OR Schule", "(Kita OR Schule) -Termin", "Termin (Kita OR -Schule)",
    "titel:Antrag", "text:Anträge", "name:Hasan", "Mohamed", "Hassan", "Jusuf", "az:KIM-2026-00003",
    "Antrag AND NOT Termin", "kind*", "Gütersloh Wohnungen", '"Antrag und Termin"',
]  # fmt: skip


def random_entries(rng: random.Random, count: int) -> list[IndexEntry]:
    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    return [
        entry(
            n, text(rng.randint(0, 12)), title=text(rng.randint(1, 3)), names=rng.choice(NAMES),
            current=rng.random() < 0.8, case_id=rng.randint(1, 6),
            type=rng.choice(["note", "report", "plan"]), phase=rng.choice(["a", "b"]),
            focus=rng.sample(["wohnen", "kita", "arbeit"], rng.randint(0, 2)),
            organisation_id=rng.randint(1, 3), acl=rng.sample(TOKENS, rng.randint(1, 2)),
            date=datetime(2025, 12, 31, 23, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 3000)),
        )
        for n in range(1, count + 1)
    ]  # fmt: skip


def random_query(rng: random.Random, text: str) -> SearchQuery:
    day = datetime(2026, 1, 1, tzinfo=UTC)
    return SearchQuery(
        text=text,
        types=rng.choice([[], ["note"], ["report", "plan"]]),
        phase=rng.choice([None, "a"]),
        focus=rng.choice([None, "kita"]),
        organisation_id=rng.choice([None, 2]),
        case_id=rng.choice([None, None, 3]),
        exclude_case_ids=rng.choice([[], [1, 2]]),
        date_from=rng.choice([None, day]),
        date_to=rng.choice([None, day + timedelta(hours=20)]),
        all_versions=rng.random() < 0.3,
        sort=rng.choice(["relevance", "date"]),
        per_page=200,
    )


def test_every_query_finds_what_the_oracle_finds_with_totals_and_facets(backend):
    rng = random.Random(15)
    entries = random_entries(rng, 150)
    backend.update(entries, [])
    by_id = {e.version_id: e for e in entries}
    for text in QUERIES * 6:
        query, acl = random_query(rng, text), rng.choice([["o1"], ["o2", "c7"]])
        result = backend.search(query, acl)
        expected = evaluate(entries, query, acl)
        assert {h.version_id for h in result.hits} == expected.version_ids, (text, query)
        assert (result.total, result.facets) == (expected.total, expected.facets), text
        if query.sort == "date":
            keys = [(by_id[h.version_id].date, h.version_id) for h in result.hits]
            assert keys == sorted(keys, reverse=True)
        else:
            assert [h.score for h in result.hits] == sorted(
                (h.score for h in result.hits), reverse=True
            )


def test_facets_have_every_key_and_no_acl_finds_nothing(backend):
    backend.update([entry(1, "Räume", focus=["wohnen", "kita"], organisation_id=7)], [])
    assert search(backend, "Räume").facets == {
        "type": {"note": 1}, "phase": {"erstberatung": 1}, "focus": {"wohnen": 1, "kita": 1},
        "organisation": {"7": 1}, "year": {"2026": 1},
    }  # fmt: skip
    empty = {"type": {}, "phase": {}, "focus": {}, "organisation": {}, "year": {}}
    assert search(backend, "Garten").facets == empty
    nobody = search(backend, "Räume", acl=())
    assert (nobody.hits, nobody.total, nobody.facets) == ([], 0, empty)
    with pytest.raises(InvalidInput):  # bad syntax is an error even for nobody
        search(backend, "-Räume", acl=())


def test_dates_compare_in_utc_to_the_microsecond(backend):
    moment = datetime(2026, 3, 1, 12, 0, 0, 500, tzinfo=UTC)
    backend.update([entry(1, "Räume", date=moment)], [])
    berlin = moment.astimezone(ZoneInfo("Europe/Berlin"))
    assert found(backend, "Räume", date_from=berlin, date_to=berlin) == [1]
    assert found(backend, "Räume", date_from=moment + timedelta(microseconds=1)) == []
    assert found(backend, "Räume", date_to=moment - timedelta(microseconds=1)) == []
    newyear = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # 2026 in Germany
    backend.update([entry(2, "Räume", date=newyear)], [])
    assert search(backend, "Räume").facets["year"] == {"2026": 2}


# --------------------------------------------------------------------------- prefixes, names


def test_prefixes_expand_to_the_most_frequent_words_unscored_and_capped(backend, monkeypatch):
    monkeypatch.setattr(tantivy_query, "MAX_EXPANSIONS", 3)
    entries = [entry(n, f"wort{n % 5} wort{n % 5}" + " füll" * n) for n in range(1, 21)]
    entries.append(entry(21, "wortselten"))
    backend.update(entries, [])
    result = search(backend, "text:wort*")
    assert result.incomplete and result.total == 12  # wort1, wort2, wort3 (four docs each) ...
    assert {h.score for h in result.hits} == {0.0}  # unscored: prefixes alone come by date
    monkeypatch.setattr(tantivy_query, "MAX_EXPANSIONS", 200)
    assert not search(backend, "text:wort*").incomplete
    assert search(backend, "text:wort*").total == 21


def test_name_like_is_one_edit_with_the_same_first_letter(backend):
    names = ["mohammed", "mohamed", "mohamad", "mhamed", "muhamed", "ohamed", "mohmaed",
             "mohameds", "aaron", "aron", "حسين", "حسن", "hasan", "hassan", "hasen"]  # fmt: skip
    entries = [entry(n, names=name) for n, name in enumerate(names, 1)]
    backend.update(entries, [])
    for word in ("mohamed", "aron", "hasan", "حسن", "hassen"):
        expected = evaluate(entries, SearchQuery(text=word), ["o1"]).version_ids
        assert set(found(backend, word)) == expected, word
    assert {names[v - 1] for v in found(backend, "mohamed")} == {
        "mohammed", "mohamed", "mohamad", "mhamed", "muhamed", "mohameds",
    }  # not "ohamed" (first letter), not "mohmaed" (a transposition is two edits)  # fmt: skip
    assert {names[v - 1] for v in found(backend, "aron")} == {"aaron", "aron"}


def test_name_like_agrees_with_the_oracle_on_random_words(backend):
    rng = random.Random(5)

    def word(low: int, high: int) -> str:
        return "".join(rng.choice("abnä") for _ in range(rng.randint(low, high)))

    entries = [entry(n, names=f"{word(1, 7)} {word(1, 7)}") for n in range(1, 301)]
    backend.update(entries, [])
    for text in {word(3, 6) for _ in range(60)}:
        expected = evaluate(entries, SearchQuery(text=text), ["o1"]).version_ids
        assert set(found(backend, text, per_page=300)) == expected, text


def test_long_names_are_found_one_edit_away_too(backend):
    longest = "Wolfeschlegelsteinhausenbergerdorff" * 2
    backend.update(
        [entry(1, names="Wolfeschlegelsteinhausenbergerdorff"), entry(2, names=longest)], []
    )
    assert found(backend, "Wolfeschlegelsteinhausenbergerdorf") == [1]
    assert found(backend, longest[:-1]) == [2]
    assert found(backend, "X" + longest[1:]) == []


# --------------------------------------------------------------------------- ranking


def test_title_and_names_weigh_more_than_body(backend):
    backend.update([entry(1, "Gütersloh", title="Notiz", names="Ali Ahmadi"),
                    entry(2, "Notiz", title="Gütersloh", names="Ali Ahmadi"),
                    entry(3, "Notiz", title="Notiz", names="Gütersloh Ahmadi")], [])  # fmt: skip
    assert found(backend, '"Gütersloh"') == [2, 3, 1]  # a phrase: no typo-tolerant names


def test_ties_are_broken_by_date_then_version_exactly_on_every_page(backend, monkeypatch):
    day = datetime(2026, 2, 1, tzinfo=UTC)
    # Equal scores (the same text) and dates in an order unlike the index order.
    entries = [entry(n, "Wohnung", date=day + timedelta(hours=(n * 7) % 5)) for n in range(1, 41)]
    backend.update(entries[::2], [])
    backend.update(entries[1::2], [])
    expected = sorted(entries, key=lambda e: (e.date, e.version_id), reverse=True)
    expected = [e.version_id for e in expected]
    for tie_fetch in (2_000, 3):  # the tie group fetched whole, or walked newest first
        monkeypatch.setattr(tantivy_results, "TIE_FETCH", tie_fetch)
        monkeypatch.setattr(tantivy_results, "WALK_BATCH", 4)
        for sort in ("relevance", "date"):
            pages = [found(backend, "Wohnung", sort=sort, page=p, per_page=7) for p in range(1, 7)]
            assert [v for page in pages for v in page] == expected, (tie_fetch, sort)


def test_a_tie_group_past_the_page_end_keeps_higher_scores_first(backend, monkeypatch):
    monkeypatch.setattr(tantivy_results, "TIE_FETCH", 2)
    monkeypatch.setattr(tantivy_results, "WALK_BATCH", 3)
    day = datetime(2026, 2, 1, tzinfo=UTC)
    entries = [entry(n, "Wohnung", title="Wohnung" if n in (3, 9) else "x",
                     date=day + timedelta(days=n % 4)) for n in range(1, 16)]  # fmt: skip
    backend.update(entries, [])
    rest = sorted((e for e in entries if e.version_id not in (3, 9)),
                  key=lambda e: (e.date, e.version_id), reverse=True)  # fmt: skip
    assert found(backend, "Wohnung", per_page=5) == [3, 9] + [e.version_id for e in rest[:3]]
    assert found(backend, "Wohnung", per_page=5, page=2) == [e.version_id for e in rest[3:8]]


# --------------------------------------------------------------------------- highlights, time


def test_highlights_body_then_title_then_names_at_most_three(backend):
    body = "Wohnung in Gütersloh. " + "Füllwort " * 60 + "Die Wohnungen sind klein."
    backend.update([entry(1, body, title="Wohnungssuche", names="Mohammed Hassan")], [])
    (hit,) = search(backend, "wohnung* Hassan").hits
    assert hit.highlights[0].startswith("«Wohnung» in Gütersloh")
    assert "«Wohnungen»" in hit.highlights[1] and hit.highlights[2] == "«Wohnungssuche»"
    (hit,) = search(backend, "Mohamed").hits
    assert hit.highlights == ["«Mohammed» Hassan"]  # the matching name term
    (hit,) = search(backend, "Gütersloh -Hassan OR klein").hits
    assert all("Hassan»" not in passage for passage in hit.highlights)


def test_past_the_deadline_hits_come_without_highlights_marked_incomplete(backend, monkeypatch):
    backend.update([entry(n, "Räume") for n in range(1, 4)], [])
    monkeypatch.setattr(tantivy_backend, "TIME_LIMIT_SECONDS", -1.0)
    result = search(backend, "Räume")
    assert result.incomplete and result.total == 3
    assert [h.highlights for h in result.hits] == [[], [], []]


# --------------------------------------------------------------------------- similar


def test_similar_finds_current_versions_of_other_documents_the_user_may_see(backend):
    text = "Schimmel Feuchtigkeit Heizung Vermieter Mietminderung"
    backend.update([
        entry(1, text), entry(2, text, document_id=1, current=False),  # same document
        entry(3, text + " Kita"), entry(4, text, current=False, document_id=4),
        entry(5, text, acl=["o2"]), entry(6, "Kita Schule Antrag"),
    ], [])  # fmt: skip
    assert [h.version_id for h in backend.similar(1, ["o1"])] == [3]
    assert [h.version_id for h in backend.similar(1, ["o1", "o2"])] == [5, 3]  # shorter first
    assert backend.similar(1, []) == [] and backend.similar(99, ["o1"]) == []


# --------------------------------------------------------------------------- writing


def test_updates_replace_and_remove_and_cases_are_replaced_whole(backend):
    backend.update([entry(1, "Räume"), entry(2, "Räume"), entry(11, "Räume")], [])
    backend.update([entry(1, "Garten")], [2])
    assert found(backend, "Räume") == [11] and found(backend, "Garten") == [1]
    backend.replace_case(0, [entry(3, "Räume")])
    assert backend.version_ids() == {3, 11}
    backend.replace_case(1, [])
    assert backend.version_ids() == {3}
    backend.clear()
    assert backend.version_ids() == set()


def test_rebuild_replaces_everything_and_searches_see_the_old_index_until_it_commits(backend):
    backend.update([entry(1, "Räume"), entry(2, "Räume")], [])
    seen = []

    def batches():
        for start in range(100, 400, 100):
            seen.append(found(backend, "Räume"))
            yield [entry(n, "Räume") for n in range(start, start + 100)]

    assert backend.rebuild(batches()) == 300
    assert seen == [[2, 1]] * 3
    assert backend.version_ids() == set(range(100, 400))


def test_a_failed_rebuild_leaves_the_old_index(backend):
    backend.update([entry(1, "Räume")], [])

    def batches():
        yield [entry(2, "Räume")]
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        backend.rebuild(batches())
    assert backend.version_ids() == {1}
    backend.update([entry(3, "Räume")], [])  # the lock was let go
    assert backend.version_ids() == {1, 3}


def test_a_writer_waits_for_the_lock_and_gives_up_after_the_timeout(backend, monkeypatch):
    other = tantivy.Index(tantivy_query.schema(), str(backend.path))  # as another process
    writer = other.writer(15_000_000, 1)
    threading.Timer(0.5, writer.wait_merging_threads).start()  # lets the lock go
    started = time.monotonic()
    backend.update([entry(1, "Räume")], [])
    assert time.monotonic() - started >= 0.4 and found(backend, "Räume") == [1]
    writer = other.writer(15_000_000, 1)
    monkeypatch.setattr(tantivy_backend, "WRITE_LOCK_TIMEOUT", 0.2)
    with pytest.raises(TimeoutError):
        backend.update([entry(2, "Räume")], [])
    writer.wait_merging_threads()
    assert found(backend, "Räume") == [1]


WRITER = """
import sys
from tests.unit.test_tantivy_backend import entry
from portal.services.search.tantivy_backend import TantivyBackend
backend = TantivyBackend(sys.argv[1])
for n in range(int(sys.argv[2]), int(sys.argv[2]) + 10):
    backend.update([entry(n, "Räume")], [])
"""


def test_writers_in_several_processes_lose_nothing(backend):
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(backend.path), str(start)], cwd=ROOT)
        for start in (100, 200)
    ]
    for n in range(1, 11):
        backend.update([entry(n, "Räume")], [])
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    # Opened anew: this process's reader may not have seen the others' last commits yet.
    assert TantivyBackend(backend.path).version_ids() == {
        *range(1, 11),
        *range(100, 110),
        *range(200, 210),
    }


def test_another_backend_on_the_directory_sees_a_commit_within_a_second(backend):
    reader = TantivyBackend(backend.path)
    assert found(reader, "Räume") == []
    backend.update([entry(1, "Räume")], [])
    give_up = time.monotonic() + 1.5
    while found(reader, "Räume") != [1] and time.monotonic() < give_up:
        time.sleep(0.05)
    assert found(reader, "Räume") == [1]


def test_searches_never_fail_while_another_writer_commits_and_merges(backend):
    backend.update([entry(n, "Räume") for n in range(1, 50)], [])
    reader = TantivyBackend(backend.path)  # another reader, as in a second server process
    errors: list[BaseException] = []
    done = threading.Event()

    def searching(searcher_backend: TantivyBackend) -> None:
        while not done.is_set():
            try:
                assert search(searcher_backend, "Räume").total >= 49
            except BaseException as exc:  # a panic too
                errors.append(exc)
                return

    threads = [threading.Thread(target=searching, args=(b,)) for b in (backend, reader)]
    for thread in threads:
        thread.start()
    try:
        for n in range(30):  # small commits: segments pile up and are merged
            backend.update([entry(1000 + n, "Räume Garten")], [n % 7 + 1] if n > 15 else [])
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert errors == []


def test_no_file_outlives_its_segment(backend):
    for n in range(1, 26):  # segments pile up, are merged, replaced and deleted
        backend.update([entry(n, "Räume")], [n - 1] if n % 3 == 0 else [])
    meta = json.loads((backend.path / "meta.json").read_text())
    live = {segment["segment_id"].replace("-", "") for segment in meta["segments"]}
    segment_files = [
        f.name for f in backend.path.iterdir() if not f.name.startswith((".", "meta", "portal"))
    ]
    assert {name.split(".")[0] for name in segment_files} == live


# --------------------------------------------------------------------------- failures


def test_a_panic_in_the_engine_is_503_and_the_next_search_works(backend, monkeypatch, caplog):
    backend.update([entry(1, "Räume")], [])
    panic = panic_class()

    class Panicking:
        """An index whose searcher panics (tantivy objects take no monkeypatching)."""

        def searcher(self):
            return self

        def search(self, *args, **kwargs):
            raise panic("index corrupted")

    broken = Panicking()
    monkeypatch.setattr(backend, "index", broken)
    with pytest.raises(SearchUnavailable):
        search(backend, "Räume")
    assert "search engine failed" in caplog.text
    assert backend.index is not broken  # reopened
    assert found(backend, "Räume") == [1]


def test_an_outdated_or_corrupt_index_is_recreated_empty(tmp_path):
    backend = TantivyBackend(tmp_path / "index")
    backend.update([entry(1, "Räume")], [])
    (backend.path / tantivy_backend.VERSION_FILE).write_text("0")
    outdated = TantivyBackend(backend.path)
    assert outdated.rebuilt and outdated.version_ids() == set()
    outdated.update([entry(1, "Räume")], [])
    (backend.path / "meta.json").write_text("{not json")
    corrupt = TantivyBackend(backend.path)
    assert corrupt.rebuilt and corrupt.version_ids() == set()
    assert (
        backend.path / tantivy_backend.VERSION_FILE
    ).read_text() == tantivy_backend.SCHEMA_VERSION


def test_a_directory_without_a_tantivy_index_is_replaced(tmp_path):
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "_MAIN_171.toc").write_text("an old Whoosh index")
    backend = TantivyBackend(tmp_path / "index")
    assert backend.rebuilt and not (backend.path / "_MAIN_171.toc").exists()
    backend.update([entry(1, "Räume")], [])
    assert found(backend, "Räume") == [1]


def test_warm_up_runs_in_the_background(backend):
    backend.update([entry(1, "Räume")], [])
    thread = backend.warm_up()
    thread.join(timeout=10)
    assert not thread.is_alive()
