"""``trialmirror run`` as a real process against local servers: news within seconds,
faults survived, a kill -9 survived, two services sharing one database."""

import hashlib
import hmac
import json
import signal
import time

import pytest
from sqlalchemy import text

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures import service as svc
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.ingest.sources.ctv import slug
from trialmirror.store import Store

NCT = "NCT01342250"
API = "/api/v2/studies/"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def servers():
    with ScriptedServer() as registry, ScriptedServer() as receiver:
        receiver.play("/hook", Reply(200, b"thanks"))
        yield registry, receiver


def _versions(db_url, source="ctgov"):
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            return {row[0]: row[1] for row in conn.execute(text(
                "SELECT registry_id, count(*) FROM version WHERE source = :s GROUP BY registry_id"),
                {"s": source})}
    finally:
        store.close()


def _stop(process, log):
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    assert code == 0, log.read_text()
    assert "service main stopped" in log.read_text()


def test_a_status_change_is_stored_once_and_delivered_signed_within_seconds(servers, tmp_path):
    registry, receiver = servers
    db_url = f"sqlite:///{tmp_path / 'service.db'}"
    registry.play(API + NCT, Reply(body=json.dumps(fx.earlier()).encode()))
    environment = svc.env(db_url, ctgov_base_url=registry.base_url, sources="ctgov", ctgov_interval=1,
                          watchlist=NCT, webhook_url=receiver.base_url + "/hook",
                          webhook_secret="s3cret", atom_path=tmp_path / "feed.atom")
    log = tmp_path / "service.log"
    process = svc.start(environment, log, "--log-format", "json")
    try:
        svc.wait_until(lambda: _versions(db_url).get(NCT) == 1, what="the first version")
        for number, (_, _, status, make) in enumerate(fx.HISTORY[1:], start=2):
            registry.play(API + NCT, Reply(body=json.dumps(make()).encode()))
            t0 = time.monotonic()
            svc.wait_until(lambda n=number: len(receiver.posts) == n - 1, what=f"webhook for {status}")
            assert time.monotonic() - t0 < 5  # news within seconds (1 s interval)
        time.sleep(2.5)  # more rounds: nothing new may be stored or sent
        assert process.poll() is None
        running = json.loads(svc.cli(environment, "status", "--json").stdout)
        assert running["service"]["state"] == "running" and running["service"]["pid"] == process.pid
        assert running["records"][0]["next_run"] is not None
    finally:
        _stop(process, log)

    assert _versions(db_url) == {NCT: 3}
    changes = json.loads(svc.cli(environment, "changes", "--json").stdout)
    assert [(c["kind"], (c.get("status") or {}).get("new")) for c in changes] == [
        ("new_record", "RECRUITING"), ("status_change", "ACTIVE_NOT_RECRUITING"),
        ("status_change", "COMPLETED")]
    assert len(receiver.posts) == 2  # one per status change; the first version is no change
    for (_, headers, body), change in zip(receiver.posts, changes[1:], strict=True):
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["X-Trialmirror-Signature"] == expected
        assert headers["Idempotency-Key"] == str(change["seq"])
        sent = json.loads(body)
        assert (sent["seq"], sent["kind"], sent["registry_id"]) == (change["seq"], "status_change", NCT)
        assert sent["status"] == change["status"]
    feed = (tmp_path / "feed.atom").read_text()
    assert feed.count("<entry>") == 2 and "ACTIVE_NOT_RECRUITING → COMPLETED" in feed
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    fetches = [entry for entry in lines if entry.get("event") == "fetch"]
    assert fetches and {"source", "registry_id", "outcome", "http_status", "duration_ms"} <= set(fetches[0])
    assert any(entry.get("event") == "run" and "outcomes" in entry for entry in lines)


# One record per fault: the fault first, then the healed record (the last reply repeats).
FAULTS = {  # id -> (replies before healing, expected error family)
    "NCT00000001": ([Reply(429, b"slow down", {"Retry-After": "1"})] * 2, "retry_later"),
    "NCT00000002": ([Reply(503, b"unavailable")] * 2, "retry_later"),
    "NCT00000003": ([Reply(reset=True)] * 2, "retry_later"),
    "NCT00000004": ([Reply(delay=3.0)] * 2, "retry_later"),  # read timeout (1 s)
    "NCT00000005": ([Reply(cut_after=100)] * 2, "retry_later"),  # truncated body
    # Invalid JSON at each try of a run (max_retries 1): transient, as a truncated body is.
    "NCT00000006": ([Reply(body=b'{"protocolSection": {')] * 2, "retry_later"),
    "NCT00000007": ([Reply(body=b" " * 60_000)], "give_up"),  # over the size cap
}


def test_the_service_survives_every_fault_and_recovers_when_the_server_heals(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'service.db'}"
    with ScriptedServer() as server:
        for registry_id, (faults, _) in FAULTS.items():
            body = svc.study(registry_id)
            server.play(API + registry_id, *[Reply(f.status, f.body or body, f.headers, f.delay, f.cut_after,
                                                   f.reset) for f in faults], Reply(body=body))
        ctv_page, ictrp_page = "/study/pinned", f"/Trial2.aspx?TrialID={NCT}"
        html = {"Content-Type": "text/html; charset=utf-8"}
        changed = [x for x in mp.ctv_lines(fx.current()) if x not in ("Status and phase",)]
        server.play(ctv_page, Reply(body=mp.semantic(changed), headers=html),
                    Reply(body=mp.semantic(mp.ctv_lines(fx.current())), headers=html))
        server.play(ictrp_page, Reply(body=mp.table(mp.ictrp_not_found(NCT)), headers=html),
                    Reply(body=mp.table(mp.ictrp_lines(fx.current())), headers=html))
        base = {f"{s}_base_url": server.base_url for s in ("ctgov", "ctv", "ictrp")}
        environment = svc.env(db_url, **base, sources="ctgov", watchlist=" ".join(FAULTS),
                              ctgov_interval=2, ctv_interval=2, ictrp_interval=2, read_timeout=1,
                              max_response_bytes=50_000)
        added = svc.cli(environment, "watch", "add", NCT, "--source", "ctv", "--url", ctv_page)
        assert added.returncode == 0, added.stderr
        assert svc.cli(environment, "watch", "add", NCT, "--source", "ictrp").returncode == 0
        log = tmp_path / "service.log"
        process = svc.start(environment, log)
        try:
            svc.wait_until(lambda: len(_versions(db_url)) == len(FAULTS), timeout=40,
                           what="every record healed")
            svc.wait_until(lambda: _versions(db_url, "ctv") and _versions(db_url, "ictrp"),
                           what="the mirrors healed")
            assert process.poll() is None  # it kept running through all of it
        finally:
            _stop(process, log)

    store = Store(db_url)
    try:
        expected = {**{(i, "ctgov"): family for i, (_, family) in FAULTS.items()},
                    (NCT, "ctv"): "layout_changed", (NCT, "ictrp"): "not_found"}
        for (registry_id, source), family in expected.items():
            rows = store.fetches(registry_id, source)
            assert rows[0].outcome == "error" and rows[0].error_family == family, (registry_id, rows[0].error)
            assert [r.outcome for r in rows].count("new_version") == 1, registry_id
            first_ok = next(i for i, r in enumerate(rows) if r.outcome == "new_version")
            assert all(r.outcome == "error" for r in rows[:first_ok])  # nothing stored before healing
            assert len(store.versions(registry_id, source)) == 1
    finally:
        store.close()
    # A generous --max-age: the stopped service's records go stale with the clock (2 s
    # intervals), and on a busy machine the command can start after that; staleness is
    # not what this test is about.
    status = svc.cli(environment, "status", "--json", "--max-age", "3600")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["service"]["state"] == "stopped"
    assert all(item["consecutive_failures"] == 0 for item in report["records"])


def _many(server, db_url, ids, delay):
    """``ids`` on the server, each answered after ``delay`` s; the service's environment."""
    for registry_id in ids:
        server.play(API + registry_id, Reply(body=svc.study(registry_id), delay=delay))
    return svc.env(db_url, ctgov_base_url=server.base_url, sources="ctgov", watchlist=" ".join(ids))


def test_kill_9_mid_sync_then_restart_completes_without_duplicates(db_url, tmp_path):
    ids = [f"NCT{n:08d}" for n in range(100, 180)]
    with ScriptedServer() as server:
        environment = _many(server, db_url, ids, 0.05)
        log = tmp_path / "service.log"
        process = svc.start(environment, log)
        svc.wait_until(lambda: len(_versions(db_url)) >= 15, what="some versions")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stored = _versions(db_url)
        assert 15 <= len(stored) < len(ids) and set(stored.values()) == {1}

        store = Store(db_url)
        try:
            if not store.is_postgres:
                with store.transaction() as conn:
                    assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        finally:
            store.close()
        again = svc.start(environment, log, "--once")
        assert again.wait(timeout=60) == 0, log.read_text()

    assert _versions(db_url) == dict.fromkeys(ids, 1)
    store = Store(db_url)
    try:
        with store.transaction() as conn:
            new_versions = conn.execute(text(
                "SELECT registry_id, count(*) FROM \"fetch\" WHERE outcome = 'new_version' "
                "GROUP BY registry_id HAVING count(*) > 1")).all()
            events = conn.execute(text("SELECT count(*), count(DISTINCT registry_id) FROM event")).one()
        assert new_versions == [] and tuple(events) == (len(ids), len(ids))
    finally:
        store.close()


def test_two_services_on_one_database_fetch_each_record_once(db_url, tmp_path):
    ids = [f"NCT{n:08d}" for n in range(200, 240)]
    with ScriptedServer() as server:
        environment = _many(server, db_url, ids, 0.02)
        assert svc.cli(environment, "watch", "list").returncode == 0  # seeds the watchlist once
        first = svc.start(environment, tmp_path / "a.log", "--once", "--name", "a")
        second = svc.start(environment, tmp_path / "b.log", "--once", "--name", "b")
        assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
        assert {path: n for path, n in server.hits.items()} == {API + i: 1 for i in ids}
    assert _versions(db_url) == dict.fromkeys(ids, 1)
    both = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert both.count("new_version") >= len(ids)


def test_a_second_service_of_the_same_name_is_refused_until_the_first_is_gone(db_url, tmp_path):
    ids = [f"NCT{n:08d}" for n in range(300, 303)]
    with ScriptedServer() as server:
        environment = _many(server, db_url, ids, 0.0)
        log = tmp_path / "a.log"
        first = svc.start(environment, log, "--name", "a")
        svc.wait_until(lambda: _versions(db_url) == dict.fromkeys(ids, 1), what="the first round")
        for args in (("--once",), ()):  # a one-round run and a service alike
            second = svc.cli(environment, "run", "--name", "a", *args)
            assert second.returncode == 2, second.stderr
            assert "a service named 'a' is running (a@" in second.stderr and f"#{first.pid})" in second.stderr
        assert svc.cli(environment, "run", "--name", "b", "--once").returncode == 0  # another name runs
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # gone without a word: on the same host its claim is taken over at once
        assert svc.cli(environment, "run", "--name", "a", "--once").returncode == 0
        log = tmp_path / "again.log"
        graceful = svc.start(environment, log, "--name", "a")
        svc.wait_until(lambda: "service a started" in log.read_text(), what="the restart")
        graceful.send_signal(signal.SIGTERM)
        assert graceful.wait(timeout=30) == 0 and "service a stopped" in log.read_text()
        assert svc.cli(environment, "run", "--name", "a", "--once").returncode == 0  # released on stop


def _all_sources(server):
    """NCT01342250 on every source, all on ``server``; the ICTRP page's path."""
    history = f"/api/int/studies/{NCT}/history"
    server.play(API + NCT, Reply(body=json.dumps(fx.current()).encode()))
    server.play(history, Reply(body=json.dumps(fx.history_list()).encode()))
    for n in range(len(fx.HISTORY)):
        server.play(f"{history}/{n}", Reply(body=json.dumps(fx.history_version(n)).encode()))
    html = {"Content-Type": "text/html; charset=utf-8"}
    title = fx.current()["protocolSection"]["identificationModule"]["briefTitle"]
    server.play(f"/study/{slug(title)}", Reply(body=mp.semantic(mp.ctv_lines(fx.current())), headers=html))
    ictrp_page = f"/Trial2.aspx?TrialID={NCT}"
    server.play(ictrp_page, Reply(body=mp.table(mp.ictrp_lines(fx.current())), headers=html))
    return ictrp_page


def test_the_service_checks_every_source_daily_and_status_shows_the_last_result(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'service.db'}"
    with ScriptedServer() as server:
        ictrp_page = _all_sources(server)
        base = {f"{s}_base_url": server.base_url for s in ("ctgov", "ctgov_history", "ctv", "ictrp")}
        environment = svc.env(db_url, **base, watchlist=NCT, canary_interval=86400)
        assert svc.cli(environment, "run", "--once").returncode == 0
        report = json.loads(svc.cli(environment, "status", "--json").stdout)["check"]
        assert report["ok"] and report["by"] == "service main"
        assert {s["source"]: s["ok"] for s in report["sources"]} == dict.fromkeys(
            ("ctgov", "ctgov_history", "ctv", "ictrp"), True)

        html = {"Content-Type": "text/html; charset=utf-8"}
        server.play(ictrp_page, Reply(body=mp.table(mp.ictrp_not_found(NCT)), headers=html))
        assert svc.cli(environment, "run", "--once").returncode == 0  # each record done this round
        again = json.loads(svc.cli(environment, "status", "--json").stdout)["check"]
        assert again["at"] == report["at"]  # checked less than a day ago: not again

        log = tmp_path / "service.log"
        process = svc.start(environment | {"TRIALMIRROR_CANARY_INTERVAL": "1"}, log)
        try:
            def checked() -> dict | None:
                check = json.loads(svc.cli(environment, "status", "--json").stdout)["check"]
                return check if check["at"] != report["at"] and not check["ok"] else None

            failed = svc.wait_until(checked, what="a check that finds ICTRP broken")
            assert failed["next_run"] is not None
            text_status = svc.cli(environment, "status").stdout
        finally:
            _stop(process, log)
    [ictrp] = [s for s in failed["sources"] if not s["ok"]]
    assert ictrp["source"] == "ictrp" and ictrp["failure"] == "soft_404"
    assert ictrp["reason"].startswith("soft 404: HTTP 200, but WHO ICTRP says it has no such trial")
    assert "3 ok, 1 failed (ictrp)" in text_status and "FAILED: soft 404" in text_status
    assert "WARNING check ictrp NCT01342250: soft 404: HTTP 200" in " ".join(log.read_text().split())
