"""The service checks the database's integrity daily (TRIALMIRROR_DB_CHECK_INTERVAL) and
``trialmirror status`` shows the last result; as real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.fixtures import nct01342250 as fx
from tests.fixtures import service as svc
from tests.fixtures.server import Reply, ScriptedServer
from tests.fixtures.storage import damage

NCT = "NCT01342250"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _db_check(environment: dict[str, str]) -> dict | None:
    status = svc.cli(environment, "status", "--json")
    return json.loads(status.stdout)["db_check"]  # type: ignore[no-any-return]


def test_the_service_checks_the_database_daily_and_status_shows_it(db_url, tmp_path):
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        environment = svc.env(db_url, ctgov_base_url=server.base_url, sources="ctgov", watchlist=NCT,
                              db_check_interval=86400)
        first = svc.cli(environment, "run", "--once")
        assert first.returncode == 0, first.stderr
        checked = _db_check(environment)
        assert checked is not None and checked["ok"] is True and checked["by"] == "service main"
        assert "database check: ok" in first.stderr

        assert svc.cli(environment, "run", "--once").returncode == 0
        assert _db_check(environment)["at"] == checked["at"]  # checked less than a day ago: not again

        log = tmp_path / "service.log"
        process = svc.start(environment | {"TRIALMIRROR_DB_CHECK_INTERVAL": "1"}, log)
        try:
            again = svc.wait_until(lambda: (c := _db_check(environment)) and c["at"] != checked["at"] and c,
                                   what="the service's next check of the database")
            assert again["ok"] is True and again["next_run"] is not None  # its own job
            text_status = svc.cli(environment, "status").stdout
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()
    assert "database last checked" in text_status and "by service main: ok" in text_status


def test_the_service_logs_damage_and_status_shows_it(tmp_path):
    path = tmp_path / "service.db"
    db_url = f"sqlite:///{path}"
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        environment = svc.env(db_url, ctgov_base_url=server.base_url, sources="ctgov", watchlist=NCT,
                              db_check_interval=1)
        assert svc.cli(environment, "run", "--once").returncode == 0
        page = damage(path, "delivery")  # no notification is configured: nothing reads it
        time.sleep(1.1)  # the check is due again
        damaged = svc.cli(environment, "run", "--once")
    assert damaged.returncode == 1
    assert "ERROR database check: the database is DAMAGED: " in " ".join(damaged.stderr.split())
    assert f"Page {page}" in damaged.stderr and "run `trialmirror db check`" in damaged.stderr
    kept = _db_check(environment)
    assert kept["ok"] is False and kept["by"] == "service main"
    assert "by service main: DAMAGED" in svc.cli(environment, "status").stdout
