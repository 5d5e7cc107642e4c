"""The schema's migrations, on SQLite and PostgreSQL.

A database made by trialmirror main b867388 (built once a session by
tests/fixtures/make_legacy_db.py with that commit's own CLI and service) opens with
this code and answers as that commit's CLI did; nothing in it is lost; a new sync adds
to it. A new database is made by the migrations, and it is the schema the models,
search.py and views.py describe.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from tests.conftest import _unavailable
from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from tests.fixtures.storage import cli_stores_closed
from trialmirror.cli.main import main
from trialmirror.store import Store, schema, search, views
from trialmirror.store.engine import make_engine
from trialmirror.store.service_state import ServiceState

__all__ = ["cli_stores_closed"]  # the fixture, for pytest

MAKE_LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "make_legacy_db.py"
NCT = "NCT01342250"
PATH = f"/api/v2/studies/{NCT}"
# The tables b867388 made (and the service's job store); none may lose a row.
LEGACY_TABLES = ("raw_payload", "fetch", "version", "event", "search_doc", "watch", "lease",
                 "notify_cursor", "delivery", "store_meta", "sync_checkpoint", "scheduler_jobs_main")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once SQLite and once PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def legacy_dumps(tmp_path_factory: pytest.TempPathFactory, _postgres_available: str) -> Path:
    """b867388's databases, built by that commit's code from this repository's history and
    dumped as text, with the answers its CLI gave on them (b867388.expected.json)."""
    out = tmp_path_factory.mktemp("legacy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIALMIRROR_")}
    made = subprocess.run([sys.executable, str(MAKE_LEGACY), "--out", str(out), "--postgres",
                           _postgres_available], capture_output=True, text=True, env=env, timeout=300)
    if made.returncode == 3:
        _unavailable("this clone's history lacks b867388 (a shallow clone?): no legacy database to upgrade")
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-4000:]
    return out


@pytest.fixture(scope="session")
def expected(legacy_dumps: Path) -> dict[str, Any]:
    return json.loads((legacy_dumps / "b867388.expected.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load_legacy(url: str, dumps: Path) -> None:
    """Fill the empty database at ``url`` from the b867388 dump of its kind."""
    if _kind(url) == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.executescript((dumps / "b867388.sqlite.sql").read_text(encoding="utf-8"))
        conn.close()
        return
    server, _, query = url.partition("?")
    found = re.search(r"search_path=(\w+)", unquote(query))
    assert found is not None
    dump = (dumps / "b867388.postgres.sql").read_text(encoding="utf-8")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(dump.replace("__SCHEMA__", found.group(1)).encode())


def _raw(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows read around the store (no schema check, no upgrade)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    return {t: _raw(url, f'SELECT count(*) FROM "{t}"')[0][0] for t in LEGACY_TABLES}  # noqa: S608


@pytest.fixture
def legacy(url: str, legacy_dumps: Path) -> str:
    load_legacy(url, legacy_dumps)
    return url


@pytest.fixture(autouse=True)
def _cli_stores_closed(cli_stores_closed: None) -> None:
    """The CLI leaves its store to the process's exit; here, the test closes them."""


def _cli(url: str, *args: str, **env: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"TRIALMIRROR_DATABASE_URL": url, "COLUMNS": "200",
                                                     **env})


def _json(url: str, *args: str) -> Any:
    result = _cli(url, *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def _unscored(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in hit.items() if k != "score"} for hit in hits]


# --- a database made by b867388 -------------------------------------------------------

def test_the_legacy_database_is_what_b867388_made(legacy: str) -> None:
    """The fixture itself: no revision, and the data the tests below rely on."""
    engine = make_engine(legacy)
    try:
        assert not inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()
    counts = _counts(legacy)
    assert counts["version"] == 7 and counts["event"] == 7 and counts["watch"] == 4
    assert counts["scheduler_jobs_main"] == 6 and counts["notify_cursor"] == 2 and counts["delivery"] >= 1


def test_history_diff_changes_search_answer_as_before(legacy: str, expected: dict[str, Any]) -> None:
    expected = expected[_kind(legacy)]
    assert _json(legacy, "history", NCT) == expected["history"]  # the first use upgrades
    assert _raw(legacy, "SELECT version_num FROM alembic_version") == [(schema.HEAD,)]
    assert _json(legacy, "history", NCT, "--source", "ctgov_history") == expected["history_ctgov_history"]
    assert _json(legacy, "history", NCT, "--source", "ctv") == expected["history_ctv"]
    assert _json(legacy, "diff", NCT) == expected["diff"]
    assert _json(legacy, "diff", NCT, "--source", "ctgov_history", "--from", "1", "--to", "3") \
        == expected["diff_ctgov_history_1_3"]
    assert _json(legacy, "changes") == expected["changes"]
    # The score is the ranked index's now (store/ranked.py), not b867388's FTS5 bm25().
    assert (_unscored(_json(legacy, "search", "umbilical"))
            == _unscored(expected["search_umbilical"]))
    assert _json(legacy, "watch", "list") == expected["watch_list"]
    assert not _cli(legacy, "search", "umbilical").stderr  # the index is not called outdated


def test_nothing_is_lost(legacy: str, caplog: pytest.LogCaptureFixture) -> None:
    before = _counts(legacy)
    cursors = dict(_raw(legacy, "SELECT target, seq FROM notify_cursor"))
    jobs = dict(_raw(legacy, "SELECT id, next_run_time FROM scheduler_jobs_main"))
    shas = [row[0] for row in _raw(legacy, "SELECT sha256 FROM raw_payload")]
    store = Store(legacy)
    try:
        assert _counts(legacy) == before
        for sha in shas:  # the raw archive: each payload decompresses to the bytes it was keyed by
            raw = store.raw(sha)
            assert raw is not None and hashlib.sha256(raw).hexdigest() == sha
        assert len(store.fetches(NCT)) == before["fetch"]
        state = ServiceState(store)
        assert {t: state.cursor(t) for t in cursors} == cursors
        assert [(w.registry_id, w.source) for w in state.watched()] == [
            (NCT, "ctgov"), (NCT, "ctgov_history"), (NCT, "ctv"), (NCT, "ictrp")]
        assert state.deliveries("webhook")
        assert not store.search_outdated()
        _jobs_load(store, jobs, caplog)
    finally:
        store.close()


def _jobs_load(store: Store, next_runs: dict[str, float], caplog: pytest.LogCaptureFixture) -> None:
    """The service's stored jobs load, their functions this package's (revision 0002)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from trialmirror.schedules import service

    jobstore = SQLAlchemyJobStore(engine=store.engine, tablename="scheduler_jobs_main")
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        loaded = {job.id: job for job in jobstore.get_all_jobs()}
    assert "Unable to restore job" not in caplog.text
    assert set(loaded) == set(next_runs) == {"sync:ctgov", "sync:ctgov_history", "sync:ctv", "sync:ictrp",
                                             "notify", "start"}
    assert loaded["sync:ctv"].func is service._run_source and loaded["sync:ctv"].args == ("ctv",)
    assert loaded["notify"].func is service._run_notify and loaded["start"].func is service._run_round
    assert {i: job.next_run_time.timestamp() for i, job in loaded.items()} == pytest.approx(next_runs)


def _changed() -> bytes:
    """The record as the registry changes it later: terminated, updated in 2012 (SYNTHETIC)."""
    doc = copy.deepcopy(fx.current())
    doc["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    doc["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2012-03-01",
                                                                          "type": "ACTUAL"}
    return json.dumps(doc).encode()


def test_a_new_sync_adds_a_version_with_its_diff(legacy: str, expected: dict[str, Any]) -> None:
    with ScriptedServer() as server:
        server.play(PATH, Reply(body=_changed()))
        synced = _cli(legacy, "sync", NCT, "--json", TRIALMIRROR_CTGOV_BASE_URL=server.base_url,
                      TRIALMIRROR_MAX_REQUESTS_PER_SECOND="1000")
    assert synced.exit_code == 0, synced.output + synced.stderr
    assert [(r["outcome"], r["version"]) for r in json.loads(synced.stdout)] == [("new_version", 3)]
    history = _json(legacy, "history", NCT)
    assert history[:2] == expected[_kind(legacy)]["history"]
    assert [h["version"] for h in history] == [1, 2, 3] and history[2]["status"] == "TERMINATED"
    changes = _json(legacy, "diff", NCT)  # 2 -> 3: the legacy version against the new one
    status = next(c for c in changes if c["path"] == "status.overall")
    assert (status["old"], status["new"]) == ("COMPLETED", "TERMINATED")
    events = _json(legacy, "changes", "--after", "7")
    assert [(e["seq"], e["kind"], e["version"]) for e in events] == [(8, "status_change", 3)]
    hits = _json(legacy, "search", "umbilical")
    assert [(h["registry_id"], h["source"], h["version"], h["status"]) for h in hits] == [
        (NCT, "ctgov", 3, "TERMINATED")]


def test_drift_flags_stored_before_the_policy_are_counted_after_the_upgrade(legacy: str) -> None:
    """0003 makes a ``drift_flag`` row of every ``unmapped`` entry already stored; entries
    written before the drift policy have no action: they were kept values."""
    engine = make_engine(legacy)
    try:
        with engine.begin() as conn:
            row = conn.execute(text("SELECT registry_id, source, version, content_hash, observed_at, record "
                                    "FROM version WHERE source = 'ctv' ORDER BY version DESC")).first()
            assert row is not None, "the legacy database has a ClinicalTrials.Veeva version"
            record = json.loads(row.record)
            record["unmapped"] = [{"path": "status.overall", "value": "Paused for review"}]
            conn.execute(text(
                "INSERT INTO version (registry_id, source, version, content_hash, observed_at, record, "
                "parser_version, produced_by) VALUES (:rid, :src, :n, :h, :at, :rec, 1, 'fetch')"),
                {"rid": row.registry_id, "src": row.source, "n": row.version + 1, "h": "sha256:legacy-drift",
                 "at": row.observed_at, "rec": json.dumps(record)})
    finally:
        engine.dispose()
    store = Store(legacy)
    try:
        (found,) = store.drift()
        assert (found.source, found.path, found.action, found.value, found.records, found.example) == (
            "ctv", "status.overall", "kept", "Paused for review", 1, NCT)
    finally:
        store.close()


def test_upgrading_twice_changes_nothing(legacy: str) -> None:
    first = _cli(legacy, "db", "upgrade")
    assert first.exit_code == 0 and f"upgraded from before migrations → {schema.HEAD}" in first.stdout
    counts, meta = _counts(legacy), _raw(legacy, "SELECT key, value FROM store_meta ORDER BY key")
    again = _cli(legacy, "db", "upgrade", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["before"]["revision"] == schema.HEAD
    Store(legacy).close()
    assert _counts(legacy) == counts
    assert _raw(legacy, "SELECT key, value FROM store_meta ORDER BY key") == meta
    assert _raw(legacy, "SELECT version_num FROM alembic_version") == [(schema.HEAD,)]


def test_db_current_says_where_a_database_stands_without_changing_it(legacy: str) -> None:
    behind = _cli(legacy, "db", "current")
    assert behind.exit_code == 1 and "made before migrations" in behind.stdout
    assert "trialmirror db upgrade" in behind.stdout
    assert _cli(legacy, "db", "current").exit_code == 1  # still: it wrote nothing
    assert _cli(legacy, "db", "upgrade").exit_code == 0
    assert _json(legacy, "db", "current") == {"revision": schema.HEAD, "head": schema.HEAD,
                                              "at_head": True, "state": "at head"}


def test_a_read_only_store_refuses_a_schema_behind_and_writes_nothing(legacy: str) -> None:
    with pytest.raises(schema.SchemaError) as refused:
        Store(legacy, read_only=True)
    message = str(refused.value)
    assert "\n" not in message and "from before migrations" in message
    assert "run `trialmirror db upgrade`" in message
    assert not _raw(legacy, "SELECT 1 FROM store_meta WHERE key = 'x'")  # still readable
    assert _cli(legacy, "db", "current").exit_code == 1  # nothing was upgraded
    Store(legacy).close()
    reader = Store(legacy, read_only=True)  # at the head: it opens
    assert [v.version for v in reader.versions(NCT, "ctgov")] == [1, 2]
    reader.close()


def test_a_database_from_a_newer_trialmirror_is_refused_in_one_line(url: str) -> None:
    Store(url).close()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = _cli(url, "history", NCT)
    assert result.exit_code == 2
    assert "revision 9999, which this trialmirror does not know" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- a new database --------------------------------------------------------------------

def test_a_new_database_is_made_at_head(url: str) -> None:
    store = Store(url)
    store.close()
    assert _raw(url, "SELECT version_num FROM alembic_version") == [(schema.HEAD,)]
    found = dict(_raw(url, "SELECT key, value FROM store_meta"))
    assert re.fullmatch("[0-9a-f]{32}", found.pop(search.GENERATION_KEY))  # the ranked index's build
    assert found == {"search_index_version": str(search.INDEX_VERSION)}


def test_the_migrations_make_what_the_models_describe(url: str) -> None:
    """Alembic's comparison with the models finds nothing, besides what the models leave
    out on purpose (schema.include_object): the SQLite FTS5 table and its shadow tables,
    PostgreSQL's ``tsv``/``ntok`` columns and GIN index, and the views (Alembic does not
    compare views); the next test covers those."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import trialmirror.models.tables  # noqa: F401

    Store(url).close()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) != []  # without the filter: the FTS5/tsv
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": schema.include_object})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def _schema_of(url: str) -> list[tuple[Any, ...]]:
    """Every table, column, index, constraint and view as the database describes it."""
    if _kind(url) == "sqlite":
        return sorted(_raw(url, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                                "WHERE tbl_name NOT IN ('alembic_version', 'sqlite_sequence')"))
    parts = [
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
        "column_default, generation_expression FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'alembic_version'",
        "SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'",
        "SELECT c.relname, n.conname, n.contype, pg_get_constraintdef(n.oid) FROM pg_constraint n "
        "JOIN pg_class c ON c.oid = n.conrelid WHERE c.relnamespace = current_schema()::regnamespace "
        "AND c.relname <> 'alembic_version'",
        "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema()",
    ]
    return sorted(row for sql in parts for row in _raw(url, sql))


@pytest.fixture
def other_url(url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second empty database of the same kind as ``url``."""
    if _kind(url) == "sqlite":
        return f"sqlite:///{tmp_path / 'other.db'}"
    return _second_schema(request)


def _second_schema(request: pytest.FixtureRequest) -> str:
    import uuid

    from tests.conftest import POSTGRES_URL

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()

    request.addfinalizer(drop)
    return f"{POSTGRES_URL}?options=-csearch_path%3D{name}"


def test_the_migrations_make_exactly_what_the_models_search_and_views_describe(
        url: str, other_url: str) -> None:
    """Tables, indexes, the search index and the views, text for text: a database made by
    the migrations, and one made the way the store made its schema before them (the
    models' create_all, then search.py's and views.py's statements). A change to any of
    those without a migration that makes it fails here."""
    from sqlmodel import SQLModel

    Store(url).close()
    engine = make_engine(other_url)
    with engine.begin() as conn:
        SQLModel.metadata.create_all(conn)
        statements = ([*search.PG_DDL, *views.postgres_ddl()] if _kind(url) == "postgresql"
                      else [search.SQLITE_DDL, *views.sqlite_ddl()])
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()
    assert _schema_of(url) == _schema_of(other_url)


def test_the_legacy_database_after_the_upgrade_has_the_schema_of_a_new_one(legacy: str,
                                                                            other_url: str) -> None:
    Store(legacy).close()
    Store(other_url).close()
    ignore = ("scheduler_jobs_main", "ix_scheduler_jobs_main_next_run_time", "scheduler_jobs_main_pkey")
    assert [r for r in _schema_of(legacy) if not set(r) & set(ignore)] == _schema_of(other_url)


def test_stores_opening_a_new_database_together_make_it_once(url: str) -> None:
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(url).close()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _raw(url, "SELECT version_num FROM alembic_version") == [(schema.HEAD,)]


def test_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(schema.config())
    assert scripts.get_heads() == [schema.HEAD]  # one line of history, and HEAD names its end
    revisions = [s.revision for s in scripts.walk_revisions("base", "heads")][::-1]
    assert revisions[:2] == [schema.BASELINE, "0002"] and revisions == sorted(revisions)


def test_the_developers_command_line_runs_alembic_on_these_migrations(
        capsys: pytest.CaptureFixture[str]) -> None:
    from trialmirror.store.migrations.__main__ import main as alembic_main

    alembic_main(["heads"])
    assert capsys.readouterr().out.split() == [schema.HEAD, "(head)"]


def test_an_older_database_comes_level(legacy: str, other_url: str, expected: dict[str, Any]) -> None:
    """What the code before the migrations added on open (a table, the ``ntok`` column) is
    added to a database of a build older than b867388 too, before the baseline stamp."""
    engine = make_engine(legacy)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE sync_checkpoint"))
        if _kind(legacy) == "postgresql":
            conn.execute(text("ALTER TABLE search_doc DROP COLUMN ntok"))
    engine.dispose()
    assert _json(legacy, "history", NCT) == expected[_kind(legacy)]["history"]
    Store(other_url).close()
    ignore = ("scheduler_jobs_main", "ix_scheduler_jobs_main_next_run_time", "scheduler_jobs_main_pkey")
    assert [r for r in _schema_of(legacy) if not set(r) & set(ignore)] == _schema_of(other_url)


def test_the_history_goes_down_to_nothing_and_up_again(legacy: str) -> None:
    """Downgrades undo what each revision did: the b867388 job references come back
    (0002), then every table and view goes (0001); an upgrade makes them anew."""
    from alembic import command

    Store(legacy).close()
    engine = make_engine(legacy)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.config(conn), schema.BASELINE)
            blob = conn.execute(text("SELECT job_state FROM scheduler_jobs_main WHERE id = 'sync:ctv'")).scalar()
            assert b"schedules.service:_run_source" in bytes(blob)
            assert b"trialmirror.schedules" not in bytes(blob)
            conn.execute(text("DROP TABLE scheduler_jobs_main"))  # APScheduler's, not ours to drop
            command.downgrade(schema.config(conn), "base")
        assert _schema_of(legacy) == []
    finally:
        engine.dispose()
    Store(legacy).close()
    assert _raw(legacy, "SELECT version_num FROM alembic_version") == [(schema.HEAD,)]
    assert _raw(legacy, "SELECT count(*) FROM version") == [(0,)]
