"""The request pipeline's transaction rule: a request that succeeds is committed, one that
is refused (error status, error page, objections shown at a form) saves nothing, unless its
error keeps what it recorded; actions after the commit run only when there was one."""

from __future__ import annotations

import pytest
from flask import Blueprint, flash
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import FormField, StringField

from portal.db import db_session
from portal.models import Organisation
from portal.pipeline import after_commit, shown_at
from portal.services import access, accounts
from portal.services.errors import InvalidCredentials, ValidationFailed


class AddressForm(FlaskForm):
    street = StringField()


class OrganisationForm(FlaskForm):
    """A form as the portal's forms declare where the services' objections go."""

    class Meta:
        csrf = False

    name = StringField()
    contact = StringField()
    address = FormField(AddressForm)
    organisation_id = StringField()
    service_fields = {"phone": "contact"}
    service_messages = {"taken": "Diesen Namen gibt es schon."}


def _create(name: str) -> None:
    accounts.save_organisation(db_session(), actor=access.SYSTEM, name=name, kind="kommune")
    db_session().flush()


@pytest.fixture
def probe(app):
    """Routes that create an organisation, then answer in the way their name says."""
    bp = Blueprint("probe", __name__, url_prefix="/probe")
    ran: list[str] = []

    @bp.get("/ok")
    def ok():
        _create("Gespeichert")
        after_commit(lambda: ran.append("after commit"))
        return "ok"

    @bp.get("/after-commit-fails")
    def after_commit_fails():
        _create("Gespeichert, obwohl danach etwas scheitert")
        after_commit(lambda: 1 / 0)
        after_commit(lambda: ran.append("the next action runs all the same"))
        return "ok"

    @bp.get("/status")
    def status():
        _create("Nicht gespeichert (422)")
        after_commit(lambda: ran.append("after a refused request"))
        return "nein", 422

    @bp.get("/raises")
    def raises():
        _create("Nicht gespeichert (Fehlerseite)")
        raise ValidationFailed("nein", fields={"name": "taken"})

    @bp.get("/keeps")
    def keeps():
        _create("Gespeichert trotz Fehler")
        raise InvalidCredentials("nein")

    @bp.get("/form")
    def form():
        form = OrganisationForm(data={"name": "x"})
        with shown_at(form, ValidationFailed) as refusal:
            _create("Nicht gespeichert (Formular)")
            raise ValidationFailed(
                "Bitte prüfen.",
                fields={"name": "taken", "address.street": "required", "phone": "invalid",
                        "organisation": "unknown", "data": "x", "case": "closed"},
            )  # fmt: skip
        _create("Nach der Ablehnung: auch nicht gespeichert")
        flash("angezeigt", "info")
        return {field.name: field.errors for field in form} | {
            "street": form.address.form.street.errors, "status": refusal.status,
        }  # fmt: skip

    app.register_blueprint(bp)
    return ran


def _names(db) -> set[str]:
    db.rollback()
    return set(db.scalars(select(Organisation.name)))


def test_a_successful_request_is_committed_and_runs_its_after_commit_actions(client, db, probe):
    assert client.get("/probe/ok").status_code == 200
    assert "Gespeichert" in _names(db)
    assert probe == ["after commit"]


@pytest.mark.parametrize("path", ["/probe/status", "/probe/raises", "/probe/form"])
def test_a_refused_request_saves_nothing_and_runs_no_after_commit_action(client, db, probe, path):
    response = client.get(path)
    assert response.status_code in (200, 422)
    assert _names(db) == set()
    assert probe == []


def test_a_failing_after_commit_action_does_not_fail_the_committed_request(client, db, probe):
    assert client.get("/probe/after-commit-fails").status_code == 200
    assert _names(db) == {"Gespeichert, obwohl danach etwas scheitert"}
    assert probe == ["the next action runs all the same"]


def test_an_error_that_keeps_changes_is_committed(client, db, probe):
    assert client.get("/probe/keeps").status_code == 401
    assert _names(db) == {"Gespeichert trotz Fehler"}


def test_objections_are_shown_at_the_fields_they_concern(client, probe):
    shown = client.get("/probe/form").get_json()
    assert shown["name"] == ["Diesen Namen gibt es schon."]  # the form's message for the code
    assert shown["street"] == ["Bitte prüfen."]  # a sub-form's field, the error's message
    assert shown["contact"] == ["Bitte prüfen."]  # service_fields: phone -> contact
    assert shown["organisation_id"] == ["Bitte prüfen."]  # organisation -> organisation_id
    assert shown["status"] == 422
    with client.session_transaction() as session:
        flashed = session["_flashes"]
    # "data" (an attribute of every form, not a field) and "case" have no field: flashed once.
    assert flashed == [("error", "Bitte prüfen."), ("info", "angezeigt")]
