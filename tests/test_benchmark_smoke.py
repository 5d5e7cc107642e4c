"""The benchmarks run at a small size: every step works end to end (no timing asserted;
figures live in benchmarks/, never in tests)."""

from __future__ import annotations

import sys

import pytest

from benchmarks import registry_scale


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_registry_scale_runs_every_step_at_a_small_size(store, corpus_dir, request):
    postgres = request.getfixturevalue("_postgres_available") if store == "postgresql" else None
    said: list[str] = []
    figures = registry_scale.run(corpus_dir, 250, postgres=postgres, seconds=0.2, clients=2, say=said.append)

    assert figures["incremental_records"] == 3 and figures["incremental_new"] == 3  # 1% edited, each a version
    assert figures["stored_bytes"] > 0 and figures["ndjson_bytes"] > 0 and figures["csv_bytes"] > 0
    assert figures["changes_events"] >= 253  # a new record each, then the three edits
    for name in ("study", "search_common", "search_rare", "search_phrase"):
        assert figures[f"{name}_p99_ms"] > 0  # every request answered 200 (the load stops otherwise)
    assert set(figures["verdicts"]) >= {"peak_rss_mb", "stored_vs_raw", "search_common_p99_ms", "changes_per_s"}
    assert any(line.startswith("full load") for line in said)
    if sys.platform == "linux":  # the memory the load needed, apart from the files it mapped
        assert 0 < figures["load_anon_mb"] <= figures["load_rss_mb"]
        assert "anonymous" in next(line for line in said if line.startswith("full load"))
