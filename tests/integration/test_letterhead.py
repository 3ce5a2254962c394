"""The letterhead of printouts: contact line and logo, kept by an administrator."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.models import Blob
from portal.services import consistency, documents, retention


def _png(color: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(out, "PNG")
    return out.getvalue()


def _save(auth, org, **fields):
    data = {"name": org.name, "kind": org.kind, "address": "Rathausstraße 1\n33397 Rietberg",
            "active": "y", **fields}  # fmt: skip
    return auth.post(f"/admin/organisations/{org.id}", data, page=f"/admin/organisations/{org.id}")


@pytest.fixture
def org(make_org):
    """The organisation whose letterhead is edited."""
    return make_org(name="Stadt Rietberg")


@pytest.fixture
def admin_auth(auth, make_user, org):
    """``auth`` with an administrator of ``org`` logged in."""
    admin = make_user(role="admin", org=org)
    assert auth.login(admin.email).status_code == 302
    return auth


def test_admin_sets_contact_and_logo_which_the_agreement_prints(
    app, client, db, admin_auth, org, make_user, make_case, save_ctx
):
    response = _save(admin_auth, org, contact="Tel. 05244 986-0 · kim@rietberg.example",
                     logo=(io.BytesIO(_png()), "wappen.png"))  # fmt: skip
    assert response.status_code == 302
    db.refresh(org)
    assert org.contact == "Tel. 05244 986-0 · kim@rietberg.example"
    blob = db.get(Blob, org.logo_sha256)
    assert blob.media_type == "image/png"
    form = client.get(f"/admin/organisations/{org.id}").text
    assert f'src="/admin/organisations/{org.id}/logo"' in form
    preview = client.get(f"/admin/organisations/{org.id}/logo")
    assert preview.status_code == 200 and preview.data == _png()
    assert preview.mimetype == "image/png"

    # A caseworker of the organisation prints an agreement: the logo is on it.
    worker = make_user(org=org)
    case = make_case(worker)
    agreement = documents.create_document(
        db, worker, case, doc_type="agreement", title="Integrationsvereinbarung", ctx=save_ctx,
        content=documents.Content(fields={"goals": [{"goal": "Deutschkurs B1"}]}),
    )  # fmt: skip
    db.commit()
    admin_auth.logout()
    admin_auth.login(worker.email)
    assert client.get(f"/admin/organisations/{org.id}/logo").status_code == 403
    reader = PdfReader(io.BytesIO(client.get(f"/documents/{agreement.id}/versions/1/pdf").data))
    assert "kim@rietberg.example" in reader.pages[0].extract_text()
    assert reader.pages[0]["/Resources"]["/XObject"]  # the logo image

    # The logo blob is referenced: the consistency check does not call it unreferenced.
    report = consistency.check(db, app.extensions["portal.blobs"], app.extensions["portal.search"])
    assert org.logo_sha256 not in report.unreferenced_blobs


def test_removing_the_logo_and_refusing_what_is_no_small_image(db, client, admin_auth, org):
    assert _save(admin_auth, org, logo=(io.BytesIO(_png()), "wappen.png")).status_code == 302
    blobs = db.scalar(select(func.count()).select_from(Blob))

    not_an_image = _save(admin_auth, org, logo=(io.BytesIO(b"%PDF-1.4\n%%EOF"), "logo.png"))
    too_large = _save(
        admin_auth, org, logo=(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 2**20), "x.png")
    )
    html_page = _save(admin_auth, org, logo=(io.BytesIO(b"<html><script>x</script>"), "logo.png"))

    assert not_an_image.status_code == 422 and "PNG- oder JPEG-Bild" in not_an_image.text
    assert too_large.status_code == 422 and "höchstens 1 MB" in too_large.text
    assert html_page.status_code == 422
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Blob)) == blobs
    assert org.logo_sha256 is not None  # the old logo is still there
    assert _save(admin_auth, org, remove_logo="y").status_code == 302
    db.refresh(org)
    assert org.logo_sha256 is None
    assert client.get(f"/admin/organisations/{org.id}/logo").status_code == 404


def test_purging_a_case_keeps_a_blob_that_is_also_a_logo(db, app, make_user, make_case, save_ctx):
    from portal.services import access, accounts, cases

    worker = make_user()
    accounts.save_organisation(
        db, actor=access.SYSTEM, org=worker.organisation, name=worker.organisation.name,
        kind="kommune",
        letterhead=accounts.Letterhead(
            logo=documents.Upload(io.BytesIO(_png("red")), "logo.png"), ctx=save_ctx
        ),
    )  # fmt: skip
    case = make_case(worker)
    documents.create_document(
        db, worker, case, doc_type="file", title="Logo als Datei", ctx=save_ctx,
        content=documents.Content(upload=documents.Upload(io.BytesIO(_png("red")), "l.png")),
    )  # fmt: skip
    cases.update_case(db, worker, case, phase="abgeschlossen")
    case.closed_at = case.closed_at.replace(year=case.closed_at.year - 10)
    db.commit()

    report = retention.purge_due(db, app.extensions["portal.blobs"], retention.RetentionRule(3))
    db.commit()

    assert report.case_ids == [case.id]
    assert report.blobs_deleted == []
    assert app.extensions["portal.blobs"].exists(worker.organisation.logo_sha256)
