"""Search backends side by side (issue 15): tantivy, Whoosh and PostgreSQL on one corpus.

Builds a reproducible German corpus (``_corpus.py``) of ``--docs`` documents, streamed
into SQLite (the embedded set-up of tantivy and Whoosh) and/or a PostgreSQL database
(the ``postgres`` backend keeps its index there) — the same rows in each. Then, per
backend, each step in a process of its own so that one backend's memory and caches do
not colour the next one's:

1. ``portal reindex``: full reindex time (wall and CPU), its peak memory, index size;
2. bare: a process that opens the app as ``portal serve`` does and calls the backend's
   own ``search()`` (20 hits, ACL, facets, highlights; no Flask, no HTTP, no access
   re-check) per query, then reports its resident memory. The engines' native query
   languages are not timed: the indexes hold terms analysed by the portal
   (``query.words_of``), so only the backend can turn typed words into index terms;
3. ``portal serve`` (Waitress, loopback): ``GET /api/v1/search`` per query, one client
   (bearer token, ACL from the database, access re-check of every hit, facets,
   highlights, 20-hit page); resident memory of the server after those queries; a note
   created through the API until a search finds it (the server's outbox drain indexes
   it); searches per second with ``--clients`` concurrent HTTP clients (threads of this
   process) over a mix of every query class; the server's memory again.

Query classes: single terms, two-term AND, phrases, prefixes ``Stem*`` and a person's
name with a typo (plain words, so the typo-tolerant name match applies), the same
texts for every backend. At the end a Markdown summary for ``bench/RESULTS.md``.

Run:  .venv/bin/python bench/search.py --docs 20000 [--backends tantivy,whoosh,postgres]
      [--keep /tmp/searchbench/20k [--reindex]] [--serve-args "--threads 8"]
Without ``--keep`` the corpus lives in a temporary directory under /tmp/searchbench (and
a temporary PostgreSQL database) and is removed afterwards; with ``--keep DIR`` it is
built once and reused (indexes too, unless ``--reindex``). It must lie outside the
repository: a million documents take ~13 GB of text per database.
Whoosh is skipped above WHOOSH_MAX_DOCS documents.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlencode

from _corpus import (
    BENCH_CASE_REFERENCE,
    COLLOCATIONS,
    FIRST,
    FUNCTION,
    TextMaker,
    advance_sequences,
    insert_corpus,
)
from _setup import (
    PASSWORD,
    create_pg_database,
    drop_pg_database,
    machine,
    pg_url,
    process_memory,
)
from sqlalchemy import func, select, text

from portal.db import Database
from portal.migrate import upgrade
from portal.models import Case, Document, Person, User
from portal.services import access, accounts, tokens

ROOT = Path(tempfile.gettempdir()) / "searchbench"
BACKENDS = ("tantivy", "whoosh", "postgres")
CLASSES = ("term", "and", "phrase", "prefix", "fuzzy")
LABELS = {"term": "single term", "and": "two-term AND", "phrase": "phrase",
          "prefix": "prefix `Stem*`", "fuzzy": "fuzzy name"}  # fmt: skip
# Whoosh rebuilds ~100k documents in 7–8 min and a server process holds ~2 GB at 100k
# (issue 15): a million does not fit on this machine.
WHOOSH_MAX_DOCS = 100_000
PER_PAGE = 20
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
KEY = "bench"  # secret and audit key of the throw-away portal
EMAIL = "search-bench@example.org"
PORTAL = Path(sys.executable).with_name("portal")
# Targets of issue 15 on 2 cores (the corpus size each is set for: see ``targets``).
TARGETS = {
    "tantivy_api_p95_ms": 50, "tantivy_reindex_min": 15, "tantivy_searchable_ms": 1000,
    "tantivy_rss_mb": 1024, "tantivy_searches_per_s": 150, "postgres_api_p95_ms": 150,
}  # fmt: skip


@dataclass
class Corpus:
    """The directory with the corpus, its databases and indexes, and what is known of them."""

    directory: Path
    meta: dict
    kept: bool

    @property
    def meta_file(self) -> Path:
        return self.directory / "meta.json"

    def save(self) -> None:
        self.meta_file.write_text(json.dumps(self.meta, indent=1))

    def database(self, kind: str) -> str:
        """The database a backend's portal runs on: PostgreSQL for ``postgres``, else SQLite."""
        return "postgres" if kind == "postgres" else "sqlite"

    def url(self, database: str) -> str:
        if database == "postgres":
            return pg_url(self.meta["pg_database"])
        return f"sqlite:///{self.directory / 'portal.db'}"

    def env(self, kind: str) -> dict[str, str]:
        """The environment of a portal process with backend ``kind`` on this corpus."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(
            PORTAL_DATABASE_URL=self.url(self.database(kind)),
            PORTAL_DATA_DIR=str(self.directory / "data"),
            PORTAL_SEARCH_BACKEND=kind,
            PORTAL_SEARCH_INDEX=str(self.directory / f"index-{kind}"),
            PORTAL_SECRET_KEY=KEY,
            PORTAL_AUDIT_KEY=KEY,
        )
        return env


# --- the corpus ---------------------------------------------------------------------------


def open_corpus(args, backends: list[str]) -> Corpus:
    """The kept or a new directory, with every database the backends need built."""
    ROOT.mkdir(exist_ok=True)
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(dir=ROOT))
    if directory.resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        raise SystemExit(f"--keep {directory}: keep the corpus outside the repository")
    directory.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(directory, {"docs": args.docs, "seed": args.seed}, kept=bool(args.keep))
    if corpus.meta_file.exists():
        corpus.meta = json.loads(corpus.meta_file.read_text())
        if (corpus.meta["docs"], corpus.meta["seed"]) != (args.docs, args.seed):
            raise SystemExit(f"{directory} holds {corpus.meta['docs']} documents,"
                             f" seed {corpus.meta['seed']}")  # fmt: skip
        print(f"reusing {directory}")
    corpus.meta.setdefault("pg_database", f"kim_searchbench_{uuid.uuid4().hex[:8]}")
    corpus.meta.setdefault("built", {})
    missing = sorted({corpus.database(k) for k in backends} - set(corpus.meta["built"]))
    if missing:
        build(corpus, missing)
    return corpus


def build(corpus: Corpus, databases: list[str]) -> None:
    """Generate the corpus once, streaming it into each of ``databases`` (emptied first)."""
    sessions, engines = [], []
    start = time.perf_counter()
    for name in databases:
        if name == "postgres":
            create_pg_database(corpus.meta["pg_database"])
        else:
            (corpus.directory / "portal.db").unlink(missing_ok=True)
        db = Database(corpus.url(name), audit_key=KEY)
        upgrade(db)
        session = db.sessionmaker()
        org_ids, user_id = _organisations_and_user(session)
        sessions.append(session)
        engines.append(db.engine)
    insert_corpus(sessions, corpus.meta["docs"], org_ids, user_id, corpus.meta["seed"])
    for name, session in zip(databases, sessions, strict=True):
        if name == "postgres":
            advance_sequences(session)
        session.close()
    for engine in engines:
        engine.dispose()
    seconds = time.perf_counter() - start
    for name in databases:
        corpus.meta["built"][name] = round(seconds)
    corpus.save()
    print(f"corpus generated into {' and '.join(databases)}: {corpus.meta['docs']} documents"
          f" in {seconds:.0f} s")  # fmt: skip


def _organisations_and_user(session) -> tuple[list[int], int]:
    """Twelve organisations and the bench's caseworker in the first one."""
    orgs = [
        accounts.save_organisation(session, actor=access.SYSTEM, name=f"Träger {i + 1}", kind=kind)
        for i, kind in enumerate(["kommune", "jobcenter", "kreis", "wohlfahrtsverband"] * 3)
    ]
    session.flush()
    user = accounts.create_user(
        session, actor=access.SYSTEM, email=EMAIL, name="Suche Bench", organisation=orgs[0],
        role="caseworker", password=PASSWORD, chosen_by_user=True,  # the bench's own
    )  # fmt: skip
    session.commit()
    return [o.id for o in orgs], user.id


def remove(corpus: Corpus) -> None:
    """Delete a temporary corpus: its directory and PostgreSQL database."""
    if "postgres" in corpus.meta["built"]:
        drop_pg_database(corpus.meta["pg_database"])
    shutil.rmtree(corpus.directory)


@dataclass
class Account:
    """What the bench needs of its user in one database: a fresh API token, the case of
    theirs to add notes to (outside what the queries find), and how much they may see."""

    token: str
    case_id: int
    visible: str


def account(url: str) -> Account:
    """A new API token for the bench user in the database at ``url``."""
    db = Database(url, audit_key=KEY)
    with db.session() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        _token, plain = tokens.create(session, user, name="searchbench", actor=user)
        session.commit()
        case_id = session.scalar(select(Case.id).where(Case.reference == BENCH_CASE_REFERENCE))
        if case_id is None:
            raise SystemExit("a corpus of an older bench/search.py: delete it and build anew")
        total = session.scalar(select(func.count()).select_from(Document))
        visible = session.scalar(
            select(func.count())
            .select_from(Document)
            .join(Case, Case.id == Document.case_id)
            .where(access.document_filter(user))
        )
    db.engine.dispose()
    return Account(plain, case_id, f"{visible} of {total} documents ({100 * visible // total} %)")


# --- the queries --------------------------------------------------------------------------


def queries(url: str, seed: int, n: int) -> dict[str, list[str]]:
    """``n`` reproducible queries per class, from the corpus vocabulary and person names."""
    rng = random.Random(seed + 1)
    content = TextMaker(random.Random(seed)).words[len(FUNCTION) :]  # common to rare

    def words(k: int) -> list[str]:
        """Words of every frequency: a tenth very common, a fifth rare."""
        bands = ((0, 50, 0.1), (50, 500, 0.3), (500, 3000, 0.4), (3000, 20000, 0.2))
        chosen = [
            w for low, high, share in bands for w in rng.sample(content[low:high], round(k * share))
        ]
        return rng.sample(chosen, len(chosen))

    db = Database(url, audit_key=KEY)
    with db.session() as session:
        people = session.execute(
            select(Person.given_name, Person.family_name).order_by(Person.id).limit(5000)
        ).all()
    db.engine.dispose()
    return {
        "term": words(n),
        "and": [f"{a} {b}" for a, b in zip(words(n), words(n), strict=True)],
        "phrase": [f'"{p}"' for p in rng.sample(COLLOCATIONS, min(n, len(COLLOCATIONS)))]
        + [f'"{p}"' for p in rng.sample(COLLOCATIONS, max(0, n - len(COLLOCATIONS)))],
        "prefix": [f"{p}*" for p in rng.sample(FIRST, min(n, len(FIRST)))],
        "fuzzy": [f"{g} {typo(rng, f)}" for g, f in rng.sample(people, min(n, len(people)))],
    }


def typo(rng: random.Random, word: str) -> str:
    """One edit (replace, drop, swap) that spares the first letter."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("replace", "drop", "swap"))
    if kind == "replace":
        return word[:i] + rng.choice("aeiounrst".replace(word[i], "")) + word[i + 1 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


# --- measuring ----------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and p95 (the value below which 95 % of the samples lie)."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def ms(samples: list[float]) -> str:
    """``p50 / p95`` of samples in ms, or a dash when there are none."""
    if not samples:
        return "—"
    p50, p95 = percentiles(samples)
    return f"{p50:,.0f} / {p95:,.0f}" if p50 >= 10 else f"{p50:.1f} / {p95:,.0f}"


def p50(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def load() -> str:
    """The load average (1, 5, 15 min)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (its threads included) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants_rss(pid: int) -> tuple[int, int]:
    """(number, resident MB) of the processes below ``pid`` (a server's PDF workers)."""
    count, total, todo = 0, 0, [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                total += process_memory(child).get("VmRSS", 0)
            except OSError:
                continue
            count += 1
            todo.append(child)
    return count, total


def run_timed(command: list[str], env: dict, log: Path) -> dict:
    """Run ``command`` to its end; wall and CPU seconds (its children included), peak
    resident MB of its largest process, exit code; output in ``log``."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603  (the portal or this script, no shell)
            command, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "exit": process.returncode,
    }


def reindex(corpus: Corpus, kind: str) -> dict:
    """``portal reindex`` for one backend, timed, and the size of what it built."""
    result = run_timed([str(PORTAL), "reindex"], corpus.env(kind),
                       corpus.directory / f"reindex-{kind}.log")  # fmt: skip
    output = (corpus.directory / f"reindex-{kind}.log").read_text()
    if result["exit"]:
        raise RuntimeError(f"portal reindex failed: {output.strip().splitlines()[-1:]}")
    entries = re.search(r"(\d+) Einträge", output)
    result["entries"] = int(entries.group(1)) if entries else None
    result["index_mb"] = index_mb(corpus, kind)
    print(f"  reindex: {result['entries']} entries in {result['wall_s']:.0f} s"
          f" ({result['cpu_s']:.0f} s CPU, peak {result['peak_mb']} MB);"
          f" index {result['index_mb']:,} MB")  # fmt: skip
    return result


def index_mb(corpus: Corpus, kind: str) -> int:
    """Size of the index: its directory, or PostgreSQL's search schema (tables, indexes,
    TOAST)."""
    if kind != "postgres":
        files = (corpus.directory / f"index-{kind}").rglob("*")
        return round(sum(f.stat().st_size for f in files if f.is_file()) / 2**20)
    db = Database(corpus.url("postgres"), audit_key=KEY)
    with db.engine.connect() as connection:
        size = connection.scalar(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'portal_search' AND c.relkind IN ('r', 'm')"
        ))  # fmt: skip
    db.engine.dispose()
    return round(size / 2**20)


def bare(corpus: Corpus, kind: str, budget: float) -> dict:
    """The backend's own ``search()`` in a fresh process (``bare_worker``)."""
    output = corpus.directory / f"bare-{kind}.json"
    command = [sys.executable, __file__, "--bare-worker", str(corpus.directory),
               "--bare-budget", str(budget)]  # fmt: skip
    result = run_timed(command, corpus.env(kind), corpus.directory / f"bare-{kind}.log")
    if result["exit"]:
        log = (corpus.directory / f"bare-{kind}.log").read_text().strip().splitlines()
        corpus.meta["reindex"].pop(kind)  # built again on the next run
        corpus.save()
        raise RuntimeError(f"bare search process failed: {log[-1:]}")
    return json.loads(output.read_text())


def bare_worker(directory: Path, budget: float) -> None:
    """In a process of its own, configured like ``portal serve`` by the environment: open
    the app, time the backend's ``search()`` per query, report memory, into a JSON file."""
    from portal import create_app
    from portal.services.search import SearchQuery

    texts = json.loads((directory / "queries.json").read_text())
    start = time.perf_counter()
    app = create_app()
    backend = app.extensions["portal.search"]
    if backend.rebuilt:
        raise SystemExit("the index was unreadable or of another format and was made anew, empty")
    with app.app_context(), app.extensions["portal.db"].session() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        acl = access.user_search_tokens(session, user)
        opened = time.perf_counter() - start
        start = time.perf_counter()
        backend.search(SearchQuery(text="Wohnung", per_page=PER_PAGE), acl)
        first = time.perf_counter() - start

        def run(query_text: str) -> object:
            return backend.search(SearchQuery(text=query_text, per_page=PER_PAGE), acl)

        result = {kind: timed_queries(run, texts[kind], budget) for kind in CLASSES}
    result.update(open_ms=opened * 1000, first_ms=first * 1000, memory=process_memory(os.getpid()))
    kind = os.environ["PORTAL_SEARCH_BACKEND"]
    (directory / f"bare-{kind}.json").write_text(json.dumps(result))


def timed_queries(run: Callable[[str], object], texts: list[str], budget: float) -> dict:
    """Each query timed (after three untimed ones), until ``budget`` seconds are spent:
    wall ms, this process's CPU ms, mean total, how many were incomplete or failed."""
    errors = []
    for query_text in texts[:3]:
        try:
            run(query_text)
        except Exception as exc:  # a broken backend is reported, not fatal
            errors.append(f"{query_text}: {exc!r}")
    samples, cpu, totals, incomplete = [], [], {}, 0
    spent = 0.0
    for query_text in texts:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            result = run(query_text)
        except Exception as exc:
            errors.append(f"{query_text}: {exc!r}")
            continue
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        totals[query_text] = _get(result, "total")
        incomplete += bool(_get(result, "incomplete"))
        spent += samples[-1] / 1000
        if spent > budget:
            break
    return {"ms": samples, "cpu": cpu, "totals": totals, "incomplete": incomplete,
            "errors": errors[:3], "failed": len(errors)}  # fmt: skip


def _get(result: object, name: str):
    """A field of a SearchResult or of the API's JSON answer."""
    return result[name] if isinstance(result, dict) else getattr(result, name)


class Client:
    """A keep-alive HTTP connection to the server, with the bench user's bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.connection = HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """Status and JSON answer; one retry on a connection the server closed."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, json.loads(payload) if payload else {}
            except (HTTPException, ConnectionError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def search(self, query_text: str) -> dict:
        """``GET /api/v1/search`` for a 20-hit page; RuntimeError unless 200."""
        query = urlencode({"q": query_text, "per_page": PER_PAGE})
        status, body = self.request("GET", f"/api/v1/search?{query}")
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body}")
        return body


@dataclass
class Server:
    """``portal serve`` on a free loopback port, in a process group of its own (so that
    stopping it also stops its PDF workers)."""

    corpus: Corpus
    kind: str
    args: list[str]
    process: subprocess.Popen | None = None
    port: int = 0
    started_s: float = 0.0
    output: list[str] = field(default_factory=list)

    def __enter__(self) -> Server:
        log = (self.corpus.directory / f"serve-{self.kind}.log").open("w")
        command = [str(PORTAL), "serve", "--host", "127.0.0.1", "--port", "0", *self.args]
        start = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603  (the portal, no shell)
            command, env=self.corpus.env(self.kind), stdout=subprocess.PIPE, stderr=log,
            text=True, start_new_session=True,
        )  # fmt: skip
        log.close()
        for line in self.process.stdout:
            self.output.append(line)
            if match := re.search(r"http://127\.0\.0\.1:(\d+)/", line):
                self.port = int(match.group(1))
                break
        if not self.port:
            self.__exit__()
            log = (self.corpus.directory / f"serve-{self.kind}.log").read_text()
            raise RuntimeError(f"portal serve did not start: {log.strip()[-500:]}")
        self.started_s = time.perf_counter() - start
        threading.Thread(target=self.output.extend, args=(self.process.stdout,),
                         daemon=True).start()  # fmt: skip
        return self

    def __exit__(self, *_exc) -> None:
        """Ctrl-C for the server (Waitress ends cleanly), then its whole group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # nothing of the group left
            os.killpg(self.process.pid, signal.SIGTERM)

    @property
    def pid(self) -> int:
        return self.process.pid


def searchable(client: Client, case_id: int, rounds: int) -> dict:
    """Create a note through the API, then search for its unique word until it is found.
    Its words are in no query: the notes leave the other measures' results alone."""
    rng = random.Random()
    upload, found = [], []
    for i in range(rounds):
        word = "quittung" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))
        start = time.perf_counter()
        status, body = client.request("POST", f"/api/v1/cases/{case_id}/documents", {
            "type": "note", "title": f"Messnotiz {i}", "text": f"Messnotiz mit {word}.",
        })  # fmt: skip
        upload.append((time.perf_counter() - start) * 1000)
        if status != 201:
            raise RuntimeError(f"creating a note: HTTP {status}: {body}")
        while not client.search(word)["total"]:
            if time.perf_counter() - start > 60:
                raise RuntimeError("new note not searchable after 60 s")
            time.sleep(0.01)
        found.append((time.perf_counter() - start) * 1000)
    return {"upload": upload, "found": found}


def throughput(port: int, token: str, texts: dict, clients: int, seconds: float) -> dict:
    """``clients`` threads, each with its own connection, searching without pause for
    ``seconds`` over every class in turn: searches/s and latency under that load."""
    mixed = [t for group in zip(*texts.values(), strict=False) for t in group]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    begin = time.perf_counter()
    deadline = begin + seconds

    def client_loop(i: int) -> None:
        client = Client(port, token)
        n = i * 7
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                client.search(mixed[n % len(mixed)])
                latencies[i].append((time.perf_counter() - start) * 1000)
            except (RuntimeError, OSError, HTTPException):
                errors[i] += 1
            n += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    samples = [s for client in latencies for s in client]
    return {"per_s": len(samples) / elapsed, "ms": samples, "errors": sum(errors),
            "seconds": elapsed}  # fmt: skip


def serve_measures(corpus: Corpus, kind: str, texts: dict, args, who: Account) -> dict:
    """Everything measured through ``portal serve``."""
    with Server(corpus, kind, args.serve_args.split()) as server:
        client = Client(server.port, who.token)
        start = time.perf_counter()
        client.search("Wohnung")
        first = (time.perf_counter() - start) * 1000
        api = {}
        for query_class in CLASSES:
            cpu = cpu_seconds(server.pid)
            api[query_class] = timed_queries(client.search, texts[query_class], args.budget)
            timed = len(api[query_class]["ms"]) + 3
            api[query_class]["server_cpu"] = (cpu_seconds(server.pid) - cpu) * 1000 / timed
        after_queries = process_memory(server.pid)
        fresh = searchable(client, who.case_id, args.rounds)
        loaded = throughput(server.port, who.token, texts, args.clients, args.load_seconds)
        return {
            "started_s": server.started_s, "first_ms": first, "api": api,
            "memory_queries": after_queries, "searchable": fresh, "load": loaded,
            "memory_load": process_memory(server.pid), "helpers": descendants_rss(server.pid),
        }  # fmt: skip


def ensure_index(corpus: Corpus, kind: str, rebuild: bool) -> None:
    """Reindex one backend, unless its kept index is to be reused."""
    indexes = corpus.meta.setdefault("reindex", {})
    print(f"\n== {kind}: index; load {load()}")
    if rebuild or kind not in indexes:
        indexes.pop(kind, None)
        corpus.save()
        indexes[kind] = reindex(corpus, kind)
        corpus.save()
    else:
        print(f"  reusing the index (reindex of {indexes[kind]['wall_s']:.0f} s)")


def measure(corpus: Corpus, kind: str, texts: dict, args, who: Account) -> dict:
    """Bare searches and everything through the server, for one backend."""
    print(f"\n== {kind} ({corpus.database(kind)}; bench user sees {who.visible}); load {load()}")
    result = {"reindex": corpus.meta["reindex"][kind], "bare": bare(corpus, kind, args.budget)}
    print(f"  bare searches done; load {load()}")
    result.update(serve_measures(corpus, kind, texts, args, who))
    print(f"  server measures done; load {load()}")
    return result


# --- the report ---------------------------------------------------------------------------


def report(corpus: Corpus, results: dict, skipped: dict, texts: dict, args, machine_line: str):
    """The Markdown summary for bench/RESULTS.md."""
    docs, kinds = corpus.meta["docs"], list(results)
    print(f"\n### {docs:,} documents — {', '.join(kinds)}\n")
    databases = ", ".join(f"{k} on {DATABASE_NAMES[corpus.database(k)]}" for k in kinds)
    print(f"Machine: {machine_line}. Load average before / after: {args.load_before} /"
          f" {load()}. Command: `.venv/bin/python bench/search.py {' '.join(sys.argv[1:])}`."
          f" {databases} (the same rows in each database).")  # fmt: skip
    for kind, reason in skipped.items():
        print(f"Skipped **{kind}**: {reason}.")
    print(
        "\nLatency p50 / p95 ms: API = `GET /api/v1/search` through `portal serve`, one"
        " client, 20-hit page with ACL, access re-check, facets and highlights; bare = the"
        " backend's `search()` in a process of its own (same page, ACL, facets, highlights).\n"
    )
    print("| query | " + " | ".join(f"{k} API | {k} bare" for k in kinds) + " |")
    print("|---|" + "---|---|" * len(kinds))
    for query_class in CLASSES:
        cells = []
        for kind in kinds:
            api, raw = results[kind]["api"][query_class], results[kind]["bare"][query_class]
            cells += [ms(api["ms"]) + _failures(api), ms(raw["ms"]) + _failures(raw)]
        print(f"| {LABELS[query_class]} | " + " | ".join(cells) + " |")
    print(f"\nMean total hits per query through the API (queries marked incomplete; queries"
          f" whose total differs from {kinds[0]}'s):\n")  # fmt: skip
    print("| query | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for query_class in CLASSES:
        first = results[kinds[0]]["api"][query_class]
        cells = [_hits(results[k]["api"][query_class], first) for k in kinds]
        print(f"| {LABELS[query_class]} | " + " | ".join(cells) + " |")
    print("\n| measure | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for label, cell in _rows():
        print(f"| {label} | " + " | ".join(cell(results[k]) for k in kinds) + " |")
    print("\nQuery examples: " + "; ".join(f"{c}: {', '.join(texts[c][:3])}" for c in CLASSES))
    print("\nTargets of issue 15:")
    for line in targets(docs, results):
        print(f"- {line}")


def _failures(timed: dict) -> str:
    return f" ({timed['failed']} failed)" if timed["failed"] else ""


def _hits(timed: dict, reference: dict) -> str:
    """Mean total, with the incomplete queries and the totals differing from ``reference``."""
    totals = timed["totals"]
    if not totals:
        return "—"
    differ = sum(reference["totals"].get(q, n) != n for q, n in totals.items())
    notes = [f"{timed['incomplete']} incomplete"] * bool(timed["incomplete"])
    notes += [f"**{differ} differ**"] * bool(differ)
    return f"{statistics.mean(totals.values()):,.0f}" + (f" ({', '.join(notes)})" if notes else "")


def _rows() -> list[tuple[str, Callable[[dict], str]]]:
    """The per-backend measures: label and how to show a backend's results."""

    def memory(m: dict) -> str:
        return f"{m['VmRSS']:,} MB ({m['RssAnon']:,} own + {m['RssFile']:,} files)"

    return [
        ("full reindex (`portal reindex`)", lambda r: f"{r['reindex']['wall_s']:,.0f} s wall,"
         f" {r['reindex']['cpu_s']:,.0f} s CPU"),
        ("reindex peak resident (largest process)", lambda r: f"{r['reindex']['peak_mb']:,} MB"),
        ("index entries", lambda r: f"{r['reindex']['entries'] or 0:,}"),
        ("index size on disk", lambda r: f"{r['reindex']['index_mb']:,} MB"),
        ("bare process: open app / first search", lambda r: f"{r['bare']['open_ms']:,.0f} /"
         f" {r['bare']['first_ms']:,.0f} ms"),
        ("bare process resident after the queries", lambda r: memory(r["bare"]["memory"])),
        ("`portal serve` start / first API search", lambda r: f"{r['started_s']:.1f} s /"
         f" {r['first_ms']:,.0f} ms"),
        ("bare CPU per search, p50 by class (ms)", lambda r: " / ".join(
            f"{p50(r['bare'][c]['cpu']):.0f}" for c in CLASSES)),
        ("server CPU per API search, mean by class (ms)", lambda r: " / ".join(
            f"{r['api'][c]['server_cpu']:.0f}" for c in CLASSES)),
        ("server resident after the queries", lambda r: memory(r["memory_queries"])),
        ("new note searchable p50 / max", lambda r: f"{p50(r['searchable']['found']):,.0f}"
         f" / {max(r['searchable']['found']):,.0f} ms"),
        ("searches/s, 10 clients (p50 / p95 ms, errors)", lambda r: f"**{r['load']['per_s']:.0f}**"
         f" ({ms(r['load']['ms'])}, {r['load']['errors']})"),
        ("server resident after the load; peak", lambda r: f"{r['memory_load']['VmRSS']:,} MB;"
         f" {r['memory_load']['VmHWM']:,} MB"),
        ("+ helper processes (PDF workers)", lambda r: f"{r['helpers'][0]}: {r['helpers'][1]} MB"),
    ]  # fmt: skip


def targets(docs: int, results: dict) -> list[str]:
    """Each issue-15 target of a measured backend: met or missed, and at which size it is
    set (a smaller corpus only shows the direction)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = []
    if tantivy := results.get("tantivy"):
        worst = max(percentiles(tantivy["api"][c]["ms"])[1] for c in CLASSES)
        lines += [
            f"tantivy API p95 ≤ {TARGETS['tantivy_api_p95_ms']} ms per class (set for 1M):"
            f" worst {worst:.0f} ms, {verdict(worst <= TARGETS['tantivy_api_p95_ms'])}",
            f"tantivy full reindex ≤ {TARGETS['tantivy_reindex_min']} min (1M):"
            f" {tantivy['reindex']['wall_s'] / 60:.1f} min,"
            f" {verdict(tantivy['reindex']['wall_s'] <= TARGETS['tantivy_reindex_min'] * 60)}",
            f"tantivy new document searchable ≤ 1 s: max"
            f" {max(tantivy['searchable']['found']):.0f} ms,"
            f" {verdict(max(tantivy['searchable']['found']) <= TARGETS['tantivy_searchable_ms'])}",
            f"tantivy server ≤ 1 GB resident: peak {tantivy['memory_load']['VmHWM']} MB,"
            f" {verdict(tantivy['memory_load']['VmHWM'] <= TARGETS['tantivy_rss_mb'])}",
            f"tantivy ≥ {TARGETS['tantivy_searches_per_s']} searches/s with 10 clients (100k):"
            f" {tantivy['load']['per_s']:.0f},"
            f" {verdict(tantivy['load']['per_s'] >= TARGETS['tantivy_searches_per_s'])}",
        ]
    if postgres := results.get("postgres"):
        worst = max(percentiles(postgres["api"][c]["ms"])[1] for c in CLASSES)
        lines.append(
            f"postgres API p95 ≤ {TARGETS['postgres_api_p95_ms']} ms per class (100k): worst"
            f" {worst:.0f} ms, {verdict(worst <= TARGETS['postgres_api_p95_ms'])}"
        )
    return [*lines, f"(this run: {docs:,} documents)"]


# --- main ---------------------------------------------------------------------------------


def chosen_backends(args) -> tuple[list[str], dict[str, str]]:
    """The backends to measure, and those left out with the reason."""
    kinds = [k.strip() for k in args.backends.split(",") if k.strip()]
    unknown = set(kinds) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backends: {sorted(unknown)}; choose from {BACKENDS}")
    skipped = {}
    if "whoosh" in kinds and args.docs > WHOOSH_MAX_DOCS:
        skipped["whoosh"] = (
            f"{args.docs:,} documents is beyond what Whoosh can build and serve here (a full"
            " rebuild takes 7–8 min per 100,000 documents, a server process holds ~2 GB at"
            f" 100,000; measured up to {WHOOSH_MAX_DOCS:,})"
        )
        kinds.remove("whoosh")
    return kinds, skipped


def main() -> None:
    """Build or reuse the corpus, measure every backend, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--keep", help="directory to build in / reuse (kept afterwards)")
    parser.add_argument("--reindex", action="store_true", help="reindex kept indexes again")
    parser.add_argument("--build-only", action="store_true", help="only generate the corpus")
    parser.add_argument("--queries", type=int, default=50, help="queries per class")
    parser.add_argument("--budget", type=float, default=120, help="s per class and path")
    parser.add_argument("--rounds", type=int, default=10, help="note-to-searchable rounds")
    parser.add_argument("--clients", type=int, default=10, help="concurrent HTTP clients")
    parser.add_argument("--load-seconds", type=float, default=30)
    parser.add_argument("--serve-args", default="", help='e.g. "--threads 16"')
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    parser.add_argument("--bare-budget", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_worker(Path(args.bare_worker), args.bare_budget)
        return
    kinds, skipped = chosen_backends(args)
    for kind, reason in skipped.items():
        print(f"skipping {kind}: {reason}")
    if not kinds:
        raise SystemExit("no backend left to measure")
    machine_line = machine()
    args.load_before = load()
    print(f"machine: {machine_line}; load {args.load_before}")
    corpus = open_corpus(args, kinds)
    try:
        if not args.build_only:
            run(corpus, kinds, skipped, args, machine_line)
    finally:
        if not corpus.kept:
            remove(corpus)


def run(corpus: Corpus, kinds: list[str], skipped: dict, args, machine_line: str) -> None:
    """Index every backend first (so that all index the same rows: the server measures add
    notes), then measure each; a failing backend is reported and left out."""
    any_url = corpus.url(corpus.database(kinds[0]))
    texts = queries(any_url, corpus.meta["seed"], args.queries)
    (corpus.directory / "queries.json").write_text(json.dumps(texts))
    indexed = [k for k in kinds if attempt(skipped, k, ensure_index, corpus, k, args.reindex)]
    accounts_by_db = {db: account(corpus.url(db)) for db in {corpus.database(k) for k in kinds}}
    results = {}
    for kind in indexed:
        who = accounts_by_db[corpus.database(kind)]
        if (result := attempt(skipped, kind, measure, corpus, kind, texts, args, who)) is not None:
            results[kind] = result
    (corpus.directory / "results.json").write_text(json.dumps(results))
    if results:
        report(corpus, results, skipped, texts, args, machine_line)


def attempt(skipped: dict, kind: str, step: Callable, *args):
    """What ``step(*args)`` returns (True for nothing), or None with the failure noted in
    ``skipped``: one broken backend must not stop the others."""
    try:
        return step(*args) or True
    except Exception as exc:
        skipped[kind] = f"failed: {exc!r}"[:500]
        print(f"  {kind} FAILED: {exc!r}")
        return None


if __name__ == "__main__":
    main()
