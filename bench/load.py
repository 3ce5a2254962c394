"""The production recipe under load: 1 and then 2 app servers (gunicorn, 2 workers each)
behind nginx with TLS, PostgreSQL, one index worker, as tests/system/cluster.py starts
them; the same mixed load (logins, folder pages, note saves, new versions, real PDF
uploads, searches) from concurrent clients. Prints throughput and latencies side by side.

Run: .venv/bin/python bench/load.py [--clients 20] [--iterations 15] [--pin]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _setup import machine

from tests.system.cluster import Cluster, run_load


def measure(servers: int, clients: int, iterations: int, pin: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"kim-load-{servers}-") as home:
        cluster = Cluster(Path(home), servers=servers, workers=2, pin=pin)
        try:
            cluster.start()
            run_load(cluster, 4, 2)  # warm-up: PDF workers, caches, connections
            report = run_load(cluster, clients, iterations)
            drained = time.perf_counter()
            while cluster.sql("SELECT count(*) FROM outbox_jobs")[0][0]:
                time.sleep(0.5)
            summary = report.summary()
            summary["outbox_drained_after_s"] = round(time.perf_counter() - drained, 1)
            return summary
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument(
        "--pin", action="store_true",
        help="Server i on core i alone (taskset): a second server brings its own core.",
    )  # fmt: skip
    args = parser.parse_args()
    print(machine())
    results = {n: measure(n, args.clients, args.iterations, args.pin) for n in (1, 2)}
    pinned = ", each server pinned to a core of its own" if args.pin else ""
    print(f"{args.clients} clients × {args.iterations} rounds{pinned}\n")
    print(f"{'':24}{'1 server':>16}{'2 servers':>16}")
    for key in ("requests", "failed", "seconds", "throughput_rps", "p95_ms",
                "outbox_drained_after_s"):  # fmt: skip
        print(f"{key:24}{results[1][key]:>16}{results[2][key]:>16}")
    for op in results[1]["by_operation"]:
        one, two = results[1]["by_operation"][op], results[2]["by_operation"].get(op, {})
        print(f"{op + ' p50/p95 ms':24}{one['p50_ms']!s:>7}/{one['p95_ms']!s:<8}"
              f"{two.get('p50_ms')!s:>7}/{two.get('p95_ms')!s:<8}")  # fmt: skip
    ratio = results[2]["throughput_rps"] / results[1]["throughput_rps"]
    print(f"\nscale-out: 2 servers give {ratio:.2f}× the throughput of 1")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
