"""The whole registry on one machine: load, store, update, reparse, export and serve N records.

    python -m benchmarks.registry_scale --records 580000 [--postgres URL] [--seconds 10]
                                        [--clients 4] [--corpus ../shared/corpus] [--json]
                                        [--steps incremental,reparse,exports,serve] [--keep]

A local ClinicalTrials.gov search endpoint (tests/fixtures/paged_registry.py) serves
N SYNTHETIC records: the real corpus documents under made-up ids ``NCT8nnnnnnn``,
LastUpdatePostDate spread over 2020-2023, pages of 1,000. Into a fresh SQLite file
(or, with ``--postgres``, a fresh schema of that database, dropped at the end), in
order, each step in a child process of its own (so its peak RSS is its own):

1. full load: ``sync --all`` from empty (records/s, wall time, peak RSS, and its
   anonymous and file-backed parts' peaks where Linux's /proc tells them);
2. stored bytes, per record and in all, against the raw JSON the registry served;
3. incremental: 1% of the records edited in the registry, then ``sync --all``;
4. ``reparse --all``;
5. NDJSON and CSV exports;
6. the API (``trialmirror serve``) under ``--clients`` threads for ``--seconds`` each:
   ``/studies/{id}``, ``/search`` for a common word, a rare word and a phrase with
   filters; then the whole change feed, in pages of 1,000.

Printed beside them, as the reference for this machine's speed in this run: the
``json.loads`` rate of the corpus. Targets (issue 17, at 580,000 records): load >= 600
records/s on SQLite, peak RSS < 300 MB, stored <= 60% of the raw JSON, search p99 < 50
ms, study p99 < 20 ms, change feed >= 50,000 events/s, incremental (1%) < 60 s,
reparse < 20 min, NDJSON export < 5 min. The test suite runs a small size as a smoke
test only: no timing is asserted there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

TARGETS: dict[str, tuple[str, float]] = {  # figure -> (at least | at most, value)
    "load_per_s": (">=", 600), "peak_rss_mb": ("<=", 300), "stored_vs_raw": ("<=", 0.60),
    "incremental_s": ("<=", 60), "reparse_s": ("<=", 1200), "ndjson_s": ("<=", 300),
    "changes_per_s": (">=", 50_000),
    **{f"{name}_p99_ms": ("<=", 20 if name == "study" else 50)
       for name in ("study", "search_common", "search_rare", "search_phrase")},
}


# --- the steps: the commands users run, each in a process of its own -------------------

STEPS = {
    "load": ["sync", "--all", "--json"],  # the first run of a store is a full load
    "incremental": ["sync", "--all", "--json"],  # later runs: what changed since the last
    "reparse": ["reparse", "--all", "--json"],
    "ndjson": ["export", "--format", "ndjson", "-o", "{folder}/records.ndjson"],
    "csv": ["export", "--format", "csv", "-o", "{folder}/csv"],
}


def child(step: str, base_url: str, database: str, folder: str) -> dict[str, Any]:
    """Run ``trialmirror STEP`` and measure it: seconds, its peak RSS, what it printed."""
    env = {**os.environ, "TRIALMIRROR_DATABASE_URL": database, "TRIALMIRROR_CTGOV_BASE_URL": base_url or
           "http://127.0.0.1:9", "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000"}
    argv = [sys.executable, "-m", "trialmirror", *(a.format(folder=folder) for a in STEPS[step])]
    t0 = time.perf_counter()
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        peaks: dict[str, float] = {}
        watcher = threading.Thread(target=_sample_memory, args=(proc, peaks), daemon=True)
        watcher.start()
        stdout, stderr = proc.communicate()
        watcher.join()
    out = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    figures: dict[str, Any] = {"seconds": time.perf_counter() - t0, "exit": out.returncode,
                               "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                               **{f"peak_{part}_mb": mb for part, mb in peaks.items()}}
    if out.returncode != 0:
        figures["stderr"] = out.stderr[-3000:]
    elif "--json" in STEPS[step]:
        figures["output"] = json.loads(out.stdout)
    if step in ("ndjson", "csv"):
        path = Path(folder) / ("records.ndjson" if step == "ndjson" else "csv")
        figures["bytes"] = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())
    return figures


def _sample_memory(proc: subprocess.Popen[str], peaks: dict[str, float]) -> None:
    """Into ``peaks``: the highest anonymous and file-backed resident memory of ``proc``
    (Linux's /proc, sampled every 0.1 s while it runs; nothing elsewhere). Peak RSS
    counts both; the file-backed part is mostly the ranked index's own files, mapped
    while Tantivy merges its segments: page cache the kernel takes back when memory
    is short, not memory the step needs."""
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith(("RssAnon:", "RssFile:")):
                    part = "anon" if line.startswith("RssAnon") else "file"
                    peaks[part] = max(peaks.get(part, 0.0), int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            return  # it ended meanwhile, or no /proc here
        time.sleep(0.1)


def _run_child(step: str, base_url: str, database: str, folder: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.registry_scale", "--child", step, base_url,
                          database, str(folder)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the {step} step failed:\n{out.stderr[-3000:]}")
    figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    if figures["exit"] != 0:
        raise SystemExit(f"`trialmirror {' '.join(STEPS[step])}` exited {figures['exit']}:\n{figures['stderr']}")
    return figures


# --- what the parent measures ---------------------------------------------------------


def json_loads_rate(corpus: Path) -> float:
    payloads = [p.read_bytes() for p in sorted((corpus / "ctgov_v2").glob("NCT*.json"))]
    best = min(_timed(lambda: [json.loads(raw) for raw in payloads]) for _ in range(5))
    return len(payloads) / best


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def index_bytes(folder: Path) -> int:
    """The ranked search indexes' files under ``folder`` (store/ranked.py)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def stored_bytes(database: str) -> int:
    """The database's bytes (tables and their indexes), the ranked search index aside."""
    from sqlalchemy import create_engine, text

    if database.startswith("sqlite"):
        import sqlite3

        path = Path(database.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        size = conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')")).scalar_one()
    engine.dispose()
    return int(size)


def _rare_word(corpus: Path) -> str:
    """A word of one corpus record's brief title only (so 1 in 971 records has it)."""
    import re

    counts: dict[str, int] = {}
    for path in sorted((corpus / "ctgov_v2").glob("NCT*.json")):
        title = json.loads(path.read_bytes())["protocolSection"]["identificationModule"].get("briefTitle", "")
        for word in set(re.findall(r"[a-z]{9,}", title.lower())):
            counts[word] = counts.get(word, 0) + 1
    return sorted(w for w, n in counts.items() if n == 1)[0]


def serve_figures(database: str, ids: list[str], rare: str, seconds: float, clients: int) -> dict[str, Any]:

    from benchmarks.read_side import _load, _pct, read_feed, served

    figures: dict[str, Any] = {}
    with served(database, wait=60) as base:
        rng = random.Random(17)
        loads = {
            "study": [f"/studies/{rng.choice(ids)}" for _ in range(2000)],
            "search_common": ["/search?q=cancer"],
            "search_rare": [f"/search?q={rare}"],
            "search_phrase": ['/search?q="breast cancer"&status=completed&phase=3'],
        }
        for name, paths in loads.items():
            latencies = _load(base, paths, seconds, clients)
            figures[f"{name}_per_s"] = len(latencies) / seconds
            figures[f"{name}_p50_ms"] = _pct(latencies, 50)
            figures[f"{name}_p99_ms"] = _pct(latencies, 99)
        seen, took = read_feed(base)
        figures["changes_events"], figures["changes_per_s"] = seen, seen / took
    return figures


STEP_NAMES = ("incremental", "reparse", "exports", "serve")  # after the load, which always runs


def run(corpus: Path, records: int, *, postgres: str | None = None, seconds: float = 10.0,
        clients: int = 4, say: Any = print, steps: tuple[str, ...] = STEP_NAMES,
        keep: bool = False) -> dict[str, Any]:
    import orjson

    from tests.fixtures.paged_registry import PagedRegistry

    figures: dict[str, Any] = {"records": records, "store": "postgresql" if postgres else "sqlite",
                               "date": date.today().isoformat(), "json_loads_per_s": json_loads_rate(corpus)}
    folder = Path(tempfile.mkdtemp(prefix="trialmirror-scale-"))
    schema = f"trialmirror_scale_{os.getpid()}"
    database = _schema(postgres, schema, "CREATE") if postgres else f"sqlite:///{folder / 'db' / 'registry.db'}"
    (folder / "db").mkdir()
    # Where a PostgreSQL store's ranked index goes (a SQLite store's is beside its file).
    os.environ["TRIALMIRROR_SEARCH_DIR"] = str(folder / "db")
    try:
        with PagedRegistry(corpus, records) as registry:
            sizes = [len(orjson.dumps(doc)) for doc in registry.corpus]
            figures["raw_bytes"] = sum(sizes[i % len(sizes)] for i in range(records))
            say(f"{records:,} records, {figures['store']}; json.loads of the corpus "
                f"{figures['json_loads_per_s']:,.0f} records/s (this run's reference)")
            load = _run_child("load", registry.base_url, database, folder)
            if not load["output"]["complete"] or load["output"]["records"] != records:
                raise SystemExit(f"the full load stored {load['output']['records']:,} of {records:,} records")
            figures.update(load_s=load["seconds"], load_per_s=records / load["seconds"],
                           load_rss_mb=load["peak_rss_mb"], load_anon_mb=load.get("peak_anon_mb"),
                           load_file_mb=load.get("peak_file_mb"))
            say(f"full load      {figures['load_per_s']:8,.0f} records/s, {load['seconds']:,.0f} s, "
                f"peak RSS {load['peak_rss_mb']:.0f} MB{_parts(load)}")
            figures["index_bytes"] = index_bytes(folder / "db" / ("" if postgres else "registry.db.search"))
            figures["stored_bytes"] = stored_bytes(database) + figures["index_bytes"]
            figures["stored_per_record"] = figures["stored_bytes"] / records
            figures["stored_vs_raw"] = figures["stored_bytes"] / figures["raw_bytes"]
            say(f"stored         {_size(figures['stored_bytes']):>11}, {figures['stored_per_record'] / 1e3:.1f} kB "
                f"a record, {figures['stored_vs_raw']:.0%} of the raw JSON ({_size(figures['raw_bytes'])}); "
                f"the ranked search index {figures['index_bytes'] / records / 1e3:.1f} kB a record")
            changed = sorted(registry.records)[:: 100] if "incremental" in steps else []
            for rid in changed:
                registry.edit(rid, date.today().isoformat())
            if changed:
                again = _run_child("incremental", registry.base_url, database, folder)
                figures.update(incremental_records=len(changed), incremental_s=again["seconds"],
                               incremental_rss_mb=again["peak_rss_mb"],
                               incremental_new=again["output"]["outcomes"].get("new_version", 0),
                               incremental_fetched=again["output"]["records"])
                say(f"incremental    {len(changed):8,} records edited: {again['seconds']:,.1f} s "
                    f"({figures['incremental_fetched']:,} fetched, {figures['incremental_new']:,} new versions), "
                    f"peak RSS {again['peak_rss_mb']:.0f} MB{_parts(again)}")
        if "reparse" in steps:
            reparsed = _run_child("reparse", "", database, folder)
            figures.update(reparse_s=reparsed["seconds"], reparse_per_s=records / reparsed["seconds"],
                           reparse_rss_mb=reparsed["peak_rss_mb"])
            say(f"reparse --all  {figures['reparse_per_s']:8,.0f} records/s, {reparsed['seconds']:,.0f} s, "
                f"peak RSS {reparsed['peak_rss_mb']:.0f} MB{_parts(reparsed)}")
        for fmt in ("ndjson", "csv") if "exports" in steps else ():
            done = _run_child(fmt, "", database, folder)
            figures.update({f"{fmt}_s": done["seconds"], f"{fmt}_bytes": done["bytes"],
                            f"{fmt}_rss_mb": done["peak_rss_mb"]})
            say(f"export {fmt:7} {done['seconds']:8,.1f} s, {_size(done['bytes'])}")
        figures["peak_rss_mb"] = max(figures[k] for k in figures if k.endswith("_rss_mb"))
        if "serve" in steps:
            ids = [f"NCT8{i:07d}" for i in range(records)]
            served = serve_figures(database, ids, _rare_word(corpus), seconds, clients)
            figures.update(served)
            for name in ("study", "search_common", "search_rare", "search_phrase"):
                say(f"{name:14} {served[f'{name}_per_s']:8,.0f} requests/s, p50 {served[f'{name}_p50_ms']:.1f} "
                    f"ms, p99 {served[f'{name}_p99_ms']:.1f} ms ({clients} clients)")
            say(f"change feed    {served['changes_per_s']:8,.0f} events/s ({served['changes_events']:,} events)")
    finally:
        if postgres:
            _schema(postgres, schema, "DROP")
        if keep and not postgres:
            say(f"kept: {folder / 'db'} (the SQLite store and its ranked index)")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    figures["verdicts"] = {name: _verdict(figures[name], *target) for name, target in TARGETS.items()
                           if name in figures and not (name == "load_per_s" and postgres)}
    return figures


def _schema(url: str, name: str, what: str) -> str:
    """A fresh schema of the PostgreSQL database ``url`` (CREATE), or none (DROP)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        if what == "CREATE":
            conn.execute(text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{name}"


def _parts(step: dict[str, Any]) -> str:
    """The peaks of a step's anonymous and file-backed memory, where /proc told them."""
    if "peak_anon_mb" not in step:
        return ""
    return f" (anonymous {step['peak_anon_mb']:.0f} MB, files mapped {step.get('peak_file_mb', 0):.0f} MB)"


def _size(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _verdict(value: float, way: str, target: float) -> str:
    met = value >= target if way == ">=" else value <= target
    return f"{'met' if met else 'NOT met'} ({way} {target:g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("TRIALMIRROR_CORPUS_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    parser.add_argument("--corpus", type=Path, default=Path(default))
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to use instead of SQLite")
    parser.add_argument("--seconds", type=float, default=10.0, help="of load on each API endpoint")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--steps", default=",".join(STEP_NAMES),
                        help=f"after the full load, which always runs: some of {','.join(STEP_NAMES)}")
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite store and its index at the end (a full load takes an hour)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("STEP", "BASE_URL", "DATABASE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    if unknown := set(steps) - set(STEP_NAMES):
        parser.error(f"unknown steps {', '.join(sorted(unknown))}; choose among {', '.join(STEP_NAMES)}")
    figures = run(args.corpus, args.records, postgres=args.postgres, seconds=args.seconds, clients=args.clients,
                  say=(lambda *_: None) if args.json else print, steps=steps, keep=args.keep)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, verdict in figures["verdicts"].items():
        print(f"{name:22} {figures[name]:>12,.2f}  {verdict}")


if __name__ == "__main__":
    main()
