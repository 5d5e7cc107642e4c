"""Revision 0005 on a store at 0004 that holds a record with results: the upgrade makes the
results views, which read the versions already stored (nothing to fill); the downgrade
drops them and leaves the views of 0004 as they were."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from tests.fixtures import results_record as rr
from trialmirror.models.results_tables import TABLES
from trialmirror.read import export
from trialmirror.store import Store, schema
from trialmirror.store.engine import make_engine

RESULT_VIEWS = {table.name for table in TABLES}


def _at(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.config(conn), revision)
    finally:
        engine.dispose()


def _views(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'view'" if url.startswith("sqlite")
                else "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"))}
    finally:
        engine.dispose()


def test_the_upgrade_makes_the_results_views_and_the_downgrade_drops_them(store):
    url = rr.put(store).url
    store.close()
    before = _views(url)
    assert before >= RESULT_VIEWS
    _at(url, "0004")
    assert _views(url) == before - RESULT_VIEWS - {"reporting_status"}  # the study views stay
    upgraded = Store(url)  # the first use upgrades
    try:
        with upgraded.transaction() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == schema.HEAD
            analyses = conn.execute(text("SELECT p_value, statistical_method FROM outcome_analyses "
                                         "ORDER BY analysis")).all()
        assert [tuple(r) for r in analyses] == [("<0.001", "ANCOVA"), ("0.2", "t-test")]
        flat = export.flat_tables(upgraded)
        with upgraded.transaction() as conn:
            for name in RESULT_VIEWS:
                assert conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() == len(flat[name]), name  # noqa: S608
    finally:
        upgraded.close()
