"""The rebuild writer: postings kept by term give the same segments as Whoosh's writer."""

from __future__ import annotations

import multiprocessing
import random

import pytest
from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import SubWriterTask
from whoosh.writing import PostingPool

from portal.services.search import whoosh_backend
from portal.services.search.backend import SearchQuery
from portal.services.search.whoosh_backend import WhooshBackend, _fields, schema
from portal.services.search.whoosh_codec import PortalCodec
from portal.services.search.whoosh_rebuild import RebuildFailed, TermPool, rebuild_writer
from tests.unit.test_whoosh_engine import entry

WORDS = [
    "Wohnung",
    "Kaution",
    "Miete",
    "Umzug",
    "Sprachkurs",
    "Jobcenter",
    "Kita",
    "Ärztin",
    "Straße",
    "Antrag",
]
TINY_MB = 0.002  # a few kilobytes: many spills


def _random_postings(rng: random.Random, docs: int) -> list[tuple]:
    """Postings as a writer adds them: document by document, each term once per field."""
    postings = []
    for docnum in range(docs):
        for fieldname in ("body", "names", "acl"):
            for word in sorted(set(rng.sample(WORDS, rng.randint(0, 6)))):
                value = None if fieldname == "acl" else rng.randbytes(rng.randint(1, 9))
                postings.append((fieldname, word.encode(), docnum, rng.random(), value))
    return postings


@pytest.mark.parametrize("limitmb", [64, TINY_MB])
def test_term_pool_gives_whooshs_order_with_and_without_spills(tmp_path, limitmb):
    rng = random.Random(7)
    postings = _random_postings(rng, 400)
    theirs = PostingPool(FileStorage(str(tmp_path / "a")).create(), None, limitmb=64)
    ours = TermPool(FileStorage(str(tmp_path / "b")).create(), limitmb)
    for posting in postings:
        theirs.add(posting)
        ours.add(posting)
    assert list(ours.iter_postings()) == list(theirs.iter_postings())
    assert ours.fieldnames == {"body", "names", "acl"}
    assert list((tmp_path / "b").iterdir()) == []  # its runs are gone once read


def test_a_cancelled_pool_removes_its_runs(tmp_path):
    pool = TermPool(FileStorage(str(tmp_path)).create(), TINY_MB)
    for posting in _random_postings(random.Random(3), 100):
        pool.add(posting)
    assert list(tmp_path.iterdir())
    pool.cleanup()
    assert list(tmp_path.iterdir()) == []


def _entries():
    rng = random.Random(11)
    return [
        entry(n, " ".join(rng.choices(WORDS, k=rng.randint(0, 40))), case_id=n % 9,
              acl=["o1", "o2"][: 1 + n % 2], names=rng.choice(["Amina Yusuf", "Ali Hasan"]))
        for n in range(1, 240)
    ]  # fmt: skip


def _postings_by_term(path) -> dict:
    """Every term's postings as (stored id, weight, value bytes), over all segments."""
    ix = index.open_dir(str(path))
    found = {}
    with ix.searcher() as searcher:
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            for fieldname, tbytes in reader.all_terms():
                matcher = reader.postings(fieldname, tbytes)
                while matcher.is_active():
                    stored = searcher.stored_fields(offset + matcher.id())["id"]
                    found.setdefault((fieldname, tbytes), set()).add(
                        (stored, matcher.weight(), matcher.value())
                    )
                    matcher.next()
    return found


@pytest.mark.parametrize(("procs", "limitmb"), [(1, 64), (1, TINY_MB), (2, TINY_MB)])
def test_rebuilt_segments_hold_the_postings_of_whooshs_writer(tmp_path, procs, limitmb):
    entries = _entries()
    (tmp_path / "whoosh").mkdir()
    (tmp_path / "rebuilt").mkdir()
    plain = index.create_in(str(tmp_path / "whoosh"), schema())
    with plain.writer(codec=PortalCodec()) as writer:
        for e in entries:
            writer.add_document(**_fields(e))
    rebuilt = index.create_in(str(tmp_path / "rebuilt"), schema())
    writer = rebuild_writer(rebuilt, procs, limitmb=limitmb, codec=PortalCodec())
    for e in entries:
        writer.add_document(**_fields(e))
    writer.commit()
    assert rebuilt.doc_count() == len(entries)
    assert _postings_by_term(tmp_path / "rebuilt") == _postings_by_term(tmp_path / "whoosh")


def test_a_failing_worker_fails_the_rebuild_and_keeps_the_old_index(tmp_path, monkeypatch):
    backend = WhooshBackend(tmp_path / "index")
    backend.update([entry(1, "Altbestand")], [])
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)
    add = TermPool.add

    def add_or_fail(pool, item):  # runs in the worker processes, forked after this patch
        if item[1] == b"kaputt":
            raise RuntimeError("Platte voll")
        add(pool, item)

    monkeypatch.setattr(TermPool, "add", add_or_fail)
    batches = [[entry(n, "Wohnung kaputt" if n == 150 else "Wohnung") for n in range(2, 400)]]
    with pytest.raises(RebuildFailed, match="Platte voll"):
        backend.rebuild(batches)
    assert [h.version_id for h in backend.search(SearchQuery("Altbestand"), ["o1"]).hits] == [1]
    assert backend.search(SearchQuery("Wohnung"), ["o1"]).total == 0
    backend.update([entry(2, "Umzug")], [])  # the write lock was released
    assert backend.search(SearchQuery("Umzug"), ["o1"]).total == 1


def test_a_rebuild_that_fails_while_reading_stops_its_workers(tmp_path, monkeypatch):
    backend = WhooshBackend(tmp_path / "index")
    backend.update([entry(1, "Altbestand")], [])
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)

    def batches():
        yield [entry(n, "Wohnung") for n in range(2, 500)]  # the workers have started
        raise ConnectionError("Datenbank weg")

    with pytest.raises(ConnectionError):
        backend.rebuild(batches())
    assert backend.search(SearchQuery("Altbestand"), ["o1"]).total == 1
    assert not [p for p in multiprocessing.active_children() if isinstance(p, SubWriterTask)]
    backend.update([entry(2, "Umzug")], [])  # the write lock was released
    assert backend.search(SearchQuery("Umzug"), ["o1"]).total == 1
