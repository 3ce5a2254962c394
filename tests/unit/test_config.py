"""Settings: where an installed portal keeps its data, and where it finds its own files."""

from __future__ import annotations

from portal.config import PACKAGE, RESOURCES, Settings


def test_data_and_index_default_to_the_working_directory(tmp_path, monkeypatch):
    for name in ("DATA_DIR", "SEARCH_INDEX", "DATABASE_URL"):
        monkeypatch.delenv(f"PORTAL_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.data_dir == tmp_path / "instance"
    assert settings.search_index == tmp_path / "search_index"
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'portal.db'}"
    monkeypatch.chdir(PACKAGE)  # the paths were fixed when the settings were made
    assert settings.data_dir == tmp_path / "instance"


def test_relative_settings_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTAL_DATA_DIR", "daten")
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    assert Settings().data_dir == tmp_path / "daten"


def test_templates_static_files_and_migrations_are_found():
    for folder in ("templates", "static", "migrations"):
        assert (RESOURCES / folder).is_dir(), folder
    assert (PACKAGE / "translations" / "de" / "LC_MESSAGES" / "messages.mo").is_file()
