"""The portal codec's document id lists: the same documents as Whoosh's own postings, for
every term of every kind of segment (rebuilt in two processes, added, merged, with
deletions), and segments without them still searchable."""

from __future__ import annotations

import io
import mmap

import numpy as np
import pytest
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.query import Term

from portal.services.search import whoosh_backend
from portal.services.search.backend import SearchQuery
from portal.services.search.whoosh_backend import WhooshBackend
from portal.services.search.whoosh_codec import (
    _InPlaceFile,
    _MappedReader,
    decode,
    encode,
    term_postings,
)
from tests.unit.test_whoosh_engine import entry

WORDS = [
    "Wohnung",
    "Kaution",
    "Sprachkurs",
    "Kita",
    "Jobcenter",
    "Anerkennung",
    "Umzug",
    "Praktikum",
]


@pytest.fixture
def backend(tmp_path) -> WhooshBackend:
    return WhooshBackend(tmp_path / "index")


def _body(n: int) -> str:
    return " ".join(w for i, w in enumerate(WORDS) if n % (i + 2) == 0) or "Notiz"


def _whooshs_own(reader, fieldname, text) -> set[int]:
    """Whoosh's reading of a term's postings, posting by posting (deletions left out)."""
    return set(reader.postings(fieldname, text).all_ids())


def _ids_and_weights(matcher) -> list[tuple[int, float]]:
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight()))
        matcher.next()
    return found


def test_id_lists_list_the_documents_of_whooshs_postings_for_every_term(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)
    monkeypatch.setattr(whoosh_backend, "SMALL_SEGMENTS", 3)
    monkeypatch.setattr(whoosh_backend, "MERGE_DOCS", 100)
    backend.rebuild([[entry(n, _body(n), case_id=n % 13) for n in range(k, k + 150)]
                     for k in range(1, 600, 150)])  # fmt: skip
    for n in range(600, 640):  # small segments, some merged together
        backend.update([entry(n, _body(n), acl=["o1", "o2"])], remove_version_ids=[n - 555])
    backend.update([], remove_version_ids=list(range(100, 400, 3)))
    with backend._view() as view:
        readers = [sub.reader() for sub, _offset, _end in view.leaves]
        assert len(readers) >= 3 and any(r.has_deletions() for r in readers)
        checked = 0
        for reader in readers:
            terms = reader._terms
            for fieldname, tbytes in reader.all_terms():
                fieldobj = reader.schema[fieldname]
                postings = terms.matcher(fieldname, tbytes, fieldobj.format)  # deleted too
                ids, weights = terms.postings(fieldname, tbytes)
                expected = _ids_and_weights(postings)
                assert list(zip(ids, weights, strict=True)) == expected
                if fieldname not in ("version_id", "document_id", "case_id", "date"):
                    text = fieldobj.from_bytes(tbytes)  # numbers have several terms each
                    live = set(term_postings(reader, fieldname, text)[0].tolist())
                    live -= set(reader.deleted_docs_set) if reader.has_deletions() else set()
                    assert live == _whooshs_own(reader, fieldname, text), (fieldname, text)
                checked += 1
        assert checked > 500
        assert len(term_postings(readers[0], "body", "gibtsnicht")[0]) == 0
        for text in ("wohnung", "notiz", "kita"):  # the searcher's sets: every segment's
            expected = set(view.searcher.docs_for_query(Term("body", text)))
            assert set(np.flatnonzero(view.term_docs("body", text)).tolist()) == expected


@pytest.mark.parametrize(
    "docnums", [[0], [7], [0, 1, 2, 255], [3, 300, 70_000, 70_001, 2**24], list(range(0, 9000, 3))]
)
def test_id_lists_keep_any_gaps(docnums):
    data = encode(docnums, [float(d % 300) for d in docnums])
    ids, weights = decode(data)
    assert list(ids) == docnums and list(weights) == [d % 300 for d in docnums]
    assert list(decode(data, offset=1000)[0]) == [d + 1000 for d in docnums]  # later segments
    assert len(data) <= 6 + len(docnums) * (1 if max(docnums) < 256 else 4) + 2 * len(docnums)


def test_frequencies_that_are_no_counts_are_kept_exactly():
    ids, weights = decode(encode([1, 2], [1.5, 0.1]))
    assert list(ids) == [1, 2] and list(weights) == [1.5, 0.1]


def test_a_segment_without_id_lists_is_read_from_its_postings(backend):
    backend.update([entry(1, "Wohnung Kaution")], [])
    with backend.ix.writer() as writer:  # Whoosh's own codec
        writer.add_document(**whoosh_backend._fields(entry(2, "Wohnung")))
    with backend._view() as view:
        plain = [sub.reader() for sub, _o, _e in view.leaves if sub.reader().doc_count() == 1]
        assert any(term_postings(r, "body", "wohnung") is None for r in plain)
    assert backend.search(SearchQuery(text="Wohnung"), ["o1"]).total == 2
    assert backend.search(SearchQuery(text="Kaution"), ["o1"]).total == 1
    assert backend.search(SearchQuery(text="Wohn*"), ["o1"]).total == 2


def test_prefixes_leave_out_deleted_and_replaced_documents(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)
    backend.rebuild([[entry(n, f"Kindergeld Kinderarzt{n % 3}") for n in range(1, 300)]])
    backend.update([entry(7, "Umzug")], remove_version_ids=[8, 150, 299])
    result = backend.search(SearchQuery(text="Kinder*", per_page=500), ["o1"])
    assert result.total == 295 and {7, 8, 150, 299}.isdisjoint(h.version_id for h in result.hits)
    assert backend.search(SearchQuery(text="Kinderarzt1*"), ["o1"]).total == 99  # 7 replaced


# --------------------------------------------------------------------------- columns in place


def test_columns_are_read_in_place_and_read_as_whoosh_reads_them(backend, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REBUILD_PROCS", 2)
    backend.rebuild([[entry(n, _body(n), title=f"Vermerk {n} über Räume") for n in range(1, 300)]])
    backend.update([entry(400, "Umzug")], [])
    with backend._view() as view:
        for sub, _offset, _end in view.leaves:
            reader = sub.reader()
            ours = [reader.stored_fields(d) for d in range(reader.doc_count_all())]
            lengths = [reader.doc_field_length(d, "body") for d in range(reader.doc_count_all())]
            files = [f for f, _start, _length in reader._perdoc._colfiles.values()]
            assert files and all(isinstance(f, _InPlaceFile) for f in files)
            theirs = W3PerDocReader(reader._perdoc._storage, reader._perdoc._segment)
            count = reader.doc_count_all()
            assert ours == [theirs.stored_fields(d) for d in range(count)]
            assert lengths == [theirs.doc_field_length(d, "body") for d in range(count)]
            date = reader.schema["date"].column_type
            ours_dates = list(reader._perdoc.column_reader("date", date))
            assert ours_dates == list(theirs.column_reader("date", date))
            theirs.close()


def test_mapped_reader_reads_like_a_file(tmp_path):
    data = b"erste Zeile\nzweite\n\nohne Ende"
    path = tmp_path / "f"
    path.write_bytes(b"VORSPANN" + data + b"NACHSPANN")
    with path.open("rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as source:
        ours, theirs = _MappedReader(source, 8, len(data)), io.BytesIO(data)
        steps = [("read", 5), ("readline",), ("tell",), ("read", -1), ("seek", 3, 0),
                 ("readline", 4), ("seek", -4, 2), ("read", 100), ("seek", -2, 1),
                 ("read", None), ("seek", 0, 0), ("readline",), ("readline",), ("readline",),
                 ("readline",), ("readline",), ("seek", -50, 1), ("tell",)]  # fmt: skip
        for name, *args in steps:
            assert getattr(ours, name)(*args) == getattr(theirs, name)(*args), (name, args)
        for bad in [(-1, 0), (0, 3)]:
            for file in (ours, theirs):
                with pytest.raises(ValueError):
                    file.seek(*bad)
