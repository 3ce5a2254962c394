"""The built package on its own: sdist -> wheel -> a fresh venv outside the checkout -> a portal.

Slow (a venv with every locked dependency), so marked ``system``: ``make test-system``.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import selectors
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from portal.services.demo import DEMO_PASSWORD
from tests.conftest import csrf_token

pytestmark = pytest.mark.system

REPOSITORY = Path(__file__).resolve().parents[2]
CATALOGS = ("portal/translations/de/LC_MESSAGES/messages.mo",
            "portal/translations/en/LC_MESSAGES/messages.mo")  # fmt: skip


def run(*command: str | Path, **kwargs) -> str:
    """Run a command; fail the test with its output when it fails."""
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=900, **kwargs
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the sdist, as pip builds one from PyPI (no compiled catalogs in it)."""
    dist = tmp_path_factory.mktemp("dist")
    build = "from hatchling.build import build_sdist; import sys; print(build_sdist(sys.argv[1]))"
    sdist = dist / run(sys.executable, "-c", build, dist, cwd=REPOSITORY).strip()
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert not [name for name in names if name.endswith(".mo")], "compiled catalogs in the sdist"
    assert not [name for name in names if "/tests/" in name or name.endswith(".db")]
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", dist, sdist)  # fmt: skip
    (wheel,) = dist.glob("kim_portal-*.whl")
    return wheel


def test_the_wheel_holds_templates_static_files_migrations_and_compiled_catalogs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (*CATALOGS, "portal/templates/base.html", "portal/static/css/pdf.css",
                     "portal/migrations/env.py"):  # fmt: skip
        assert expected in names
    assert any(name.startswith("portal/migrations/versions/0001_") for name in names)
    assert not [name for name in names if name.startswith(("tests/", "bench/", "instance/"))]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the locked runtime dependencies and the wheel; returns its bin/."""
    environment = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps",
        "-r", REPOSITORY / "requirements.txt")  # fmt: skip
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel)
    run(python, "-m", "pip", "check")
    return environment / "bin"


def portal_env(home: Path) -> dict:
    """The environment of a user outside the checkout: no PORTAL_* settings, no PYTHONPATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {**env, "HOME": str(home), "PYTHONUNBUFFERED": "1"}


def test_the_installed_portal_initialises_seeds_and_serves_in_german(installed, tmp_path):
    site = tmp_path / "kim"  # an empty folder anywhere: data lands here, not in the package
    site.mkdir()
    env = portal_env(tmp_path)
    package = Path(run(installed / "python", "-c", "import portal; print(portal.__file__)",
                       cwd=site, env=env).strip()).parent  # fmt: skip
    assert REPOSITORY not in package.parents
    before = sorted(package.rglob("*"))

    assert "Datenbank angelegt" in run(installed / "portal", "init", cwd=site, env=env)
    assert "s.hoffmann@rietberg.example" in run(
        installed / "portal", "seed-demo", cwd=site, env=env
    )
    assert (site / "instance" / "portal.db").is_file()
    assert (site / "search_index").is_dir()

    server = subprocess.Popen(
        [installed / "portal", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = _announced_url(server)
        _check_pages(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    after = sorted(path for path in package.rglob("*") if "__pycache__" not in path.parts)
    assert after == [path for path in before if "__pycache__" not in path.parts]


def _announced_url(server: subprocess.Popen) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=120), "`portal serve` printed nothing"
    line = server.stdout.readline()
    match = re.search(r"KIM Portal: (http://127\.0\.0\.1:\d+)/", line)
    assert match, line + server.stderr.read()
    return match.group(1)


def _check_pages(base: str) -> None:
    """The German login page, its styles, a demo login, a case folder and its PDF summary."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def get(path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data else None
        return browser.open(base + path, data=body, timeout=60)

    login = get("/login").read().decode()
    assert 'lang="de"' in login and "Anmelden" in login
    assert b".card" in get("/static/css/portal.css").read()
    credentials = {"email": "s.hoffmann@rietberg.example", "password": DEMO_PASSWORD}
    start = get("/login", {**credentials, "csrf_token": csrf_token(login)}).read().decode()
    assert "Abmelden" in start
    case_ids = re.findall(r'href="/cases/(\d+)"', get("/cases/").read().decode())
    assert case_ids, "the demo cases are not listed"
    folder = get(f"/cases/{case_ids[0]}").read().decode()
    assert "Dokumente" in folder
    summary = get(f"/cases/{case_ids[0]}/summary.pdf")
    assert summary.headers["Content-Type"] == "application/pdf"
    assert summary.read().startswith(b"%PDF-")
