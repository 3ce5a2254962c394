"""Reading documents: a version, the version diff, file downloads; restoring a version."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.blueprints.documents import bp, organisation_names, signature_of
from portal.db import db_session
from portal.downloads import INLINE_TYPES, send_version_file
from portal.forms.documents import RestoreForm
from portal.http import client_ip, requester
from portal.models import Document, DocumentVersion
from portal.pipeline import refused, with_document
from portal.services import access, diff, documents, search
from portal.services.documents import VersionConflict
from portal.services.errors import InvalidInput


@bp.get("/documents/<int:document_id>")
def view(document_id: int):
    """The current version, the list of versions and the compare form."""
    return _show(*documents.read_version(db_session(), requester(), document_id))


@bp.get("/documents/<int:document_id>/versions/<int:number>")
def version(document_id: int, number: int):
    """An earlier (or the current) version."""
    return _show(*documents.read_version(db_session(), requester(), document_id, number))


def _show(document: Document, shown: DocumentVersion):
    session = db_session()
    return render_template(
        "documents/view.html",
        document=document,
        case=document.case,
        version=shown,
        versions=documents.list_versions(session, document),
        can_edit=access.can(current_user, access.EDIT_DOCUMENT, document),
        restore_form=RestoreForm(),
        org_names=organisation_names(document),
        inline_types=INLINE_TYPES,
        categories=documents.categories_shown(current_user, document),
        # An assessment read in part: documents like its hidden sections would hint at them.
        similar=[]
        if isinstance(shown, documents.PartialAssessment)
        else search.similar(session, current_app.extensions["portal.search"], current_user, shown),
        signature=signature_of(document, shown),
    )


@bp.get("/documents/<int:document_id>/diff", endpoint="diff")
def diff_view(document_id: int):
    """Two versions side by side (``?from=1&to=2``), or field by field for forms."""
    session = db_session()
    document, old, new = documents.read_diff(
        session, requester(), document_id,
        request.args.get("from", type=int), request.args.get("to", type=int),
    )  # fmt: skip
    return render_template(
        "documents/diff.html",
        document=document,
        case=document.case,
        old=old,
        new=new,
        result=diff.diff_versions(old, new),
        versions=documents.list_versions(session, document),
        org_names=organisation_names(document),
    )


@bp.post("/documents/<int:document_id>/restore")
@with_document(access.EDIT_DOCUMENT)
def restore(document: Document):
    """Save an old version again as the newest one."""
    session = db_session()
    form = RestoreForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("The form is incomplete. Please reload the page."))
    try:
        restored = documents.restore(
            session, current_user, document, number=form.version.data,
            base_version=form.base_version.data, ip=client_ip(),
        )  # fmt: skip
    except VersionConflict as exc:
        refused(exc)
        flash(str(exc.message), "error")
    else:
        flash(_("Version %(old)d was restored as version %(new)d.", old=form.version.data,
                new=restored.number), "success")  # fmt: skip
    return redirect(url_for("documents.view", document_id=document.id))


@bp.get("/documents/<int:document_id>/versions/<int:number>/file")
def download(document_id: int, number: int):
    """The file of an upload version; ``?inline=1`` opens PDFs and images in the browser."""
    shown = documents.read_file(db_session(), requester(), document_id, number)
    store = current_app.extensions["portal.blobs"]
    return send_version_file(store, shown, inline=request.args.get("inline") == "1")
