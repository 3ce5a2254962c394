"""gunicorn's start-up (portal/gunicorn_config.py) does what ``portal serve`` does: refuses
a database that is not current with the same message, rebuilds a missing search index
once in the master, and starts with the metrics of an earlier run gone."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from portal import gunicorn_config
from portal.models import DocumentVersion
from portal.services.search import make_backend


@pytest.fixture
def environment(app_config, monkeypatch):
    for key, value in app_config.items():
        monkeypatch.setenv(f"PORTAL_{key.upper()}", str(value))
    return app_config


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_uninitialised_database_stops_the_master_with_the_hint(
    environment, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SystemExit) as stopped:
        gunicorn_config.on_starting(None)
    assert stopped.value.code == 1
    assert "portal init" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_missing_index_is_rebuilt_once_before_the_workers_start(
    environment, db, make_user, make_case, make_note
):
    worker = make_user()
    note = make_note(worker, make_case(worker), text="Wohnungssuche begonnen.")
    index = environment["search_index"]
    shutil.rmtree(index)
    gunicorn_config.on_starting(None)
    versions = make_backend("tantivy", index).version_ids()
    assert versions == set(db.scalars(select(DocumentVersion.id).filter_by(document_id=note.id)))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_of_an_earlier_run_are_cleared(environment, monkeypatch, tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_4711.db").write_bytes(b"old")
    (metrics / "README").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    gunicorn_config.on_starting(None)
    assert sorted(p.name for p in metrics.iterdir()) == ["README"]
