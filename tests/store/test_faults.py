"""A full disk, a damaged database, a database trialmirror cannot use: one line naming
the database and what to do, exit 2, never a traceback, nothing half-written.

The full disk is real SQLite and PostgreSQL behaviour: SQLite's ``max_page_count``
makes the file full at its present size (SQLITE_FULL, "database or disk is full");
on PostgreSQL a trigger raises the server's own ``disk_full`` SQLSTATE (53100) where
the write path stores a version, as the server does when it cannot extend a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import Pool

from tests.fixtures import nct01342250 as fx
from tests.fixtures.paged_registry import PagedRegistry
from tests.fixtures.server import Reply, ScriptedServer
from tests.fixtures.storage import NCT, cli_stores_closed, damage, fill, one_line, run
from trialmirror.store import Store

__all__ = ["cli_stores_closed"]
pytestmark = pytest.mark.usefixtures("cli_stores_closed")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


@contextmanager
def full_disk(url: str) -> Iterator[None]:
    """The database cannot grow while the block runs."""
    if url.startswith("sqlite"):
        pages = _sql(url, "PRAGMA page_count")[0][0]

        def limit(dbapi_conn: object, _record: object) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count={pages}")  # type: ignore[attr-defined]

        event.listen(Pool, "connect", limit)
        try:
            yield
        finally:
            event.remove(Pool, "connect", limit)
        return
    _sql(url, "CREATE FUNCTION disk_is_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
              "RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' "
              "USING ERRCODE = 'disk_full'; END $$")
    _sql(url, "CREATE TRIGGER disk_is_full BEFORE INSERT ON version FOR EACH ROW "
              "EXECUTE FUNCTION disk_is_full()")
    try:
        yield
    finally:
        _sql(url, "DROP TRIGGER disk_is_full ON version")


def _consistent(url: str) -> int:
    """Every version has the events its write made, every event its version; the count."""
    orphans = _sql(url, "SELECT count(*) FROM version v WHERE NOT EXISTS (SELECT 1 FROM event e "
                        "WHERE e.registry_id = v.registry_id AND e.source = v.source AND e.version = v.version)")
    assert orphans == [(0,)]
    return int(_sql(url, "SELECT count(*) FROM version")[0][0])  # type: ignore[call-overload]


@pytest.mark.corpus
def test_sync_all_onto_a_full_disk_is_one_line_and_the_store_stays_whole(url, corpus_dir):
    with PagedRegistry(corpus_dir, 120) as registry:
        env = {"TRIALMIRROR_CTGOV_BASE_URL": registry.base_url, "TRIALMIRROR_MAX_RETRIES": "0",
               "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_BULK_PAGE_SIZE": "50",
               "TRIALMIRROR_DB_CHECK_INTERVAL": "0"}  # no check first: the load meets the full disk
        assert run(url, "db", "upgrade", **env).exit_code == 0
        with full_disk(url):
            full = run(url, "sync", "--all", **env)
        assert full.exit_code == 2
        line = one_line(full)
        assert "is full" in line and "free some space, then run the same command again" in line
        assert ("store.db" in line) if url.startswith("sqlite") else ("PostgreSQL server's disk" in line)
        stored = _consistent(url)
        assert stored < 120
        again = run(url, "sync", "--all", "--json", **env)  # space freed: the same command finishes
        assert again.exit_code == 0, again.stderr
        assert json.loads(again.stdout)["complete"] and _consistent(url) == 120


def test_a_sync_onto_a_full_disk_names_the_file_and_stores_nothing_half(url):
    fill(url)
    before = _consistent(url)
    with ScriptedServer() as server:
        changed = fx.current()
        changed["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(changed).encode()))
        env = {"TRIALMIRROR_CTGOV_BASE_URL": server.base_url, "TRIALMIRROR_DB_CHECK_INTERVAL": "0"}
        with full_disk(url):
            full = run(url, "sync", NCT, **env)
        assert full.exit_code == 2 and "is full" in one_line(full)
        assert _consistent(url) == before  # no version without its events
        assert run(url, "sync", NCT, **env).exit_code == 0
    assert _consistent(url) == before + 1


def _damaged_store(tmp_path: Path, table: str) -> tuple[str, Path, int]:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    fill(url)
    return url, path, damage(path, table)


@pytest.mark.parametrize("args", [("search", "umbilical"), ("export", "--format", "ndjson"),
                                  ("show", NCT), ("history", NCT), ("changes",)],
                         ids=lambda a: a[0])
def test_damage_met_while_reading_is_one_line_naming_the_file_and_db_check(tmp_path, args):
    url, path, _ = _damaged_store(tmp_path, "version")
    damage(path, "search_doc")
    damage(path, "event")
    result = run(url, *args, "-o", str(tmp_path / "out.nd")) if args[0] == "export" else run(url, *args)
    assert result.exit_code == 2
    line = one_line(result)
    assert str(path) in line and "is damaged" in line and "`trialmirror db check`" in line
    assert not (tmp_path / "out.nd").exists()  # no partial export
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_sync_on_a_damaged_file_says_so_instead_of_unchanged(tmp_path):
    # The damage is where a sync never reads (the delivery log): without a check first,
    # the sync would find its record unchanged and exit 0.
    url, path, page = _damaged_store(tmp_path, "delivery")
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        result = run(url, "sync", NCT, TRIALMIRROR_CTGOV_BASE_URL=server.base_url)
        assert result.exit_code == 2
        line = one_line(result)
        assert f"the database {path} is damaged: " in line and "nothing was written" in line
        assert "`trialmirror db check`" in line
        assert server.hits[f"/api/v2/studies/{NCT}"] == 0  # refused before fetching
    status = run(url, "status", "--json")
    assert json.loads(status.stdout)["db_check"]["ok"] is False
    assert f"Page {page}" in run(url, "db", "check").stdout


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("my notes, not a database\n" * 200)
    for args in (("show", NCT), ("sync", NCT), ("status",)):
        result = run(f"sqlite:///{path}", *args)
        assert result.exit_code == 2, args
        assert "file is not a database" in one_line(result)
    assert path.read_text() == "my notes, not a database\n" * 200  # untouched


@pytest.mark.parametrize("given", ["mysql://trial:s3cret@127.0.0.1/trials", "oracle://trial:s3cret@db/x",
                                   "postgresql+asyncpg://trial:s3cret@127.0.0.1/x", "not a url"])
@pytest.mark.parametrize("args", [("show", NCT), ("sync", NCT), ("db", "current"), ("db", "check")],
                         ids=" ".join)
def test_a_database_trialmirror_cannot_use_is_refused_saying_which_it_can(given, args):
    result = run(given, *args)
    assert result.exit_code == 2
    line = one_line(result)
    assert "SQLite (sqlite:///path/to/file.db) and PostgreSQL (postgresql://" in line
    assert "s3cret" not in line


def test_an_unwritable_database_file_is_one_line_for_a_write(tmp_path):
    folder = tmp_path / "missing"
    result = run(f"sqlite:///{folder / 'x.db'}", "sync", NCT)
    assert result.exit_code == 2
    line = one_line(result)
    assert str(folder / "x.db") in line
    assert not folder.exists()


def test_the_store_names_the_damage_on_both_databases(url):
    """The translation itself, on a real server error for PostgreSQL (SQLSTATE XX001)."""
    fill(url)
    store = Store(url)
    try:
        from trialmirror.errors import StorageError

        statement = ("DO $$ BEGIN RAISE EXCEPTION 'invalid page in block 7 of relation base/1/2' "
                     "USING ERRCODE = 'data_corrupted'; END $$" if store.is_postgres else None)
        if statement is None:
            store.close()
            damage(Path(url.removeprefix("sqlite:///")), "version")
            store = Store(url)
        with pytest.raises(StorageError) as caught, store.transaction() as conn:
            conn.execute(text(statement or "SELECT record FROM version")).all()
        assert caught.value.kind == "damaged" and "`trialmirror db check`" in str(caught.value)
    finally:
        store.close()


def test_the_api_answers_damage_with_a_problem_naming_it(tmp_path):
    import requests

    from tests.fixtures.api_server import serving
    from trialmirror.settings import Settings
    from trialmirror.store import open_for_reading

    url, path, _ = _damaged_store(tmp_path, "version")
    reader = open_for_reading(url)
    try:
        with serving(Settings(database_url=url, _env_file=None), reader) as base:
            answer = requests.get(f"{base}/studies/{NCT}", timeout=10)
    finally:
        reader.close()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["title"] == "Storage unavailable" and str(path) in problem["detail"]
    assert "`trialmirror db check`" in problem["detail"]
