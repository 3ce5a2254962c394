"""Two app servers and a worker on PostgreSQL behind nginx, as deploy/ sets them up, under a
mixed load from 24 clients; one server and then the worker are killed with SIGKILL and
restarted while it runs. Afterwards nothing acknowledged is missing, nothing is doubled,
the outbox drains, everything is searchable, and ``portal check`` and ``portal
audit-verify`` pass. Marked ``system``: ``make test-system``."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.system.cluster import NGINX, Cluster, run_load

pytestmark = pytest.mark.system

CLIENTS = 24
ITERATIONS = 12


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not NGINX.exists():
        pytest.skip("nginx is not installed (make system-deps)")
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), servers=2, workers=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def test_killed_servers_and_worker_lose_nothing(cluster):
    def faults() -> None:
        time.sleep(8)
        cluster.kill_server(0)
        time.sleep(4)
        cluster.start_server(0)
        time.sleep(4)
        cluster.kill_worker()
        time.sleep(4)
        cluster.start_worker()

    report = run_load(cluster, CLIENTS, ITERATIONS, during=faults)
    summary = report.summary()
    print(json.dumps(summary, indent=2))
    operations = summary["by_operation"]
    for op in ("login", "folder", "note", "version", "upload", "search"):
        assert operations.get(op, {}).get("n", 0) > 0, (op, summary)
    assert summary["failed"] <= summary["requests"] * 0.1, summary  # only while one was down

    _wait_until_drained(cluster)
    notes = [a for a in report.acks if a.kind in ("note", "version")]
    uploads = [a for a in report.acks if a.kind == "upload"]
    assert len(notes) >= CLIENTS * ITERATIONS * 0.8 and uploads

    # Every acknowledged save is there, in the version it was acknowledged as.
    saved = {
        (row.document_id, row.number): row.text
        for row in cluster.sql(
            "SELECT document_id, number, text FROM document_versions WHERE text LIKE '%lp%x%'"
        )
    }
    for ack in notes:
        assert ack.token in saved.get((ack.document_id, ack.version), ""), ack
    # Nothing saved twice: each token in exactly one version.
    tokens = [t for text in saved.values() for t in re.findall(r"lp\d+x\d+v?", text)]
    assert len(tokens) == len(set(tokens))
    titles = [r.title for r in cluster.sql("SELECT title FROM documents WHERE title LIKE 'Scan %'")]
    assert len(titles) == len(set(titles)) >= len(uploads)
    extracted = cluster.sql("SELECT count(*) FROM document_versions WHERE extraction = 'pending'")[
        0
    ][0]
    assert extracted == 0

    # Every note is found by the word of its newest version, through nginx, by its author.
    newest = {}
    for ack in sorted(notes, key=lambda a: a.version):
        newest[ack.document_id] = ack
    api_tokens = {email: cluster.token(email) for email in {a.email for a in notes}}
    for ack in newest.values():
        assert ack.document_id in _search(cluster, api_tokens[ack.email], ack.token), ack

    assert cluster.portal("check", check=False).returncode == 0
    verified = cluster.portal("audit-verify", check=False)
    assert verified.returncode == 0, verified.stderr


def test_metrics_of_all_workers_behind_the_token(cluster):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", cluster.server_ports[1], timeout=10)
    connection.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {cluster.metrics_token}"}
    )
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200
    assert (
        'kim_http_responses_total{method="POST",route="/api/v1/cases/<int:case_id>/documents",status="201"}'
        in body
    )
    through_nginx = cluster.connection()
    through_nginx.request("GET", "/kim/metrics", headers={"Host": "kim.kreis.example"})
    assert through_nginx.getresponse().status == 404


def _wait_until_drained(cluster, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while cluster.sql("SELECT count(*) FROM outbox_jobs")[0][0]:
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(1)


def _search(cluster, token: str, word: str) -> set[int]:
    connection = cluster.connection()
    headers = {"Host": "kim.kreis.example", "Authorization": f"Bearer {token}"}
    connection.request("GET", f"/kim/api/v1/search?q={word}", headers=headers)
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 200, body
    return {hit["document_id"] for hit in body["hits"]}
