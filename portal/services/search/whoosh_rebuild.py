"""The writer of a full rebuild: Whoosh's multi-process writer with postings kept by term.

Whoosh's writers put every posting, as a (field, term, document, weight, positions)
tuple, in one list that is sorted at the end and, past its memory limit, pickled to
run files tuple by tuple and merged back one tuple at a time. A rebuild of 100,000
documents adds about 45 million postings, and that bookkeeping was about a quarter of
its time. ``TermPool`` groups the postings by term as they arrive: a writer numbers its
documents in order, so each term's postings are already sorted, only the terms need
sorting, and runs hold whole terms (``marshal``), merged term by term.

The segments are Whoosh's own (same codec, same files); only the way to them differs.
"""

from __future__ import annotations

import heapq
import marshal
import queue
import time
import traceback
from itertools import groupby
from operator import itemgetter

from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.writing import SegmentWriter

# Rough bytes per posting kept (list slots, an int, a float and the positions' bytes
# object) and per term (its dict slot, key, tuple and three lists), to keep to ``limitmb``.
_POSTING_BYTES = 110
_TERM_BYTES = 400
_TERM_KEY = itemgetter(0, 1)
_POLL_SECONDS = 0.2  # how often a waiting rebuild looks whether its workers are alive


class TermPool:
    """Postings grouped by (field, term); a stand-in for Whoosh's ``PostingPool`` in a
    writer that adds documents in order (document numbers only grow)."""

    def __init__(self, tempstore, limitmb: int) -> None:
        self.fieldnames: set[str] = set()
        self._tempstore = tempstore
        self._limit = limitmb * 1024 * 1024
        self._fields: dict[str, dict[bytes, tuple[list, list, list]]] = {}
        self._size = 0
        self._runs: list[str] = []

    def add(self, item: tuple) -> None:
        """Add one (fieldname, term bytes, docnum, weight, value bytes) posting."""
        fieldname, tbytes, docnum, weight, value = item
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        postings = terms.get(tbytes)
        if postings is None:
            postings = terms[tbytes] = ([], [], [])
            self._size += _TERM_BYTES + len(tbytes)
        postings[0].append(docnum)
        postings[1].append(weight)
        postings[2].append(value)
        self._size += _POSTING_BYTES + (len(value) if value else 0)
        if self._size > self._limit:
            self._spill()

    def iter_postings(self):
        """Every posting as Whoosh's tuples, sorted by field, term and document."""
        if not self._runs:
            return _postings(self._sorted_terms())
        self._spill()
        runs, self._runs = self._runs, []
        merged = heapq.merge(*(self._read_run(path) for path in runs), key=_TERM_KEY)
        return _postings(_joined(merged))

    def cleanup(self) -> None:
        """Remove run files left by a cancelled writer."""
        for path in self._runs:
            self._tempstore.delete_file(path)
        self._runs = []

    def _sorted_terms(self):
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            for tbytes in sorted(terms):
                yield (fieldname, tbytes, *terms[tbytes])

    def _spill(self) -> None:
        """Write the terms held so far, sorted, to a new run file."""
        path = f"{random_name()}.terms"
        with self._tempstore.create_file(path).raw_file() as run:
            for term in self._sorted_terms():
                marshal.dump(term, run)
        self._runs.append(path)
        self._fields, self._size = {}, 0

    def _read_run(self, path: str):
        with self._tempstore.open_file(path).raw_file() as run:
            while True:
                try:
                    yield marshal.load(run)  # noqa: S302 - a run file this writer wrote
                except EOFError:
                    break
        self._tempstore.delete_file(path)


def _joined(terms):
    """One entry per term from the runs' entries (earlier runs hold earlier documents)."""
    for key, parts in groupby(terms, key=_TERM_KEY):
        first, *later = parts
        if not later:
            yield first
            continue
        docnums, weights, values = first[2], first[3], first[4]  # lists of their own
        for part in later:
            docnums += part[2]
            weights += part[3]
            values += part[4]
        yield (*key, docnums, weights, values)


def _postings(terms):
    for fieldname, tbytes, docnums, weights, values in terms:
        for posting in zip(docnums, weights, values, strict=True):
            yield (fieldname, tbytes, *posting)


class RebuildSegmentWriter(SegmentWriter):
    """Whoosh's segment writer with a ``TermPool`` (for adding documents, not merging)."""

    def __init__(self, ix, limitmb: int = 128, **kwargs) -> None:
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = TermPool(self._tempstorage, limitmb)


class RebuildFailed(Exception):
    """A worker process of a rebuild failed; the rebuild commits nothing."""


class _RebuildTask(SubWriterTask):
    """One worker process of ``RebuildWriter``: writes one segment of its own and reports
    it, or what went wrong, on the result queue."""

    def run(self) -> None:
        """Add the documents of each job file, then finish the segment."""
        try:
            ix = self.storage.open_index(self.indexname)
            writer = self.writer = RebuildSegmentWriter(ix, _lk=False, **self.kwargs)
            while (job := self.jobqueue.get()) is not None:
                self._process_file(*job)
            result = (None, writer.pool.fieldnames, writer._finalize_segment())
        except BaseException:
            result = ("failed", set(), traceback.format_exc())
        self.resultqueue.put(result)


class RebuildWriter(MpWriter):
    """Whoosh's multi-process writer, one new segment per process, whose processes keep
    postings in a ``TermPool``. Unlike Whoosh's, it raises ``RebuildFailed`` when a worker
    fails instead of committing without that worker's documents (or waiting for ever),
    and its ``cancel`` stops the workers."""

    def __init__(self, ix, procs: int, **kwargs) -> None:
        super().__init__(ix, procs=procs, multisegment=True, **kwargs)

    def _new_task(self):
        task = _RebuildTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, True
        )
        task.daemon = True  # never outlives the process that rebuilds
        self.tasks.append(task)
        task.start()
        return task

    def _enqueue(self) -> None:
        self._wait_for_room()
        super()._enqueue()

    def _wait_for_room(self) -> None:
        """Wait until the job queue takes another job (this process is its only producer),
        as long as every worker is alive."""
        while self.tasks and self.jobqueue.full():
            if not all(task.is_alive() for task in self.tasks):
                raise RebuildFailed(self._failure())
            time.sleep(_POLL_SECONDS)

    def _failure(self) -> str:
        """What the workers reported, for the error message."""
        reports = []
        while not self.resultqueue.empty():
            kind, _fieldnames, detail = self.resultqueue.get()
            if kind == "failed":
                reports.append(detail)
        return "\n".join(reports) or "a worker process of the rebuild ended early"

    def _commit(self, mergetype, optimize, merge) -> None:
        """Whoosh's ``multisegment`` commit, once every worker has reported its segment."""
        if self.docbuffer:
            self._enqueue()
        for _task in self.tasks:
            self._wait_for_room()
            self.jobqueue.put(None)
        results = self._results()
        for task in self.tasks:
            task.join()
        failures = [detail for kind, _names, detail in results if kind == "failed"]
        if failures:
            raise RebuildFailed("\n".join(failures))
        segments = self._merge_segments(mergetype, optimize, merge)
        segments += [segment for _kind, _names, segment in results]
        if self._added:  # documents merged in from other segments
            segments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(segments)
        self._finish()

    def _results(self) -> list[tuple]:
        results = []
        while len(results) < len(self.tasks):
            try:
                results.append(self.resultqueue.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                if not any(task.is_alive() for task in self.tasks) and self.resultqueue.empty():
                    raise RebuildFailed("a worker process ended without its segment") from None
        return results

    def cancel(self) -> None:
        """Stop the workers, then drop what was written and release the lock."""
        for task in self.tasks:
            task.terminate()
        for task in self.tasks:
            task.join()
        SegmentWriter.cancel(self)


def rebuild_writer(ix, procs: int, **kwargs):
    """A writer for a full rebuild of ``ix``: ``RebuildWriter`` with ``procs`` > 1, else a
    ``RebuildSegmentWriter`` in this process; takes the index's write lock."""
    if procs > 1:
        return RebuildWriter(ix, procs, **kwargs)
    return RebuildSegmentWriter(ix, **kwargs)
