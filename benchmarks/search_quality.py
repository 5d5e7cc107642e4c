"""Search on the real corpus: do both stores rank alike, and what abbreviations add. Prints the figures.

    python -m benchmarks.search_quality [--corpus ../shared/corpus]
                                        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Stores the corpus (read in place) and the reconstructed NCT01342250 in a fresh
SQLite file and in a fresh schema of the PostgreSQL database (dropped at the end);
for each query, whether the first ten are the same records in the same order on
both, and how many of them are shared. Then the abbreviation definitions found in
the indexed records (how many records, how many pairs, a random sample to check
by hand with ``--sample N``), and the rank of NCT01342250 for "umbilical cord".
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

import orjson

from benchmarks.read_side import _drop_schema, _fresh_schema
from tests.fixtures.corpus_store import fill
from trialmirror.ingest.sources import REGISTRY
from trialmirror.store import Store, abbrev, search

QUERIES = ["umbilical cord", "breast cancer", "cords", "insulin", "stem cells", '"mesenchymal stem cells"',
           "erectile dysfunction", "tadalafil", "pain", "placebo", "hepatitis b", "quality of life",
           "covid-19 vaccine", "lung cancer", "depression", "children asthma", "prostate", "diabetes"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--postgres", metavar="URL", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sample", type=int, default=0, help="print N random definitions")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trialmirror-bench-"))
    sqlite_url = f"sqlite:///{folder / 's.db'}"
    sqlite = fill(Store(sqlite_url), args.corpus)
    try:
        postgres_url = _fresh_schema(args.postgres)
        postgres = fill(Store(postgres_url, search_dir=folder), args.corpus)
        print("The ranked index (store/ranked.py) on both stores:")
        _compare(("sqlite", sqlite), ("postgresql", postgres))
        own = {"sqlite": Store(sqlite_url, ranked=False), "postgresql": Store(postgres_url, ranked=False)}
        print("\nThe stores' own ranking (when the index cannot be used), on both:")
        _compare(("sqlite", own["sqlite"]), ("postgresql", own["postgresql"]))
        print("\nThe ranked index against the store's own ranking, on SQLite:")
        _compare(("ranked", sqlite), ("own", own["sqlite"]))
        for store in (postgres, *own.values()):
            store.close()
        _abbreviations(sqlite, args.sample)
    finally:
        _drop_schema(args.postgres)
        sqlite.close()
        shutil.rmtree(folder, ignore_errors=True)


def _compare(first: tuple[str, Store], second: tuple[str, Store]) -> None:
    identical = 0
    print(f"{'query':28} {'same top 10':>11} {'shared':>7}")
    for q in QUERIES:
        a = [h.registry_id for h in first[1].search(q, limit=10)]
        b = [h.registry_id for h in second[1].search(q, limit=10)]
        identical += a == b
        print(f"{q:28} {'yes' if a == b else 'no':>11} {len(set(a) & set(b)):>3}/{max(len(a), len(b))}")
    print(f"identical top tens: {identical} of {len(QUERIES)}")
    for name, store in (first, second):
        ids = [h.registry_id for h in store.search("umbilical cord", limit=50)]
        print(f"'umbilical cord', {name}: NCT01342250 ranks {ids.index('NCT01342250') + 1}")


def _abbreviations(store: Store, sample: int) -> None:
    pairs: list[tuple[str, str, str]] = []
    with_any = total = 0
    for row, record in store.records(store.newest_registry_versions(REGISTRY)):
        text_ = search.document(orjson.loads(record), expand=False)
        found = abbrev.definitions(text_[f] for f in search.FIELDS)
        total += 1
        with_any += bool(found)
        pairs += [(row.registry_id, short, long_) for short, long_ in found.items()]
    print(f"abbreviation definitions: {len(pairs):,} in {with_any} of {total} records")
    for pair in random.Random(1).sample(pairs, min(sample, len(pairs))):
        print("  ", *pair)


if __name__ == "__main__":
    main()
