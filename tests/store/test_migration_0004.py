"""Revision 0004 on a store that holds records with MeSH terms and coordinates at 0003:
the upgrade fills the search index's new side tables from the indexed versions, so the
search by MeSH term and by place works without a reindex; the downgrade undoes it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from tests.fixtures import mesh_places as mp
from trialmirror.store import Store, schema, search
from trialmirror.store.engine import make_engine


def _at(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.config(conn), revision)
    finally:
        engine.dispose()


def test_the_upgrade_fills_the_side_tables_and_the_downgrade_drops_them(store):
    url = mp.fill(store).url
    store.close()
    _at(url, "0003")
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')" if url.startswith("sqlite")
            else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))}
        assert not tables & {"search_mesh", "search_site", "study_mesh", "study_reference"}
        assert conn.execute(text("SELECT value FROM store_meta WHERE key = 'search_index_version'")).scalar() == "2"
        columns = conn.execute(text("SELECT * FROM study_site")).keys()
        assert list(columns) == ["registry_id", "facility", "city", "state", "country", "status"]
    engine.dispose()
    upgraded = Store(url)  # the first use upgrades
    try:
        assert not upgraded.search_outdated()
        assert [h.registry_id for h in upgraded.search("", mesh="Liver Diseases")] == [mp.LIVER]
        assert [h.registry_id for h in upgraded.search("", near="-16.85,179.95", within=11)] == [mp.ISLAND]
        with upgraded.transaction() as conn:
            version = conn.execute(text("SELECT value FROM store_meta WHERE key = 'search_index_version'"))
            assert version.scalar() == str(search.INDEX_VERSION)
            assert conn.execute(text("SELECT count(*) FROM study_mesh")).scalar() == 7
    finally:
        upgraded.close()
