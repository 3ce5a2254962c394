"""The JSON API for documents: notes, forms, uploads, versions, conflicts, diff, restore, access."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Document, DocumentVersion
from portal.services import consents
from tests.conftest import REALDOCS
from tests.integration.test_api import (
    assert_error,
    assert_matches,
    bearer,
    response_schema,
)

NOTE = {"type": "note", "title": "Erstgespräch", "text": "Frau H. sucht eine Wohnung.\nB1-Kurs."}
GOAL = {
    "area": "sprache",
    "goal": "Deutsch B1 erreichen",
    "measures": "Integrationskurs beim VHS",
    "due_date": "2026-12-31",
    "status": "open",
}
AGREEMENT = {"type": "agreement", "title": "Integrationsvereinbarung", "fields": {"goals": [GOAL]}}
ASSESSMENT = {
    "type": "assessment",
    "title": "Bestandsaufnahme",
    "fields": {"languages": [{"language": "Arabisch", "level": "Muttersprache"}], "housing": "WG"},
}


@pytest.fixture
def worker(make_user):
    """A caseworker of the organisation that leads ``case``."""
    return make_user(role="caseworker")


@pytest.fixture
def case(worker, make_case):
    return make_case(worker)


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _create(api, user, case, body, status=201) -> dict:
    response = api(user).post(f"/api/v1/cases/{case.id}/documents", json=body)
    assert response.status_code == status, response.text
    return response.get_json()


def _upload(api, user, case, data: bytes, name: str, **fields):
    return api(user).post(
        f"/api/v1/cases/{case.id}/documents",
        data={"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )


def _raw_upload(api, user, url: str, data: bytes, disposition: bytes):
    """A multipart body written by hand, e.g. with an RFC 5987 ``filename*``."""
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; ' + disposition + b"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--XyZ--\r\n"
    )
    return api(user).post(url, data=body, content_type="multipart/form-data; boundary=XyZ")


def _files(data: dict) -> dict:
    """Form data with ``(bytes, name)`` turned into fresh file streams (parameters are reused)."""
    return {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in data.items()}


def _docx(text: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX (see tests/unit/test_uploads.py)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _store_files(app) -> list:
    root = app.extensions["portal.blobs"].root
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# ---------------------------------------------------------------- notes and versions


def test_note_is_created_listed_and_read(api, db, spec, worker, case):
    response = api(worker).post(f"/api/v1/cases/{case.id}/documents", json=NOTE)
    assert response.status_code == 201, response.text
    document = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases/{case_id}/documents", "post", 201), document)
    assert response.headers["Location"] == f"/api/v1/documents/{document['id']}"
    org = {"id": worker.organisation.id, "name": worker.organisation.name}
    assert document["case_id"] == case.id
    assert (document["type"], document["title"], document["visibility"]) == (
        "note",
        "Erstgespräch",
        "case",
    )
    assert document["current_version"] == 1
    assert document["author_organisation"] == org
    assert len(document["versions"]) == 1
    version = document["versions"][0]
    assert version["number"] == 1 and version["restored_from"] is None
    assert version["author"] == {"id": worker.id, "name": worker.name}
    assert version["organisation"] == org
    assert version["created_at"].endswith("+00:00")

    assert api(worker).get(f"/api/v1/documents/{document['id']}").get_json() == document
    listing = api(worker).get(f"/api/v1/cases/{case.id}/documents").get_json()
    assert_matches(spec, response_schema(spec, "/cases/{case_id}/documents", "get", 200), listing)
    summary = {k: v for k, v in document.items() if k != "versions"}
    assert listing == {"items": [summary], "total": 1, "page": 1}

    full = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1").get_json()
    path = "/documents/{document_id}/versions/{number}"
    assert_matches(spec, response_schema(spec, path, "get", 200), full)
    assert full["text"] == NOTE["text"] == full["extracted_text"]
    assert full["fields"] is None and full["file"] is None
    assert full["document_id"] == document["id"]
    actions = db.execute(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "document")
        .order_by(AuditEvent.id)
    ).all()
    assert [action for (action,) in actions] == ["create", "view", "view"]


def test_new_versions_conflicts_and_restore(api, db, spec, worker, case):
    document = _create(api, worker, case, NOTE)
    url = f"/api/v1/documents/{document['id']}"
    second = api(worker).post(
        f"{url}/versions",
        json={"text": "Wohnung gefunden.", "base_version": 1, "comment": "Stand Mai"},
    )
    assert second.status_code == 201, second.text
    assert_matches(
        spec, response_schema(spec, "/documents/{document_id}/versions", "post", 201), second.json
    )
    assert second.headers["Location"] == f"{url}/versions/2"
    assert (second.json["number"], second.json["comment"]) == (2, "Stand Mai")
    assert second.json["title"] == "Erstgespräch"  # kept when not given

    stale = api(worker).post(f"{url}/versions", json={"text": "Überholt.", "base_version": 1})
    error = assert_error(stale, 409, "version_conflict")
    assert error["fields"] == {"current_version": 2}
    assert api(worker).get(f"{url}/versions/2").json["text"] == "Wohnung gefunden."
    assert _count(db, DocumentVersion) == 2

    restored = api(worker).post(f"{url}/restore", json={"version": 1, "base_version": 2})
    assert restored.status_code == 201, restored.text
    assert_matches(
        spec, response_schema(spec, "/documents/{document_id}/restore", "post", 201), restored.json
    )
    assert (restored.json["number"], restored.json["restored_from"]) == (3, 1)
    assert restored.json["text"] == NOTE["text"]
    assert restored.headers["Location"] == f"{url}/versions/3"
    again = api(worker).post(f"{url}/restore", json={"version": 1, "base_version": 2})
    assert assert_error(again, 409, "version_conflict")["fields"] == {"current_version": 3}

    document = api(worker).get(url).json
    assert document["current_version"] == 3
    assert [v["number"] for v in document["versions"]] == [3, 2, 1]
    assert [v["restored_from"] for v in document["versions"]] == [1, None, None]


def test_new_version_may_retitle_but_not_change_type_or_visibility(api, worker, case):
    document = _create(api, worker, case, {**NOTE, "visibility": "internal"})
    url = f"/api/v1/documents/{document['id']}/versions"
    same = {"type": "note", "visibility": "internal", "title": "Zweitgespräch", "text": "Neu."}
    response = api(worker).post(url, json={**same, "base_version": 1})
    assert response.status_code == 201, response.text
    assert response.json["title"] == "Zweitgespräch"
    changed = {**same, "type": "assessment", "visibility": "case", "base_version": 2}
    error = assert_error(api(worker).post(url, json=changed), 422, "validation_failed")
    assert error["fields"] == {"type": "cannot_change", "visibility": "cannot_change"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"text": "x"}, {"base_version": "required"}),
        ({"text": "x", "base_version": "1"}, {"base_version": "must_be_integer"}),
        ({"text": "x", "base_version": True}, {"base_version": "must_be_integer"}),
        ({"text": "x", "base_version": 1.0}, {"base_version": "must_be_integer"}),
        ({"base_version": 1}, {"text": "required"}),
        ({"text": "", "base_version": 1}, {"text": "required"}),
        ({"text": ["x"], "base_version": 1}, {"text": "must_be_text"}),
        ({"text": "x", "base_version": 1, "comment": 5}, {"comment": "must_be_text"}),
        ({"text": "x", "base_version": 1, "fields": {}}, {"fields": "unknown_field"}),
        ({"text": "x", "base_version": 1, "author": "B"}, {"author": "unknown_field"}),
        ({"text": "x", "base_version": 1, "title": 7}, {"title": "must_be_text"}),
        ({"text": "x", "base_version": None}, {"base_version": "required"}),
        ({"text": "x", "base_version": 0}, {"base_version": "must_be_positive"}),
        ({"text": "x", "base_version": 2**31}, {"base_version": "too_large"}),
        ({"text": "x", "base_version": 1, "title": "T" * 301}, {"title": "too_long"}),
        ({"text": "x", "base_version": 1, "comment": "C" * 501}, {"comment": "too_long"}),
        ({"base_version": 1, "fields": {}}, {"fields": "unknown_field"}),  # not also "text"
    ],
)
def test_invalid_version_bodies_are_422(api, db, worker, case, body, fields):
    document = _create(api, worker, case, NOTE)
    response = api(worker).post(f"/api/v1/documents/{document['id']}/versions", json=body)
    assert assert_error(response, 422, "validation_failed")["fields"] == fields
    assert _count(db, DocumentVersion) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"version": "required", "base_version": "required"}),
        ({"version": "1", "base_version": 1}, {"version": "must_be_integer"}),
        ({"version": 1, "base_version": None}, {"base_version": "required"}),
        ({"version": 1, "base_version": 1, "comment": "x"}, {"comment": "unknown_field"}),
        ({"version": 0, "base_version": 1}, {"version": "must_be_positive"}),
    ],
)
def test_invalid_restore_bodies_are_422(api, worker, case, body, fields):
    document = _create(api, worker, case, NOTE)
    response = api(worker).post(f"/api/v1/documents/{document['id']}/restore", json=body)
    assert assert_error(response, 422, "validation_failed")["fields"] == fields


def test_restoring_an_unknown_version_is_404(api, worker, case):
    document = _create(api, worker, case, NOTE)
    response = api(worker).post(
        f"/api/v1/documents/{document['id']}/restore", json={"version": 9, "base_version": 1}
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_write_bodies_must_be_json_objects(api, worker, case, body):
    document = _create(api, worker, case, NOTE)
    for url in (
        f"/api/v1/cases/{case.id}/documents",
        f"/api/v1/documents/{document['id']}/versions",
        f"/api/v1/documents/{document['id']}/restore",
    ):
        assert_error(api(worker).post(url, json=body), 400, "invalid_input")
    raw = api(worker).post(
        f"/api/v1/cases/{case.id}/documents", data="{oops", content_type="application/json"
    )
    assert_error(raw, 400, "invalid_input")


def test_text_diff(api, spec, worker, case):
    document = _create(api, worker, case, {**NOTE, "text": "Zeile eins\nZeile zwei\nZeile drei"})
    url = f"/api/v1/documents/{document['id']}"
    api(worker).post(
        f"{url}/versions",
        json={"title": "Erstgespräch (ergänzt)", "text": "Zeile eins\nZeile 2\nZeile drei\nNeu",
              "base_version": 1},
    )  # fmt: skip
    response = api(worker).get(f"{url}/diff?from=1&to=2")
    assert response.status_code == 200, response.text
    diff = response.get_json()
    assert_matches(spec, response_schema(spec, "/documents/{document_id}/diff", "get", 200), diff)
    assert diff == {
        "document_id": document["id"],
        "from": 1,
        "to": 2,
        "kind": "text",
        "unchanged": False,
        "title": {"from": "Erstgespräch", "to": "Erstgespräch (ergänzt)"},
        "lines": [
            {"op": "equal", "old": "Zeile eins", "new": "Zeile eins"},
            {"op": "replace", "old": "Zeile zwei", "new": "Zeile 2"},
            {"op": "equal", "old": "Zeile drei", "new": "Zeile drei"},
            {"op": "insert", "old": None, "new": "Neu"},
        ],
        "changes": [],
        "file": None,
    }
    same = api(worker).get(f"{url}/diff?from=2&to=2").get_json()
    assert same["unchanged"] is True and same["title"] is None
    backwards = api(worker).get(f"{url}/diff?from=2&to=1").get_json()
    assert backwards["lines"][3] == {"op": "delete", "old": "Neu", "new": None}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"from": "required", "to": "required"}),
        ("from=1", {"to": "required"}),
        ("from=a&to=2", {"from": "must_be_integer"}),
        ("from=1&to=-2", {"to": "must_be_integer"}),
        ("from=%C2%B2&to=1", {"from": "must_be_integer"}),
        ("from=1&to=99999999999999999999", {"to": "must_be_integer"}),
    ],
)
def test_diff_needs_two_version_numbers(api, worker, case, query, fields):
    document = _create(api, worker, case, NOTE)
    response = api(worker).get(f"/api/v1/documents/{document['id']}/diff?{query}")
    assert assert_error(response, 400, "invalid_input")["fields"] == fields


def test_diff_with_an_unknown_version_is_404(api, worker, case):
    document = _create(api, worker, case, NOTE)
    for query in ("from=1&to=2", "from=0&to=1"):
        response = api(worker).get(f"/api/v1/documents/{document['id']}/diff?{query}")
        assert_error(response, 404, "not_found")
    assert_error(api(worker).get(f"/api/v1/documents/{document['id']}/versions/2"), 404)


def test_document_list_pages(api, worker, case):
    for title in ("Eins", "Zwei", "Drei"):
        _create(api, worker, case, {**NOTE, "title": title})
    url = f"/api/v1/cases/{case.id}/documents"
    first = api(worker).get(f"{url}?per_page=2").get_json()
    second = api(worker).get(f"{url}?per_page=2&page=2").get_json()
    assert (first["total"], first["page"], len(first["items"])) == (3, 1, 2)
    assert (second["total"], second["page"], len(second["items"])) == (3, 2, 1)
    titles = {d["title"] for d in first["items"] + second["items"]}
    assert titles == {"Eins", "Zwei", "Drei"}
    assert api(worker).get(f"{url}?page=9").get_json() == {"items": [], "total": 3, "page": 9}
    assert_error(api(worker).get(f"{url}?per_page=0"), 400, "invalid_input")


# ---------------------------------------------------------------- assessments and agreements


def test_agreement_fields_and_field_diff(api, spec, worker, case):
    document = _create(api, worker, case, AGREEMENT)
    url = f"/api/v1/documents/{document['id']}"
    first = api(worker).get(f"{url}/versions/1").get_json()
    assert first["fields"] == {
        "goals": [{**GOAL, "responsible_organisation_id": None}],
        "signed_on": None,
        "signatories": [],
    }
    assert first["text"] is None and first["file"] is None
    assert "Deutsch B1 erreichen" in first["extracted_text"]
    changed = {"goals": [{**GOAL, "status": "in_progress"}], "signatories": ["Amina Haddad"]}
    response = api(worker).post(f"{url}/versions", json={"fields": changed, "base_version": 1})
    assert response.status_code == 201, response.text
    diff = api(worker).get(f"{url}/diff?from=1&to=2").get_json()
    assert_matches(spec, response_schema(spec, "/documents/{document_id}/diff", "get", 200), diff)
    assert diff["kind"] == "fields" and diff["lines"] == [] and diff["title"] is None
    assert diff["changes"] == [
        {"field": "goals[0].status", "from": "open", "to": "in_progress"},
        {"field": "signatories", "from": [], "to": ["Amina Haddad"]},
    ]


def test_assessment_is_kept_as_fields(api, spec, worker, case):
    document = _create(api, worker, case, ASSESSMENT)
    version = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1").get_json()
    path = "/documents/{document_id}/versions/{number}"
    assert_matches(spec, response_schema(spec, path, "get", 200), version)
    assert version["fields"]["languages"] == [{"language": "Arabisch", "level": "Muttersprache"}]
    assert version["fields"]["housing"] == "WG"
    assert version["fields"]["health"] == ""


def _goal(**changes) -> dict:
    return {**AGREEMENT, "fields": {"goals": [{**GOAL, **changes}]}}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (_goal(due_date="31.12.2026"), {"fields.goals[0].due_date": "invalid_date"}),
        (_goal(status="waiting"), {"fields.goals[0].status": "invalid_status"}),
        (_goal(goal=""), {"fields.goals[0].goal": "required"}),
        (_goal(budget=5), {"fields.goals[0].budget": "unknown_field"}),
        (_goal(responsible_organisation_id="3"), {
            "fields.goals[0].responsible_organisation_id": "must_be_integer"}),
        ({**AGREEMENT, "fields": {"goals": [], "notes": "x"}}, {"fields.notes": "unknown_field"}),
        ({**AGREEMENT, "fields": []}, {"fields": "must_be_object"}),
        ({**ASSESSMENT, "fields": {"languages": [{"language": "Farsi", "level": "B3"}]}},
         {"fields.languages[0].level": "invalid_level"}),
        ({"type": "memo", "title": "X", "text": "x"}, {"type": "invalid"}),
        ({"title": "X", "text": "x"}, {"type": "required"}),
        ({"type": ["note"], "title": "X", "text": "x"}, {"type": "invalid"}),
        ({"type": "note", "text": "x"}, {"title": "required"}),
        ({"type": "note", "title": "  ", "text": "x"}, {"title": "required"}),
        ({"type": "note", "title": 5, "text": "x"}, {"title": "must_be_text"}),
        ({"type": "note", "title": "X"}, {"text": "required"}),
        ({"type": "note", "title": "X", "text": 5}, {"text": "must_be_text"}),
        ({**NOTE, "visibility": "public"}, {"visibility": "invalid"}),
        ({**NOTE, "visibility": True}, {"visibility": "invalid"}),
        ({**NOTE, "fields": {}}, {"fields": "unknown_field"}),
        ({**NOTE, "base_version": 1}, {"base_version": "unknown_field"}),
        ({**AGREEMENT, "text": "x"}, {"text": "unknown_field"}),
        ({"type": "file", "title": "Scan"}, {"file": "required"}),
        ({"type": "note"}, {"title": "required", "text": "required"}),
        ({"type": "note", "title": "T" * 301, "text": "x"}, {"title": "too_long"}),
        ({"type": "note", "title": "X", "text": "x", "foo": 1}, {"foo": "unknown_field"}),
        ({**AGREEMENT, "visibility": "world", "fields": {"goals": [{"status": "done"}]}},
         {"visibility": "invalid", "fields.goals[0].goal": "required"}),
    ],
)  # fmt: skip
def test_invalid_documents_are_422_with_fields(api, db, worker, case, body, fields):
    response = api(worker).post(f"/api/v1/cases/{case.id}/documents", json=body)
    assert assert_error(response, 422, "validation_failed")["fields"] == fields
    assert _count(db, Document) == 0


# ---------------------------------------------------------------- who sees what


@pytest.fixture
def documents_of(api, worker, case):
    """A note with two versions and an upload with one, in ``case``."""
    note = _create(api, worker, case, NOTE)
    upload = _upload(api, worker, case, b"Bescheid vom Mai\n", "bescheid.txt").get_json()
    api(worker).post(
        f"/api/v1/documents/{note['id']}/versions", json={"text": "v2", "base_version": 1}
    )
    return {"note": note, "upload": upload}


def _document_urls(case, document) -> list[tuple[str, str, dict | None]]:
    url = f"/api/v1/documents/{document['id']}"
    return [
        ("get", url, None),
        ("get", f"{url}/versions/1", None),
        ("get", f"{url}/versions/1/content", None),
        ("get", f"{url}/diff?from=1&to=2", None),
        ("post", f"{url}/versions", {"text": "x", "base_version": 2}),
        ("post", f"{url}/restore", {"version": 1, "base_version": 2}),
    ]


def _case_urls(case) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"/api/v1/cases/{case.id}/documents", None),
        ("post", f"/api/v1/cases/{case.id}/documents", NOTE),
    ]


def _call(api, user, method, url, body):
    return getattr(api(user), method)(url, **({"json": body} if body is not None else {}))


def test_other_organisation_gets_404_everywhere(
    api,
    worker,
    case,
    documents_of,
    make_user,
    make_org,
):
    stranger_org = make_org()
    for role in ("caseworker", "coordinator", "readonly"):
        stranger = make_user(role=role, org=stranger_org)
        calls = _case_urls(case)
        for document in documents_of.values():
            calls += _document_urls(case, document)
        for method, url, body in calls:
            assert_error(_call(api, stranger, method, url, body), 404, "not_found")
        expected = 200 if role == "coordinator" else 404  # metadata only
        assert api(stranger).get(f"/api/v1/cases/{case.id}").status_code == expected


def test_admin_of_the_same_organisation_sees_no_contents(
    api,
    worker,
    case,
    documents_of,
    make_user,
):
    admin = make_user(role="admin", org=worker.organisation)
    calls = _case_urls(case) + _document_urls(case, documents_of["note"])
    for method, url, body in calls:
        assert_error(_call(api, admin, method, url, body), 404, "not_found")


def test_unknown_documents_are_404(api, worker):
    unknown = "/api/v1/documents/4242"
    for url in (
        unknown,
        f"{unknown}/versions/1",
        f"{unknown}/versions/1/content",
        f"{unknown}/diff?from=1&to=1",
        "/api/v1/cases/4242/documents",
    ):
        assert_error(api(worker).get(url), 404, "not_found")
    for url, body in (
        (f"{unknown}/versions", {"text": "x", "base_version": 1}),
        (f"{unknown}/restore", {"version": 1, "base_version": 1}),
        ("/api/v1/cases/4242/documents", NOTE),
    ):
        assert_error(api(worker).post(url, json=body), 404, "not_found")


def test_readonly_colleague_reads_but_may_not_write(
    api,
    db,
    worker,
    case,
    documents_of,
    make_user,
):
    reader = make_user(role="readonly", org=worker.organisation)
    note = documents_of["note"]
    for method, url, body in _case_urls(case) + _document_urls(case, note):
        expected = 403 if method == "post" else 200
        if url.endswith("/content"):
            expected = 404  # a note has no file
        response = _call(api, reader, method, url, body)
        assert response.status_code == expected, (url, response.text)
    upload = documents_of["upload"]
    response = _raw_upload(
        api, reader, f"/api/v1/documents/{upload['id']}/versions", b"x", b'filename="x.txt"'
    )
    assert_error(response, 403, "forbidden")
    assert _count(db, Document) == 2


def test_internal_documents_stay_inside_the_author_organisation(
    api,
    db,
    worker,
    case,
    make_user,
    make_org,
    save_ctx,
):
    partner_org = make_org(name="Jobcenter Kreis Gütersloh", kind="jobcenter")
    consents.record(db, worker, case, organisation_ids=[partner_org.id])
    db.commit()
    partner = make_user(org=partner_org)
    shared = _create(api, worker, case, NOTE)
    internal = _create(api, worker, case, {**NOTE, "title": "Intern", "visibility": "internal"})
    api(worker).post(
        f"/api/v1/documents/{internal['id']}/versions", json={"text": "v2", "base_version": 1}
    )
    listing = api(partner).get(f"/api/v1/cases/{case.id}/documents").get_json()
    assert [d["id"] for d in listing["items"]] == [shared["id"]]
    for method, url, body in _document_urls(case, internal):
        assert_error(_call(api, partner, method, url, body), 404, "not_found")
    assert api(partner).get(f"/api/v1/documents/{shared['id']}").status_code == 200
    case_json = api(partner).get(f"/api/v1/cases/{case.id}").get_json()
    assert {o["id"] for o in case_json["organisations_with_access"]} == {
        worker.organisation_id,
        partner_org.id,
    }
    # the partner's own internal note is hidden from the lead organisation in turn
    own = _create(api, partner, case, {**NOTE, "title": "JC intern", "visibility": "internal"})
    assert_error(api(worker).get(f"/api/v1/documents/{own['id']}"), 404, "not_found")
    assert api(partner).get(f"/api/v1/documents/{own['id']}").status_code == 200


# ---------------------------------------------------------------- uploads


def test_real_pdf_upload_and_download(api, app, db, spec, worker, case):
    data = (REALDOCS / "GeoTopo-komprimiert.pdf").read_bytes()
    response = _upload(api, worker, case, data, "GeoTopo-komprimiert.pdf")
    assert response.status_code == 201, response.text
    document = response.get_json()
    assert_matches(spec, response_schema(spec, "/cases/{case_id}/documents", "post", 201), document)
    assert (document["type"], document["title"]) == ("file", "GeoTopo-komprimiert.pdf")
    url = f"/api/v1/documents/{document['id']}/versions/1"
    version = api(worker).get(url).get_json()
    path = "/documents/{document_id}/versions/{number}"
    assert_matches(spec, response_schema(spec, path, "get", 200), version)
    assert version["file"] == {
        "filename": "GeoTopo-komprimiert.pdf",
        "media_type": "application/pdf",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "extraction": "done",  # the test app drains the outbox after the response
        "extraction_note": version["file"]["extraction_note"],
    }
    assert "Mannigfaltigkeit" in version["extracted_text"]
    assert version["text"] is None and version["fields"] is None

    content = api(worker).get(f"{url}/content")
    assert content.status_code == 200
    assert content.data == data
    assert content.mimetype == "application/pdf"
    assert content.headers["Content-Disposition"] == (
        "attachment; filename=\"GeoTopo-komprimiert.pdf\"; filename*=UTF-8''GeoTopo-komprimiert.pdf"
    )
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    download = db.scalar(select(AuditEvent).where(AuditEvent.action == "download"))
    assert (download.user_id, download.object_id) == (worker.id, document["id"])


def test_odt_text_is_extracted(api, worker, case):
    data = (REALDOCS / "source.odt").read_bytes()
    document = _upload(api, worker, case, data, "source.odt", title="Quelle").get_json()
    assert document["title"] == "Quelle"
    version = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1").get_json()
    assert version["file"]["media_type"] == "application/vnd.oasis.opendocument.text"
    assert version["file"]["extraction"] == "done"
    assert "Lorem ipsum" in version["extracted_text"]


def test_upload_visibility_and_unicode_filename(api, worker, case, make_user):
    name = "Bescheid Jobcenter – März.txt"
    response = _upload(api, worker, case, b"Inhalt\n", name, visibility="internal")
    assert response.status_code == 201, response.text
    document = response.get_json()
    assert document["visibility"] == "internal"
    content = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1/content")
    assert content.headers["Content-Disposition"] == (
        'attachment; filename="Bescheid Jobcenter _ M_rz.txt"; '
        "filename*=UTF-8''Bescheid%20Jobcenter%20%E2%80%93%20M%C3%A4rz.txt"
    )


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b"filename*=UTF-8''..%2F..%2Fetc%2F%22pass%22%0D%0Awd%E2%80%AEgpj.txt", "passwdgpj.txt"),
        (b"filename*=UTF-8''%E2%80%AEfdp.exe", "fdp.exe.txt"),
        (b'filename="..\\\\..\\\\Windows\\\\boot.ini"', "boot.ini.txt"),
        (b"filename*=UTF-8''a%3Bb%25c%22.txt", "a;b%c.txt"),
    ],
)
def test_hostile_filenames_are_sanitised(api, worker, case, disposition, expected):
    url = f"/api/v1/cases/{case.id}/documents"
    response = _raw_upload(api, worker, url, b"harmlos\n", disposition)
    assert response.status_code == 201, response.text
    document = response.get_json()
    version = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1").get_json()
    filename = version["file"]["filename"]
    assert filename == expected
    assert not set(filename) & set('/\\"\r\n\u202e')
    header = api(worker).get(f"/api/v1/documents/{document['id']}/versions/1/content").headers
    disposition_header = header["Content-Disposition"]
    assert disposition_header.startswith('attachment; filename="')
    assert "\r" not in disposition_header and "\n" not in disposition_header
    assert disposition_header.count('"') == 2


def test_html_disguised_as_pdf_is_415(api, app, db, worker, case):
    page = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    response = _upload(api, worker, case, page, "bescheid.pdf")
    assert_error(response, 415, "unsupported_type")
    assert _count(db, Document) == 0
    assert _store_files(app) == []


def test_docx_zip_bomb_is_400(api, app, db, worker, case):
    bomb = _docx("x", extra={"word/media/bomb.bin": b"\x00" * (50 * 2**20)})
    assert len(bomb) < 200_000
    assert_error(_upload(api, worker, case, bomb, "lebenslauf.docx"), 400, "invalid_upload")
    assert _count(db, Document) == 0
    assert _store_files(app) == []


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"title": "Scan"}, {"file": "required"}),
        ({"file": "not a file"}, {"file": "must_be_file"}),
        ({"file": (b"x", "x.txt"), "type": "note"}, {"type": "unknown_field"}),
        ({"file": (b"x", "x.txt"), "comment": "y"}, {"comment": "unknown_field"}),
        ({"file": (b"x", "x.txt"), "scan": (b"y", "y.txt")},
         {"scan": "unknown_field"}),
        ({"file": (b"x", "x.txt"), "visibility": "world"}, {"visibility": "invalid"}),
    ],
)  # fmt: skip
def test_invalid_multipart_uploads_are_422(api, db, worker, case, data, fields):
    response = api(worker).post(
        f"/api/v1/cases/{case.id}/documents", data=_files(data), content_type="multipart/form-data"
    )
    assert assert_error(response, 422, "validation_failed")["fields"] == fields
    assert _count(db, Document) == 0


def test_new_file_version_diff_and_restore(api, spec, worker, case):
    first = (REALDOCS / "002-trivial-libre-office-writer.pdf").read_bytes()
    second = (REALDOCS / "pdflatex-4-pages.pdf").read_bytes()
    document = _upload(api, worker, case, first, "brief.pdf").get_json()
    url = f"/api/v1/documents/{document['id']}"
    response = api(worker).post(
        f"{url}/versions",
        data={"file": (io.BytesIO(second), "brief-neu.pdf"), "base_version": "1",
              "comment": "unterschrieben"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 201, response.text
    version = response.get_json()
    assert (version["number"], version["comment"]) == (2, "unterschrieben")
    assert version["file"]["sha256"] == hashlib.sha256(second).hexdigest()
    assert version["title"] == "brief.pdf"  # the document's title stays
    assert api(worker).get(f"{url}/versions/1/content").data == first
    assert api(worker).get(f"{url}/versions/2/content").data == second

    diff = api(worker).get(f"{url}/diff?from=1&to=2").get_json()
    assert_matches(spec, response_schema(spec, "/documents/{document_id}/diff", "get", 200), diff)
    assert diff["kind"] == "text"
    assert diff["file"] == {
        "from": {"filename": "brief.pdf", "sha256": hashlib.sha256(first).hexdigest()},
        "to": {"filename": "brief-neu.pdf", "sha256": hashlib.sha256(second).hexdigest()},
    }
    stale = api(worker).post(
        f"{url}/versions",
        data={"file": (io.BytesIO(b"x"), "x.txt"), "base_version": "1"},
        content_type="multipart/form-data",
    )
    assert assert_error(stale, 409, "version_conflict")["fields"] == {"current_version": 2}

    restored = api(worker).post(f"{url}/restore", json={"version": 1, "base_version": 2})
    assert restored.status_code == 201, restored.text
    assert restored.json["file"]["sha256"] == hashlib.sha256(first).hexdigest()
    assert restored.json["file"]["filename"] == "brief.pdf"
    assert api(worker).get(f"{url}/versions/3/content").data == first


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"file": (b"x", "x.txt")}, {"base_version": "required"}),
        ({"file": (b"x", "x.txt"), "base_version": ""}, {"base_version": "required"}),
        ({"file": (b"x", "x.txt"), "base_version": "eins"},
         {"base_version": "must_be_integer"}),
        ({"file": (b"x", "x.txt"), "base_version": "²"},
         {"base_version": "must_be_integer"}),
        ({"base_version": "1"}, {"file": "required"}),
        ({"file": (b"x", "x.txt"), "base_version": "1", "text": "y"},
         {"text": "unknown_field"}),
        ({"file": (b"x", "x.txt"), "base_version": "1", "visibility": "internal"},
         {"visibility": "cannot_change"}),
        ({"file": (b"x", "x.txt"), "base_version": "0"}, {"base_version": "must_be_positive"}),
        ({"file": (b"x", "x.txt"), "base_version": "9999999999"},
         {"base_version": "must_be_integer"}),
        ({"file": "x.txt", "base_version": "1"}, {"file": "must_be_file"}),
    ],
)  # fmt: skip
def test_invalid_file_versions_are_422(api, worker, case, data, fields):
    document = _upload(api, worker, case, b"eins\n", "a.txt").get_json()
    response = api(worker).post(
        f"/api/v1/documents/{document['id']}/versions",
        data=_files(data),
        content_type="multipart/form-data",
    )
    assert assert_error(response, 422, "validation_failed")["fields"] == fields


def test_file_cannot_be_added_to_a_note(api, worker, case):
    note = _create(api, worker, case, NOTE)
    response = api(worker).post(
        f"/api/v1/documents/{note['id']}/versions",
        data={"file": (io.BytesIO(b"x"), "x.txt"), "base_version": "1"},
        content_type="multipart/form-data",
    )
    assert assert_error(response, 422, "validation_failed")["fields"] == {"file": "unknown_field"}
    assert_error(api(worker).get(f"/api/v1/documents/{note['id']}/versions/1/content"), 404)
    upload = _upload(api, worker, case, b"eins\n", "a.txt").get_json()
    assert_error(api(worker).get(f"/api/v1/documents/{upload['id']}/versions/2/content"), 404)


class TestSizeLimit:
    """With a 1 MB limit: the service refuses a little more, Flask refuses much more."""

    @pytest.fixture
    def app_config(self, app_config):
        app_config["max_upload_mb"] = 1
        return app_config

    def test_oversized_uploads_are_413(self, api, app, db, worker, case):
        just_over = b"a" * (2**20 + 1)
        error = assert_error(_upload(api, worker, case, just_over, "gross.txt"), 413, "too_large")
        assert "1 MB" in error["message"]
        far_over = b"a" * (2 * 2**20)
        assert_error(_upload(api, worker, case, far_over, "riesig.txt"), 413)
        assert _count(db, Document) == 0
        assert _store_files(app) == []
        fits = _upload(api, worker, case, b"a" * (2**20 - 1), "passt.txt")
        assert fits.status_code == 201, fits.text


def test_upload_errors_follow_accept_language(api, worker, case):
    response = api(worker).post(
        f"/api/v1/cases/{case.id}/documents",
        data={"file": (io.BytesIO(b"<html></html>"), "x.pdf")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert assert_error(response, 415)["message"].startswith("This file type is not accepted.")


def test_no_token_no_documents(client, worker, case):
    for url in (f"/api/v1/cases/{case.id}/documents", "/api/v1/documents/1"):
        assert_error(client.get(url), 401, "unauthenticated")
        assert_error(client.get(url, headers=bearer("kim_nonsense")), 401)
