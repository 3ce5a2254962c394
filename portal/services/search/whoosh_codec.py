"""Whoosh's codec, plus each term's documents and frequencies beside a segment's postings.

Whoosh keeps a term's postings in blocks that hold ids, frequencies and word positions
in one compressed pickle: knowing which documents hold a word, or how often, costs
reading all of it (a prefix query read 130,000 postings this way and spent 180 ms at
20,000 documents; scoring a common word at 100,000 documents 100 ms). ``PortalCodec``
writes every term's document ids and frequencies a second time, while Whoosh writes
the postings anyway (new segments, merges and rebuilds alike): the ids delta-coded,
both in the smallest array type that holds them, in a hash file of the segment
(``.ids``, ~2-3 bytes per posting). Reading them is a numpy view of the bytes and a
running sum, both in C.

It also reads a segment's columns (stored fields, field lengths, sortable values) in
place from the segment's memory map: Whoosh copies each column into memory when it
opens it, and the stored fields of 50,000 documents are some 500 MB, so each server
process held a second copy of them and its first search waited a second per segment.
"""

from __future__ import annotations

import struct
import sys
from array import array
from operator import sub

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3PerDocReader, W3TermsReader
from whoosh.filedb.filetables import HashReader, HashWriter
from whoosh.filedb.structfile import BufferFile
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort

IDS_EXT = ".ids"
_LITTLE = sys.byteorder == "little"  # the files are little-endian on every machine
_COUNT = struct.Struct("<I")
_DTYPES = {code: np.dtype(f"<{code.decode()}") for code in (b"B", b"H", b"I", b"d")}
_ABSENT = (np.empty(0, np.int64), np.empty(0, np.uint8))
for _array in _ABSENT:
    _array.flags.writeable = False


class PortalCodec(W3Codec):
    """Whoosh 3's codec whose segments also carry document id lists (``IDS_EXT``)."""

    def field_writer(self, storage, segment):
        """Whoosh's field writer that also writes the id lists."""
        return _IdsFieldWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        """Whoosh's per-document reader, reading columns in place."""
        return _InPlacePerDocReader(storage, segment)

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
        self._weights: list[float] = []

    def start_term(self, btext):
        super().start_term(btext)
        self._docnums, self._weights = [], []

    def add(self, docnum, weight, vbytes, length):
        self._docnums.append(docnum)
        self._weights.append(weight)
        self._postwriter.add_posting(docnum, weight, vbytes, length)

    def finish_term(self):
        super().finish_term()
        key = pack_ushort(self._fieldid) + self._btext
        self._ids.add(key, encode(self._docnums, self._weights))

    def close(self):
        super().close()
        self._ids.close()


class _InPlacePerDocReader(W3PerDocReader):
    """Reads the columns of a segment in a compound file from its memory map."""

    def _get_column_file(self, fieldname):
        filename = W3Codec.column_filename(self._segment, fieldname)
        # A segment's compound file comes first in the overlay Whoosh reads it through.
        compound = getattr(self._storage, "a", self._storage)
        source = getattr(compound, "_source", None)  # a CompoundStorage's memory map
        if source is None or compound.is_closed or not compound.file_exists(filename):
            return super()._get_column_file(fieldname)
        offset, length = compound.range(filename)
        return _InPlaceFile(source, offset, length, filename), 0, length


class _InPlaceFile(BufferFile):
    """Whoosh's ``BufferFile`` over part of a memory map, without its copy of the part."""

    def __init__(self, source, offset: int, length: int, name: str) -> None:
        super().__init__(b"", name=name)
        self._buf = memoryview(source)[offset : offset + length]
        self.file = _MappedReader(source, offset, length)


class _MappedReader:
    """A read-only file of ``length`` bytes of a memory map from ``offset``; reading copies
    only what is read."""

    def __init__(self, source, offset: int, length: int) -> None:
        self._source = source
        self._start = self._position = offset
        self._end = offset + length

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that are left when negative)."""
        end = self._end if size is None or size < 0 else min(self._position + size, self._end)
        data = self._source[self._position : end]
        self._position = max(self._position, end)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        """The bytes up to and including the next newline."""
        newline = self._source.find(b"\n", self._position, self._end)
        end = self._end if newline < 0 else newline + 1
        if size is not None and size >= 0:
            end = min(end, self._position + size)
        return self.read(end - self._position)

    def seek(self, position: int, whence: int = 0) -> int:
        """Move to ``position`` from the start, the current position or the end."""
        if whence not in (0, 1, 2):
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        target = (self._start, self._position, self._end)[whence] + position
        if whence == 0 and position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = max(self._start, target)
        return self._position - self._start

    def tell(self) -> int:
        """The position from the start."""
        return self._position - self._start

    def close(self) -> None:
        """Nothing to release: the memory map belongs to the segment's storage."""


class _IdsTermsReader(W3TermsReader):
    """A ``W3TermsReader`` (sharing the opened one's files) with ``postings``."""

    def __init__(self, reader: W3TermsReader, ids: HashReader) -> None:
        self.__dict__.update(reader.__dict__)
        self._ids = ids

    def postings(self, fieldname: str, tbytes: bytes, offset: int = 0) -> tuple | None:
        """(documents numbered from ``offset``, frequencies) of a term, deleted documents
        included; None if absent."""
        data = self._ids.get(self._keycoder(fieldname, tbytes))
        return decode(data, offset) if data is not None else None

    def close(self):
        super().close()
        self._ids.close()


def encode(docnums: list[int], weights: list[float]) -> bytes:
    """Ascending document numbers and their term frequencies: how many, then each as a
    type code and an array (the numbers as their differences)."""
    deltas = [docnums[0], *map(sub, docnums[1:], docnums)]
    return _COUNT.pack(len(docnums)) + _packed(deltas) + _packed(weights)


def _packed(values: list) -> bytes:
    """A type code and the values in the smallest array type that holds them exactly."""
    whole = list(map(int, values))  # frequencies come as floats, mostly whole numbers
    top = max(whole)
    if whole == values and min(whole) >= 0 and top < 2**32:
        code = "B" if top < 2**8 else "H" if top < 2**16 else "I"
        packed = array(code, whole)
    else:
        code, packed = "d", array("d", values)
    if not _LITTLE:
        packed.byteswap()
    return code.encode() + packed.tobytes()


def decode(data: bytes, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The document numbers (plus ``offset``) and frequencies of ``encode``, as arrays."""
    (count,) = _COUNT.unpack_from(data)
    deltas, after = _unpacked(data, _COUNT.size, count)
    weights, _end = _unpacked(data, after, count)
    ids = np.cumsum(deltas, dtype=np.int64)
    if offset:
        ids += offset
    return ids, weights


def _unpacked(data: bytes, at: int, count: int) -> tuple[np.ndarray, int]:
    dtype = _DTYPES[data[at : at + 1]]
    values = np.frombuffer(data, dtype=dtype, count=count, offset=at + 1)
    return values, at + 1 + count * dtype.itemsize


def term_postings(
    reader: SegmentReader, fieldname: str, text, offset: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """(documents numbered from ``offset``, frequencies) of a term in one segment, deleted
    documents included (empty arrays for an absent term); None when the segment was
    written without them."""
    terms = reader._terms
    if not isinstance(terms, _IdsTermsReader):
        return None
    tbytes = reader.schema[fieldname].to_bytes(text)
    return terms.postings(fieldname, tbytes, offset) or _ABSENT
