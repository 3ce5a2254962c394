"""Migrations and models agree, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import update

from portal.migrate import alembic_config, is_current, upgrade
from portal.models import Base, DocumentVersion, categories
from portal.services import cases, consents, documents


def test_migrated_schema_matches_the_models(app):
    database = app.extensions["portal.db"]
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert is_current(database)


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    database = app.extensions["portal.db"]
    if database.engine.dialect.name != "sqlite":
        return
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_form_search_text_leaves_codes_and_dates_out(app, db, make_user, make_case, save_ctx):
    """New saves hold only written words; migration 0006 rewrites older versions' text."""
    worker = make_user()
    goal = {"area": "Wohnen", "goal": "Eigene Wohnung", "due_date": "2026-11-30", "status": "done"}
    agreement = documents.create_document(
        db, worker, make_case(worker), doc_type="agreement", title="IV",
        content=documents.Content(fields={"goals": [goal], "signed_on": "2026-12-04"}),
        ctx=save_ctx,
    )  # fmt: skip
    db.commit()
    version = documents.get_version(db, agreement, 1)
    assert version.extracted_text == "Wohnen\nEigene Wohnung"
    old = "Wohnen\nEigene Wohnung\n2026-11-30\ndone\n2026-12-04"
    db.execute(update(DocumentVersion).values(extracted_text=old + "\nText des Scans"))
    db.commit()
    database = app.extensions["portal.db"]
    command.downgrade(alembic_config(database), "0005")
    upgrade(database)
    db.expire_all()
    assert version.extracted_text == "Wohnen\nEigene Wohnung\nText des Scans"


def test_consents_get_the_day_they_were_recorded(app, db, make_user, make_case):
    """Migration 0007 gives existing consents the day in Germany of their ``recorded_at``."""
    worker, partner = make_user(), make_user()
    consent = consents.record(
        db, worker, make_case(worker), organisation_ids=[partner.organisation_id]
    )
    late_evening = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March in Germany
    consent.recorded_at = late_evening
    db.commit()
    database = app.extensions["portal.db"]
    command.downgrade(alembic_config(database), "0006")
    upgrade(database)
    db.expire_all()
    assert consent.recorded_on == date(2026, 3, 2)
    # SQLite rebuilds the table: the organisations released (ON DELETE CASCADE) stay.
    assert [o.id for o in consent.organisations] == [partner.organisation_id]


def test_existing_documents_and_consents_get_data_categories(app, db, make_user, save_ctx):
    """Migration 0009: an assessment the categories of its filled-in sections, other
    documents their case's focus areas that are data categories; a consent recorded
    without categories releases all but health."""
    worker, partner = make_user(), make_user()
    case = cases.create_case(
        db, worker, person={"given_name": "Lina", "family_name": "Aziz"},
        focus_areas=["wohnen", "gesundheit", "ehrenamt"],
    )  # fmt: skip
    note = documents.create_document(
        db, worker, case, doc_type="note", title="Vermerk", categories=[],
        content=documents.Content(text="Text."), ctx=save_ctx,
    )  # fmt: skip
    assessment = documents.create_document(
        db, worker, case, doc_type="assessment", title="Bestandsaufnahme",
        content=documents.Content(fields={"family": "Zwei Kinder"}), ctx=save_ctx,
    )  # fmt: skip
    documents.add_version(
        db, worker, assessment, base_version=1, ctx=save_ctx,
        content=documents.Content(fields={"housing": "WG"}),
    )  # fmt: skip
    unnamed = consents.record(db, worker, case, organisation_ids=[partner.organisation_id])
    named = consents.record(
        db, worker, case, organisation_ids=[partner.organisation_id], data_categories=["familie"]
    )
    db.commit()
    database = app.extensions["portal.db"]
    command.downgrade(alembic_config(database), "0008")
    upgrade(database)
    db.expire_all()
    assert note.data_categories == ["wohnen", "gesundheit"]
    assert note.category_bits == categories.to_bits(["wohnen", "gesundheit"])
    assert assessment.data_categories == ["wohnen", "familie"]  # version 1 held the family
    assert unnamed.released == list(categories.RELEASED_BY_DEFAULT)
    assert named.released == ["familie"]
