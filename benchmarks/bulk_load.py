"""Full loads from a local paged registry: records/s and peak RSS by size; reparse records/s.

    python -m benchmarks.bulk_load [--corpus ../shared/corpus] [--sizes 2000 20000]

The registry is tests/fixtures/paged_registry.py (SYNTHETIC records: the real
corpus documents under made-up ids, served in pages of 1,000) in this process;
each load runs in a child process into a fresh SQLite file, so its peak RSS is
its own. Target: peak RSS does not grow with the number of records (one page in
memory at a time). ``--workers N`` adds a distributed full load on PostgreSQL
(N Celery workers, RabbitMQ and Redis on 127.0.0.1) against one process on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(base_url: str, database: str) -> None:
    from trialmirror.ingest.runs.bulk import bulk_sync
    from trialmirror.ingest.runs.pipeline import Ingestor
    from trialmirror.ingest.runs.reparse import reparse
    from trialmirror.settings import Settings
    from trialmirror.store import Store

    settings = Settings(database_url=database, ctgov_base_url=base_url, max_requests_per_second=1000,
                        _env_file=None)
    store = Store(database)
    t0 = time.perf_counter()
    result = bulk_sync(Ingestor(settings, store))
    load_s = time.perf_counter() - t0
    load_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    again = reparse(store, ["ctgov"], everything=True)
    reparse_s = time.perf_counter() - t0
    print(json.dumps({"records": result.records, "complete": result.complete, "load_s": load_s,
                      "reparse_records": again.looked_at, "reparse_s": reparse_s,
                      "load_peak_rss_mb": load_rss,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


_SCHEMAS: list[str] = []


def _pg(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _pg_schema() -> str:
    import uuid

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    _pg(f"CREATE SCHEMA {schema}")
    _SCHEMAS.append(schema)
    return f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def distributed(corpus: Path, size: int, workers: int) -> None:
    import os
    import uuid

    import redis
    from sqlalchemy import text

    from tests.fixtures.paged_registry import PagedRegistry
    from trialmirror.store import Store

    with PagedRegistry(corpus, size) as registry:
        url = _pg_schema()
        out = subprocess.run([sys.executable, "-m", "benchmarks.bulk_load", "--child", registry.base_url, url],
                             capture_output=True, text=True, check=True)
        one = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{size:>7,} records, one process, PostgreSQL: {one['records'] / one['load_s']:,.0f} records/s")
        url = _pg_schema()
        redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
        env = {**os.environ, "TRIALMIRROR_DATABASE_URL": url, "TRIALMIRROR_CTGOV_BASE_URL": registry.base_url,
               "TRIALMIRROR_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
               "TRIALMIRROR_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/14",
               "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_QUEUE": f"bench-{uuid.uuid4().hex[:8]}"}
        procs = [subprocess.Popen([sys.executable, "-m", "cli", "worker", "--concurrency", "1"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        store = Store(url)
        try:
            time.sleep(3)  # the workers connect
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cli", "sync", "--all", "--full"], env=env, check=True,
                           capture_output=True)
            while True:
                with store.transaction() as conn:
                    stored = conn.execute(text("SELECT count(*) FROM version")).scalar_one()
                if stored >= size:
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - t0
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)
            store.close()
        print(f"{size:>7,} records, {workers} Celery workers, PostgreSQL: {size / seconds:,.0f} records/s "
              f"({seconds:.1f} s)")
    for schema in _SCHEMAS:
        _pg(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "DATABASE"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0,
                        help="Also a distributed full load on PostgreSQL with this many Celery workers "
                             "(RabbitMQ and Redis on 127.0.0.1), against one process on PostgreSQL.")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.workers:
        distributed(args.corpus, max(args.sizes), args.workers)
        return
    from tests.fixtures.paged_registry import PagedRegistry

    for size in args.sizes:
        with PagedRegistry(args.corpus, size) as registry, tempfile.TemporaryDirectory() as folder:
            out = subprocess.run([sys.executable, "-m", "benchmarks.bulk_load", "--child", registry.base_url,
                                  f"sqlite:///{folder}/bulk.db"], capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{size:>7,} records: full load {figures['records'] / figures['load_s']:7,.0f} records/s "
              f"({figures['load_s']:.1f} s, complete: {figures['complete']}), reparse "
              f"{figures['reparse_records'] / figures['reparse_s']:7,.0f} records/s, "
              f"peak RSS {figures['load_peak_rss_mb']:.0f} MB after the load, "
              f"{figures['peak_rss_mb']:.0f} MB after the reparse")


if __name__ == "__main__":
    main()
