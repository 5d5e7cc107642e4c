"""Full loads from a local paged registry: records/s and peak RSS by size; reparse records/s.

    python -m benchmarks.bulk_load [--corpus ../shared/corpus] [--sizes 2000 20000]

The registry is tests/fixtures/paged_registry.py (SYNTHETIC records: the real
corpus documents under made-up ids, served in pages of 1,000) in this process;
each load runs in a child process into a fresh SQLite file, so its peak RSS is
its own. Target: peak RSS does not grow with the number of records (one page in
memory at a time).
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
    from ingest.bulk import bulk_sync
    from ingest.pipeline import Ingestor
    from ingest.reparse import reparse
    from ingest.settings import Settings
    from ingest.store import Store

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
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
