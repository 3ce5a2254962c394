"""The Whoosh backend's own machinery: analyzer, highlighting, set-based matching, ranking,
facets, the time limit, segment merging and searcher lifetimes (no database needed)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np
import pytest

from portal.services.search import highlight, whoosh_backend, whoosh_run
from portal.services.search.analysis import german_analyzer, index_term, name_analyzer
from portal.services.search.backend import IndexEntry, SearchQuery
from portal.services.search.whoosh_backend import WhooshBackend


def entry(n: int, body: str = "", **fields) -> IndexEntry:
    """An index entry for version ``n`` (one version per document, one case per ten)."""
    values = {
        "version_id": n, "document_id": n, "number": 1, "current": True, "case_id": n // 10,
        "case_reference": f"KIM-2026-{n:05d}", "title": f"Notiz {n}", "body": body,
        "names": "Amina Yusuf", "type": "note", "phase": "erstberatung", "focus": [],
        "organisation_id": 1, "date": datetime(2026, 1, 1 + n % 28), "acl": ["o1"],
    }  # fmt: skip
    values.update(fields)
    return IndexEntry(**values)


@pytest.fixture
def backend(tmp_path) -> WhooshBackend:
    return WhooshBackend(tmp_path / "index")


def found(backend: WhooshBackend, text: str, acl=("o1",), **kwargs) -> list[int]:
    result = backend.search(SearchQuery(text=text, per_page=100, **kwargs), list(acl))
    return [hit.version_id for hit in result.hits]


# --------------------------------------------------------------------------- analysis


def _tokens(analyzer, text: str, **kwargs) -> list[tuple]:
    return [(t.text, t.pos) for t in analyzer(text, positions=True, **kwargs)]


def test_analyzer_stems_folds_and_closes_positions_over_stop_words():
    assert _tokens(german_analyzer(), "Die Räume der Straße") == [("raum", 1), ("strass", 2)]
    assert [t.text for t in german_analyzer()("Raeume Raume RÄUME")] == ["raum"] * 3
    assert index_term("Mannigfaltigkeiten") == index_term("Mannigfaltigkeit")
    stopped = [(t.text, t.stopped) for t in german_analyzer()("die Räume", removestops=False)]
    assert stopped == [("die", True), ("raum", False)]


def test_name_analyzer_folds_but_keeps_every_word():
    assert [t.text for t in name_analyzer()("Al-Hassan Müller Ben")] == [
        "al", "hassan", "muller", "ben",
    ]  # fmt: skip
    assert index_term("Die", stem=False) == "die"
    assert index_term("die") is None  # a stop word in text fields


def test_analyzer_takes_a_whole_value_and_offsets():
    tokens = list(german_analyzer()("Wohnungen", tokenize=False, chars=True, start_char=4))
    assert [(t.text, t.startchar, t.endchar) for t in tokens] == [("wohnung", 4, 13)]


# --------------------------------------------------------------------------- highlighting


def test_passages_mark_every_spelling_and_stop_after_the_limit():
    text = "Die Räume sind klein. " + "Füllwort " * 40 + "Die Raeume sind feucht. " * 5
    marked = highlight.passages(text, {"raum"}, limit=2)
    assert len(marked) == 2
    assert marked[0].startswith("Die «Räume» sind klein.")
    assert "«Raeume»" in marked[1]
    assert all(len(p) <= highlight.WIDTH + 20 for p in marked)


def test_passages_join_close_matches_and_cut_at_word_boundaries():
    text = "Anfangswort " * 10 + "Wohnung und Räume nahe beieinander" + " Schlusswort" * 10
    (only,) = highlight.passages(text, {"raum", "wohnung"})
    assert "«Wohnung» und «Räume»" in only
    assert only.split()[0] == "Anfangswort" and only.split()[-1] == "Schlusswort"


def test_passages_of_names_are_not_stemmed():
    assert highlight.passages("Amina Yusufs Akte", {"yusufs"}, stem=False) == [
        "Amina «Yusufs» Akte"
    ]
    assert highlight.passages("", {"x"}) == [] and highlight.passages("Text", set()) == []


# --------------------------------------------------------------------------- matching


def test_phrases_need_their_words_in_order_and_adjacent(backend):
    backend.update(
        [
            entry(1, "Termin beim Jobcenter am Montag"),
            entry(2, "Jobcenter beim Termin"),
            entry(3, "Termin und später beim Jobcenter"),
            entry(4, "Teilnahme am Integrationskurs"),  # "am" is a stop word
        ],
        [],
    )
    assert found(backend, '"Termin beim Jobcenter"') == [1]
    assert found(backend, '"Teilnahme Integrationskurs"') == [4]
    assert found(backend, '"Termin beim Jobcenter" -Montag') == []


def test_in_a_row_respects_slop():
    assert whoosh_run._in_a_row([[0, 7], [8], [9]], slop=1)
    assert not whoosh_run._in_a_row([[0], [2], [3]], slop=1)
    assert whoosh_run._in_a_row([[0], [2], [3]], slop=2)


def test_acl_filters_and_exclusions(backend):
    backend.update(
        [
            entry(1, "Wohnung", acl=["o1"], type="note", phase="monitoring"),
            entry(2, "Wohnung", acl=["o2"], type="file"),
            entry(3, "Wohnung", acl=["o1", "o2"], type="file", current=False),
            entry(14, "Wohnung", acl=["o1"], type="agreement", organisation_id=7),
        ],
        [],
    )
    assert sorted(found(backend, "Wohnung")) == [1, 14]
    assert sorted(found(backend, "Wohnung", acl=("o2",))) == [2]
    assert sorted(found(backend, "Wohnung", all_versions=True)) == [1, 3, 14]
    assert found(backend, "Wohnung", types=["agreement"]) == [14]
    assert found(backend, "Wohnung", phase="monitoring") == [1]
    assert found(backend, "Wohnung", organisation_id=7) == [14]
    assert found(backend, "Wohnung", case_id=1) == [14]
    assert found(backend, "Wohnung", exclude_case_ids=[1]) == [1]
    assert found(backend, "Wohnung", acl=("o9",)) == []


def test_dates_sort_and_filter(backend):
    backend.update([entry(n, "Kaution", date=datetime(2026, n, 1)) for n in range(1, 6)], [])
    assert found(backend, "Kaution", sort="date") == [5, 4, 3, 2, 1]
    window = {"date_from": datetime(2026, 2, 1), "date_to": datetime(2026, 3, 31)}
    assert sorted(found(backend, "Kaution", **window)) == [2, 3]


def test_relevance_ranks_by_score_and_pages_do_not_overlap(backend):
    backend.update(
        [entry(n, "Wohnung " + "Text " * n) for n in range(1, 30)]
        + [entry(99, "Wohnung Wohnung Wohnung")],
        [],
    )
    result = backend.search(SearchQuery(text="Wohnung", per_page=10), ["o1"])
    assert result.total == 30 and result.hits[0].version_id == 99
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    pages = [
        {
            h.version_id
            for h in backend.search(SearchQuery("Wohnung", page=p, per_page=10), ["o1"]).hits
        }
        for p in (1, 2, 3)
    ]
    assert set.union(*pages) == set(range(1, 30)) | {99} and sum(map(len, pages)) == 30


def test_facets_count_every_match_and_split_focus(backend):
    backend.update(
        [
            entry(1, "Sprachkurs", focus=["sprache", "arbeit"]),
            entry(2, "Sprachkurs", focus=["sprache"], type="file"),
            entry(3, "Sprachkurs", focus=[], date=datetime(2025, 5, 5)),
            entry(4, "Sprachkurs", acl=["o2"], focus=["wohnen"]),  # not visible
        ],
        [],
    )
    result = backend.search(SearchQuery(text="Sprachkurs"), ["o1"])
    assert result.facets["focus"] == {"sprache": 2, "arbeit": 1}
    assert result.facets["type"] == {"note": 2, "file": 1}
    assert result.facets["year"] == {"2026": 2, "2025": 1}
    assert result.facets["organisation"] == {"1": 3}


def test_time_limit_returns_what_was_found_marked_incomplete(backend, monkeypatch):
    backend.update([entry(n, "Antrag gestellt") for n in range(1, 40)], [])
    monkeypatch.setattr(whoosh_backend, "TIME_LIMIT_SECONDS", -1.0)
    monkeypatch.setattr(whoosh_run, "CHECK_EVERY", 1)
    result = backend.search(SearchQuery(text='"Antrag gestellt"'), ["o1"])
    assert result.incomplete
    assert all(hit.highlights == [] for hit in result.hits)
    monkeypatch.setattr(whoosh_backend, "TIME_LIMIT_SECONDS", 2.0)
    complete = backend.search(SearchQuery(text='"Antrag gestellt"'), ["o1"])
    assert not complete.incomplete and complete.total == 39


# --------------------------------------------------------------------------- writing


def _segments(backend: WhooshBackend) -> list:
    return backend.ix._segments()


def test_everyday_commits_merge_only_small_segments(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "MERGE_DOCS", 50)
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 1)  # one big segment
    assert backend.rebuild([[entry(n, "Altbestand") for n in range(1, 121)]]) == 120
    (big,) = _segments(backend)
    for n in range(200, 240):
        backend.update([entry(n, "Neu")], [])
    segments = _segments(backend)
    assert big.segment_id() in {s.segment_id() for s in segments}  # never rewritten
    assert len(segments) <= whoosh_backend.SMALL_SEGMENTS + 2
    assert len(found(backend, "Neu")) == 40 and len(found(backend, "Altbestand")) == 100


def test_a_searcher_in_use_survives_a_commit(backend):
    backend.update([entry(1, "Wohnung")], [])
    with backend._view() as old:
        backend.update([entry(2, "Wohnung")], [])
        assert sorted(found(backend, "Wohnung")) == [1, 2]  # a new view
        assert old.searcher.doc_count() == 1  # still open and readable
    assert old.searcher.is_closed


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path):
    path = tmp_path / "index"
    WhooshBackend(path).update([entry(1, "Wohnung")], [])
    (path / whoosh_backend.VERSION_FILE).write_text("1")
    again = WhooshBackend(path)
    assert again.rebuilt and again.version_ids() == set()


def test_block_reading_of_postings_matches_whoosh(backend):
    """``posting_ids`` reads Whoosh's codec blocks directly: it must agree with Whoosh's own
    id-by-id reading, deletions included (this fails should a Whoosh upgrade change them)."""
    backend.rebuild([[entry(n, "Wohnung" if n % 3 else "Kaution") for n in range(1, 700)]])
    backend.update([], remove_version_ids=list(range(1, 700, 7)))
    with backend._view() as view:
        for text in ("wohnung", "kaution"):
            expected = set(view.searcher.docs_for_query(whoosh_run.Term("body", text)))
            assert set(np.flatnonzero(view.term_docs("body", text))) == expected
            reader = view.searcher.reader()
            assert whoosh_run.posting_ids(reader.postings("body", text)) == expected
        assert len(expected) > 150


def _leaf_readers(view) -> dict[str, object]:
    return {sub.reader().segment().segment_id(): sub.reader() for sub, _o, _e in view.leaves}


def test_searchers_after_a_commit_reuse_segment_readers_and_see_deletions(backend):
    backend.rebuild([[entry(n, "Wohnung") for n in range(1, 50)]])
    with backend._view() as first:
        before = _leaf_readers(first)
    backend.update([entry(100, "Wohnung")], [])  # a new small segment, nothing deleted
    with backend._view() as second:
        after = _leaf_readers(second)
    (big,) = before
    assert after[big] is before[big]  # opened once
    backend.update([entry(7, "Kaution")], [])  # replaces version 7 of the big segment
    assert 7 not in found(backend, "Wohnung") and found(backend, "Kaution") == [7]
    assert len(found(backend, "Wohnung")) == 49


def test_readers_of_merged_segments_are_closed_when_unused(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "SMALL_SEGMENTS", 3)
    backend.update([entry(1, "Wohnung")], [])
    with backend._view() as view:
        first = next(iter(_leaf_readers(view).values()))
        for n in range(2, 6):  # merges the small segments away meanwhile
            backend.update([entry(n, "Wohnung")], [])
        assert not first.is_closed  # still in use by this view
        assert sorted(found(backend, "Wohnung")) == [1, 2, 3, 4, 5]
    assert first.is_closed


def test_passages_find_every_spelling_of_a_term():
    import unicodedata

    text = "RÄUME, Raeume, Raume und " + unicodedata.normalize("NFD", "Räume") + "; Straße"
    (marked,) = highlight.passages(text, {"raum", "strass"})
    assert marked.count("«") == 5 and "«Straße»" in marked and "«RÄUME»" in marked
    assert highlight.passages("Quelle der Raumfahrt", {"raum"}) == []  # another word


def test_passages_of_many_terms_find_the_same_words_by_their_beginnings():
    text = "Die Großeltern, die Grosseltern und die Kinderbetreuung; Kindheit; Wohngeld"
    terms = {index_term(w) for w in ["Großeltern", "Kinderbetreuung", "Wohngeld"]}
    many = terms | {f"unbekannt{i}" for i in range(highlight.MANY_TERMS)}
    (few,) = highlight.passages(text, terms)
    (marked,) = highlight.passages(text, many)
    assert marked == few
    assert marked.count("«") == 4 and "«Großeltern»" in marked and "«Kindheit»" not in marked


def test_a_rebuild_replaces_the_index_at_its_commit(backend):
    backend.update([entry(1, "Altbestand"), entry(2, "Altbestand")], [])

    def batches():
        assert sorted(found(backend, "Altbestand")) == [1, 2]  # the old index, meanwhile
        yield [entry(3, "Neubestand")]

    assert backend.rebuild(batches()) == 1
    assert found(backend, "Altbestand") == [] and found(backend, "Neubestand") == [3]
    assert len(_segments(backend)) == 1


def test_scores_are_whooshs_own_bm25(backend):
    """Scores read a codec block at a time equal Whoosh's own scoring of the same query."""
    texts = [("Wohnung " * (n % 7 + 1)) + "Text " * (n % 200) for n in range(1, 1500)]
    backend.rebuild([[entry(n, text) for n, text in enumerate(texts, 1)]])
    backend.update([], remove_version_ids=[5, 6, 7])
    result = backend.search(SearchQuery(text="Wohnung", per_page=20), ["o1"])
    with backend._view() as view:
        parsed, _capped = backend._parse("Wohnung", view.searcher)
        expected = view.searcher.search(whoosh_run._words_only(parsed), limit=None)
        own = {hit["version_id"]: round(hit.score, 4) for hit in expected}
    assert len(own) == 1496 and result.total == 1496
    assert [h.score for h in result.hits] == sorted(own.values(), reverse=True)[:20]
    assert all(own[h.version_id] == h.score for h in result.hits)


def test_prefix_parts_add_their_fixed_score_to_the_documents_they_match(backend):
    backend.update(
        [entry(1, "Kindergeld Wohnung"), entry(2, "Kindergeld"), entry(3, "Wohnung"),
         entry(4, "Kita -Kinderarzt"), entry(5, "Wohnung Wohnung Kinderarzt")], [],
    )  # fmt: skip
    scores = {}
    for text in ["Kinder* OR Wohnung", "Wohnung"]:
        result = backend.search(SearchQuery(text=text, per_page=50), ["o1"])
        scores[text] = {hit.version_id: hit.score for hit in result.hits}
    both, words = scores["Kinder* OR Wohnung"], scores["Wohnung"]
    assert set(both) == {1, 2, 3, 4, 5}
    assert both[2] == both[4] == 1.0  # the prefix alone: its fixed score
    assert both[3] == words[3] and both[1] == pytest.approx(words[1] + 1.0)
    assert both[5] == pytest.approx(words[5] + 1.0)


def test_prefixes_expand_to_their_most_frequent_words_and_say_when_cut(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "MAX_EXPANSIONS", 2)
    backend.update(
        [entry(n, "Kinderarzt") for n in range(1, 6)]
        + [entry(10 + n, "Kindergeld") for n in range(4)]
        + [entry(20, "Kinderbett")],
        [],
    )
    result = backend.search(SearchQuery(text="Kinder*", per_page=50), ["o1"])
    assert result.total == 9 and result.incomplete  # Kinderbett, the rarest, left out
    monkeypatch.setattr(whoosh_backend, "MAX_EXPANSIONS", 3)
    result = backend.search(SearchQuery(text="Kinder*", per_page=50), ["o1"])
    assert result.total == 10 and not result.incomplete


def test_a_rebuild_in_two_processes_writes_segments_that_work_like_one(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)
    batches = [[entry(n, "Wohnung", case_id=n % 7) for n in range(k, k + 50)] for k in (1, 51)]
    batches.append([entry(n, "Wohnung Kaution", case_id=n % 7) for n in range(101, 351)])
    assert backend.rebuild(batches) == 350
    assert len(_segments(backend)) >= 2
    assert len(found(backend, "Wohnung")) == 100  # per_page
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 350
    assert backend.search(SearchQuery(text="Kaution", case_id=3), ["o1"]).total == 36
    backend.update([entry(5, "Umzug"), entry(300, "Umzug")], [])
    assert sorted(found(backend, "Umzug")) == [5, 300]
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 348


def test_fuzzy_words_are_whooshs_own_expansion(backend):
    names = ["Mohammed Hassan", "Muhammad Hasan", "Mohamed Hassen", "Aleksandr Petrenko",
             "Oleksandr Petrenko", "Amina Yusuf", "Amira Yousef", "Hasna Mahmoud"]  # fmt: skip
    backend.update([entry(n, "Notiz", names=name) for n, name in enumerate(names, 1)], [])
    backend.update([entry(20, "Notiz", names="Hassan Amin")], [])  # a second segment
    with backend._view() as view:
        reader = view.searcher.reader()
        for word in ["hasan", "mohamed", "petrenko", "amina", "yusef", "olexandr", "x"]:
            for maxdist, prefixlength in [(1, 1), (2, 1), (1, 0), (2, 2)]:
                query = whoosh_run.FuzzyTerm("names", word, maxdist=maxdist,
                                             prefixlength=prefixlength)  # fmt: skip
                expected = sorted(text for _f, text in query.expanded_terms(reader))
                assert view.fuzzy_words(query) == expected, (word, maxdist, prefixlength)
        assert view.fuzzy_words(whoosh_run.FuzzyTerm("names", "hasan", maxdist=1)) == [
            "hasan", "hasna", "hassan"
        ]  # fmt: skip


def test_entries_with_an_empty_field_are_scored_beside_others(backend):
    backend.update([entry(1, "Wohnung", names=""), entry(2, "Wohnung Amina", names="Amina")], [])
    result = backend.search(SearchQuery(text="Amina Wohnung"), ["o1"])
    assert [hit.version_id for hit in result.hits] == [2]
    assert sorted(found(backend, "Wohnung")) == [1, 2]


def test_warm_up_derives_what_searches_read_before_the_first_search(backend):
    backend.update([entry(n, "Wohnung", focus=["wohnen"]) for n in range(1, 20)], [])
    backend.warm_up().join(timeout=30)
    view = backend._current
    assert view is not None
    derived = set(view._arrays)
    assert {("live",), ("dates",), ("lengths", "body"), ("facet", "year")} <= derived
    assert ("current", True) in view._masks
    result = backend.search(SearchQuery(text="Wohnung"), ["o1"])
    assert backend._current is view and set(view._arrays) >= derived  # used, not rebuilt
    assert result.total == 19 and result.facets["focus"] == {"wohnen": 19}


def test_a_failed_warm_up_is_logged_and_search_still_works(backend, monkeypatch, caplog):
    backend.update([entry(1, "Wohnung")], [])

    def broken(_view):
        raise OSError("Datei weg")

    monkeypatch.setattr(whoosh_run.SearcherView, "prepare", broken)
    backend.warm_up().join(timeout=30)
    assert "search warm-up failed" in caplog.text
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 1


def test_what_a_search_and_the_warm_up_both_need_is_derived_once(backend):
    backend.update([entry(1, "Wohnung")], [])
    calls, started = [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "codes"

    with backend._view() as view:
        reader = view.leaves[0][0].reader()
        first = threading.Thread(target=backend._readers.derived, args=(reader, ("k",), slow))
        first.start()
        started.wait(5)
        assert backend._readers.derived(reader, ("k",), slow) == "codes"  # waited, no rerun
        first.join()
        assert view._derived(("v",), slow) == view._derived(("v",), slow) == "codes"
    assert len(calls) == 2  # once for the pool's key, once for the view's
