"""Settings: where an installed portal keeps its data, and where it finds its own files."""

from __future__ import annotations

import stat
import subprocess
import sys

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


def test_what_the_portal_writes_is_its_users_alone(tmp_path):
    """Database, keys, blobs and search index: files 0600, directories 0700, whatever the
    umask the portal was started with (here the usual 022)."""
    script = (
        "import os; os.umask(0o022)\n"
        "from portal import create_app\n"
        "from portal.migrate import upgrade\n"
        f"app = create_app({{'data_dir': {str(tmp_path / 'data')!r},"
        f" 'search_index': {str(tmp_path / 'index')!r}}})\n"
        "upgrade(app.extensions['portal.db'])\n"
        "app.extensions['portal.search'].rebuild(iter([]))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    written = [p for p in tmp_path.rglob("*") if p.name != "cwd"]
    assert any(p.name == "portal.db" for p in written) and any(p.is_dir() for p in written)
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_directories_an_older_version_left_open_are_closed(tmp_path):
    """Data and index directories created readable for everyone (umask 022, before the
    portal set its own) are the portal's user's alone after the next start."""
    data, index = tmp_path / "data", tmp_path / "index"
    for directory in (data, index):
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)
    (data / "portal.db").write_bytes(b"")
    Settings(data_dir=data, search_index=index).close_directories()
    assert [stat.S_IMODE(d.stat().st_mode) for d in (data, index)] == [0o700, 0o700]
