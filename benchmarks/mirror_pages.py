"""Parse mirror pages and reconcile them; print the figures.

    python -m benchmarks.mirror_pages [--seeds ../shared/seeds] [--json]

Pages: the real page texts of ../shared/seeds (read in place) in the test
markups of tests/fixtures/mirror_pages.py (ClinicalTrials.Veeva in tidy markup,
in tag soup, tidy with the weight of a real page's scripts and menus, and with
its chrome in HTML5 landmarks and its title in an <h1>; the WHO ICTRP sample as
a table). Each figure is the best of
five passes. Mirrors are fetched at the polite rate (1 request/s per host by
default), so the target only says parsing is never the bottleneck of a sync:
>= 100 pages/s; reconciliation (compare one mirror record with one registry
record) >= 1,000/s, since a report scores every stored registry version.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.sources import ctgov, ctv, ictrp
from trialmirror.read.reconcile import compare

TARGETS = {"page_parse_per_s": 100, "compare_per_s": 1000}


def _best_rate(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            work()
        best = min(best, time.perf_counter() - t0)
    return round(repeat / best, 1)


def _heavy(page: bytes) -> bytes:
    """The page with the weight of a real one: ~200 kB of inline script and styles and a
    300-link menu (ClinicalTrials.Veeva's pages are a JavaScript application's HTML)."""
    script = b"<script>" + b"window.__STATE__={};" * 10_000 + b"</script>"
    style = b"<style>" + b".c{color:red}" * 2_000 + b"</style>"
    menu = b"<nav><ul>" + b"".join(b"<li><a href='/x'>Link %d</a></li>" % i for i in range(300)) + b"</ul></nav>"
    return page.replace(b"<main>", script + style + b"<main>").replace(b"</main>", b"</main>" + menu)


def measure(seeds: Path) -> dict[str, float]:
    ctv_lines = mp.seed_lines(seeds / "ctv_veeva__NCT01342250.txt")
    pages = {
        "ctv_semantic": (ctv.parse, mp.semantic(ctv_lines), "NCT01342250"),
        "ctv_soup": (ctv.parse, mp.soup(ctv_lines), "NCT01342250"),
        "ctv_heavy": (ctv.parse, _heavy(mp.semantic(ctv_lines)), "NCT01342250"),
        "ctv_landmarks": (ctv.parse, mp.landmarks(ctv_lines), "NCT01342250"),
        "ictrp_table": (ictrp.parse, mp.table(mp.seed_lines(seeds / "who_ictrp__NCT01659762.txt")),
                        "NCT01659762"),
    }
    figures: dict[str, float] = {}
    for name, (parse, raw, registry_id) in pages.items():
        figures[f"{name}_bytes"] = len(raw)
        figures[f"{name}_per_s"] = _best_rate(lambda p=parse, r=raw, i=registry_id: p(r, i), 200)
    mirror = ctv.parse(pages["ctv_semantic"][1], "NCT01342250").model_dump(mode="json")
    registry = ctgov.parse(json.dumps(fx.current()).encode(), "NCT01342250").model_dump(mode="json")
    figures["compare_per_s"] = _best_rate(lambda: compare(mirror, registry), 2000)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "seeds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.seeds)
    if args.json:
        print(json.dumps({"figures": figures, "targets": TARGETS}, indent=2))
        return
    slowest = min(v for k, v in figures.items() if k.endswith("_per_s") and k != "compare_per_s")
    for key, value in figures.items():
        print(f"{key:24} {value:>12,.1f}")
    print(f"{'slowest page parse/s':24} {slowest:>12,.1f}   target >= {TARGETS['page_parse_per_s']:,}: "
          f"{'met' if slowest >= TARGETS['page_parse_per_s'] else 'NOT met'}")
    print(f"{'compare/s':24} {figures['compare_per_s']:>12,.1f}   target >= {TARGETS['compare_per_s']:,}: "
          f"{'met' if figures['compare_per_s'] >= TARGETS['compare_per_s'] else 'NOT met'}")


if __name__ == "__main__":
    main()
