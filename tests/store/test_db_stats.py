"""``trialmirror db stats``: bytes by table (indexes included) and per record, on SQLite
and PostgreSQL; it changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.storage import cli_stores_closed, fill, fill_many, run

__all__ = ["cli_stores_closed"]
pytestmark = pytest.mark.usefixtures("cli_stores_closed")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    fill(url)
    fill_many(url, 20)
    return url


def test_stats_add_up_and_count_the_records(url):
    result = run(url, "db", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    tables = {t["table"]: t for t in stats["tables"]}

    assert stats["records"] == 21  # NCT01342250 (two versions) and 20 made-up ids
    assert tables["version"]["rows"] == 22 and tables["search_doc"]["rows"] == 21
    assert tables["version"]["bytes"] > tables["fetch"]["bytes"] > 0
    assert sum(t["bytes"] for t in stats["tables"]) <= stats["total_bytes"]
    assert stats["bytes_per_record"] == round(stats["total_bytes"] / 21)
    if url.startswith("sqlite"):  # FTS5's shadow tables count as the index they make up
        assert "search_fts" in tables and not any(name.startswith("search_fts_") for name in tables)


def test_stats_name_the_ranked_search_index_beside_the_database(url):
    assert json.loads(run(url, "db", "stats", "--json").stdout)["search_index"] is None  # none built yet
    assert run(url, "search", "umbilical").exit_code == 0  # a search builds it
    found = json.loads(run(url, "db", "stats", "--json").stdout)["search_index"]
    assert found["bytes"] > 0 and Path(found["path"]).is_dir()
    assert found["bytes_per_record"] == round(found["bytes"] / 21)
    if url.startswith("sqlite"):
        assert found["path"].endswith("store.db.search")
    assert "ranked search index, beside the database" in run(url, "db", "stats").stdout


def test_stats_as_a_table_keep_each_figure_whole(url):
    result = run(url, "db", "stats", COLUMNS="60")
    assert result.exit_code == 0, result.output
    version = next(line for line in result.stdout.splitlines() if "│ version " in line)
    assert "22" in version and "kB" in version.replace("\u00a0", " ")
    assert "21 records" in result.stdout


def test_stats_of_a_missing_file_say_so(tmp_path):
    result = run(f"sqlite:///{tmp_path / 'nothing.db'}", "db", "stats")
    assert result.exit_code == 2 and "no trialmirror database" in result.stderr
    assert not (tmp_path / "nothing.db").exists()
