"""Results reporting under FDAAA over the corpus: how many records are ACTs, probable ACTs,
due, overdue, reported, reported late, on a stated date; print the figures.

    python -m benchmarks.reporting_corpus [--corpus ../shared/corpus] [--as-of 2026-11-30 | captured] [--json]

Each of the 971 real API v2 records of ``ctgov_v2`` (read in place) is parsed and judged by
the FDAAA TrialsTracker's rules (models/reporting.py) on ``--as-of`` (default today, UTC), or,
with ``--as-of captured``, each on the date of its own capture (its last update posted: how it
stood then, as the registry showed it). The records were captured at different dates (2023 to
2026), so a record still recruiting when captured may have passed an anticipated completion
date since: on a later date the rules count it as ClinicalTrials.gov's record said then, as
the tracker would have.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from trialmirror.ingest.sources import ctgov
from trialmirror.models import reporting as r

FIGURES = ("records", "act", "pact", "results_due", "overdue", "overdue_cancelled", "reported", "reported_late",
           "ongoing", "not_applicable")


def count(corpus: Path, as_of: date | None) -> dict[str, int]:
    """The figures over the corpus on ``as_of`` (None: each record on its capture date)."""
    figures: Counter[str] = Counter({name: 0 for name in FIGURES})
    for path in sorted((corpus / "ctgov_v2").glob("NCT*.json")):
        doc: dict[str, Any] = orjson.loads(ctgov.parse(path.read_bytes(), path.stem).model_dump_json())
        day = as_of or r.day_of(doc.get("source_version_date")) or date.today()
        status = r.status_on(doc, day)
        figures["records"] += 1
        figures[status.state] += 1
        if status.classification:
            figures[status.classification] += 1
        figures["results_due"] += status.results_due
    return dict(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD, or 'captured' [default: today, UTC]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    as_of = None if args.as_of == "captured" else (
        date.fromisoformat(args.as_of) if args.as_of else datetime.now(UTC).date())
    t0 = time.perf_counter()
    figures = count(args.corpus, as_of)
    seconds = time.perf_counter() - t0
    said = {"as_of": as_of.isoformat() if as_of else "captured", **figures,
            "records_per_s": round(figures["records"] / seconds, 1)}
    if args.json:
        print(json.dumps(said, indent=2))
        return
    print(f"as of {said['as_of']}, {figures['records']} records ({said['records_per_s']} records/s, parse included):")
    for name in FIGURES[1:]:
        print(f"  {name.replace('_', ' '):18} {figures[name]:5}")


if __name__ == "__main__":
    main()
