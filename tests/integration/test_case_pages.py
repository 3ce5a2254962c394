"""The case pages: list, opening a case (with the duplicate check), the case folder, phases."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from portal import labels
from portal.models import DOCUMENT_TYPES, FOCUS_AREAS, GENDERS, PHASES, Case, Person
from portal.services import cases, consents
from tests.conftest import Auth, csrf_token

ROW_LINK = re.compile(r'href="/cases/(\d+)"')


def fresh(db):
    """Forget what the test session has loaded, so that the app's commits are visible."""
    db.rollback()
    db.expire_all()
    return db


def login(app, user) -> Auth:
    """A separate browser, logged in as ``user``."""
    auth = Auth(app.test_client())
    assert auth.login(user.email).status_code == 302, "login failed"
    return auth


def listed_ids(html: str) -> list[int]:
    """Ids of the cases the list page links to, in order."""
    return [int(case_id) for case_id in ROW_LINK.findall(html)]


def new_case_form(**values) -> dict:
    return {
        "person-given_name": "Amina",
        "person-family_name": "Haddad",
        "person-aliases": "Amineh Hadad, امينة",
        "person-birth_date": "1990-05-17",
        "person-nationality": "syrisch",
        "person-languages": "Arabisch, Deutsch",
        "person-gender": "female",
        "person-phone": "05244 1234",
        "person-email": "amina@example.org",
        "person-address": "Rügenstraße 3\n33397 Rietberg",
        "focus_areas": ["sprache", "arbeit"],
        **values,
    }


def post_new(auth: Auth, data: dict):
    token = csrf_token(auth.client.get("/cases/new").text)
    return auth.client.post("/cases/new", data={**data, "csrf_token": token})


@contextmanager
def count_statements(app):
    """Count the SQL statements the app's engine executes inside the block."""
    statements: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["portal.db"].engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def worker(make_org, make_user):
    return make_user(org=make_org(name="Stadt Rietberg"), name="Sabine Hoffmann")


@pytest.fixture
def worker_auth(app, worker) -> Auth:
    return login(app, worker)


# ---------------------------------------------------------------- labels


def test_labels_cover_the_models_vocabularies():
    assert tuple(labels.PHASE_LABELS) == PHASES
    assert tuple(labels.FOCUS_AREA_LABELS) == FOCUS_AREAS
    assert tuple(labels.GENDER_LABELS) == GENDERS
    assert tuple(labels.DOCUMENT_TYPE_LABELS) == DOCUMENT_TYPES
    assert tuple(labels.DOCUMENT_GROUP_LABELS) == DOCUMENT_TYPES


# ---------------------------------------------------------------- list


def test_list_pages_fifty_cases_at_a_time(db, worker, worker_auth, make_case):
    made = [make_case(worker) for _ in range(53)]
    first = worker_auth.client.get("/cases/")
    assert first.status_code == 200
    assert "Gefundene Fälle: 53" in first.text
    assert listed_ids(first.text) == [case.id for case in reversed(made)][:50]
    assert 'aria-current="page"><span class="visually-hidden">Seite </span>1<' in first.text
    assert "/cases/?page=2" in first.text
    second = worker_auth.client.get("/cases/?page=2")
    assert listed_ids(second.text) == [made[2].id, made[1].id, made[0].id]
    beyond = worker_auth.client.get("/cases/?page=99")  # clamped to the last page
    assert listed_ids(beyond.text) == listed_ids(second.text)
    assert worker_auth.client.get("/cases/?page=abc").status_code == 200


def test_list_filters_and_sorts(db, app, worker, worker_auth, make_user, make_case):
    colleague = make_user(org=worker.organisation)
    anna = make_case(worker, given_name="Anna", family_name="Zander")
    bilal = make_case(worker, given_name="Bilal", family_name="Ahmadi")
    chen = make_case(colleague, given_name="Chen", family_name="Meyer")
    cases.update_case(db, worker, bilal, phase="monitoring", focus_areas=["wohnen", "arbeit"])
    db.commit()
    client = worker_auth.client

    assert listed_ids(client.get("/cases/?phase=monitoring").text) == [bilal.id]
    assert listed_ids(client.get("/cases/?focus=wohnen").text) == [bilal.id]
    assert listed_ids(client.get("/cases/?mine=1").text) == [bilal.id, anna.id]
    assert listed_ids(client.get("/cases/?q=meye").text) == [chen.id]
    assert listed_ids(client.get(f"/cases/?q={anna.reference}").text) == [anna.id]
    assert listed_ids(client.get("/cases/?sort=name").text) == [bilal.id, chen.id, anna.id]
    assert listed_ids(client.get("/cases/?sort=reference").text) == [anna.id, bilal.id, chen.id]
    assert listed_ids(client.get("/cases/?sort=created").text) == [chen.id, bilal.id, anna.id]
    none = client.get("/cases/?phase=abgeschlossen")
    assert listed_ids(none.text) == [] and "Keine Fälle passen zu diesen Filtern." in none.text
    # unknown values are ignored, not errors
    assert len(listed_ids(client.get("/cases/?phase=nonsense&sort=evil").text)) == 3
    assert len(listed_ids(client.get("/cases/?organisation=%C2%B2&page=-3").text)) == 3
    page = client.get("/cases/?phase=monitoring&mine=1")
    assert '<option selected value="monitoring">Monitoring</option>' in page.text
    assert "Wohnen" in page.text and "Arbeit" in page.text  # focus areas, translated


def test_other_organisations_case_is_not_listed_and_its_folder_is_404(
    app, worker, make_user, make_case
):
    foreign = make_case(make_user(), given_name="Olga", family_name="Fremd")
    auth = login(app, worker)
    page = auth.client.get("/cases/")
    assert "Fremd" not in page.text and foreign.id not in listed_ids(page.text)
    assert auth.client.get(f"/cases/{foreign.id}").status_code == 404
    assert auth.client.get("/cases/999999").status_code == 404
    assert auth.post(f"/cases/{foreign.id}/phase", {"phase": "monitoring"}).status_code == 404


def test_coordinator_sees_foreign_case_metadata_but_no_documents(
    app, db, worker, make_user, make_case, make_note, make_org
):
    case = make_case(worker, given_name="Olga", family_name="Petrova", birth_date="1985-03-02")
    make_note(worker, case, title="Gesundheitliche Lage", text="Vertraulich")
    coordinator = make_user(role="coordinator", org=make_org(name="Kreis Gütersloh"))
    auth = login(app, coordinator)

    page = auth.client.get("/cases/?organisation=" + str(worker.organisation_id))
    assert listed_ids(page.text) == [case.id]
    assert "nur Metadaten" in page.text and "Stadt Rietberg" in page.text

    folder = auth.client.get(f"/cases/{case.id}")
    assert folder.status_code == 200
    assert "Olga Petrova" in folder.text and case.reference in folder.text
    assert "Einwilligung" in folder.text  # the note that contents need consent
    assert 'aria-current="step"' in folder.text
    assert "Gesundheitliche Lage" not in folder.text and "Vertraulich" not in folder.text
    assert "02.03.1985" not in folder.text  # not metadata
    assert "Beratungsvermerke" not in folder.text
    assert auth.post(f"/cases/{case.id}/phase", {"phase": "monitoring"}).status_code == 404
    assert fresh(db).get(Case, case.id).phase == "erstberatung"


def test_readonly_sees_the_folder_but_cannot_change_it(
    app, db, worker, make_user, make_case, make_note
):
    case = make_case(worker)
    make_note(worker, case, title="Erstgespräch")
    reader = make_user(role="readonly", org=worker.organisation)
    auth = login(app, reader)

    folder = auth.client.get(f"/cases/{case.id}")
    assert folder.status_code == 200 and "Erstgespräch" in folder.text
    assert f"/cases/{case.id}/phase" not in folder.text
    assert f"/cases/{case.id}/focus" not in folder.text
    assert "Phase ändern" not in folder.text
    assert "Neuen Fall anlegen" not in auth.client.get("/").text
    assert "/cases/new" not in auth.client.get("/cases/").text

    assert auth.post(f"/cases/{case.id}/phase", {"phase": "monitoring"}).status_code == 403
    assert auth.post(f"/cases/{case.id}/focus", {"focus_areas": "arbeit"}).status_code == 403
    assert auth.client.get("/cases/new").status_code == 403
    assert fresh(db).get(Case, case.id).phase == "erstberatung"


def test_admin_sees_no_cases(app, worker, make_user, make_case):
    case = make_case(worker)
    auth = login(app, make_user(role="admin", org=worker.organisation))
    assert listed_ids(auth.client.get("/cases/").text) == []
    assert auth.client.get(f"/cases/{case.id}").status_code == 404
    assert "Meine Fälle" not in auth.client.get("/").text


# ---------------------------------------------------------------- opening a case


def test_create_case_opens_the_folder(db, worker_auth):
    assert worker_auth.client.get("/cases/new").status_code == 200
    response = post_new(worker_auth, new_case_form())
    assert response.status_code == 303
    case = fresh(db).scalar(select(Case))
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert case.focus_areas == ["sprache", "arbeit"]
    person = case.person
    assert (person.given_name, person.family_name, person.birth_date) == (
        "Amina",
        "Haddad",
        "1990-05-17",
    )
    assert person.aliases == ["Amineh Hadad", "امينة"]
    assert person.languages == ["Arabisch", "Deutsch"]
    assert (person.gender, person.nationality) == ("female", "syrisch")

    folder = worker_auth.client.get(response.headers["Location"])
    assert f"Der Fall {case.reference} wurde angelegt." in folder.text
    assert "Amina Haddad" in folder.text and "17.05.1990" in folder.text
    assert "Amineh Hadad, امينة" in folder.text and "Arabisch, Deutsch" in folder.text
    assert "Fall angelegt (Erstberatung)" in folder.text


def test_missing_names_are_shown_next_to_the_fields(db, worker_auth):
    response = post_new(
        worker_auth, new_case_form(**{"person-given_name": " ", "person-family_name": ""})
    )
    assert response.status_code == 422
    for name in ("given_name", "family_name"):
        assert f'aria-describedby="person-{name}-error"' in response.text
        assert f'id="person-{name}-error">Bitte füllen Sie dieses Feld aus.' in response.text
    assert 'value="Amineh Hadad, امينة"' in response.text  # the rest of the input is kept
    assert fresh(db).scalar(select(Case)) is None


def test_invalid_birth_date_is_shown_next_to_the_field(db, worker_auth):
    response = post_new(worker_auth, new_case_form(**{"person-birth_date": "31.02.1990"}))
    assert response.status_code == 422
    assert 'id="person-birth_date-error"' in response.text
    assert fresh(db).scalar(select(Case)) is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("17.05.1990", "1990-05-17"), ("7.5.1990", "1990-05-07"), ("05.1990", "1990-05"),
     ("1990", "1990"), ("", None)],
)  # fmt: skip
def test_german_birth_dates_are_converted(db, worker_auth, typed, stored):
    assert post_new(worker_auth, new_case_form(**{"person-birth_date": typed})).status_code == 303
    assert fresh(db).scalar(select(Person)).birth_date == stored


def test_duplicate_shows_candidates_then_confirm_creates(db, worker, worker_auth, make_case):
    existing = make_case(worker, given_name="Amina", family_name="Haddad", birth_date="1990-05-17")
    typed = new_case_form(**{"person-given_name": "amina", "person-birth_date": "17.05.1990"})
    response = post_new(worker_auth, typed)
    assert response.status_code == 409
    assert "Gibt es die Person schon?" in response.text
    assert existing.reference in response.text and "Stadt Rietberg" in response.text
    assert "Es handelt sich um eine andere Person – trotzdem neu anlegen" in response.text
    assert 'name="confirm_new_person"' in response.text
    assert len(fresh(db).scalars(select(Case)).all()) == 1

    confirmed = post_new(worker_auth, {**typed, "confirm_new_person": "y"})
    assert confirmed.status_code == 303
    assert len(fresh(db).scalars(select(Case)).all()) == 2


def test_person_data_is_escaped(worker_auth):
    form = new_case_form(**{"person-given_name": "<script>alert(1)</script>"})
    folder = worker_auth.client.get(post_new(worker_auth, form).headers["Location"])
    assert "<script>alert(1)</script>" not in folder.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in folder.text


# ---------------------------------------------------------------- the folder


def test_phase_change_is_recorded_in_the_timeline(db, worker, worker_auth, make_case):
    case = make_case(worker)
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert '<li class="current" aria-current="step">' in folder
    response = worker_auth.post(
        f"/cases/{case.id}/phase", {"phase": "bestandsaufnahme"}, page=f"/cases/{case.id}"
    )
    assert response.status_code == 303
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert "Die Phase wurde geändert." in folder
    assert "Phase geändert: Erstberatung → Bestandsaufnahme" in folder
    assert "Sabine Hoffmann, Stadt Rietberg" in folder
    current = re.search(r'aria-current="step">(.*?)</li>', folder, re.S).group(1)
    assert "Bestandsaufnahme" in current
    # moving back is allowed
    worker_auth.post(f"/cases/{case.id}/phase", {"phase": "erstberatung"}, page=f"/cases/{case.id}")
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert "Phase geändert: Bestandsaufnahme → Erstberatung" in folder
    assert fresh(db).get(Case, case.id).phase == "erstberatung"
    history = [change.to_phase for change in cases.phase_history(db, case)]
    assert history == ["erstberatung", "bestandsaufnahme", "erstberatung"]


def test_invalid_phase_is_refused(db, worker, worker_auth, make_case):
    case = make_case(worker)
    response = worker_auth.post(
        f"/cases/{case.id}/phase", {"phase": "nonsense"}, follow=True, page=f"/cases/{case.id}"
    )
    assert "Die Phase konnte nicht geändert werden." in response.text
    assert fresh(db).get(Case, case.id).phase == "erstberatung"


def test_focus_areas_can_be_changed(db, worker, worker_auth, make_case):
    case = make_case(worker)
    response = worker_auth.post(
        f"/cases/{case.id}/focus", {"focus_areas": ["wohnen", "sprache"]}, page=f"/cases/{case.id}"
    )
    assert response.status_code == 303
    assert fresh(db).get(Case, case.id).focus_areas == ["sprache", "wohnen"]
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert 'checked id="focus_areas-3" name="focus_areas" type="checkbox" value="wohnen"' in folder
    worker_auth.post(f"/cases/{case.id}/focus", {}, page=f"/cases/{case.id}")
    assert fresh(db).get(Case, case.id).focus_areas == []


def test_folder_lists_notes_and_internal_ones_only_to_their_organisation(
    db, app, worker, worker_auth, make_user, make_case, make_note, make_org
):
    case = make_case(worker)
    make_note(worker, case, title="Erstgespräch mit Dolmetscherin")
    make_note(worker, case, title="Interne Einschätzung", visibility="internal")
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert 'Beratungsvermerke <span class="count">(2)</span>' in folder
    assert "Erstgespräch mit Dolmetscherin" in folder and "Interne Einschätzung" in folder
    assert '<span class="badge internal">intern</span>' in folder
    assert "Beratungsvermerk angelegt" in folder  # the timeline

    # Handed over to another organisation while a consent still names the author's: the
    # new lead sees the shared note, not the internal one.
    other = make_org(name="Caritas Gütersloh")
    kept = consents.record(db, worker, case, organisation_ids=[worker.organisation_id])
    db.commit()
    fresh(db).get(Case, case.id).lead_organisation_id = other.id
    db.commit()
    auth = login(app, make_user(org=other))
    folder = auth.client.get(f"/cases/{case.id}").text
    assert "Erstgespräch mit Dolmetscherin" in folder
    assert "Interne Einschätzung" not in folder and "badge internal" not in folder
    assert 'Beratungsvermerke <span class="count">(1)</span>' in folder
    # Once no consent names the author's organisation, the note is in the lead's custody.
    consents.revoke(db, make_user(org=other), fresh(db).get(Case, case.id), kept.id)
    db.commit()
    assert "Interne Einschätzung" in auth.client.get(f"/cases/{case.id}").text


def test_folder_query_count_does_not_grow_with_documents(
    app, db, worker, worker_auth, make_user, make_case, make_note
):
    colleague = make_user(org=worker.organisation)
    small, large = make_case(worker), make_case(worker)
    for index in range(3):
        make_note(worker if index % 2 else colleague, small, title=f"Vermerk {index}")
    for index in range(30):
        make_note(worker if index % 2 else colleague, large, title=f"Vermerk {index}")
    for case in (small, large):
        cases.update_case(db, colleague, case, phase="bestandsaufnahme")
    db.commit()
    counts = []
    for case in (small, large):
        worker_auth.client.get(f"/cases/{case.id}")  # warm up
        with count_statements(app) as statements:
            page = worker_auth.client.get(f"/cases/{case.id}")
        assert page.status_code == 200
        counts.append(len(statements))
    assert "Vermerk 29" in page.text
    assert counts[0] == counts[1], counts


def test_start_page_shows_my_recent_cases(db, worker, worker_auth, make_user, make_case):
    mine = [make_case(worker, family_name=f"Meinfall{i}") for i in range(7)]
    make_case(make_user(org=worker.organisation), family_name="Kollegenfall")
    page = worker_auth.client.get("/").text
    assert "Meine Fälle" in page and "Neuen Fall anlegen" in page
    assert listed_ids(page) == [case.id for case in reversed(mine)][:5]
    assert "Kollegenfall" not in page


def test_navigation_marks_the_case_pages(worker_auth):
    page = worker_auth.client.get("/cases/").text
    assert '<a href="/cases/" aria-current="page">Fälle</a>' in page
    assert 'aria-current="page">Fälle' not in worker_auth.client.get("/").text


def test_case_pages_speak_english(worker, worker_auth, make_case):
    case = make_case(worker)
    worker_auth.post("/language", {"lang": "en"})
    assert "Cases found: 1" in worker_auth.client.get("/cases/").text
    folder = worker_auth.client.get(f"/cases/{case.id}").text
    assert "Initial consultation" in folder and "Consultation notes" in folder
