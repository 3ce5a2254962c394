"""Whoosh's codec, plus a list of document ids per term beside each segment's postings.

Whoosh keeps a term's postings in blocks that hold ids, frequencies and word positions
in one compressed pickle: knowing which documents hold a word costs reading all of it
(a prefix query read 130,000 postings this way and spent 180 ms at 20,000 documents).
``PortalCodec`` writes every term's document ids a second time, while Whoosh writes the
postings anyway (new segments, merges and rebuilds alike): delta-coded in the smallest
array that holds them, in a hash file of the segment (``.ids``, ~1-2 bytes per posting).
Reading them is an array copy and a running sum, both in C.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate
from operator import sub

from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3TermsReader
from whoosh.filedb.filetables import HashReader, HashWriter
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort

IDS_EXT = ".ids"
_LITTLE = sys.byteorder == "little"  # the files are little-endian on every machine


class PortalCodec(W3Codec):
    """Whoosh 3's codec whose segments also carry document id lists (``IDS_EXT``)."""

    def field_writer(self, storage, segment):
        """Whoosh's field writer that also writes the id lists."""
        return _IdsFieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        """Whoosh's terms reader that also reads the id lists."""
        reader = super().terms_reader(storage, segment)
        name = segment.make_filename(IDS_EXT)
        ids = HashReader(storage.open_file(name), storage.file_length(name))
        return _IdsTermsReader(reader, ids)


class _IdsFieldWriter(W3FieldWriter):
    def __init__(self, codec, storage, segment) -> None:
        super().__init__(codec, storage, segment)
        self._ids = HashWriter(self._create_file(IDS_EXT))
        self._docnums: list[int] = []

    def start_term(self, btext):
        super().start_term(btext)
        self._docnums = []

    def add(self, docnum, weight, vbytes, length):
        self._docnums.append(docnum)
        self._postwriter.add_posting(docnum, weight, vbytes, length)

    def finish_term(self):
        super().finish_term()
        self._ids.add(pack_ushort(self._fieldid) + self._btext, encode(self._docnums))

    def close(self):
        super().close()
        self._ids.close()


class _IdsTermsReader(W3TermsReader):
    """A ``W3TermsReader`` (sharing the opened one's files) with ``doc_ids``."""

    def __init__(self, reader: W3TermsReader, ids: HashReader) -> None:
        self.__dict__.update(reader.__dict__)
        self._ids = ids

    def doc_ids(self, fieldname: str, tbytes: bytes) -> Iterable[int]:
        """The documents holding a term, deleted ones included, ascending."""
        data = self._ids.get(self._keycoder(fieldname, tbytes))
        return decode(data) if data is not None else ()

    def close(self):
        super().close()
        self._ids.close()


def encode(docnums: list[int]) -> bytes:
    """Ascending document numbers as a type code and the array of their differences."""
    deltas = [docnums[0], *map(sub, docnums[1:], docnums)]
    top = max(deltas)
    code = "B" if top < 2**8 else "H" if top < 2**16 else "I"
    values = array(code, deltas)
    if not _LITTLE:
        values.byteswap()
    return code.encode() + values.tobytes()


def decode(data: bytes) -> Iterable[int]:
    """The document numbers of ``encode``."""
    values = array(chr(data[0]))
    values.frombytes(memoryview(data)[1:])
    if not _LITTLE:
        values.byteswap()
    return accumulate(values)


def term_doc_ids(reader: SegmentReader, fieldname: str, text) -> frozenset[int] | None:
    """The documents of one segment holding a term (deleted ones left out), from the id
    lists; None when the segment was written without them (another codec)."""
    terms = reader._terms
    if not isinstance(terms, _IdsTermsReader):
        return None
    docs = frozenset(terms.doc_ids(fieldname, reader.schema[fieldname].to_bytes(text)))
    return docs - reader.deleted_docs_set if reader.has_deletions() else docs
