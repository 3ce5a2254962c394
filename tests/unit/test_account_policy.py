"""Account administration is decided by the policy inside the services, for every caller:
pages, API and the command line (which acts as ``access.SYSTEM``)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import Case, Document
from portal.models.base import local_today
from portal.services import access, accounts, consents, tokens
from portal.services.errors import AccessDenied, NotFound
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "Kanalufer-Lindenblatt-Ems-9"


def test_only_admins_and_the_system_set_up_organisations_and_users(db, make_user, make_org):
    admin, caseworker = make_user(role="admin"), make_user()
    with pytest.raises(AccessDenied):
        accounts.save_organisation(db, actor=caseworker, name="Heimlich e.V.", kind="sonstige")
    with pytest.raises(AccessDenied):
        accounts.create_user(
            db, actor=caseworker, email="neu@example.org", name="Neu", role="admin",
            organisation=caseworker.organisation, password=NEW_PASSWORD,
        )  # fmt: skip
    with pytest.raises(NotFound):  # no account is a caseworker's to manage
        accounts.update_user(
            db, caseworker, actor=caseworker, email=caseworker.email, name=caseworker.name,
            organisation=caseworker.organisation, role="admin", active=True,
        )  # fmt: skip
    with pytest.raises(AccessDenied):  # an organisation's administrator: not a new one
        accounts.save_organisation(db, actor=admin, name="Caritas", kind="wohlfahrtsverband")
    network = make_user(role="network_admin")
    assert accounts.save_organisation(db, actor=network, name="Caritas", kind="wohlfahrtsverband")
    assert accounts.save_organisation(db, actor=access.SYSTEM, name="Diakonie", kind="sonstige")


def test_an_organisations_administrator_manages_its_own_accounts_only(db, make_user, make_org):
    """Nobody resets the password of, and so becomes, someone in another organisation;
    only a network administrator manages every account, and makes network administrators."""
    admin = make_user(role="admin")
    own, elsewhere = make_user(org=admin.organisation), make_user()
    network = make_user(role="network_admin", org=admin.organisation)
    for target in (elsewhere, network):
        with pytest.raises(AccessDenied):
            accounts.set_password(db, target, NEW_PASSWORD, actor=admin)
        with pytest.raises(NotFound):
            accounts.get_user(db, target.id, admin)
    with pytest.raises(AccessDenied):  # nor moved into another organisation
        accounts.update_user(
            db, own, actor=admin, email=own.email, name=own.name,
            organisation=elsewhere.organisation, role=own.role, active=True,
        )  # fmt: skip
    for role, organisation in (("network_admin", admin.organisation),
                               ("caseworker", elsewhere.organisation)):  # fmt: skip
        with pytest.raises(AccessDenied):
            accounts.create_user(
                db, actor=admin, email=f"{role}@example.org", name="Neu", role=role,
                organisation=organisation, password=NEW_PASSWORD,
            )  # fmt: skip
    accounts.set_password(db, own, NEW_PASSWORD, actor=admin)
    assert {u.id for u in accounts.list_users(db, admin)} == {admin.id, own.id}
    assert {u.id for u in accounts.list_users(db, network)} >= {admin.id, own.id, elsewhere.id}
    accounts.set_password(db, elsewhere, NEW_PASSWORD, actor=network)
    accounts.create_user(
        db, actor=network, email="netz@example.org", name="Netz", role="network_admin",
        organisation=elsewhere.organisation, password=NEW_PASSWORD,
    )  # fmt: skip


def test_passwords_and_tokens_are_their_owners_and_the_admins(db, make_user):
    owner, colleague = make_user(), make_user()
    admin = make_user(role="admin", org=owner.organisation)
    token, _plain = tokens.create(db, owner, name="Fachverfahren", actor=owner)
    with pytest.raises(AccessDenied):
        tokens.create(db, owner, name="fremd", actor=colleague)
    with pytest.raises(AccessDenied):
        tokens.list_for(db, owner, actor=colleague)
    with pytest.raises(AccessDenied):
        tokens.revoke(db, owner, token.id, actor=colleague)
    with pytest.raises(AccessDenied):
        accounts.set_password(db, owner, NEW_PASSWORD, actor=colleague)
    assert token.revoked_at is None
    assert [t.id for t in tokens.list_for(db, owner, actor=admin)] == [token.id]
    tokens.revoke(db, owner, token.id, actor=admin)
    assert token.revoked_at is not None
    accounts.set_password(db, owner, NEW_PASSWORD, actor=owner)
    assert TEST_PASSWORD != NEW_PASSWORD


def test_the_system_reads_no_cases(db, make_user, make_case, make_note):
    worker = make_user()
    case = make_case(worker)
    note = make_note(worker, case)
    refused = [
        (access.READ_CASE_METADATA, case),
        (access.READ_CASE, case),
        (access.READ_DOCUMENT, note),
        (access.WORK_WITH_CASES, None),
    ]
    for action, target in refused:
        assert not access.can(access.SYSTEM, action, target)
    assert access.can(access.SYSTEM, access.MANAGE_ACCOUNTS)


def test_search_tokens_come_from_the_policy(db, monkeypatch, make_user, make_case, make_note):
    """Documents carry a token per right (lead; consents in force from their recording
    per organisation and last day, one that starts later on its own); a user's search
    matches the rights in force today, so consent days need no reindexing."""
    worker, partner, admin = make_user(), make_user(), make_user(role="admin")
    case = make_case(worker)
    today = local_today()
    consent = consents.record(
        db, worker, case, organisation_ids=[partner.organisation_id],
        valid_from=today + timedelta(days=1), valid_until=today + timedelta(days=2),
    )  # fmt: skip
    db.commit()
    shared = make_note(worker, case)
    internal = make_note(worker, case, visibility="internal")
    lead = f"l{worker.organisation_id}"
    released = f"c{consent.id}o{partner.organisation_id}"
    assert access.document_search_tokens(case, shared) == sorted([lead, released])
    assert access.document_search_tokens(case, internal) == [lead]  # never leaves its author
    assert access.user_search_tokens(db, worker) == [lead]
    assert access.user_search_tokens(db, admin) == []  # admins read no contents
    partner_lead = f"l{partner.organisation_id}"
    for day, expected in [(0, [partner_lead]), (1, [released, partner_lead]),
                          (2, [released, partner_lead]), (3, [partner_lead])]:  # fmt: skip
        monkeypatch.setattr(access, "local_today", lambda day=day: today + timedelta(days=day))
        assert access.user_search_tokens(db, partner) == expected
    assert access.document_search_tokens(case, shared) == [lead]  # expired: gone at reindex


def test_consents_in_force_from_their_recording_share_a_token_per_last_day(
    db, monkeypatch, make_user, make_case, make_note
):
    worker, partner = make_user(), make_user()
    today, org = local_today(), partner.organisation_id
    cases = [make_case(worker) for _ in range(4)]
    for case, until in zip(cases, [None, None, today + timedelta(days=1), today], strict=True):
        consents.record(db, worker, case, organisation_ids=[org], valid_until=until)
    db.commit()
    last_day = f"o{org}u{today + timedelta(days=1):%Y%m%d}"
    assert access.document_search_tokens(cases[0], make_note(worker, cases[0])) == [
        f"l{worker.organisation_id}", f"o{org}"
    ]  # fmt: skip
    assert f"o{org}u{today:%Y%m%d}" in access.document_search_tokens(
        cases[3], make_note(worker, cases[3])
    )
    assert access.user_search_tokens(db, partner) == sorted(
        [f"l{org}", f"o{org}", last_day, f"o{org}u{today:%Y%m%d}"]
    )
    monkeypatch.setattr(access, "local_today", lambda: today + timedelta(days=1))
    assert access.user_search_tokens(db, partner) == sorted([f"l{org}", f"o{org}", last_day])
    consents.revoke(db, worker, cases[2], cases[2].consents[0].id)
    assert access.user_search_tokens(db, partner) == [f"l{org}", f"o{org}"]


def test_no_document_is_ever_readable_by_nobody(
    db, monkeypatch, make_user, make_org, make_case, make_note
):
    """Every sequence of consents (releasing some data categories) recorded, revoked,
    expiring and hand-overs among three organisations, and of documents touching some
    categories: after each step every document, internal ones too, can be read by some
    organisation, the SQL filter of each organisation agrees with ``can``, and so do the
    search tokens (but for internal documents in the lead's custody, which search leaves
    to the folder)."""
    orgs = [make_org(name=f"Träger {n}") for n in range(3)]
    workers = [make_user(org=org) for org in orgs]
    rng = random.Random(20261205)
    today = local_today()

    def some_categories(most: int) -> list[str]:
        return rng.sample(["wohnen", "familie", "gesundheit", "arbeit"], rng.randint(0, most))

    for round_ in range(12):
        monkeypatch.setattr(access, "local_today", lambda day=today: day)
        case = make_case(workers[0])
        notes = [
            make_note(workers[0], case, title="Fall", text="Geteilt.", categories=[]),
            make_note(workers[0], case, title="Arzt", text="Befund.", categories=["gesundheit"]),
        ]
        for _step in range(8):
            lead = case.lead_organisation_id
            lead_worker = next(w for w in workers if w.organisation_id == lead)
            move = rng.choice(["record", "record", "revoke", "handover", "write", "day"])
            others = [o.id for o in orgs if o.id != lead]
            if move == "record":
                until = rng.choice([None, today + timedelta(days=rng.randint(0, 2))])
                released = rng.sample(others, rng.randint(1, 2))
                consents.record(db, lead_worker, case, organisation_ids=released,
                                valid_until=until, data_categories=some_categories(3))  # fmt: skip
            elif move == "revoke" and (open_ := [c for c in case.consents if c.revoked_at is None]):
                consents.revoke(db, lead_worker, case, rng.choice(open_).id)
            elif move == "handover" and (
                ready := sorted(access.organisations_with_access(case) - {lead})
            ):
                consents.hand_over(db, lead_worker, case, organisation_id=rng.choice(ready))
            elif move == "write":
                writer = rng.choice([w for w in workers if access.can(w, access.READ_CASE, case)])
                visibility = rng.choice(["case", "internal"])
                notes.append(make_note(writer, case, title="Notiz", visibility=visibility,
                                       categories=some_categories(2)))  # fmt: skip
            elif move == "day":  # consents end without any event
                today += timedelta(days=1)
                monkeypatch.setattr(access, "local_today", lambda day=today: day)
            db.commit()
            db.expire_all()
            for note in notes:
                readers = {
                    w.organisation_id for w in workers if access.can(w, access.READ_DOCUMENT, note)
                }
                assert readers, (round_, move, note.id)
                for worker in workers:
                    listed = db.scalar(
                        select(Document.id)
                        .join(Case, Case.id == Document.case_id)
                        .where(Document.id == note.id, access.document_filter(worker))
                    )
                    assert (listed is not None) == (worker.organisation_id in readers), (
                        round_,
                        move,
                    )
                    found = set(access.document_search_tokens(case, note)) & set(
                        access.user_search_tokens(db, worker)
                    )
                    custody = note.visibility == "internal" and (
                        worker.organisation_id != note.author_organisation_id
                    )
                    assert bool(found) == (worker.organisation_id in readers and not custody), (
                        round_,
                        move,
                        note.id,
                    )
