"""Schemathesis against the served API (issue 17): the demo network behind `portal serve`,
on SQLite and on PostgreSQL; the coverage and fuzzing phases with bounded, deterministic
examples must find no server error, no response outside the OpenAPI document (schema,
status code, content type). Marked ``system``: ``make test-system``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES
from tests.databases import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.system

BIN = Path(sys.executable).parent
CHECKS = ",".join([
    "not_a_server_error", "response_schema_conformance", "status_code_conformance",
    "content_type_conformance",
])  # fmt: skip
EXAMPLES = "15"  # per operation and phase: about 4,000 requests in all


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each kind for one served portal."""
    if request.param == "sqlite":
        yield ""  # the data directory's portal.db
        return
    name = f"kim_schemathesis_{uuid.uuid4().hex[:8]}"
    try:
        url = create_postgres_database(name)
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield url
    drop_postgres_database(name)


def test_the_served_api_keeps_to_its_openapi_document(tmp_path, database_url):
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path / "data"),
           "PORTAL_SEARCH_INDEX": str(tmp_path / "index")}  # fmt: skip
    env.pop("PORTAL_DATABASE_URL", None)
    if database_url:
        env["PORTAL_DATABASE_URL"] = database_url

    def portal(*args: str) -> str:
        done = subprocess.run([BIN / "portal", *args], env=env, cwd=tmp_path, text=True,
                              capture_output=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    portal("init")
    portal("seed-demo")
    token = portal("create-token", "s.hoffmann@rietberg.example").strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "portal", "serve", "--port", str(port)], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, "portal serve failed"
            time.sleep(0.2)
        run = subprocess.run(
            [BIN / "st", "run", f"http://127.0.0.1:{port}/api/v1/openapi.json",
             "--checks", CHECKS, "--phases", "coverage,fuzzing", "--max-examples", EXAMPLES,
             "--generation-deterministic", "--header", f"Authorization: Bearer {token}"],
            env={**env, "NO_COLOR": "1"}, cwd=tmp_path, text=True, capture_output=True,
            timeout=1200,
        )  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert run.returncode == 0, run.stdout[-6000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
