"""Distributed mode: two Celery worker processes, the machine's RabbitMQ and Redis,
one PostgreSQL database; one worker is killed mid-run."""

import json
import signal
import socket
import time
import uuid

import pytest
import redis
from sqlalchemy import text

from tests.conftest import _unavailable
from tests.fixtures import service as svc
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.store import Store

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def broker():
    for port, name in ((5672, "RabbitMQ"), (6379, "Redis")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            _unavailable(f"{name} not reachable on 127.0.0.1:{port}")
    redis.Redis.from_url(REDIS).flushdb()
    return BROKER


def _versions(db_url):
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            return dict(conn.execute(text(
                "SELECT registry_id, count(*) FROM version GROUP BY registry_id")).all())
    finally:
        store.close()


def _worker(environment, log):
    return svc.start_command(environment, log, "worker", "--concurrency", "1")


def test_two_workers_one_killed_every_record_stored_once_politely(broker, postgres_url, tmp_path):
    ids = [f"NCT{n:08d}" for n in range(500, 620)]
    with ScriptedServer() as server:
        for registry_id in ids:
            server.play(f"/api/v2/studies/{registry_id}", Reply(body=svc.study(registry_id), delay=0.02))
        environment = svc.env(postgres_url, ctgov_base_url=server.base_url, sources="ctgov",
                              watchlist=" ".join(ids), broker_url=broker, rate_limit_storage=REDIS,
                              max_requests_per_second=20)
        environment["TRIALMIRROR_QUEUE"] = f"trialmirror-test-{uuid.uuid4().hex[:8]}"
        first, second = _worker(environment, tmp_path / "w1.log"), _worker(environment, tmp_path / "w2.log")
        try:
            t0 = time.monotonic()
            queued = svc.cli(environment, "sync")
            assert queued.returncode == 0 and f"enqueued {len(ids)} ctgov" in queued.stdout, queued.stderr
            svc.wait_until(lambda: len(_versions(postgres_url)) >= 30, timeout=60, what="30 records")
            first.send_signal(signal.SIGKILL)  # mid-run: its task in hand goes back to the queue
            first.wait(timeout=10)
            svc.wait_until(lambda: len(_versions(postgres_url)) == len(ids), timeout=120,
                           what="every record")
            elapsed = time.monotonic() - t0
        finally:
            for worker in (first, second):
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(timeout=30)
    assert _versions(postgres_url) == dict.fromkeys(ids, 1)  # none lost, none duplicated
    # One shared limit of 20 requests/s across both workers: 120 requests take 6 s at
    # least (two private limits would allow twice that rate).
    assert elapsed >= len(ids) / 20 - 1


def test_the_scheduled_service_enqueues_for_the_workers(broker, postgres_url, tmp_path):
    ids = [f"NCT{n:08d}" for n in range(700, 720)]
    with ScriptedServer() as server:
        for registry_id in ids:
            server.play(f"/api/v2/studies/{registry_id}", Reply(body=svc.study(registry_id)))
        environment = svc.env(postgres_url, ctgov_base_url=server.base_url, sources="ctgov",
                              watchlist=" ".join(ids), broker_url=broker)
        environment["TRIALMIRROR_QUEUE"] = f"trialmirror-test-{uuid.uuid4().hex[:8]}"
        once = svc.start(environment, tmp_path / "service.log", "--once")
        assert once.wait(timeout=60) == 0
        assert _versions(postgres_url) == {}  # the service only enqueued
        assert "20 record tasks enqueued" in (tmp_path / "service.log").read_text()
        worker = _worker(environment, tmp_path / "worker.log")
        try:
            svc.wait_until(lambda: len(_versions(postgres_url)) == len(ids), timeout=60, what="every record")
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        assert all(server.hits[f"/api/v2/studies/{i}"] == 1 for i in ids)


@pytest.mark.corpus
def test_a_full_load_on_two_workers_one_killed_stores_every_record_once(broker, postgres_url, tmp_path,
                                                                          corpus_dir):
    import datetime as dt

    from tests.fixtures.paged_registry import PagedRegistry

    with PagedRegistry(corpus_dir, 3_000) as registry:
        environment = svc.env(postgres_url, ctgov_base_url=registry.base_url, broker_url=broker,
                              rate_limit_storage=REDIS, bulk_page_size=100,
                              lease_ttl=10)  # the killed worker's slice lease lapses in 10 s
        environment["TRIALMIRROR_QUEUE"] = f"trialmirror-test-{uuid.uuid4().hex[:8]}"
        first, second = _worker(environment, tmp_path / "w1.log"), _worker(environment, tmp_path / "w2.log")
        try:
            queued = svc.cli(environment, "sync", "--all", "--full")
            assert queued.returncode == 0 and "date slices" in queued.stdout, queued.stderr
            svc.wait_until(lambda: len(_versions(postgres_url)) >= 500, timeout=60, what="500 records")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            svc.wait_until(lambda: len(_versions(postgres_url)) == 3_000, timeout=180, what="every record")
            svc.wait_until(lambda: "full load done" in (tmp_path / "w2.log").read_text(), timeout=60,
                           what="the completeness step")
        finally:
            for worker in (first, second):
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(timeout=30)
        assert set(_versions(postgres_url).values()) == {1}  # every record once, none twice
        today = dt.date.today().isoformat()
        for registry_id in sorted(registry.records)[:20]:
            registry.edit(registry_id, today)
        environment.pop("TRIALMIRROR_BROKER_URL")
        incremental = svc.cli(environment, "sync", "--all", "--json")  # from the distributed load's start
        assert incremental.returncode == 0, incremental.stderr
    assert json.loads(incremental.stdout)["outcomes"] == {"new_version": 20}
