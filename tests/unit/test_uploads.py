"""Uploads: content-type by magic bytes, size limit, zip bombs, real files, text extraction."""

from __future__ import annotations

import io
import zipfile

import pytest

from portal import jobs
from portal.services import documents, extract, filetypes
from portal.services.documents import Content, SaveContext, Upload
from portal.services.storage import BlobStore, UploadTooLarge
from tests.conftest import REALDOCS


def _upload(db, app, actor, case, data: bytes, name: str, max_bytes: int | None = None):
    ctx = SaveContext(app.extensions["portal.blobs"], max_bytes or 50 * 2**20)
    document = documents.create_document(
        db, actor, case, doc_type="file", title="", ctx=ctx,
        content=Content(upload=Upload(io.BytesIO(data), name)),
    )  # fmt: skip
    db.commit()
    jobs.drain(app)
    db.expire_all()
    return document, documents.get_version(db, document, 1)


def _docx(text: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal valid DOCX with one paragraph."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
            f"{text}</w:t></w:r></w:p></w:body></w:document>",
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def worker_case(make_user, make_case):
    worker = make_user()
    return worker, make_case(worker)


@pytest.mark.parametrize(
    ("name", "media_type", "status", "phrase"),
    [
        ("GeoTopo-komprimiert.pdf", filetypes.PDF, "done", "Mannigfaltigkeit"),
        ("source.odt", filetypes.ODT, "done", "Lorem ipsum"),
        ("habibi.pdf", filetypes.PDF, "done", "habibi"),
        ("libreoffice-writer-password.pdf", filetypes.PDF, "unreadable", ""),
        ("unreadablemetadata.pdf", filetypes.PDF, "done", "Watt"),
        ("imagemagick-CCITTFaxDecode.pdf", filetypes.PDF, "none", ""),
    ],
)
def test_real_files_are_stored_and_their_text_extracted(
    db, app, worker_case, name, media_type, status, phrase
):
    worker, case = worker_case
    data = (REALDOCS / name).read_bytes()
    _document, version = _upload(db, app, worker, case, data, name)
    assert version.blob.media_type == media_type
    assert version.blob.size == len(data)
    assert app.extensions["portal.blobs"].path(version.blob_sha256).read_bytes() == data
    assert version.filename == name
    assert version.extraction == status
    assert phrase in version.extracted_text
    if status == "unreadable":
        assert "encrypted" in version.extraction_note


def test_docx_text_is_extracted(db, app, worker_case):
    _worker, _case = worker_case
    _doc, version = _upload(
        db, app, *worker_case, _docx("Wohnungssuche in Gütersloh"), "brief.docx"
    )
    assert version.blob.media_type == filetypes.DOCX
    assert "Wohnungssuche in Gütersloh" in version.extracted_text


def test_identical_uploads_are_stored_once(db, app, worker_case):
    data = b"Gleicher Inhalt\n"
    _d1, v1 = _upload(db, app, *worker_case, data, "a.txt")
    _d2, v2 = _upload(db, app, *worker_case, data, "b.txt")
    assert v1.blob_sha256 == v2.blob_sha256
    store = app.extensions["portal.blobs"]
    assert [sha256 for sha256, _path in store.iter_blobs()] == [v1.blob_sha256]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "bescheid.pdf"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "foto.jpg"),
        (b"MZ\x90\x00" + b"\x00" * 100, "antrag.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "bild.png"),
        (b"PK\x03\x04 not really a zip", "brief.docx"),
    ],
)
def test_disguised_files_are_refused_with_415_and_leave_nothing(db, app, worker_case, data, name):
    with pytest.raises(filetypes.UnsupportedFile) as caught:
        _upload(db, app, *worker_case, data, name)
    assert caught.value.status == 415
    _assert_store_empty(app)


def test_zip_bomb_inside_a_docx_is_refused(db, app, worker_case):
    bomb = _docx("x", extra={"word/media/bomb.bin": b"\x00" * (50 * 2**20)})
    assert len(bomb) < 200_000
    with pytest.raises(filetypes.HostileFile):
        _upload(db, app, *worker_case, bomb, "bomb.docx")
    _assert_store_empty(app)


def test_docx_with_path_traversal_is_refused(db, app, worker_case):
    with pytest.raises(filetypes.HostileFile):
        _upload(db, app, *worker_case, _docx("x", extra={"../../evil.sh": b"rm -rf /"}), "x.docx")


def test_oversized_upload_is_refused_and_nothing_stays(db, app, worker_case):
    with pytest.raises(UploadTooLarge) as caught:
        _upload(db, app, *worker_case, b"a" * 2049, "gross.txt", max_bytes=2048)
    assert caught.value.status == 413
    _assert_store_empty(app)


def test_staging_streams_in_chunks(tmp_path):
    class CountingStream(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            assert size != -1, "must not read everything at once"
            chunk = super().read(size)
            CountingStream.largest = max(CountingStream.largest, len(chunk))
            return chunk

    store = BlobStore(tmp_path)
    staged = store.stage(CountingStream(b"x" * (3 * 2**20)), max_bytes=10 * 2**20)
    assert staged.size == 3 * 2**20
    assert CountingStream.largest <= 2**20


def test_broken_files_never_raise_from_extraction(tmp_path):
    broken = tmp_path / "kaputt.pdf"
    broken.write_bytes(b"%PDF-1.4\n%%EOF garbage")
    result = extract.extract(broken, filetypes.PDF)
    assert result.status in ("unreadable", "none")


def _assert_store_empty(app) -> None:
    root = app.extensions["portal.blobs"].root
    leftovers = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    assert leftovers == []
