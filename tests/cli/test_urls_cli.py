"""URLs on the command line (issue 14): refused where given with one line and exit 2, a
bad pin stored earlier failing only its own record, and no password ever printed."""

import json

import pytest
from click.testing import CliRunner

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.store import Store
from trialmirror.store.service_state import ServiceState

NCT = "NCT01342250"
BAD = ["gopher://127.0.0.1:1/x", "http://", "http://[::1", "http://127.0.0.1:99999/x", "127.0.0.1:35497/x",
       "file:///etc/passwd", "ftp://127.0.0.1/x"]


def _env(settings, **extra):
    return {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_WATCHLIST": NCT,
            "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_MAX_RETRIES": "0",
            "TRIALMIRROR_CANARY_INTERVAL": "0", "COLUMNS": "200", **extra}


def _run(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def _one_line_error(result):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url", BAD)
def test_watch_add_refuses_a_pin_that_is_no_http_page(settings, url):
    env = _env(settings, TRIALMIRROR_SOURCES="ctgov,ctv")
    _one_line_error(_run(env, "watch", "add", NCT, "--source", "ctv", "--url", url))
    listed = json.loads(_run(env, "watch", "list", "--json").stdout)
    assert [w["pinned_url"] for w in listed] == [None, None]  # nothing stored


@pytest.mark.parametrize(("variable", "url"), [
    ("TRIALMIRROR_CTGOV_BASE_URL", "127.0.0.1:35497"),
    ("TRIALMIRROR_CTV_BASE_URL", "gopher://127.0.0.1:1/x"),
    ("TRIALMIRROR_WEBHOOK_URL", "file:///etc/passwd"),
    ("TRIALMIRROR_WEBHOOK_URL", "ftp://example.org/hook"),
    ("TRIALMIRROR_PINNED_URLS", '{"ctv": {"NCT01342250": "http://[::1"}}'),
])
def test_a_url_setting_nothing_can_fetch_is_refused_at_start(settings, variable, url):
    result = _run(_env(settings, **{variable: url}), "sync")
    _one_line_error(result)
    assert variable in result.stderr


def test_a_database_password_is_never_printed(settings):
    result = _run(_env(settings), "--database-url", "postgresql://nobody:bad@127.0.0.1:1/x", "status")
    assert result.exit_code == 2 and "cannot open the database" in result.stderr
    assert ":bad@" not in result.output and "nobody:***@127.0.0.1" in result.stderr


def _serve_all_but_ctv(server):
    html = {"Content-Type": "text/html; charset=utf-8"}
    server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
    server.play(f"/Trial2.aspx?TrialID={NCT}", Reply(body=mp.table(mp.ictrp_lines(fx.current())), headers=html))


def _pin_before_pins_were_checked(database_url, url):
    store = Store(database_url)
    try:
        ServiceState(store).watch_add([NCT], ["ctv"], pinned_url=url)
    finally:
        store.close()


@pytest.mark.parametrize("url", BAD)
def test_a_bad_pin_already_stored_fails_its_record_and_the_run_goes_on(settings, url):
    with ScriptedServer() as server:
        _serve_all_but_ctv(server)
        env = _env(settings, TRIALMIRROR_SOURCES="ctgov,ctv,ictrp", TRIALMIRROR_CTGOV_BASE_URL=server.base_url,
                   TRIALMIRROR_ICTRP_BASE_URL=server.base_url, TRIALMIRROR_CTV_BASE_URL=server.base_url)
        assert _run(env, "watch", "list").exit_code == 0  # the watchlist, seeded
        _pin_before_pins_were_checked(settings.database_url, url)
        synced = _run(env, "sync", "--source", "ctgov", "--source", "ctv", "--source", "ictrp")
        assert synced.exception is None or isinstance(synced.exception, SystemExit), synced.output
        assert synced.exit_code == 1 and "Traceback" not in synced.output
        (failed,) = [line for line in synced.stderr.splitlines() if line.startswith("failed:")]
        assert "[ctv] NCT01342250" in failed and "watch add NCT01342250 --source ctv --url" in failed
        assert server.hits[f"/Trial2.aspx?TrialID={NCT}"] == 1  # the source after it ran
        status = json.loads(_run(env, "status", "--json").stdout)
    ctv = next(r for r in status["records"] if r["source"] == "ctv")
    assert ctv["last_error_family"] == "config" and ctv["last_success"] is None


def test_run_once_goes_on_past_a_bad_pin_to_every_other_source(settings):
    with ScriptedServer() as server:
        _serve_all_but_ctv(server)
        env = _env(settings, TRIALMIRROR_SOURCES="ctgov,ctv,ictrp", TRIALMIRROR_CTGOV_BASE_URL=server.base_url,
                   TRIALMIRROR_ICTRP_BASE_URL=server.base_url, TRIALMIRROR_CTV_BASE_URL=server.base_url)
        assert _run(env, "watch", "list").exit_code == 0
        _pin_before_pins_were_checked(settings.database_url, "gopher://127.0.0.1:1/x")
        once = _run(env, "run", "--once")
        assert once.exit_code == 1 and isinstance(once.exception, SystemExit), once.output
        assert server.hits[f"/Trial2.aspx?TrialID={NCT}"] == 1
    store = Store(settings.database_url)
    try:
        assert store.version(NCT, "ictrp") is not None and store.version(NCT, "ctgov") is not None
        (fetch,) = store.fetches(NCT, "ctv")
        assert fetch.error_family == "config" and "gopher://" in fetch.error
    finally:
        store.close()
