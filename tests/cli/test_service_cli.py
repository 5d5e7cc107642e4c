"""The service's commands in-process: watch, status (its exit status), a TOML settings file."""

import json
import re
import types

from click.testing import CliRunner

from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main

NCT = "NCT01342250"


def _env(settings, **extra):
    return {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_WATCHLIST": NCT,
            "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_MAX_RETRIES": "0",
            "COLUMNS": "200", **extra}


def _run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_watch_add_list_remove(settings):
    env = _env(settings, TRIALMIRROR_SOURCES="ctgov,ctv")
    listed = json.loads(_run(env, "watch", "list", "--json").stdout)  # seeded from the settings
    assert [(w["registry_id"], w["source"]) for w in listed] == [(NCT, "ctgov"), (NCT, "ctv")]
    assert "watching 1 new" in _run(env, "watch", "add", "nct00000102", "--source", "ctgov").stdout
    pinned = _run(env, "watch", "add", NCT, "--source", "ctv", "--url", "/study/pinned")
    assert "pinned /study/pinned" in pinned.stdout
    refused = _run(env, "watch", "add", NCT, "--url", "/study/x")
    assert refused.exit_code == 2 and "give one id and its --source" in refused.stderr
    unknown = _run(env, "watch", "add", NCT, "--source", "nope")
    assert unknown.exit_code == 2 and "valid sources" in unknown.stderr
    assert "removed 2" in _run(env, "watch", "remove", NCT).stdout
    table = _run(env, "watch", "list").stdout
    assert "NCT00000102" in table and NCT not in table


def test_status_exits_non_zero_when_a_record_goes_without_success(settings):
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        server.play("/api/v2/studies/NCT00000102", Reply(503, b"down"))
        env = _env(settings, TRIALMIRROR_CTGOV_BASE_URL=server.base_url, TRIALMIRROR_SOURCES="ctgov",
                   TRIALMIRROR_WATCHLIST=f"{NCT} NCT00000102")
        assert _run(env, "sync").exit_code == 1  # one record failed
    fine = _run(env, "status", "--json", "--max-age", "3600")
    report = json.loads(fine.stdout)
    assert report["service"]["state"] == "never_ran"
    items = {i["registry_id"]: i for i in report["records"]}
    assert items[NCT]["last_success"] and items[NCT]["consecutive_failures"] == 0
    failing = items["NCT00000102"]
    assert failing["last_success"] is None and failing["consecutive_failures"] == 1
    assert failing["last_error_family"] == "retry_later" and "HTTP 503" in failing["last_error"]
    assert fine.exit_code == 0  # within the hour since it was added
    late = _run(env, "status", "--max-age", "0.001")
    assert late.exit_code == 1 and "OVERDUE" in late.stdout and "overdue:" in late.stderr


def test_a_toml_settings_file_and_the_environment_over_it(settings, tmp_path):
    config = tmp_path / "trialmirror.toml"
    config.write_text(f'database_url = "{settings.database_url}"\nwatchlist = "NCT00000102"\n'
                      'sources = "ctgov"\nctgov_interval = 60\n', encoding="utf-8")
    runner = CliRunner()
    listed = runner.invoke(main, ["--config", str(config), "watch", "list", "--json"],
                           env={"COLUMNS": "200", "TRIALMIRROR_SOURCES": "ctgov,ictrp"})
    assert [(w["registry_id"], w["source"]) for w in json.loads(listed.stdout)] == [
        ("NCT00000102", "ctgov"), ("NCT00000102", "ictrp")]  # the file's id, the environment's sources
    missing = runner.invoke(main, ["--config", str(tmp_path / "nope.toml"), "watch", "list"])
    assert missing.exit_code == 2 and "nope.toml not found" in missing.stderr



def test_an_unknown_key_in_the_settings_file_is_an_error_naming_it(settings, tmp_path):
    """`webhok_url` was ignored silently: the webhook stayed unset and nobody was told."""
    config = tmp_path / "trialmirror.toml"
    config.write_text(f'database_url = "{settings.database_url}"\nwebhok_url = "https://example.org/h"\n',
                      encoding="utf-8")
    typo = CliRunner().invoke(main, ["--config", str(config), "watch", "list"], env={"COLUMNS": "200"})
    assert typo.exit_code == 2
    assert typo.stderr.count("\n") == 1 and "unknown setting 'webhok_url'" in typo.stderr
    assert "did you mean 'webhook_url'?" in typo.stderr and str(config) in typo.stderr
    config.write_text('TRIALMIRROR_SOURCES = "ctgov"\nflavour = 1\n', encoding="utf-8")
    shouted = CliRunner().invoke(main, ["--config", str(config), "watch", "list"], env={"COLUMNS": "200"})
    assert shouted.exit_code == 2 and "'TRIALMIRROR_SOURCES'; did you mean 'sources'?" in shouted.stderr
    config.write_text('sources = "ctgov\n', encoding="utf-8")
    broken = CliRunner().invoke(main, ["--config", str(config), "watch", "list"], env={"COLUMNS": "200"})
    assert broken.exit_code == 2 and "cannot read it as TOML" in broken.stderr

def test_status_calls_a_service_silent_when_its_heartbeat_is_old(settings):
    from datetime import UTC, datetime, timedelta

    from trialmirror.store import Store
    from trialmirror.store.service_state import ServiceState

    store = Store(settings.database_url)
    old = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    ServiceState(store).put_meta("service:main", json.dumps(
        {"state": "running", "holder": "main@host", "pid": 4242, "at": old}))
    store.close()
    report = _run(_env(settings), "status", "--json")
    assert json.loads(report.stdout)["service"]["state"] == "silent"
    # 5.0m, or a little more when the command starts slowly on a busy machine
    assert re.search(r"SILENT: last heartbeat 5\.[0-9]m ago \(pid 4242\)", _run(_env(settings), "status").stdout)


def _log(store, when, outcome, error=None, registry_id=NCT):
    from trialmirror.store.rows import FetchInfo

    store.log_fetch(FetchInfo("ctgov", registry_id, "u", when, 1.0), outcome=outcome,
                    error_family=error and "retry_later", error=error)


def test_status_says_a_record_that_never_succeeded_is_not_ok(store):
    """A record whose every attempt failed was shown `ok`, exit 0, until the allowed age
    had passed since it was watched; and watching it again restarted that clock."""
    from datetime import UTC, datetime, timedelta

    from trialmirror.store.service_state import ServiceState

    now = datetime.now(UTC)
    state = ServiceState(store)
    state.watch_add([NCT, "NCT00000102"], ["ctgov"])
    _log(store, now - timedelta(minutes=1), "error", "retry_later: HTTP 503 from the registry")
    env = _env(types.SimpleNamespace(database_url=store.url), TRIALMIRROR_SOURCES="ctgov",
               TRIALMIRROR_WATCHLIST=f"{NCT} NCT00000102")
    fresh = _run(env, "status", "--max-age", "3600")
    assert fresh.exit_code == 0  # within the hour: shown, not yet a reason to page anyone
    row = next(line for line in fresh.stdout.splitlines() if NCT in line)
    assert "never succeeded" in row and " ok " not in row
    assert "not fetched yet" in next(line for line in fresh.stdout.splitlines() if "NCT00000102" in line)
    assert f"[ctgov] {NCT}: never succeeded, tried since 1.0m ago" in fresh.stderr
    assert "HTTP 503 from the registry" in fresh.stderr
    records = {r["registry_id"]: r for r in json.loads(_run(env, "status", "--json").stdout)["records"]}
    assert records[NCT]["state"] == "never_succeeded" and records["NCT00000102"]["state"] == "never_fetched"

    # Failing for two hours, then watched again: still failing for two hours, not since now.
    _log(store, now - timedelta(hours=2), "error", "retry_later: HTTP 503 from the registry")
    state.watch_remove(NCT)
    state.watch_add([NCT], ["ctgov"])
    late = _run(env, "status", "--max-age", "3600")
    assert late.exit_code == 1
    assert f"[ctgov] {NCT}: never succeeded, tried since 2.0h ago, longer than the 3600s allowed" in late.stderr


def test_status_explains_lateness_by_the_last_success_not_an_old_failure(store):
    """An old failure followed by many successes was printed as the reason a record is
    late; the reason is how long ago the last success was (and a failure only after it)."""
    from datetime import UTC, datetime, timedelta

    from trialmirror.store.service_state import ServiceState

    now = datetime.now(UTC)
    ServiceState(store).watch_add([NCT], ["ctgov"])
    _log(store, now - timedelta(hours=5), "error", "retry_later: an old timeout")
    for hours in (4, 3, 2):
        _log(store, now - timedelta(hours=hours), "unchanged")
    env = _env(types.SimpleNamespace(database_url=store.url), TRIALMIRROR_SOURCES="ctgov")
    late = _run(env, "status", "--max-age", "60")
    assert late.exit_code == 1 and "OVERDUE" in late.stdout
    assert "old timeout" not in late.stderr
    assert f"overdue: [ctgov] {NCT}: last success 2.0h ago, longer than the 60s allowed; no attempt " \
           "since (is the service running?" in " ".join(late.stderr.split())
    _log(store, now - timedelta(minutes=30), "error", "retry_later: a new timeout")
    failing = " ".join(_run(env, "status", "--max-age", "60").stderr.split())
    assert "last success 2.0h ago, longer than the 60s allowed; 1 failure(s) since, the last 30.0m ago: " \
           "retry_later: a new timeout" in failing
