"""The API on a real server over a store filled from the real corpus: ``api`` on a
SQLite file (per module), ``api_on`` on SQLite and on PostgreSQL (per session)."""

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.api_server import serving
from tests.fixtures.corpus_store import fill
from trialmirror.settings import Settings
from trialmirror.store import Store


@pytest.fixture(scope="module")
def api(corpus_dir, tmp_path_factory):
    """(base URL, store)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}",
                        _env_file=None)
    store = fill(Store(settings.database_url), corpus_dir)
    reader = Store(settings.database_url, read_only=True)  # as `trialmirror serve` opens it
    with serving(settings, reader) as base:
        yield base, store
    reader.close()
    store.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api_on(request, corpus_dir, tmp_path_factory):
    """(base URL, store), once on each store: what must hold on both (no 5xx, the same
    refusals of what a client sends)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api_on') / 'api.db'}"
    else:
        server = request.getfixturevalue("_postgres_available")
        schema = f"t_api_{uuid.uuid4().hex[:8]}"  # parallel runs on one database
        admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{server}?options=-csearch_path%3D{schema}"
    settings = Settings(database_url=url, _env_file=None)
    store = fill(Store(url), corpus_dir)
    reader = Store(url, read_only=True)
    with serving(settings, reader) as base:
        yield base, store
    reader.close()
    store.close()
    if schema is not None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
