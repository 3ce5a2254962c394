"""Integration agreements after printing: signed scans and goal status updates.

A signed scan becomes a new version of the agreement (fields of the printed
version with ``signed_on``, the scan as its file, ``signed_from`` = the printed
number). A signed version is frozen: status updates keep the signature, other
changes are an unsigned Fortschreibung (see ``goals.carry_signature``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Document, DocumentVersion, User
from portal.models.base import local_date
from portal.services import access, audit, documents, filetypes, goals
from portal.services.document_fields import GOAL_STATUSES
from portal.services.documents import Content, SaveContext, Upload, VersionConflict
from portal.services.errors import Conflict, NotFound, ValidationFailed

SCAN_TYPES = (filetypes.PDF, filetypes.JPEG, filetypes.PNG)


class StaleVersion(Conflict):
    """The printed version is no longer the current one."""

    code = "stale_version"


class AlreadySigned(Conflict):
    """The current version is signed already; changes make a new version first."""

    code = "already_signed"


@dataclass
class Signature:
    """How a version stands with its signature."""

    signed_on: str | None  # the version's own signing date (kept by status updates)
    scan: DocumentVersion | None  # the latest signed scan up to this version

    @property
    def is_signed(self) -> bool:
        """The version carries a signing date."""
        return bool(self.signed_on)

    def is_frozen(self, version: DocumentVersion) -> bool:
        """``version`` says what the signed scan says: it takes no further scan."""
        return (
            self.is_signed
            and self.scan is not None
            and goals.only_statuses_changed(self.scan, version.title, version.fields or {})
        )

    @property
    def unsigned_changes(self) -> bool:
        """Content changed since the last signed scan, and nobody has signed that yet."""
        return self.scan is not None and not self.signed_on


def read_goals(
    session: Session, who: audit.Requester, document_id: int
) -> tuple[Document, list[DocumentVersion]]:
    """An agreement ``who`` may read with its versions, oldest first, for the goals and
    their status history; audited."""
    document = get_agreement(session, who.user, document_id)
    versions = list(reversed(documents.list_versions(session, document)))
    audit.record_read(session, who, "view", "document", document.id, document.case_id, goals=True)
    return document, versions


def get_agreement(
    session: Session, user: User, document_id: int, action: str = access.READ_DOCUMENT
) -> Document:
    """The agreement ``document_id``, if ``user`` may do ``action`` on it; NotFound otherwise."""
    document = documents.get_document(session, user, document_id, action)
    if document.type != "agreement":
        raise NotFound()
    return document


def signature(session: Session, document: Document, version: DocumentVersion) -> Signature:
    """The signing date of ``version`` and the latest scan saved up to it."""
    scan = session.scalar(
        select(DocumentVersion)
        .where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.number <= version.number,
            DocumentVersion.signed_from.is_not(None),
        )
        .order_by(DocumentVersion.number.desc())
        .limit(1)
    )
    return Signature((version.fields or {}).get("signed_on"), scan)


def attach_signed_scan(
    session: Session,
    actor: User,
    document: Document,
    *,
    printed_version: int,
    signed_on: str | None,
    upload: Upload,
    ctx: SaveContext,
    today: date,
    ip: str = "",
) -> DocumentVersion:
    """Save the signed scan of ``printed_version`` as the agreement's next version."""
    access.require_visible(actor, access.READ_DOCUMENT, document)
    if document.type != "agreement":
        raise NotFound()
    access.require(actor, access.EDIT_DOCUMENT, document)
    printed = _printed(session, document, printed_version)
    if signature(session, document, printed).is_frozen(printed):
        raise AlreadySigned(
            _l(
                "Version %(n)d is signed already. A signed version is frozen; edit it first"
                " to make a new version.",
                n=printed.number,
            )
        )
    signed = _signing_date(signed_on, printed, today)
    version = DocumentVersion(
        author_id=actor.id,
        organisation_id=actor.organisation_id,
        comment=str(_l("Signed copy of version %(n)d", n=printed.number)),
        title=printed.title,
        fields={**(printed.fields or {}), "signed_on": signed},
        signed_from=printed.number,
        extraction="pending",
    )
    version.blob_sha256, version.filename = documents.store_file(
        session, upload, ctx.for_case(document.case_id), accepted=SCAN_TYPES
    )
    return documents.append_version(
        session, actor, document, version, printed.number, "update", ip, document.data_categories
    )


def _printed(session: Session, document: Document, number: object) -> DocumentVersion:
    """The printed version, which must be the current one."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ValidationFailed(_l("Please check the input."), fields={"version": "required"})
    if number > document.current_version:
        raise ValidationFailed(_l("There is no version %(n)d.", n=number),
                               fields={"version": "unknown"})  # fmt: skip
    if number != document.current_version:
        raise StaleVersion(
            _l("Version %(n)d is no longer current (the current version is %(current)d). Please"
               " print the current version and have it signed.", n=number,
               current=document.current_version),
            fields={"current_version": document.current_version},
        )  # fmt: skip
    return documents.get_version(session, document, number)


def _signing_date(value: str | None, printed: DocumentVersion, today: date) -> str:
    """The signing date as ISO text: given, valid, not in the future, not before printing."""
    try:
        signed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        signed = None
    saved = local_date(printed.created_at)
    if signed is None:
        error, message = (
            ("required" if not value else "invalid_date"),
            _l("Please enter the date of signing."),
        )
    elif signed > today:
        error, message = "in_future", _l("The date of signing cannot be in the future.")
    elif signed < saved:
        error, message = (
            "before_version",
            _l("The date of signing cannot be before version %(n)d was saved.", n=printed.number),
        )
    else:
        return signed.isoformat()
    raise ValidationFailed(message, fields={"signed_on": error})


def update_statuses(
    session: Session,
    actor: User,
    document: Document,
    *,
    base_version: int,
    statuses: list[str],
    ctx: SaveContext,
    ip: str = "",
) -> DocumentVersion | None:
    """Save the goals' new statuses as a version (None when nothing changed).

    ``statuses`` are given for the goals of ``base_version``, in order.
    """
    access.require_visible(actor, access.READ_DOCUMENT, document)
    if document.type != "agreement":
        raise NotFound()
    base = documents.require_editable(session, actor, document)
    if base_version != document.current_version:
        raise VersionConflict(document.current_version)
    fields = base.fields or {}
    saved = fields.get("goals") or []
    errors = {f"goals[{i}].status": "invalid_status"
              for i, status in enumerate(statuses) if status not in GOAL_STATUSES}  # fmt: skip
    if len(statuses) != len(saved):
        errors["statuses"] = "count_mismatch"
    if errors:
        raise ValidationFailed(_l("Please choose a valid status for every goal."), fields=errors)
    if all(goal.get("status") == status for goal, status in zip(saved, statuses, strict=True)):
        return None
    changed = [dict(goal, status=status) for goal, status in zip(saved, statuses, strict=True)]
    return documents.add_version(
        session, actor, document, base_version=base_version,
        content=Content(fields={**fields, "goals": changed}), ctx=ctx,
        comment=str(_l("Status update")), ip=ip,
    )  # fmt: skip
