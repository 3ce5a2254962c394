"""The hint while drafting an assessment: what is known about the same person elsewhere."""

from __future__ import annotations

import pytest

from portal.services import consents, related


@pytest.fixture
def network(make_org, make_user, make_case, make_note):
    """Caritas and Diakonie each opened a case for Mohammed Al-Hassan (spelled differently)."""
    caritas, diakonie = make_org("Caritas Testdorf"), make_org("Diakonie Testdorf")
    anna = make_user(org=caritas, email="anna@caritas.example")
    bernd = make_user(org=diakonie, email="bernd@diakonie.example")
    here = make_case(anna, given_name="Mohammed", family_name="Al-Hassan", birth_date="1990-03-04")
    there = make_case(bernd, given_name="Muhammad", family_name="Alhasan", birth_date="1990-03-04")
    unrelated = make_case(bernd, given_name="Olena", family_name="Kovalenko")
    make_note(bernd, there, title="Sprachstand Diakonie", text="B1 erreicht.")
    make_note(bernd, unrelated, title="Vermerk Kovalenko", text="Wohnungssuche.")
    return {"anna": anna, "bernd": bernd, "here": here, "there": there, "unrelated": unrelated}


def test_without_consent_only_the_other_case_and_its_lead_organisation(db, network):
    found = related.related_elsewhere(db, network["anna"], network["here"])
    assert found.documents == []
    assert [(c.reference, c.lead_organisation, c.readable) for c in found.cases] == [
        (network["there"].reference, "Diakonie Testdorf", False)
    ]


def test_with_consent_the_readable_documents_are_listed(db, network, save_ctx):
    consents.record(
        db, network["bernd"], network["there"], organisation_ids=[network["anna"].organisation_id]
    )
    db.commit()
    found = related.related_elsewhere(db, network["anna"], network["here"])
    assert [d.title for d in found.documents] == ["Sprachstand Diakonie"]
    assert found.cases[0].readable


def test_the_hint_works_both_ways_and_not_for_other_persons(db, network):
    found = related.related_elsewhere(db, network["bernd"], network["there"])
    assert [c.reference for c in found.cases] == [network["here"].reference]
    assert not related.related_elsewhere(db, network["bernd"], network["unrelated"])


def test_the_assessment_editor_shows_the_hint_without_contents(client, auth, network):
    auth.login("anna@caritas.example")
    page = client.get(f"/cases/{network['here'].id}/documents/new?type=assessment")
    assert page.status_code == 200
    assert network["there"].reference in page.text
    assert "Diakonie Testdorf" in page.text
    assert "Sprachstand Diakonie" not in page.text and "B1 erreicht" not in page.text
    note_editor = client.get(f"/cases/{network['here'].id}/documents/new?type=note")
    assert network["there"].reference not in note_editor.text
