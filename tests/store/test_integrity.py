"""``trialmirror db check``: the database's own integrity check, exit 1 naming the damage,
the result kept for ``trialmirror status``; SQLite and PostgreSQL.

The damage is SYNTHETIC but real to the database: on SQLite a page overwritten; on
PostgreSQL an index whose entries no longer match its table, which is what a changed
collation does to an index (here: an expression index whose IMMUTABLE function is
redefined after the index was built), found by amcheck.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.storage import cli_stores_closed, damage, fill, run

__all__ = ["cli_stores_closed"]
pytestmark = pytest.mark.usefixtures("cli_stores_closed")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    fill(url)
    return url


def _pg(url: str, *statements: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _amcheck(url: str) -> None:
    """amcheck in this test's schema (dropped with it), or a skip where the server lacks it."""
    try:
        _pg(url, "CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA " + url.rsplit("%3D", 1)[1])
    except Exception as exc:  # noqa: BLE001 - the contrib module is not installed on this server
        pytest.skip(f"amcheck is not available on this PostgreSQL server: {exc.__class__.__name__}")


def test_a_sound_database_passes_and_status_shows_when(url):
    never = run(url, "status")
    assert "database never checked (`trialmirror db check`; the service checks daily)" in never.stdout
    result = run(url, "db", "check")
    assert result.exit_code == 0, result.stderr
    method = "integrity_check" if url.startswith("sqlite") else "read every table"
    assert result.stdout.startswith(f"{url.removeprefix('sqlite:///') if url.startswith('sqlite') else url}: "
                                    f"ok ({method}, ")
    if not url.startswith("sqlite"):
        assert "note: amcheck is not installed in this database: `CREATE EXTENSION amcheck`" in result.stderr
    status = run(url, "status")
    assert re.search(rf"database last checked \d+s ago by trialmirror db check: ok \({method}\)", status.stdout)
    kept = json.loads(run(url, "status", "--json").stdout)["db_check"]
    assert kept["ok"] is True and kept["method"] == method and kept["problems"] == []


def test_quick_check_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    fill(url)
    result = json.loads(run(url, "db", "check", "--quick", "--json").stdout)
    assert result["ok"] is True and result["method"] == "quick_check"


def test_a_damaged_sqlite_file_is_named_page_by_page_and_exits_1(tmp_path):
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    fill(url)
    page = damage(path, "delivery")
    result = run(url, "db", "check")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}: DAMAGED (integrity_check found ")
    assert f"Page {page}" in result.stdout
    assert "error: the database" in result.stderr and "restore it from a backup" in result.stderr
    report = json.loads(run(url, "db", "check", "--json").stdout)
    assert report["ok"] is False and report["database"] == str(path)
    assert any(f"Page {page}" in p for p in report["problems"])
    status = run(url, "status").stdout
    assert re.search(r"database last checked \d+s ago by trialmirror db check: DAMAGED, ", status)
    assert f"first: Page {page}" in " ".join(status.split())


def test_a_file_too_damaged_to_check_is_still_an_answer(tmp_path):
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    fill(url)
    with path.open("r+b") as handle:
        handle.write(b"\0" * 100)  # the header: no longer a database file
    result = run(url, "db", "check")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "the check stopped: file is not a database" in result.stdout


def test_postgresql_with_amcheck_checks_every_index(postgres_url):
    fill(postgres_url)
    _amcheck(postgres_url)
    result = json.loads(run(postgres_url, "db", "check", "--json").stdout)
    assert result["ok"] is True and result["method"] == "amcheck" and result["note"] is None


def test_postgresql_amcheck_finds_an_index_out_of_step_with_its_table(postgres_url):
    fill(postgres_url)
    _amcheck(postgres_url)
    _pg(postgres_url,
        "CREATE FUNCTION shelf(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT $1 $$",
        "CREATE INDEX ix_version_shelf ON version (shelf(registry_id))",
        # the index's keys were made by the old function: every entry is now out of step
        "CREATE OR REPLACE FUNCTION shelf(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT reverse($1) $$")
    result = run(postgres_url, "db", "check")
    assert result.exit_code == 1
    assert "DAMAGED (amcheck found 1 problem(s)):" in result.stdout
    assert "index ix_version_shelf: " in result.stdout and "lacks matching index tuple" in result.stdout
    assert json.loads(run(postgres_url, "status", "--json").stdout)["db_check"]["ok"] is False


def test_a_database_that_does_not_exist_is_not_checked_nor_made(tmp_path):
    result = run(f"sqlite:///{tmp_path / 'typo.db'}", "db", "check")
    assert result.exit_code == 2 and "no trialmirror database at" in result.stderr
    assert not list(tmp_path.iterdir())
