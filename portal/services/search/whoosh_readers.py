"""Segment readers shared by the searchers that follow one another after commits.

Opening a Whoosh segment reader copies the segment's whole term index into memory
(tens of MB for a large segment), and the portal opens a new searcher after every
commit. Whoosh's own reuse (``Searcher.refresh``) keeps a reused reader's old
deletions, so replaced or revoked entries would stay findable. Here every segment
is opened once; when a commit has deleted documents in it, the next searcher gets
a light copy of its reader that sees the segment's current deletions. A reader is
closed once its segment has left the index and no open searcher uses it.
"""

from __future__ import annotations

import copy
import threading

from whoosh.index import TOC
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher


class ReaderPool:
    """Opened segment readers of one index, by segment id."""

    def __init__(self, ix) -> None:
        self.ix = ix
        self._opened: dict[str, SegmentReader] = {}
        self._in_use: dict[int, set[str]] = {}  # id(searcher) -> segment ids it reads
        self._latest: set[str] = set()
        self._derived: dict[tuple, object] = {}  # (segment id, ...) -> data derived from it
        self._lock = threading.Lock()
        self._computing = threading.RLock()  # held while deriving (see ``derived``)

    def searcher(self) -> Searcher:
        """A searcher on the latest commit, reusing the readers of unchanged segments."""
        toc = TOC.read(self.ix.storage, self.ix.indexname, schema=self.ix.schema)
        with self._lock:
            readers = [self._reader(segment, toc.generation) for segment in toc.segments]
            if readers:  # a MultiReader even for one: it carries this commit's generation
                reader = MultiReader(readers, generation=toc.generation)
            else:
                reader = EmptyReader(toc.schema)
            searcher = Searcher(reader, closereader=False, fromindex=self.ix)
            self._latest = {segment.segment_id() for segment in toc.segments}
            self._in_use[id(searcher)] = set(self._latest)
            return searcher

    def release(self, searcher: Searcher) -> None:
        """``searcher`` is done: close the readers nothing needs any more."""
        with self._lock:
            self._in_use.pop(id(searcher), None)
            searcher.close()
            self._close_unneeded()

    def retire(self) -> None:
        """The index was replaced: close each reader once no searcher uses it."""
        with self._lock:
            self._latest = set()
            self._close_unneeded()

    def _close_unneeded(self) -> None:
        needed = set(self._latest).union(*self._in_use.values())
        gone = set(self._opened) - needed
        for segment_id in gone:
            self._opened.pop(segment_id).close()
        for key in [key for key in self._derived if key[0] in gone]:
            del self._derived[key]

    def derived(self, reader: SegmentReader, key: tuple, compute):
        """``compute()``, remembered for segment ``reader`` (and ``key``) while it is open:
        facet codes, dates, field lengths, word lists (none of which deletions change)."""
        full = (reader.segment().segment_id(), *key)
        with self._lock:
            if full in self._derived:
                return self._derived[full]
        with self._computing:  # one at a time: a search waits for the warm-up's result
            with self._lock:
                if full in self._derived:
                    return self._derived[full]
            value = compute()
            with self._lock:
                self._derived[full] = value
        return value

    def _reader(self, segment, generation: int) -> SegmentReader:
        opened = self._opened.get(segment.segment_id())
        if opened is None:
            opened = SegmentReader(self.ix.storage, self.ix.schema, segment, generation)
            self._opened[segment.segment_id()] = opened
            return opened
        if opened.segment().deleted_count() == segment.deleted_count():
            return opened
        return _seeing_deletions(opened, segment)


def _seeing_deletions(opened: SegmentReader, segment) -> SegmentReader:
    """A copy of ``opened`` (sharing its files) whose deletions are those of ``segment``, a
    later state of the same segment."""
    reader = copy.copy(opened)
    reader.__dict__.pop("deleted_docs_set", None)  # a cached property of the old state
    reader._segment = segment
    reader._perdoc = copy.copy(opened._perdoc)
    reader._perdoc._segment = segment
    return reader
