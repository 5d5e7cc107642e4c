"""The read side under load: API latency, the change feed, exports. Prints the figures.

    python -m benchmarks.read_side [--corpus ../shared/corpus] [--seconds 10] [--clients 4]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/test]
                                   [--copies N]

Stores the 971-record corpus (read in place) in a fresh SQLite file (or, with
``--postgres``, in a fresh schema of that database, dropped at the end), starts
``trialmirror serve`` in its own process on 127.0.0.1, and for ``--seconds``
each lets ``--clients`` threads (keep-alive sessions) request
``/studies/{id}`` for random corpus ids, then ``/search`` with queries drawn
from the corpus' conditions. ``--copies N`` stores the corpus N more times under
made-up ids (SYNTHETIC records) to see the figures at a larger scale. Then: the whole change feed paged 1,000 at a time,
and the NDJSON and CSV exports.
Targets: ``/studies/{id}`` p99 < 20 ms, ``/search`` p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from tests.fixtures.corpus_store import add_copies, fill
from trialmirror.ingest.sources import REGISTRY
from trialmirror.read import export
from trialmirror.store import Store

TARGETS_P99_MS = {"/studies/{id}": 20.0, "/search": 50.0}
QUERIES = ["cancer", "breast cancer", "diabetes", "stem cells", "umbilical cord", "covid-19",
           "hypertension", "depression", "vaccine", "asthma", "pain", "liver cirrhosis"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(base: str, paths: list[str], seconds: float, clients: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng, session, mine = random.Random(seed), requests.Session(), []
        while time.monotonic() < deadline:
            path = rng.choice(paths)
            t0 = time.perf_counter()
            response = session.get(base + path, timeout=10)
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


@contextmanager
def served(database: str, wait: float = 30.0) -> Iterator[str]:
    """``trialmirror serve`` on ``database`` in a process of its own, on a free port of
    127.0.0.1, once it answers: its base URL."""
    port = _free_port()
    env = {**os.environ, "TRIALMIRROR_DATABASE_URL": database}
    server = subprocess.Popen([sys.executable, "-m", "trialmirror", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def read_feed(base: str) -> tuple[int, float]:
    """The whole change feed, in pages of 1,000: (events, seconds)."""
    t0, seen, cursor = time.perf_counter(), 0, 0
    session = requests.Session()
    while True:
        page = session.get(base + "/changes", params={"after": cursor, "limit": 1000}, timeout=60).json()
        if not page["items"]:
            break
        seen, cursor = seen + len(page["items"]), page["next"]
    return seen, time.perf_counter() - t0


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to use instead of SQLite")
    parser.add_argument("--copies", type=int, default=0, help="store the corpus N more times (made-up ids)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trialmirror-bench-"))
    url = f"sqlite:///{folder / 'read.db'}"
    if args.postgres:
        url = _fresh_schema(args.postgres)
    try:
        _run(args, folder, url)
    finally:
        if args.postgres:
            _drop_schema(args.postgres)
        shutil.rmtree(folder, ignore_errors=True)


_SCHEMA = "trialmirror_bench_read"


def _admin(url: str) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _fresh_schema(url: str) -> str:
    with _admin(url).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE; CREATE SCHEMA {_SCHEMA}"))
    return f"{url}?options=-csearch_path%3D{_SCHEMA}"


def _drop_schema(url: str) -> None:
    with _admin(url).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE"))


def _run(args: argparse.Namespace, folder: Path, url: str) -> None:
    store = fill(Store(url), args.corpus)
    if args.copies:
        t0 = time.perf_counter()
        added = add_copies(store, args.corpus, args.copies)
        print(f"added {added:,} synthetic records in {time.perf_counter() - t0:.0f} s")
    ids = [r.registry_id for r in store.newest_registry_versions(REGISTRY)]
    with served(url) as base:
        print(f"{store.engine.dialect.name}: records {len(ids)}, {args.clients} clients, "
              f"{args.seconds:g} s per endpoint")
        for name, paths in (("/studies/{id}", [f"/studies/{i}" for i in ids]),
                            ("/search", [f"/search?q={q}" for q in QUERIES])):
            latencies = _load(base, paths, args.seconds, args.clients)
            p99 = _pct(latencies, 99)
            verdict = "met" if p99 < TARGETS_P99_MS[name] else "NOT met"
            print(f"{name:16} requests {len(latencies):>6}  {len(latencies) / args.seconds:>7.0f}/s  "
                  f"p50 {_pct(latencies, 50):6.2f} ms  p99 {p99:6.2f} ms  "
                  f"(target p99 < {TARGETS_P99_MS[name]:g} ms: {verdict})")
        seen, took = read_feed(base)
        print(f"{'change feed':16} {seen} events in {took:.2f} s "
              f"({seen / took:,.0f} events/s, pages of 1,000)")
    t0 = time.perf_counter()
    export.ndjson(store, io.BytesIO())
    ndjson_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    export.write_tables(store, folder / "csv", "csv")
    print(f"{'exports':16} ndjson {ndjson_s:.2f} s, csv (9 tables) {time.perf_counter() - t0:.2f} s")
    store.close()


if __name__ == "__main__":
    main()
