"""The audit trail: recording events into the hash chain and verifying it."""

from __future__ import annotations

import hashlib
import hmac
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, func, inspect, or_, select, update
from sqlalchemy.orm import Session

from portal.db import insert_or_ignore
from portal.models import AuditChainHead, AuditEvent, Organisation, User, utcnow
from portal.models.audit import GENESIS_HASH, HASH_VERSION
from portal.services import access
from portal.services.csvfile import csv_document

VERIFY_BATCH = 1000
# The id of the request being served (set by the request pipeline; none in commands): each
# event it records names it, to find the request's line in the access log.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


@dataclass(frozen=True)
class Requester:
    """Who makes a request, from where, through which channel (``web``, ``api``, ``cli``):
    what the trail records of every read, the same way for pages, API and commands."""

    user: User
    ip: str = ""
    channel: str = "web"


def record_read(
    session: Session,
    who: Requester,
    action: str,
    object_type: str,
    object_id: int | None = None,
    case_id: int | None = None,
    **detail,
) -> AuditEvent:
    """Audit a read (``view``, ``download``, ``print``, ``export``, ``search``) by ``who``."""
    return record(
        session, action, actor=who.user, object_type=object_type, object_id=object_id,
        case_id=case_id, ip=who.ip, detail={"via": who.channel, **detail},
    )  # fmt: skip


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    object_type: str = "",
    object_id: int | None = None,
    case_id: int | None = None,
    ip: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append an event to the chain in the caller's transaction.

    ``detail`` holds small facts (e.g. which fields changed), never contents or secrets.
    The head row is updated first: that row lock serialises concurrent appends
    on PostgreSQL, and the write lock does the same on SQLite.
    """
    if not _bump_head(session):
        _create_head(session)
        _bump_head(session)
    prev_hash, length = session.execute(
        select(AuditChainHead.last_hash, AuditChainHead.length).where(AuditChainHead.id == 1)
    ).one()
    key = _key(session)
    event = AuditEvent(
        at=utcnow(),
        action=action,
        user_id=actor.id if actor else None,
        organisation_id=actor.organisation_id if actor else None,
        object_type=object_type,
        object_id=object_id,
        case_id=case_id,
        ip=ip[:64],
        ip_digest=address_digest(key, ip[:64]),
        detail=json.dumps(_with_request(detail), sort_keys=True, ensure_ascii=False),
        prev_hash=prev_hash,
        hash_version=HASH_VERSION,
    )
    event.hash = event_hash(key, event)
    session.add(event)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_hash=event.hash, seal=head_seal(key, length, event.hash))
        .execution_options(synchronize_session=False)
    )
    return event


def _with_request(detail: dict | None) -> dict:
    request_id = REQUEST_ID.get()
    return {**(detail or {}), "request": request_id} if request_id else dict(detail or {})


def has_events(session: Session) -> bool:
    """Whether the audit trail has begun (False too before the schema exists)."""
    if not inspect(session.get_bind()).has_table(AuditEvent.__tablename__):
        return False
    return session.scalar(select(AuditEvent.id).limit(1)) is not None


def case_events(session: Session, user: User, case) -> Select:
    """The SELECT of a case's audit events, newest first, for those who may read the trail."""
    access.require_visible(user, access.READ_CASE_METADATA, case)
    access.require(user, access.READ_AUDIT, case)
    return select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id.desc())


def own_events(user: User) -> Select:
    """The SELECT of everything ``user`` did, newest first."""
    return select(AuditEvent).where(AuditEvent.user_id == user.id).order_by(AuditEvent.id.desc())


def security_events(who: Requester) -> Select:
    """The SELECT of the security log, newest first: account events and every event that
    still has its client address. For administrators; reading it is audited."""
    access.require(who.user, access.READ_SECURITY_LOG)
    return (
        select(AuditEvent)
        .where(
            or_(AuditEvent.ip != "", AuditEvent.case_id.is_(None)),
            access.security_log_filter(who.user),
        )
        .order_by(AuditEvent.id.desc())
    )


def named_actors(session: Session, reader: User, case, events: list[AuditEvent]) -> dict[int, User]:
    """Of ``events`` of ``case``'s trail, the users ``reader`` may see named, by user id
    (``access.NAME_AUDIT_ACTOR``); the others are shown by their organisation only."""
    named = [
        event
        for event in events
        if access.can(reader, access.NAME_AUDIT_ACTOR, access.ActorOf(case, event.organisation_id))
    ]
    return actors(session, named)


def actors(session: Session, events: list[AuditEvent]) -> dict[int, User]:
    """The users named in ``events``, by id, in one query."""
    ids = {event.user_id for event in events if event.user_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


def export_case_events(session: Session, who: Requester, case) -> str:
    """A case's audit trail as CSV for those who may read it; the export is audited."""
    events = list(session.scalars(case_events(session, who.user, case)))
    record_read(session, who, "export", "audit_trail", case.id, case.id)
    return events_csv(session, events, named_actors(session, who.user, case, events))


def events_csv(session: Session, events: list[AuditEvent], users: dict[int, User]) -> str:
    """``events`` as CSV: who (e-mail, where ``users`` names them; organisation) did what to
    which object, when."""
    org_ids = {event.organisation_id for event in events} - {None}
    organisations = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )
    header = ["id", "at", "action", "user", "organisation", "object_type", "object_id"]
    rows = [
        (event.id, event.at.isoformat(), event.action,
         users[event.user_id].email if event.user_id in users else "",
         organisations.get(event.organisation_id, ""), event.object_type, event.object_id)
        for event in events
    ]  # fmt: skip
    return csv_document(header, rows)


def _bump_head(session: Session) -> bool:
    bump = (
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(length=AuditChainHead.length + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(bump).rowcount)


def _create_head(session: Session) -> None:
    """Insert the head row of an empty chain; a concurrent insert by another writer is fine."""
    insert_or_ignore(
        session, AuditChainHead, {"id": 1, "length": 0, "last_hash": GENESIS_HASH}, ["id"]
    )


def head_seal(key: bytes, length: int, last_hash: str) -> str:
    """The keyed seal of the chain's head: its length and newest hash."""
    return hmac.new(key, f"head:{length}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def address_digest(key: bytes, ip: str) -> str:
    """The keyed digest of a client address that the chain hashes ("" for none): it
    stays when the address is removed, and without the key it does not give it away."""
    if not ip:
        return ""
    return hmac.new(key, f"address:{ip}".encode(), hashlib.sha256).hexdigest()


def event_hash(key: bytes, event: AuditEvent) -> str:
    """HMAC-SHA256 of an event's fields and its predecessor's hash.

    Keyed with the audit key (kept outside the database), so that someone who can
    edit the database cannot recompute a consistent chain after altering a row.
    Version 2 covers the address by its digest, version 1 (older events, until
    ``reseal``) the address itself.
    """
    address = event.ip_digest if event.hash_version == HASH_VERSION else event.ip
    payload = json.dumps(
        [
            event.prev_hash,
            event.at.isoformat(timespec="microseconds"),
            event.action,
            event.user_id,
            event.organisation_id,
            event.object_type,
            event.object_id,
            event.case_id,
            address,
            event.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


@dataclass
class ChainReport:
    """Result of verifying the audit chain."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain; report the first event whose link or content does not verify."""
    key = _key(session)
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(VERIFY_BATCH)
        ).all()
        if not batch:
            break
        for event in batch:
            if event.prev_hash != expected_prev:
                return ChainReport(False, checked, event.id, "link to previous event broken")
            if not hmac.compare_digest(event.hash, event_hash(key, event)):
                return ChainReport(False, checked, event.id, "event content altered")
            if (
                event.ip
                and event.hash_version == HASH_VERSION
                and not hmac.compare_digest(event.ip_digest, address_digest(key, event.ip))
            ):
                return ChainReport(False, checked, event.id, "client address altered")
            expected_prev = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()
    head = session.get(AuditChainHead, 1)
    head_length = head.length if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    total = session.scalar(select(func.count()).select_from(AuditEvent))
    if head_hash != expected_prev or head_length != checked or total != checked:
        return ChainReport(False, checked, None, "newest events removed or chain head altered")
    if checked and not hmac.compare_digest(head.seal, head_seal(key, head_length, head_hash)):
        return ChainReport(False, checked, None, "chain head not sealed with the audit key")
    return ChainReport(True, checked)


class ChainBroken(RuntimeError):
    """The chain does not verify: nothing that would re-seal it may run."""


def reseal(session: Session) -> int:
    """Bring events of hash version 1 to version 2 (their address hashed by digest), so
    that their addresses can be removed; return how many. Only an intact chain is
    re-sealed (ChainBroken otherwise): every later link is rehashed, and a ``reseal``
    event records the head it had, so that a checkpoint written before can still be
    matched against it."""
    if not session.scalar(select(AuditEvent.id).where(AuditEvent.hash_version < HASH_VERSION)):
        return 0
    # A write to the head row locks it (PostgreSQL row lock, SQLite write lock): no
    # event is appended while the chain is verified and rehashed.
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(length=AuditChainHead.length)
        .execution_options(synchronize_session=False)
    )
    report = verify_chain(session)
    if not report.ok:
        raise ChainBroken(report.reason)
    key, previous, old_head = _key(session), GENESIS_HASH, session.get(AuditChainHead, 1)
    old_hash, resealed, last_id = old_head.last_hash, 0, 0
    while batch := session.scalars(
        select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
        .limit(VERIFY_BATCH)
    ).all():  # fmt: skip
        for event in batch:
            if event.hash_version < HASH_VERSION:
                event.ip_digest, event.hash_version = address_digest(key, event.ip), HASH_VERSION
                resealed += 1
            event.prev_hash = previous
            event.hash = previous = event_hash(key, event)
            last_id = event.id
        session.flush()
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1)
        .values(last_hash=previous, seal=head_seal(key, old_head.length, previous))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    record(session, "reseal", detail={"events": resealed, "previous_head": old_hash})
    return resealed


def prune_addresses(session: Session, days: int) -> int:
    """Remove the client addresses of events older than ``days`` (re-sealing version 1
    events first); the chain stays verifiable, and the pruning is an event of its own.
    Return how many addresses were removed."""
    reseal(session)
    before = utcnow() - timedelta(days=days)
    removed = session.execute(
        update(AuditEvent)
        .where(AuditEvent.at < before, AuditEvent.ip != "")
        .values(ip="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if removed:
        detail = {"addresses": removed, "older_than_days": days}
        record(session, "prune_addresses", detail=detail)
    return removed


@dataclass(frozen=True)
class Checkpoint:
    """The chain's length and newest hash at a moment, sealed with the audit key: written
    outside the database, it shows later whether events up to it were cut or changed."""

    length: int
    last_hash: str
    at: str
    seal: str

    def line(self) -> str:
        """The checkpoint as one JSON line, for a file, syslog or paper."""
        return json.dumps(
            {"length": self.length, "hash": self.last_hash, "at": self.at, "seal": self.seal},
            separators=(",", ":"),
        )


def _checkpoint_seal(key: bytes, length: int, last_hash: str, at: str) -> str:
    message = f"checkpoint:{length}:{last_hash}:{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def checkpoint(session: Session) -> Checkpoint:
    """Record a ``checkpoint`` event (older events re-sealed first, so that the checkpoint
    holds for good) and return the head after it, sealed."""
    reseal(session)
    record(session, "checkpoint")
    head = session.execute(
        select(AuditChainHead.length, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one()
    at = utcnow().isoformat(timespec="seconds")
    return Checkpoint(head.length, head.last_hash, at,
                      _checkpoint_seal(_key(session), head.length, head.last_hash, at))  # fmt: skip


def verify_checkpoints(session: Session, lines: list[str]) -> ChainReport:
    """Check the chain against checkpoints written earlier: each must be sealed with the
    audit key, and the chain must still have its event number ``length`` with its hash
    (the chain itself is checked by ``verify_chain``)."""
    key = _key(session)
    for number, text in enumerate(lines, 1):
        try:
            point = json.loads(text)
            length, last_hash, at = int(point["length"]), str(point["hash"]), str(point["at"])
            seal = str(point["seal"])
        except (ValueError, KeyError, TypeError):
            return ChainReport(False, 0, None, f"checkpoint line {number} is not readable")
        if not hmac.compare_digest(seal, _checkpoint_seal(key, length, last_hash, at)):
            return ChainReport(False, 0, None, f"checkpoint of {at} not sealed with the audit key")
        event = session.scalar(
            select(AuditEvent).order_by(AuditEvent.id).offset(max(length - 1, 0)).limit(1)
        )
        if event is None:
            return ChainReport(
                False, 0, None, f"events removed: the checkpoint of {at} counted {length}"
            )
        if event.hash != last_hash:
            return ChainReport(
                False, 0, event.id, f"events changed or removed before the checkpoint of {at}"
            )
    return ChainReport(True, len(lines))


def _key(session: Session) -> bytes:
    key = session.info.get("audit_key")
    if not key:
        raise RuntimeError("the session has no audit key; create it through portal.db.Database")
    return key.encode()
