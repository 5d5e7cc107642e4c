"""The API on a real server over a SQLite file filled from the real corpus (per module)."""

import pytest

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
