"""Organisations and user accounts: create, change, deactivate; password changes."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import insert_or_ignore
from portal.models import ORGANISATION_KINDS, ROLES, Blob, Organisation, User, utcnow
from portal.services import access, audit, filetypes, sessions, tokens
from portal.services.documents import SaveContext, Upload
from portal.services.errors import NotFound, ValidationFailed
from portal.services.passwords import check_password_rule, hash_password, verify_password

MAX_CONTACT = 300
MAX_LOGO_BYTES = 1024 * 1024
LOGO_TYPES = (filetypes.PNG, filetypes.JPEG)


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def list_organisations(session: Session) -> list[Organisation]:
    """All organisations by name."""
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def get_organisation(session: Session, org_id: int) -> Organisation:
    """The organisation with ``org_id``; NotFound otherwise."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    return org


def find_organisation(session: Session, name: str) -> Organisation:
    """The organisation called ``name`` (case-insensitive); NotFound otherwise."""
    org = session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == name.strip().lower())
    )
    if org is None:
        raise NotFound(_l("No organisation called %(name)s.", name=name))
    return org


def save_organisation(
    session: Session,
    *,
    actor: User | None,
    name: str,
    kind: str,
    address: str = "",
    active: bool = True,
    org: Organisation | None = None,
    ip: str = "",
    letterhead: Letterhead | None = None,
) -> Organisation:
    """Create (``org`` is None) or update an organisation, checking name and kind.

    ``letterhead`` (None: unchanged) sets the contact line and the logo of printouts.
    """
    access.require(actor, access.MANAGE_ORGANISATION, org)
    name = " ".join(name.split())
    errors = {}
    if not name:
        errors["name"] = "required"
    if kind not in ORGANISATION_KINDS:
        errors["kind"] = "invalid"
    clash = session.scalar(
        select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    )
    if clash is not None and (org is None or clash != org.id):
        errors["name"] = "taken"
    if errors:
        raise ValidationFailed(_l("The organisation could not be saved."), fields=errors)
    creating = org is None
    if creating:
        org = Organisation(name=name, kind=kind)
        session.add(org)
    changed = _assign(org, name=name, kind=kind, address=address.strip(), active=active)
    if letterhead is not None:
        changed |= _set_letterhead(session, org, letterhead)
    session.flush()
    audit.record(
        session,
        "create" if creating else "update",
        actor=actor,
        object_type="organisation",
        object_id=org.id,
        ip=ip,
        detail={"fields": sorted(changed)},
    )
    return org


@dataclass
class Letterhead:
    """The printouts' letterhead: a contact line, and a new logo or its removal."""

    contact: str = ""
    logo: Upload | None = None
    remove_logo: bool = False
    ctx: SaveContext | None = None


def _set_letterhead(session: Session, org: Organisation, letterhead: Letterhead) -> set[str]:
    """Apply the letterhead; the logo must be a PNG or JPEG of at most 1 MB."""
    changed = _assign(org, contact=" ".join(letterhead.contact.split())[:MAX_CONTACT])
    if letterhead.logo is not None and letterhead.ctx is not None:
        sha256 = _store_logo(session, letterhead.logo, letterhead.ctx)
        changed |= _assign(org, logo_sha256=sha256)
    elif letterhead.remove_logo:
        changed |= _assign(org, logo_sha256=None)
    return changed


def _store_logo(session: Session, upload: Upload, ctx: SaveContext) -> str:
    """Stream the logo into the blob store (checked by its bytes first); its SHA-256."""
    staged = ctx.store.stage(upload.stream, min(ctx.max_upload_bytes, MAX_LOGO_BYTES))
    try:
        media_type = _image_type(staged.path)
        if media_type not in LOGO_TYPES:
            raise ValidationFailed(
                _l("The logo must be a PNG or JPEG image."), fields={"logo": "must_be_png_or_jpeg"}
            )
        ctx.store.commit(staged)
    finally:
        staged.discard()
    blob = {"sha256": staged.sha256, "size": staged.size, "media_type": media_type,
            "created_at": utcnow()}  # fmt: skip
    insert_or_ignore(session, Blob, blob, ["sha256"])
    return staged.sha256


def _image_type(path) -> str | None:
    """The detected media type, or None for content that is no accepted file at all."""
    try:
        return filetypes.detect(path)
    except (filetypes.UnsupportedFile, filetypes.HostileFile):
        return None


def list_users(session: Session, actor: User) -> list[User]:
    """The users ``actor`` manages, by organisation and name."""
    return list(
        session.scalars(
            select(User)
            .join(User.organisation)
            .where(access.account_filter(actor))
            .order_by(Organisation.name, User.name)
        )
    )


def get_user(session: Session, user_id: int, actor: User) -> User:
    """The user with ``user_id``, if ``actor`` manages their account; NotFound otherwise."""
    user = session.get(User, user_id)
    if user is None or not access.can(actor, access.MANAGE_ACCOUNT, access.AccountOf.of(user)):
        raise NotFound()
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address, or None."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    name: str,
    organisation: Organisation,
    role: str,
    password: str,
    ip: str = "",
    chosen_by_user: bool = False,
) -> User:
    """Create an active user after checking e-mail, role and the password rule. The
    password is someone else's choice (``chosen_by_user`` only for demo accounts): the
    user must change it at the first login."""
    access.require(actor, access.MANAGE_ACCOUNT, access.AccountOf(organisation.id, role))
    email = normalise_email(email)
    _check_user_fields(session, email=email, name=name, role=role)
    check_password_rule(password, user_inputs=[email, name, organisation.name])
    user = User(
        email=email,
        name=" ".join(name.split()),
        organisation=organisation,
        role=role,
        password_hash=hash_password(password),
        must_change_password=not chosen_by_user,
    )
    try:
        with session.begin_nested():  # a savepoint: the caller's transaction stays usable
            session.add(user)
    except IntegrityError as exc:  # a concurrent creation with the same e-mail
        raise ValidationFailed(_email_taken(), fields={"email": "taken"}) from exc
    audit.record(session, "create", actor=actor, object_type="user", object_id=user.id, ip=ip)
    return user


def update_user(
    session: Session,
    user: User,
    *,
    actor: User,
    email: str,
    name: str,
    organisation: Organisation,
    role: str,
    active: bool,
    ip: str = "",
) -> User:
    """Change a user's details.

    Deactivating ends the user's sessions and revokes their API tokens for good
    (reactivating does not bring old tokens back); a new role or organisation ends
    the sessions.
    """
    access.require_visible(actor, access.MANAGE_ACCOUNT, access.AccountOf.of(user))
    access.require(actor, access.MANAGE_ACCOUNT, access.AccountOf(organisation.id, role))
    email = normalise_email(email)
    _check_user_fields(session, email=email, name=name, role=role, user=user)
    if user.id == actor.id and (not active or role != actor.role):
        raise ValidationFailed(
            _l("You cannot deactivate or demote your own account."), fields={"active": "self"}
        )
    was_active, old_role = user.active, user.role
    changed = _assign(
        user,
        email=email,
        name=" ".join(name.split()),
        organisation_id=organisation.id,
        role=role,
        active=active,
    )
    user.organisation = organisation
    session.flush()
    if (was_active and not active) or old_role != role or "organisation_id" in changed:
        sessions.revoke_all(session, user)
    if was_active and not active:
        tokens.revoke_all(session, user)
    audit.record(
        session,
        "update",
        actor=actor,
        object_type="user",
        object_id=user.id,
        ip=ip,
        detail={"fields": sorted(changed)},
    )
    return user


def change_password(session: Session, user: User, *, current: str, new: str, ip: str = "") -> None:
    """The user changes their own password; all their other sessions end."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(
            _l("The current password is not correct."), fields={"current_password": "wrong"}
        )
    set_password(session, user, new, actor=user, ip=ip)


def set_password(
    session: Session, user: User, password: str, *, actor: User | None, ip: str = ""
) -> None:
    """Set a new password (own change or admin reset), end every existing session and
    revoke every API token (a token made while someone else knew the password is theirs
    too). A password set by someone else must be changed at the next login."""
    access.require(actor, access.MANAGE_CREDENTIALS, user)
    check_password_rule(password, user_inputs=[user.email, user.name, user.organisation.name])
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = actor is not user
    sessions.revoke_all(session, user)
    tokens.revoke_all(session, user)
    audit.record(
        session, "password_change", actor=actor, object_type="user", object_id=user.id, ip=ip
    )


def _check_user_fields(
    session: Session, *, email: str, name: str, role: str, user: User | None = None
) -> None:
    errors = {}
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        errors["email"] = "invalid"
    else:
        clash = session.scalar(select(User.id).where(User.email == email))
        if clash is not None and (user is None or clash != user.id):
            errors["email"] = "taken"
    if not name.strip():
        errors["name"] = "required"
    if role not in ROLES:
        errors["role"] = "invalid"
    if errors:
        message = (
            _email_taken() if errors.get("email") == "taken" else _l("Please check the input.")
        )
        raise ValidationFailed(message, fields=errors)


def _email_taken():
    return _l("A user with this e-mail address already exists.")


def _assign(obj: object, **values) -> set[str]:
    """Set attributes; return the names whose value changed."""
    changed = set()
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed
