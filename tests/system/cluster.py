"""A production install on this machine, as ``deploy/`` describes it, and a load to drive it.

PostgreSQL; app servers started with the command of ``deploy/systemd/kim-portal.service``
(gunicorn); the index worker of ``kim-worker.service``; Debian's nginx with the site of
``deploy/nginx/kim-portal.conf``, terminating TLS and serving the portal under ``/kim/``.
Ports, addresses and the certificate are this machine's; everything else is the recipe's
own text, so that a change to the recipe is what gets tested.

Used by ``tests/system/test_cluster.py`` (faults, then checks) and ``bench/load.py``
(throughput and latency with 1 and 2 servers).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import re
import shlex
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import create_engine, text

from tests.databases import create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
NGINX = Path("/usr/sbin/nginx")
REALDOCS = ROOT / "tests" / "data" / "realdocs"
HOST = "kim.kreis.example"
PREFIX = "/kim"
DEMO_LOGIN = re.compile(r"^\s+(\S+@\S+)\s+(\S+)\s+\((caseworker), (.+)\)$", re.MULTILINE)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unit_command(unit: str) -> list[str]:
    """The ``ExecStart`` of a unit in deploy/systemd, with /opt/kim/bin this venv's."""
    for line in (DEPLOY / "systemd" / unit).read_text().splitlines():
        if line.startswith("ExecStart="):
            args = shlex.split(line.removeprefix("ExecStart="))
            return [str(BIN / Path(a).name) if a.startswith("/opt/kim/bin/") else a for a in args]
    raise LookupError(f"no ExecStart in {unit}")


def _option(args: list[str], name: str, value: str) -> list[str]:
    """``args`` with the value after ``name`` replaced (it must be there)."""
    at = args.index(name)
    return [*args[: at + 1], value, *args[at + 2 :]]


class Cluster:
    """PostgreSQL database, ``servers`` app servers, one worker, nginx; all below ``home``."""

    def __init__(self, home: Path, servers: int = 2, workers: int = 2, pin: bool = False):
        # pin: server i runs on core i alone (taskset), as if each had a machine of its own
        self.home, self.workers, self.pin = home, workers, pin
        self.database = f"kim_cluster_{uuid.uuid4().hex[:10]}"
        self.server_ports = [free_port() for _ in range(servers)]
        self.https_port, self.http_port = free_port(), free_port()
        self.servers: list[subprocess.Popen | None] = [None] * servers
        self.worker: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self.metrics_token = uuid.uuid4().hex
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
            "PORTAL_DATA_DIR": str(home / "shared"),  # the NFS share of several servers
            "PORTAL_SEARCH_BACKEND": "postgres",
            "PORTAL_SEARCH_INDEX": str(home / "index"),
            "PORTAL_HTTPS": "1",
            "PORTAL_PROXY_COUNT": "1",
            "PORTAL_LOG_FORMAT": "json",
            "PORTAL_METRICS_TOKEN": self.metrics_token,
        }
        self.caseworkers: list[tuple[str, str]] = []  # (email, password) from the demo

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """A new database with the demo network, then every process, ready."""
        self.url = create_postgres_database(self.database)
        self.env["PORTAL_DATABASE_URL"] = self.url
        self.portal("init")
        demo = self.portal("seed-demo").stdout
        self.caseworkers = [(email, pw) for email, pw, _role, _org in DEMO_LOGIN.findall(demo)]
        assert len(self.caseworkers) >= 3, demo
        self.cert, self.key = _certificate(self.home)
        for index in range(len(self.servers)):
            self.start_server(index)
        self.start_worker()
        self.start_nginx()

    def stop(self) -> None:
        for process in [self.nginx, self.worker, *self.servers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        drop_postgres_database(self.database)

    def start_server(self, index: int) -> None:
        """App server ``index`` as kim-portal.service starts it; back when ready."""
        port = self.server_ports[index]
        command = _option(unit_command("kim-portal.service"), "--bind", f"127.0.0.1:{port}")
        command = _option(command, "--workers", str(self.workers))
        if self.pin:
            command = ["taskset", "--cpu-list", str(index % os.cpu_count()), *command]
        metrics = self.home / f"metrics-{index}"
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        self.servers[index] = self._spawn(command, env, f"server-{index}")
        _wait_for(lambda: _get(port, "/health/ready") == 200, self.servers[index], 120)

    def kill_server(self, index: int) -> None:
        """SIGKILL to the server's master and workers at once, as a power cut would."""
        os.killpg(self.servers[index].pid, signal.SIGKILL)
        self.servers[index].wait()

    def start_worker(self) -> None:
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.home / "metrics-0")}
        self.worker = self._spawn(unit_command("kim-worker.service"), env, "worker")

    def kill_worker(self) -> None:
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def start_nginx(self) -> None:
        conf = self.home / "nginx.conf"
        conf.write_text(_nginx_conf(self))
        self.nginx = self._spawn([str(NGINX), "-p", str(self.home), "-c", str(conf)], {}, "nginx")
        _wait_for(lambda: _listening(self.https_port), self.nginx, 30)

    def _spawn(self, command: list[str], env: dict, name: str) -> subprocess.Popen:
        log = (self.home / f"{name}.log").open("ab")
        return subprocess.Popen(command, env=env or None, cwd=self.home, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    # ------------------------------------------------------------ inspection

    def portal(self, *args: str, stdin: str | None = None, check: bool = True):
        """Run the ``portal`` command line against this install."""
        done = subprocess.run([str(BIN / "portal"), *args], env=self.env, cwd=self.home,
                              input=stdin, text=True, capture_output=True, timeout=600)  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"portal {' '.join(args)}: {done.stderr or done.stdout}")
        return done

    def sql(self, query: str, **params) -> list:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(query), params))
        finally:
            engine.dispose()

    def token(self, email: str) -> str:
        return self.portal("create-token", email).stdout.split()[-1]

    def connection(self) -> http.client.HTTPSConnection:
        context = ssl.create_default_context(cafile=str(self.cert))
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=120,
                                           context=context)  # fmt: skip


# ---------------------------------------------------------------- the load


@dataclass
class Ack:
    """A write the portal acknowledged: it must be there afterwards."""

    kind: str  # note, version, upload
    document_id: int
    version: int
    token: str
    email: str


@dataclass
class LoadReport:
    timings: list[tuple[str, int, float]] = field(default_factory=list)  # (op, status, s)
    acks: list[Ack] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        ok = [t for t in self.timings if 200 <= t[1] < 400]
        by_op = {}
        for op in sorted({t[0] for t in self.timings}):
            times = sorted(t[2] for t in self.timings if t[0] == op and 200 <= t[1] < 400)
            by_op[op] = {
                "n": len(times),
                "p50_ms": round(statistics.median(times) * 1000, 1) if times else None,
                "p95_ms": round(_percentile(times, 0.95) * 1000, 1) if times else None,
            }
        all_times = sorted(t[2] for t in ok)
        return {
            "requests": len(self.timings),
            "ok": len(ok),
            "failed": len(self.timings) - len(ok),
            "seconds": round(self.seconds, 1),
            "throughput_rps": round(len(ok) / self.seconds, 1),
            "p95_ms": round(_percentile(all_times, 0.95) * 1000, 1),
            "by_operation": by_op,
        }


UPLOADS = ("002-trivial-libre-office-writer.pdf", "pdflatex-4-pages.pdf", "habibi.pdf")


class LoadClient:
    """One member of staff: a browser session (login, folder pages) and an API token
    (notes, versions, uploads, searches) of a demo caseworker."""

    def __init__(self, cluster: Cluster, number: int, email: str, password: str, token: str):
        self.cluster, self.number = cluster, number
        self.email, self.password, self.token = email, password, token
        self.cookies: dict[str, str] = {}
        self.notes: list[tuple[int, int]] = []  # (document id, newest version)
        self.case_ids: list[int] = []

    def run(self, iterations: int, report: LoadReport, lock: threading.Lock) -> None:
        cases = self._api("GET", "/api/v1/cases?mine=1&per_page=50", report, lock, "cases")
        self.case_ids = [case["id"] for case in (cases or {}).get("items", [])]
        assert self.case_ids, f"{self.email} leads no case"
        for step in range(iterations):
            if step % 10 == 0:
                self._login(report, lock)
            case_id = self.case_ids[step % len(self.case_ids)]
            self._page(f"/cases/{case_id}", report, lock)
            self._note(case_id, step, report, lock)
            if step % 4 == 3 and self.notes:
                self._version(step, report, lock)
            if step % 6 == 5:
                self._upload(case_id, step, report, lock)
            if step % 3 == 2 and report.acks:
                self._search(report, lock)

    # each operation records (op, status, seconds); a refused connection is status 0

    def _token(self, step: int) -> str:
        return f"lp{self.number:02d}x{step:04d}"

    def _note(self, case_id: int, step: int, report, lock) -> None:
        token = self._token(step)
        body = {"type": "note", "title": f"Lastprobe {token}", "text": f"Vermerk {token}."}
        created = self._api("POST", f"/api/v1/cases/{case_id}/documents", report, lock,
                            "note", body)  # fmt: skip
        if created:
            self.notes.append((created["id"], 1))
            with lock:
                report.acks.append(Ack("note", created["id"], 1, token, self.email))

    def _version(self, step: int, report, lock) -> None:
        document_id, base = self.notes[step % len(self.notes)]
        token = self._token(step) + "v"
        body = {"type": "note", "title": "Lastprobe", "text": f"Nachtrag {token}.",
                "base_version": base}  # fmt: skip
        saved = self._api("POST", f"/api/v1/documents/{document_id}/versions", report, lock,
                          "version", body)  # fmt: skip
        if saved:
            self.notes[step % len(self.notes)] = (document_id, saved["number"])
            with lock:
                report.acks.append(Ack("version", document_id, saved["number"], token, self.email))

    def _upload(self, case_id: int, step: int, report, lock) -> None:
        name = UPLOADS[step % len(UPLOADS)]
        boundary = uuid.uuid4().hex
        token = self._token(step) + "u"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
                f"Scan {token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                f'name="file"; filename="{name}"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + (REALDOCS / name).read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        created = self._request("POST", f"/api/v1/cases/{case_id}/documents", report, lock,
                                "upload", body, headers, api=True)  # fmt: skip
        if created:
            with lock:
                report.acks.append(Ack("upload", created["id"], 1, token, self.email))

    def _search(self, report, lock) -> None:
        with lock:
            mine = [a for a in report.acks if a.email == self.email and a.kind != "upload"]
        if mine:
            query = urllib.parse.urlencode({"q": mine[-1].token})
            self._api("GET", f"/api/v1/search?{query}", report, lock, "search")

    def _login(self, report, lock) -> None:
        self.cookies.clear()
        page = self._request("GET", "/login", report, lock, "login_form")
        if not isinstance(page, str):
            return
        found = CSRF.search(page)
        form = urllib.parse.urlencode({"email": self.email, "password": self.password,
                                       "csrf_token": found.group(1) if found else ""})  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        self._request("POST", "/login", report, lock, "login", form.encode(), headers)

    def _page(self, path: str, report, lock) -> None:
        self._request("GET", path, report, lock, "folder")

    def _api(self, method, path, report, lock, op, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return self._request(method, path, report, lock, op, data, headers, api=True)

    def _request(self, method, path, report, lock, op, body=None, headers=None, api=False):
        """One request through nginx; the JSON (API) or page text of a success, else None."""
        sent = {"Host": HOST, "Referer": f"https://{HOST}{PREFIX}/login", **(headers or {})}
        if api:
            sent["Authorization"] = f"Bearer {self.token}"
        elif self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        status, payload = 0, b""
        try:
            connection = self.cluster.connection()
            connection.request(method, PREFIX + path, body=body, headers=sent)
            response = connection.getresponse()
            status, payload = response.status, response.read()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            connection.close()
        except (OSError, http.client.HTTPException):
            status = 0
        with lock:
            report.timings.append((op, status, time.perf_counter() - started))
        if not 200 <= status < 400:
            return None
        return json.loads(payload) if api else payload.decode("utf-8", "replace")


def run_load(cluster: Cluster, clients: int, iterations: int,
             during: Callable[[], None] | None = None) -> LoadReport:  # fmt: skip
    """``clients`` concurrent staff, ``iterations`` rounds each; ``during`` runs meanwhile
    (faults)."""
    report, lock = LoadReport(), threading.Lock()
    staff = []
    for number in range(clients):
        email, password = cluster.caseworkers[number % len(cluster.caseworkers)]
        staff.append(LoadClient(cluster, number, email, password, cluster.token(email)))
    threads = [threading.Thread(target=c.run, args=(iterations, report, lock)) for c in staff]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join()
    report.seconds = time.perf_counter() - started
    return report


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


# ---------------------------------------------------------------- helpers


def _get(port: int, path: str) -> int:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError:
        return 0


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} ended with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.args[0]} not ready after {seconds} s")
        time.sleep(0.3)


NGINX_MAIN = """
user {user};
daemon off;
master_process off;
pid {home}/nginx.pid;
error_log {home}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {home}/body;
  proxy_temp_path {home}/proxy;
  fastcgi_temp_path {home}/fastcgi;
  uwsgi_temp_path {home}/uwsgi;
  scgi_temp_path {home}/scgi;
  include {site};
}}
"""


def _nginx_conf(cluster: Cluster) -> str:
    """The recipe's site with this machine's ports and certificate, in a main file."""
    site = (DEPLOY / "nginx" / "kim-portal.conf").read_text()
    upstream = re.search(r"upstream kim_portal \{\n(.*?)\n\}", site, re.DOTALL)
    first = next(line for line in upstream.group(1).splitlines() if "server " in line)
    servers = "\n".join(
        re.sub(r"server \S+:8000", f"server 127.0.0.1:{port}", first)
        for port in cluster.server_ports
    )
    keep = [line for line in upstream.group(1).splitlines() if "server " not in line]
    site = site.replace(upstream.group(1), "\n".join([servers, *keep]))
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{cluster.http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{cluster.https_port} ssl http2;",
        "/etc/ssl/kim/fullchain.pem": str(cluster.cert),
        "/etc/ssl/kim/privkey.pem": str(cluster.key),
    }
    for old, new in replacements.items():
        assert old in site, f"the nginx site no longer has {old!r}"
        site = site.replace(old, new)
    site = re.sub(r"\n\s*listen \[::\][^;]*;", "", site)  # no IPv6 on this machine
    path = cluster.home / "kim-portal.conf"
    path.write_text(site)
    user = "root" if os.geteuid() == 0 else "nobody"
    return NGINX_MAIN.format(user=user, home=cluster.home, site=path)


def _certificate(home: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the portal's host name and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = home / "cert.pem", home / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path
