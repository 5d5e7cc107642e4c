"""Shared fixtures: settings for tests, the corpus, stores on SQLite and PostgreSQL, cassettes.

Network: pytest-socket blocks every socket but loopback (pyproject addopts);
HTTP comes from cassettes (vcrpy, record_mode="none") or a local server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr

# Every record a parser makes in a test is checked whole, the parts the model trusts
# included (models/record.py: check_trusted).
os.environ.setdefault("TRIALMIRROR_CHECK_TRUSTED", "1")
# PostgreSQL stores keep their ranked search index in the user's cache folder: one of
# this run's own (child processes inherit it), removed at exit.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="trialmirror-test-cache-")
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from trialmirror.settings import Settings
from trialmirror.store import Store

atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

# Property tests assert behaviour, never speed (speed lives in benchmarks/). Hypothesis's
# timing checks, a deadline per example and "input generation is slow", fail correct
# tests on a busy machine (a CI runner, the test suite beside a benchmark), so they are off.
hypothesis_settings.register_profile("trialmirror", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("trialmirror")

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("TRIALMIRROR_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/ from the current parsers.")


def _unavailable(reason: str) -> None:
    """Skip with a visible reason; under CI=true a missing dependency is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def _shared(name: str, member: str) -> Path:
    """A folder of ../shared (real data, read in place), or the TRIALMIRROR_<NAME>_DIR setting."""
    variable = f"TRIALMIRROR_{name.upper()}_DIR"
    path = Path(os.environ.get(variable, ROOT.parent / "shared" / name))
    if not (path / member).exists():
        _unavailable(f"{name} not found at {path} (set {variable})")
    return path


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return _shared("corpus", "ctgov_v2")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The real mirror-page texts (never copied into the project)."""
    return _shared("seeds", "ctv_veeva__NCT01342250.txt")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fast, polite-enough settings for tests: tiny backoff, no rate limit to wait on."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}", max_requests_per_second=1000,
                    backoff_factor=0.001, backoff_max=0.01, max_retries=2, retry_after_max=2,
                    connect_timeout=2, read_timeout=2, contact="tests@example.invalid",
                    _env_file=None)


@pytest.fixture(scope="session")
def _postgres_available() -> str:
    try:
        engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        _unavailable(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(_postgres_available: str) -> Iterator[str]:
    """A fresh schema per test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_postgres_available.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{_postgres_available}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = Store(url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def cassette() -> vcr.VCR:
    """Replay-only cassettes; a request no cassette holds is an error, never a live call."""
    return vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                   match_on=["method", "uri"], decode_compressed_response=True)
