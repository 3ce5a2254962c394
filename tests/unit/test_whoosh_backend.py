"""The Whoosh backend: its index terms, the query tree compiled to Whoosh queries (checked
against a brute-force evaluation), filters, facets, ranking, the time limit, writing and
reading beside concurrent commits; and the German analyzer and highlighting it uses (no
database needed)."""

from __future__ import annotations

import errno
import random
import threading
from datetime import datetime

import pytest
from rapidfuzz.distance import Levenshtein

from portal.services.errors import InvalidInput, SearchUnavailable
from portal.services.search import query as q
from portal.services.search import whoosh_backend, whoosh_collect, whoosh_query
from portal.services.search.analysis import german_analyzer, index_term, name_analyzer
from portal.services.search.backend import FACETS, IndexEntry, SearchQuery
from portal.services.search.whoosh_backend import WhooshBackend


def entry(n: int, body: str = "", **fields) -> IndexEntry:
    """An index entry for version ``n`` (one version per document, one case per ten)."""
    values = {
        "version_id": n, "document_id": n, "number": 1, "current": True, "case_id": n // 10,
        "case_reference": f"KIM-2026-{n // 10:05d}", "title": f"Notiz {n}", "body": body,
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


def segment_ids(backend: WhooshBackend) -> list[str]:
    with backend.ix.searcher() as searcher:
        leaves = searcher.reader().leaf_readers()
        return [r.segment().segment_id() for r, _base in leaves if r.doc_count_all()]


# --------------------------------------------------------------------------- index terms


def test_the_index_holds_exactly_the_words_of_each_field(backend):
    texts = {
        "title": "Die Räume der Straße",
        "body": "Anmeldung zum Integrationskurs, Raeume und Mannigfaltigkeiten; حَبيبي",
        "names": "Mohammed Al-Hassan Die Müller",
        "case_reference": " KIM-2026-00001 ",
    }
    backend.update([entry(1, texts["body"], title=texts["title"], names=texts["names"],
                          case_reference=texts["case_reference"])], [])  # fmt: skip
    with backend.ix.searcher() as searcher:
        reader = searcher.reader()
        for field, text in texts.items():
            indexed = {term.decode() for term in reader.lexicon(field)}
            assert indexed == set(q.words_of(text, field)), field
    assert found(backend, "az:kim-2026-00001") == found(backend, "KIM-2026-00001") == [1]


def test_analyzer_stems_folds_and_closes_positions_over_stop_words():
    tokens = [(t.text, t.pos) for t in german_analyzer()("Die Räume der Straße", positions=True)]
    assert tokens == [("raum", 1), ("strass", 2)]
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


# --------------------------------------------------------------------------- the query tree

VOCABULARY = [
    "Wohnung", "Wohnungen", "Räume", "Raeume", "Kaution", "Miete", "Jobcenter", "Termin",
    "beim", "der", "die", "und", "Straße", "Strasse", "Kinder", "Kindergeld", "Kita",
    "Antrag", "gestellt", "Kinderarzt",
]  # fmt: skip
NAMES = ["Mohammed", "Mohamed", "Hassan", "Hasan", "Hasna", "Amina", "Yusuf", "Yousef", "Kassem"]
QUERY_PARTS = [*VOCABULARY, "Woh*", "Kind*", "Kau*", "titel:Termin", "name:Hasan",
               "az:KIM-2026-00003", '"Termin beim Jobcenter"', '"Räume der"', '"Kinder Kita"',
               "Mohamed", "Hasan", "Yusef"]  # fmt: skip


def _corpus(rng: random.Random) -> list[IndexEntry]:
    return [
        entry(
            n, " ".join(rng.choices(VOCABULARY, k=rng.randint(0, 12))),
            title=" ".join(rng.choices(VOCABULARY, k=2)),
            names=" ".join(rng.sample(NAMES, 2)), type=rng.choice(["note", "file"]),
            acl=[rng.choice(["o1", "o2"])], current=rng.random() < 0.8,
        )
        for n in range(1, 80)
    ]  # fmt: skip


def _random_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 3)):
        part = rng.choice(QUERY_PARTS)
        if rng.random() < 0.3:
            other = rng.choice(QUERY_PARTS)
            part = f"({part} OR {'-' if rng.random() < 0.3 else ''}{other})"
        if parts and rng.random() < 0.25:
            part = "-" + part
        parts.append(part)
    joint = " OR " if rng.random() < 0.3 else " "
    return joint.join(parts)


def _matches(node: q.Node, e: IndexEntry) -> bool:
    """The semantics of the tree (brief of issue 15), evaluated directly."""
    if isinstance(node, q.All):
        return all(_matches(c, e) for c in node.children)
    if isinstance(node, q.Any):
        return any(_matches(c, e) for c in node.children)
    if isinstance(node, q.Not):
        return not _matches(node.child, e)
    terms = {f: q.words_of(getattr(e, f), f) for f in q.TEXT_FIELDS}
    if isinstance(node, q.NameLike):
        return any(t[0] == node.word[0] and Levenshtein.distance(t, node.word) <= 1
                   for t in terms["names"])  # fmt: skip
    if isinstance(node, q.Prefix):
        return any(t.startswith(node.stem) for f in node.fields for t in terms[f])
    for f in node.fields:
        words, have = q.words_of(node.text, f), terms[f]
        if isinstance(node, q.Term) and set(words) <= set(have):
            return True
        n = len(words)
        if isinstance(node, q.Phrase) and any(have[i : i + n] == words for i in range(len(have))):
            return True
    return False


def test_random_queries_find_what_the_semantics_say(backend):
    rng = random.Random(15)
    corpus = _corpus(rng)
    backend.update(corpus, [])
    checked = 0
    for _ in range(250):
        text = _random_query(rng)
        try:
            tree = q.parse(text).tree
        except InvalidInput:
            continue
        for acl, all_versions in ((["o1"], False), (["o1", "o2"], True)):
            expected = {
                e.version_id for e in corpus
                if set(e.acl) & set(acl) and (all_versions or e.current) and _matches(tree, e)
            }  # fmt: skip
            query = SearchQuery(text=text, per_page=100, all_versions=all_versions)
            result = backend.search(query, acl)
            assert {h.version_id for h in result.hits} == expected, text
            assert result.total == len(expected) and not result.incomplete
            types = {t: n for t in ("note", "file") if (n := sum(
                1 for e in corpus if e.version_id in expected and e.type == t))}  # fmt: skip
            assert result.facets["type"] == types
            checked += 1
    assert checked > 300


def test_a_negated_word_inside_or_means_every_document_without_it(backend):
    backend.update([entry(1, "Wohnung Kaution"), entry(2, "Wohnung"), entry(3, "Kaution")], [])
    assert sorted(found(backend, "Wohnung (Miete OR -Kaution)")) == [2]
    assert sorted(found(backend, "Kaution (Wohnung OR -Miete)")) == [1, 3]


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


def test_fuzzy_names_are_one_edit_away_without_swaps_and_same_first_letter(backend):
    names = ["Hassan", "Hasen", "Hasa", "Hasna", "Kasan", "Hasanov", "Asan"]
    backend.update([entry(n, "Notiz", names=name) for n, name in enumerate(names, 1)], [])
    result = backend.search(SearchQuery(text="Hasan", per_page=50), ["o1"])
    assert {h.version_id for h in result.hits} == {1, 2, 3}  # add, substitute, drop
    assert {p for h in result.hits for p in h.highlights} == {"«Hassan»", "«Hasen»", "«Hasa»"}


def test_prefixes_expand_to_their_most_frequent_words_and_say_when_cut(backend, monkeypatch):
    monkeypatch.setattr(whoosh_query, "MAX_EXPANSIONS", 2)
    backend.update(
        [entry(n, "Kinderarzt") for n in range(1, 6)]
        + [entry(10 + n, "Kindergeld") for n in range(4)]
        + [entry(20, "Kinderbett")],
        [],
    )
    result = backend.search(SearchQuery(text="Kinder*", per_page=50), ["o1"])
    assert result.total == 9 and result.incomplete  # Kinderbett, the rarest, left out
    monkeypatch.setattr(whoosh_query, "MAX_EXPANSIONS", 3)
    result = backend.search(SearchQuery(text="Kinder*", per_page=50), ["o1"])
    assert result.total == 10 and not result.incomplete


def test_prefix_parts_add_a_fixed_score_to_the_documents_they_match(backend):
    backend.update(
        [entry(1, "Kindergeld Wohnung"), entry(2, "Kindergeld"), entry(3, "Wohnung"),
         entry(4, "Kita Kinderarzt Kinderarzt"), entry(5, "Wohnung Wohnung Kinderarzt")], [],
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


# --------------------------------------------------------------------------- filters, facets, order


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
    nothing = backend.search(SearchQuery(text="Wohnung"), ["o9"])
    assert (nothing.hits, nothing.total, nothing.facets["type"]) == ([], 0, {})
    assert backend.search(SearchQuery(text="Wohnung"), []).facets == {name: {} for name in FACETS}


def test_dates_sort_and_filter(backend):
    backend.update([entry(n, "Kaution", date=datetime(2026, n, 1)) for n in range(1, 6)], [])
    assert found(backend, "Kaution", sort="date") == [5, 4, 3, 2, 1]
    window = {"date_from": datetime(2026, 2, 1), "date_to": datetime(2026, 3, 31)}
    assert sorted(found(backend, "Kaution", **window)) == [2, 3]
    assert sorted(found(backend, "Kaution", date_from=datetime(2026, 4, 1))) == [4, 5]


def test_equal_scores_rank_newest_first_then_by_highest_version(backend):
    day = datetime(2026, 3, 1)
    later = datetime(2026, 4, 1)
    backend.update([entry(1, "Miete", date=day), entry(2, "Miete", date=day),
                    entry(3, "Miete", date=later), entry(4, "Miete Miete")], [])  # fmt: skip
    assert found(backend, "Miete") == [4, 3, 2, 1]


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
    result = backend.search(SearchQuery(text="Sprachkurs", per_page=1), ["o1"])
    assert len(result.hits) == 1 and result.total == 3
    assert result.facets["focus"] == {"sprache": 2, "arbeit": 1}
    assert result.facets["type"] == {"note": 2, "file": 1}
    assert result.facets["year"] == {"2026": 2, "2025": 1}
    assert result.facets["organisation"] == {"1": 3}
    assert result.facets["phase"] == {"erstberatung": 3}


def test_entries_with_an_empty_field_are_scored_beside_others(backend):
    backend.update([entry(1, "Wohnung", names=""), entry(2, "Wohnung Amina", names="Amina")], [])
    result = backend.search(SearchQuery(text="Amina Wohnung"), ["o1"])
    assert [hit.version_id for hit in result.hits] == [2]
    assert sorted(found(backend, "Wohnung")) == [1, 2]


def test_hits_carry_passages_of_body_then_title_then_names(backend):
    backend.update([entry(1, "Die Räume sind klein.", title="Räume", names="Amina Räume")], [])
    (hit,) = backend.search(SearchQuery(text="Raeume"), ["o1"]).hits
    assert hit.highlights == ["Die «Räume» sind klein.", "«Räume»", "Amina «Räume»"]


def test_time_limit_returns_what_was_found_marked_incomplete(backend, monkeypatch):
    backend.update([entry(n, "Antrag gestellt") for n in range(1, 40)], [])
    monkeypatch.setattr(whoosh_backend, "TIME_LIMIT_SECONDS", -1.0)
    result = backend.search(SearchQuery(text='"Antrag gestellt"'), ["o1"])
    assert result.incomplete and result.total == 39  # found in time, highlights not
    assert result.hits and all(hit.highlights == [] for hit in result.hits)
    monkeypatch.setattr(whoosh_collect, "CHECK_EVERY", 1)  # now the matching stops at once
    result = backend.search(SearchQuery(text='"Antrag gestellt"'), ["o1"])
    assert result.incomplete and result.total == 0
    result = backend.search(SearchQuery(text="Antr*"), ["o1"])  # so does a prefix's reading
    assert result.incomplete and result.total == 0
    monkeypatch.setattr(whoosh_backend, "TIME_LIMIT_SECONDS", 2.0)
    complete = backend.search(SearchQuery(text='"Antrag gestellt"'), ["o1"])
    assert not complete.incomplete and complete.total == 39
    assert complete.hits[0].highlights == ["«Antrag» «gestellt»"]


def test_bad_syntax_is_refused_before_the_index(backend, monkeypatch):
    monkeypatch.setattr(backend, "_reading", None)  # the index is never touched
    for text in ["", "ab*", "-Räume", "x" * 600]:
        with pytest.raises(InvalidInput):
            backend.search(SearchQuery(text=text), ["o1"])


# --------------------------------------------------------------------------- writing


def test_updates_replace_and_remove_entries(backend):
    backend.update([entry(1, "Wohnung"), entry(2, "Wohnung")], [])
    backend.update([entry(1, "Kaution")], remove_version_ids=[2])
    assert found(backend, "Wohnung") == [] and found(backend, "Kaution") == [1]
    backend.replace_case(0, [entry(3, "Miete")])
    assert backend.version_ids() == {3}


def test_filters_and_columns_kept_per_segment_follow_replacements(backend):
    backend.rebuild([[entry(n, "Wohnung", acl=["o1"], type="note") for n in range(1, 21)]])
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 20
    backend.update([entry(5, "Wohnung", acl=["o2"], type="file")], remove_version_ids=[6])
    mine = backend.search(SearchQuery(text="Wohnung", per_page=50), ["o1"])
    assert mine.total == 18 and {5, 6}.isdisjoint(h.version_id for h in mine.hits)
    assert mine.facets["type"] == {"note": 18}
    theirs = backend.search(SearchQuery(text="Wohnung"), ["o2"])
    assert [h.version_id for h in theirs.hits] == [5] and theirs.facets["type"] == {"file": 1}


def test_everyday_commits_merge_only_small_segments(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "MERGE_DOCS", 50)
    assert backend.rebuild([[entry(n, "Altbestand") for n in range(1, 121)]]) == 120
    (big,) = segment_ids(backend)
    for n in range(200, 240):
        backend.update([entry(n, "Neu")], [])
    segments = segment_ids(backend)
    assert big in segments  # never rewritten
    assert len(segments) <= whoosh_backend.SMALL_SEGMENTS + 2
    assert len(found(backend, "Neu")) == 40 and len(found(backend, "Altbestand")) == 100


def test_a_rebuild_replaces_the_index_at_its_commit(backend):
    backend.update([entry(1, "Altbestand"), entry(2, "Altbestand")], [])

    def batches():
        assert sorted(found(backend, "Altbestand")) == [1, 2]  # the old index, meanwhile
        yield [entry(3, "Neubestand")]

    assert backend.rebuild(batches()) == 1
    assert found(backend, "Altbestand") == [] and found(backend, "Neubestand") == [3]
    assert len(segment_ids(backend)) == 1


def test_a_rebuild_that_fails_while_reading_keeps_the_old_index(backend):
    backend.update([entry(1, "Altbestand")], [])

    def batches():
        yield [entry(n, "Wohnung") for n in range(2, 50)]
        raise ConnectionError("Datenbank weg")

    with pytest.raises(ConnectionError):
        backend.rebuild(batches())
    assert found(backend, "Altbestand") == [1] and found(backend, "Wohnung") == []
    backend.update([entry(2, "Umzug")], [])  # the write lock was released
    assert found(backend, "Umzug") == [2]


def test_clear_drops_everything(backend):
    backend.update([entry(1, "Wohnung")], [])
    backend.clear()
    assert backend.version_ids() == set() and found(backend, "Wohnung") == []


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path):
    path = tmp_path / "index"
    WhooshBackend(path).update([entry(1, "Wohnung")], [])
    assert (path / whoosh_backend.VERSION_FILE).read_text() == whoosh_backend.SCHEMA_VERSION
    assert not WhooshBackend(path).rebuilt
    (path / whoosh_backend.VERSION_FILE).write_text("4")
    again = WhooshBackend(path)
    assert again.rebuilt and again.version_ids() == set()


# --------------------------------------------------------------------------- reading


def test_a_searcher_in_use_keeps_its_view_across_a_commit(backend):
    backend.update([entry(1, "Wohnung")], [])

    def meanwhile(snapshot):
        backend.update([entry(2, "Wohnung")], [])
        newer = sorted(found(backend, "Wohnung"))  # another searcher, of the new commit
        return snapshot.searcher.doc_count(), newer

    assert backend._reading(meanwhile) == (1, [1, 2])
    assert sorted(found(backend, "Wohnung")) == [1, 2]


def test_a_search_opened_as_a_commit_removes_its_files_is_tried_again(tmp_path, monkeypatch):
    path = tmp_path / "index"
    reading, writing = WhooshBackend(path), WhooshBackend(path)  # as two processes
    writing.update([entry(1, "Wohnung")], [])
    opened = reading.ix.searcher
    raced: list[int] = []

    def racing(**kwargs):
        if len(raced) < 2:  # the other process commits; the table of contents read is gone
            raced.append(1)
            writing.update([entry(1 + len(raced), "Wohnung")], [])
            raise FileNotFoundError(errno.ENOENT, "No such file", str(path / "MAIN_1.toc"))
        return opened(**kwargs)

    monkeypatch.setattr(reading.ix, "searcher", racing)
    assert sorted(found(reading, "Wohnung")) == [1, 2, 3]
    raced.clear()
    writing.update([entry(9, "Wohnung")], [])  # the searcher kept is out of date now
    monkeypatch.setattr(whoosh_backend, "READ_ATTEMPTS", 2)  # and when it keeps happening:
    with pytest.raises(SearchUnavailable):
        found(reading, "Wohnung")


def test_searches_beside_another_process_committing_never_fail(tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "SMALL_SEGMENTS", 2)  # merges remove segment files
    path = tmp_path / "index"
    reading, writing = WhooshBackend(path), WhooshBackend(path)
    writing.update([entry(1, "Wohnung")], [])
    done, errors, seen = threading.Event(), [], []

    def commit() -> None:
        try:
            for n in range(2, 30):
                writing.update([entry(n, "Wohnung")], [n - 1] if n % 5 == 0 else [])
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=commit)
    thread.start()
    while not done.is_set():
        try:
            seen.append(reading.search(SearchQuery(text="Wohnung"), ["o1"]).total)
        except BaseException as exc:
            errors.append(exc)
            break
    thread.join()
    assert errors == [] and len(seen) > 3
    assert reading.search(SearchQuery(text="Wohnung"), ["o1"]).total == 29 - 5


def test_warm_up_reads_the_columns_before_the_first_search(backend, monkeypatch):
    backend.update([entry(n, "Wohnung", focus=["wohnen"]) for n in range(1, 20)], [])
    backend.warm_up().join(timeout=30)
    read: list[str] = []
    monkeypatch.setattr(whoosh_collect.Segments, "column", lambda self, r, name: read.append(name))
    result = backend.search(SearchQuery(text="Wohnung"), ["o1"])
    assert read == []  # all there already
    assert result.total == 19 and result.facets["focus"] == {"wohnen": 19}


def test_a_failed_warm_up_is_logged_and_search_still_works(backend, monkeypatch, caplog):
    backend.update([entry(1, "Wohnung")], [])
    monkeypatch.setattr(backend, "_reading", _broken)
    backend.warm_up().join(timeout=30)
    assert "search warm-up failed" in caplog.text
    monkeypatch.undo()
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 1


def _broken(_use):
    raise OSError("Datei weg")


def test_corrupt_index_directory_is_rebuilt(tmp_path):
    path = tmp_path / "index"
    WhooshBackend(path)
    for toc in path.glob("*.toc"):
        toc.write_bytes(b"garbage")
    rebuilt = WhooshBackend(path)
    assert rebuilt.rebuilt


def test_two_writers_on_one_index_lose_nothing(tmp_path):
    """Two backends on one directory (as two server processes): no LockError, no lost entry."""
    import threading
    from datetime import UTC, datetime

    from portal.services.search.backend import IndexEntry

    path = tmp_path / "shared-index"
    first, second = WhooshBackend(path), WhooshBackend(path)
    errors: list[BaseException] = []

    def write(backend, start: int) -> None:
        try:
            for n in range(start, start + 15):
                entry = IndexEntry(
                    version_id=n, document_id=n, number=1, current=True, case_id=1,
                    case_reference="KIM-2026-00001", title=f"Titel {n}", body="Text",
                    names="", type="note", phase="erstberatung", focus=[], organisation_id=1,
                    date=datetime.now(UTC), acl=["o1"],
                )  # fmt: skip
                backend.update([entry], [])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b, s)) for b, s in ((first, 1), (second, 100))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(WhooshBackend(path).version_ids()) == 30
