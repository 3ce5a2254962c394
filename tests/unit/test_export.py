"""Art. 15 export: one ZIP with everything about the case, for the lead organisation only."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from portal.services import access, audit, consents, documents, export
from portal.services.audit import Requester
from portal.services.errors import AccessDenied, NotFound


def test_export_contains_data_versions_files_and_access_log(
    db, app, make_user, make_case, make_note, save_ctx
):
    worker, partner = make_user(), make_user()
    case = make_case(worker, given_name="Iryna", family_name="Shevchenko")
    note = make_note(worker, case, text="Erste Fassung")
    documents.add_version(
        db,
        worker,
        note,
        base_version=1,
        content=documents.Content(text="Zweite Fassung"),
        ctx=save_ctx,
    )
    upload = documents.Upload(io.BytesIO(b"Zeugnis"), "zeugnis.txt")
    documents.create_document(
        db, worker, case, doc_type="file", title="Zeugnis",
        content=documents.Content(upload=upload),
        ctx=save_ctx,
    )  # fmt: skip
    consents.record(db, worker, case, organisation_ids=[partner.organisation_id], purpose="Arbeit")
    audit.record(db, "view", actor=partner, object_type="case", object_id=case.id, case_id=case.id)
    db.commit()

    data = export.collect(db, Requester(worker), case)
    out = io.BytesIO()
    export.write_zip(data, app.extensions["portal.blobs"], b"%PDF-1.7 Auskunft", out)
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    assert archive.read("auskunft.pdf") == b"%PDF-1.7 Auskunft"
    case_json = json.loads(archive.read("fall.json"))
    assert case_json["person"]["family_name"] == "Shevchenko"
    assert case_json["consents"][0]["purpose"] == "Arbeit"
    texts = {archive.read(n).decode() for n in names if n.endswith(".txt") and "version" in n}
    assert {"Erste Fassung", "Zweite Fassung", "Zeugnis"} <= texts
    log = list(
        csv.reader(io.StringIO(archive.read("zugriffe.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert log[0] == ["zeitpunkt", "aktion", "organisation", "objekt"]  # no staff names
    partner_org = partner.organisation.name
    assert any(row[1] == "view" and row[2] == partner_org for row in log[1:])
    assert "export" not in [row[1] for row in log[1:]]  # not part of its own access log
    assert partner.name not in archive.read("zugriffe.csv").decode("utf-8-sig")
    lines = export.accesses(data)
    assert [(a.organisation, a.action, a.object_type, a.times) for a in lines if
            a.action == "view"] == [(partner_org, "view", "case", 1)]  # fmt: skip
    assert {a.document.title for a in lines if a.document} == {"Beratungsvermerk", "Zeugnis"}


@pytest.mark.parametrize(
    ("languages", "expected"),
    [([], "de"), (["Englisch"], "en"), (["English", "Deutsch"], "de"), (["Arabisch"], "de"),
     (["Tigrinya", " english "], "en")],
)  # fmt: skip
def test_the_summary_speaks_english_to_who_reads_english_not_german(
    db, make_user, make_case, languages, expected
):
    case = make_case(make_user(), languages=languages)
    assert export.language_for(case.person) == expected


def test_only_the_lead_organisation_exports(db, make_user, make_case):
    worker = make_user()
    case = make_case(worker)
    with pytest.raises(AccessDenied):
        export.collect(db, Requester(make_user(role="readonly", org=worker.organisation)), case)
    with pytest.raises(NotFound):
        export.collect(db, Requester(make_user()), case)
    assert access.can(worker, access.EXPORT_PERSON_DATA, case)
