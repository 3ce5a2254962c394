"""`portal serve` behind a real nginx on loopback (PORTAL_PROXY_COUNT=1): the portal sees
each client's own address, for throttling and the audit trail, and HTTPS from the proxy.

Clients come from different loopback addresses (127.0.0.2, 127.0.0.3), as different
machines would. Marked ``system`` (two servers started): ``make test-system``.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import csrf_token
from tests.system.cluster import NGINX, NGINX_MAIN

pytestmark = pytest.mark.system

PASSWORD = "Lindenblatt-Emsufer-Kranich-77"
EMAIL = "s.hoffmann@rietberg.example"
PORTAL = Path(sys.executable).with_name("portal")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The site, in the main file of tests/system/cluster.py.
SITE = """
server {{
  listen 127.0.0.1:{port};
  location / {{
    proxy_pass http://127.0.0.1:{app_port};
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    # As a server block terminating TLS sends it ($scheme there): the client used HTTPS.
    proxy_set_header X-Forwarded-Proto https;
  }}
}}
"""


class Client:
    """A browser at one loopback address: cookies kept, no redirects followed."""

    def __init__(self, port: int, address: str) -> None:
        self.port, self.address, self.cookies = port, address, {}

    def request(self, method: str, path: str, body: dict | None = None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.address, 0)
        )
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                # As a browser sends it: over HTTPS, Flask-WTF wants a same-origin referrer.
                "Referer": f"https://127.0.0.1:{self.port}/login", **(headers or {})}  # fmt: skip
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response, text

    def login(self, email: str, password: str, headers=None) -> int:
        _response, page = self.request("GET", "/login")
        form = {"email": email, "password": password, "csrf_token": csrf_token(page)}
        response, _text = self.request("POST", "/login", form, headers)
        return response.status


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """A portal on SQLite served by `portal serve` behind nginx; yields (nginx port,
    app port, database path)."""
    if not NGINX.exists():
        pytest.skip("nginx is not installed (make system-deps)")
    home = tmp_path_factory.mktemp("proxied")
    env = {**os.environ, "PORTAL_DATA_DIR": str(home / "data"),
           "PORTAL_SEARCH_INDEX": str(home / "index"), "PORTAL_PROXY_COUNT": "1",
           "PORTAL_SEARCH_BACKEND": "whoosh"}  # fmt: skip
    env.pop("PORTAL_DATABASE_URL", None)

    def portal(*args: str, stdin: str | None = None) -> None:
        subprocess.run([PORTAL, *args], env=env, cwd=home, input=stdin, text=True,
                       check=True, capture_output=True, timeout=300)  # fmt: skip

    portal("init")
    portal("create-org", "Stadt Rietberg", "--kind", "kommune")
    portal("create-user", EMAIL, "--org", "Stadt Rietberg", "--role", "caseworker",
           "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    app_port, nginx_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [PORTAL, "serve", "--port", str(app_port), "--threads", "4"],
        env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    user = "root" if os.geteuid() == 0 else "nobody"
    (home / "site.conf").write_text(SITE.format(port=nginx_port, app_port=app_port))
    conf = NGINX_MAIN.format(user=user, home=home, site=home / "site.conf")
    (home / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen([NGINX, "-p", str(home), "-c", str(home / "nginx.conf")],
                             stderr=subprocess.PIPE)  # fmt: skip
    try:
        for port, process in ((app_port, server), (nginx_port, nginx)):
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "a server did not start"
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, f"nothing listens on {port}"
                time.sleep(0.2)
        yield nginx_port, app_port, home / "data" / "portal.db"
    finally:
        for process in (nginx, server):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(home / "index", ignore_errors=True)


def _addresses(database: Path, action: str) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT ip FROM audit_events WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [ip for (ip,) in rows]


def test_the_portal_sees_each_clients_own_address_behind_nginx(proxied):
    port, _app_port, database = proxied
    spoofed = {"X-Forwarded-For": "203.0.113.66"}  # a client claiming another address
    assert Client(port, "127.0.0.2").login(EMAIL, "falsch", spoofed) == 200
    assert Client(port, "127.0.0.3").login(EMAIL, PASSWORD) == 302
    assert _addresses(database, "login_failed")[-1] == "127.0.0.2"
    assert _addresses(database, "login")[-1] == "127.0.0.3"


def test_throttling_locks_the_guessing_address_not_everyone(proxied):
    port, _app_port, _database = proxied
    guesser = Client(port, "127.0.0.4")
    answers = [guesser.login(f"nobody{n}@example.org", "falsch") for n in range(10)]
    assert answers == [200] * 10  # the form again, "not correct"
    assert guesser.login(EMAIL, PASSWORD) == 429  # this address is locked
    assert Client(port, "127.0.0.5").login(EMAIL, PASSWORD) == 302  # the others are not


def test_https_at_the_proxy_is_https_for_the_portal(proxied):
    port, app_port, _database = proxied
    response, _page = Client(port, "127.0.0.6").request("GET", "/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    direct, _page = Client(app_port, "127.0.0.1").request("GET", "/login")
    assert direct.headers.get("Strict-Transport-Security") is None  # plain HTTP, no proxy
