"""Writing documents: the editor for a new document or a new version, and conflicts."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from portal.blueprints.documents import bp, organisation_names, signature_of
from portal.db import db_session
from portal.forms import documents as forms
from portal.forms.documents import editor_form
from portal.forms.rows import row_action
from portal.http import client_ip, error_response, save_context
from portal.labels import DOCUMENT_TYPE_LABELS
from portal.models import Case, Document, DocumentVersion
from portal.pipeline import refused, shown_at, with_case, with_document
from portal.services import access, accounts, data_categories, diff, documents, related
from portal.services.documents import VersionConflict
from portal.services.errors import InvalidInput, NotFound, PortalError, ValidationFailed
from portal.services.filetypes import HostileFile, UnsupportedFile
from portal.services.storage import UploadTooLarge

UPLOAD_ERRORS = (UploadTooLarge, UnsupportedFile, HostileFile)


@bp.route("/cases/<int:case_id>/documents/new", methods=["GET", "POST"])
@with_case(access.EDIT_CASE)
def new(case: Case):
    """Write a new document of ``?type=`` into the case folder (a chooser without a type)."""
    session = db_session()
    doc_type = request.args.get("type", "")
    if not doc_type:
        return render_template("documents/choose.html", case=case)
    if doc_type not in forms.EDITORS:
        raise NotFound()
    organisations = organisations_for(doc_type)
    if request.method == "GET":
        title = "" if doc_type == "file" else str(DOCUMENT_TYPE_LABELS[doc_type])
        proposed = data_categories.propose(doc_type, title, case.focus_areas)
        form = editor_form(doc_type, editing=False, organisations=organisations,
                           data={"title": title, "data_categories": proposed})  # fmt: skip
    else:
        form = editor_form(doc_type, editing=False, organisations=organisations)

    def save(content):
        visibility = form.visibility.data if "visibility" in form else "case"
        return documents.create_document(
            session, current_user, case, doc_type=doc_type, title=form.title.data or "",
            content=content, ctx=save_context(), visibility=visibility,
            categories=_chosen(form), comment=form.comment.data or "", ip=client_ip(),
        )  # fmt: skip

    return _editor(form, doc_type, case=case, document=None, save=save)


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@with_document(access.EDIT_DOCUMENT)
def edit(document: Document):
    """Save a new version, starting from the current one; a stale start is a conflict page."""
    session = db_session()
    organisations = organisations_for(document.type)
    if request.method == "GET":
        current = documents.get_version(session, document, document.current_version)
        data = forms.form_data(document, current, document.current_version)
        form = editor_form(document.type, editing=True, organisations=organisations, data=data)
    else:
        form = editor_form(document.type, editing=True, organisations=organisations)

    def save(content):
        documents.add_version(
            session, current_user, document, base_version=form.base_version.data,
            content=content, ctx=save_context(), title=form.title.data or None,
            categories=_chosen(form), comment=form.comment.data or "", ip=client_ip(),
        )  # fmt: skip
        return document

    return _editor(form, document.type, case=document.case, document=document, save=save)


def _editor(form, doc_type: str, *, case, document, save):
    """The editor cycle: row buttons re-render, a valid form is saved, errors are shown."""
    status = 200
    if request.method == "POST":
        changed = row_action(form, request.form)
        if changed is not None:
            data, focus = changed
            form = _rebuild(form, doc_type, document, data)
            return _editor_page(form, doc_type, case, document, focus=focus, row_changed=True)
        if form.validate_on_submit():
            content = form.content()
            try:
                with shown_at(form, ValidationFailed, *UPLOAD_ERRORS) as refusal:
                    saved = save(content)
                    flash(_("The document was saved as version %(n)d.", n=saved.current_version),
                          "success")  # fmt: skip
                    return redirect(url_for("documents.view", document_id=saved.id))
            except VersionConflict as exc:
                refused(exc)
                return _conflict_page(form, document, content)
            status = refusal.status
        elif document is not None and form.base_version.errors:
            raise InvalidInput(_("The form is incomplete. Please reload the page."))
        else:
            status = 422
    return _editor_page(form, doc_type, case, document, status=status)


def _rebuild(form, doc_type: str, document, data: dict, **overrides):
    """The same editor again, from values instead of the request."""
    return editor_form(
        doc_type, editing=document is not None, organisations=organisations_for(doc_type),
        formdata=None, data={**data, **overrides},
    )  # fmt: skip


def _editor_page(form, doc_type, case, document, *, status=200, focus=None, row_changed=False):
    elsewhere = (
        related.related_elsewhere(db_session(), current_user, case)
        if doc_type == "assessment"
        else None
    )
    return render_template(
        "documents/editor.html",
        form=form,
        doc_type=doc_type,
        case=case,
        document=document,
        focus=focus,
        row_changed=row_changed,
        errors=forms.error_summary(form),
        action=action_url(),
        elsewhere=elsewhere,
        signature=signature_of(document),
    ), status


def _conflict_page(form, document: Document, content):
    """Nothing saved, nothing lost: the newer version beside the user's input, ready to merge."""
    session = db_session()
    saved = documents.get_version(session, document, document.current_version)
    data = {field.short_name: field.data for field in form if field.short_name != "csrf_token"}
    merge_form = _rebuild(form, document.type, document, data,
                          base_version=document.current_version)  # fmt: skip
    mine = DocumentVersion(number=0, title=form.title.data or saved.title, text=content.text,
                           fields=content.fields)  # fmt: skip
    comparison = diff.diff_versions(saved, mine) if document.type != "file" else None
    return render_template(
        "documents/conflict.html",
        changed_by=_changed_by(document, form.base_version.data, saved, mine),
        document=document,
        case=document.case,
        saved=saved,
        mine=mine,
        comparison=comparison,
        uploaded_name=content.upload.filename if content.upload else None,
        form=merge_form,
        doc_type=document.type,
        errors=[],
        focus=None,
        org_names=organisation_names(document),
        action=url_for("documents.edit", document_id=document.id),
        signature=signature_of(document, saved),
    ), 409


def _changed_by(document: Document, base_number: int, saved, mine) -> dict[str, str]:
    """For forms: which side changed each field since the edit began (mine, theirs, both)."""
    if document.type not in ("assessment", "agreement"):
        return {}
    try:
        base = documents.get_version(db_session(), document, base_number)
    except NotFound:
        return {}
    theirs = {c.field for c in diff.diff_versions(base, saved).changes}
    ours = {c.field for c in diff.diff_versions(base, mine).changes}
    return {
        path: "both" if path in theirs and path in ours else "mine" if path in ours else "theirs"
        for path in theirs | ours
    }


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(_exc):
    """Flask refused the request body: show the upload form again with the reason."""
    message = _("The file is larger than %(mb)d MB.", mb=max_upload_mb())
    if not current_user.is_authenticated:
        return error_response(413, "too_large", message)
    try:
        if request.endpoint == "documents.new" and request.args.get("type") == "file":
            case = with_case.load(request.view_args["case_id"], access.EDIT_CASE)
            document = None
            data = {"data_categories": data_categories.propose("file", "", case.focus_areas)}
        elif request.endpoint == "documents.edit":
            document = with_document.load(request.view_args["document_id"], access.EDIT_DOCUMENT)
            case = document.case
            data = {"title": document.title, "base_version": document.current_version,
                    "data_categories": document.data_categories}  # fmt: skip
        else:
            return error_response(413, "too_large", message)
    except PortalError as exc:  # an error handler cannot hand errors on: answer them here
        messages = {
            403: _("You are not allowed to do this."),
            404: _("This page does not exist, or you may not see it."),
        }
        return error_response(exc.status, exc.code, exc.message or messages.get(exc.status, ""))
    doc_type = document.type if document is not None else "file"
    if doc_type != "file":
        return error_response(413, "too_large", message)
    form = editor_form("file", editing=document is not None, formdata=None, data=data)
    form.file.errors = [message]
    return _editor_page(form, doc_type, case, document, status=413)


# ---------------------------------------------------------------- helpers


def _chosen(form) -> list[str] | None:
    """The data categories ticked in the editor (None for an assessment: its sections)."""
    return form.data_categories.data or [] if "data_categories" in form else None


def organisations_for(doc_type: str) -> list:
    """The organisations an agreement's goals can name (other editors need none)."""
    return accounts.list_organisations(db_session()) if doc_type == "agreement" else []


def max_upload_mb() -> int:
    """The configured upload limit, for the message."""
    return current_app.extensions["portal.settings"].max_upload_mb


def action_url() -> str:
    """Where the editor posts to: this very URL."""
    return url_for(request.endpoint, **(request.view_args or {}), **request.args.to_dict())
