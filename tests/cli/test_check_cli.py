"""``trialmirror check`` (the canary) against a local server playing every source: all ok
on a fresh store, and a failing mirror named with what broke."""

import json

import pytest
from click.testing import CliRunner

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.ingest.sources.ctv import slug
from trialmirror.store import Store

NCT = "NCT01342250"
HTML = {"Content-Type": "text/html; charset=utf-8"}
TITLE = fx.current()["protocolSection"]["identificationModule"]["briefTitle"]
CTV_PAGE, ICTRP_PAGE = f"/study/{slug(TITLE)}", f"/Trial2.aspx?TrialID={NCT}"
HISTORY = f"/api/int/studies/{NCT}/history"


def _page(lines):
    return Reply(body=mp.semantic(lines), headers=HTML)


@pytest.fixture
def server():
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        server.play(HISTORY, Reply(body=json.dumps(fx.history_list()).encode()))
        for n in range(len(fx.HISTORY)):
            server.play(f"{HISTORY}/{n}", Reply(body=json.dumps(fx.history_version(n)).encode()))
        server.play(CTV_PAGE, _page(mp.ctv_lines(fx.current())))
        server.play(ICTRP_PAGE, Reply(body=mp.table(mp.ictrp_lines(fx.current())), headers=HTML))
        yield server


@pytest.fixture
def env(server, settings):
    base = server.base_url
    return {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_CTGOV_BASE_URL": base,
            "TRIALMIRROR_CTGOV_HISTORY_BASE_URL": base, "TRIALMIRROR_CTV_BASE_URL": base,
            "TRIALMIRROR_ICTRP_BASE_URL": base, "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000",
            "TRIALMIRROR_MAX_RETRIES": "0", "TRIALMIRROR_CONNECT_TIMEOUT": "2", "COLUMNS": "80"}


def _check(env, *args):
    return CliRunner().invoke(main, ["check", *args], env=env, catch_exceptions=False)


def test_every_source_is_readable_on_a_fresh_store(server, env, settings):
    result = _check(env)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "4 source(s) checked on NCT01342250: 4 ok" in result.stdout
    assert result.stdout.startswith(f"{NCT} read from each source:")
    rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert [row[:3] + row[4:] for row in cells] == [
        [source, "yes (200)", "yes", "0", "ok"] for source in ("ctgov", "ctgov_history", "ctv", "ictrp")]
    assert all(int(row[3]) > 30 for row in cells)  # fields read (how many varies with the parsers)
    # The title the mirror is found by came from the registry's record read in this run.
    assert server.hits[CTV_PAGE] == 1 and server.hits[f"/api/v2/studies/{NCT}"] == 1
    store = Store(settings.database_url)
    try:  # a probe: fetches logged, nothing archived or stored
        fetches = store.fetches()
        assert {(f.source, f.outcome) for f in fetches} == {
            ("ctgov", "checked"), ("ctgov_history", "checked"), ("ctv", "checked"), ("ictrp", "checked")}
        assert len(fetches) == 5  # the history: its list and its first version
        assert all(f.http_status == 200 and f.raw_sha256 is None for f in fetches)
        assert store.counts()["version"] == 0 and store.version(NCT, "ctgov") is None
    finally:
        store.close()


def test_the_json_report(env):
    result = _check(env, "--json", "--source", "ictrp", "--source", "ctgov")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["registry_id"] == NCT and report["ok"] is True
    assert [s["source"] for s in report["sources"]] == ["ctgov", "ictrp"]  # the registry first
    ctgov = report["sources"][0]
    assert set(ctgov) == {"source", "label", "registry_id", "ok", "checked_at", "url", "http_status",
                          "reachable", "layout_recognised", "fields_read", "missing_fields", "drift",
                          "failure", "reason", "duration_ms"}
    assert ctgov["reachable"] is True and ctgov["http_status"] == 200 and ctgov["layout_recognised"]
    assert ctgov["fields_read"] > 50 and ctgov["missing_fields"] == []
    assert ctgov["drift"] == {"count": 0, "flags": []} and ctgov["failure"] is None


def test_drift_flags_are_counted_and_shown_without_failing(server, env):
    doc = fx.current()
    doc["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED_FOR_REVIEW"  # SYNTHETIC
    server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(doc).encode()))
    result = _check(env, "--source", "ctgov")
    assert result.exit_code == 0, result.output
    assert "drift [ctgov] status.overall kept 'PAUSED_FOR_REVIEW'" in result.stdout
    flags = json.loads(_check(env, "--source", "ctgov", "--json").stdout)["sources"][0]["drift"]
    assert flags["count"] == 1 and flags["flags"][0]["path"] == "status.overall"


@pytest.mark.parametrize("source, path, reply, broke", [
    ("ictrp", ICTRP_PAGE, Reply(body=mp.table(mp.ictrp_not_found(NCT)), headers=HTML),
     "soft 404: HTTP 200, but WHO ICTRP says it has no such trial"),
    ("ctv", CTV_PAGE, _page([x for x in mp.ctv_lines(fx.current()) if x != "Status and phase"]),
     "layout changed: the page lacks the labels 'Status and phase'"),
    ("ctv", CTV_PAGE, _page(["ClinicalTrials.Veeva", "Menu", "Page not found"]),
     "soft 404: HTTP 200, but ClinicalTrials.Veeva says it has no such trial"),
    ("ctv", CTV_PAGE, Reply(404, b"gone", HTML), "not found at ClinicalTrials.Veeva (HTTP 404); its address is"),
    ("ctgov_history", HISTORY, Reply(body=b'{"history": {"versions": []}}'),
     "layout changed: the history endpoint's JSON no longer has the shape this code reads"),
    ("ctgov", f"/api/v2/studies/{NCT}", Reply(body=b'{"protocolSection": {'),
     "shape change, the payload cannot be read: malformed JSON"),
    ("ctgov", f"/api/v2/studies/{NCT}", Reply(body=json.dumps(
        {"protocolSection": {"identificationModule": {"nctId": NCT}}}).encode()),
     "shape change: the record read has no titles.brief, status.overall, study_type"),
    ("ictrp", ICTRP_PAGE, Reply(503, b"down"), "WHO ICTRP answered: HTTP 503"),
])
def test_a_failing_source_exits_1_naming_the_source_and_what_broke(server, env, source, path, reply, broke):
    # ClinicalTrials.Veeva's page pinned: it need not be found by the registry's title.
    env = {**env, "TRIALMIRROR_PINNED_URLS": json.dumps({"ctv": {NCT: CTV_PAGE}})}
    server.play(path, reply)
    result = _check(env)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and failed[0].startswith(f"failed: [{source}] {NCT}: {broke}"), result.stderr
    assert f"3 ok, 1 failed ({source})" in result.stdout
    report = json.loads(_check(env, "--json").stdout)
    [bad] = [s for s in report["sources"] if not s["ok"]]
    assert bad["source"] == source and bad["reason"].startswith(broke)


def test_an_unreachable_source(env):
    env = {**env, "TRIALMIRROR_ICTRP_BASE_URL": "http://127.0.0.1:9"}  # nothing listens there
    result = _check(env, "--source", "ictrp")
    assert result.exit_code == 1
    assert "failed: [ictrp] NCT01342250: unreachable: connection failed: 127.0.0.1 refused the connection" \
        in result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("│ ictrp")]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["ictrp", "no", "—", "—", "0", "FAILED: unreachable"]


def test_a_mirror_without_a_stored_title_has_the_registry_read_for_it(server, env):
    result = _check(env, "--source", "ctv", "--json")
    assert result.exit_code == 0, result.output
    assert [s["source"] for s in json.loads(result.stdout)["sources"]] == ["ctv"]
    assert server.hits[f"/api/v2/studies/{NCT}"] == 1  # for the title
    server.play(f"/api/v2/studies/{NCT}", Reply(404, b"{}"))
    missing = _check(env, "--source", "ctv", "--source", "ctgov")
    assert missing.exit_code == 1
    assert "failed: [ctgov] NCT01342250: not found at ClinicalTrials.gov (HTTP 404)" in missing.stderr
    assert ("failed: [ctv] NCT01342250: needs the record's title from ClinicalTrials.gov, which was not read "
            "(not found at ClinicalTrials.gov (HTTP 404)") in missing.stderr
    assert server.hits[f"/api/v2/studies/{NCT}"] == 2  # once a run, the failure remembered
    assert json.loads(_check(env, "--source", "ctv", "--json").stdout)["sources"][0]["failure"] == "blocked"


def test_status_shows_the_last_result_per_source(server, env):
    assert "sources never checked" in CliRunner().invoke(main, ["status"], env=env).stdout
    assert _check(env).exit_code == 0
    server.play(ICTRP_PAGE, Reply(body=mp.table(mp.ictrp_not_found(NCT)), headers=HTML))
    assert _check(env, "--source", "ictrp").exit_code == 1  # the others' results stand
    status = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert status.exit_code == 0  # a failed check is shown, not an overdue record
    check = json.loads(status.stdout)["check"]
    assert check["by"] == "check" and check["ok"] is False and check["next_run"] is None
    assert {s["source"]: (s["ok"], s["failure"]) for s in check["sources"]} == {
        "ctgov": (True, None), "ctgov_history": (True, None), "ctv": (True, None), "ictrp": (False, "soft_404")}
    text = CliRunner().invoke(main, ["status"], env={**env, "COLUMNS": "200"}).stdout
    assert "by check: 3 ok, 1 failed (ictrp)" in text
    assert "FAILED: soft 404: HTTP 200, but WHO ICTRP says it has no such trial" in text


def test_an_unknown_source_is_a_usage_error(env):
    result = _check(env, "--source", "nope")
    assert result.exit_code == 2 and "valid sources" in result.stderr
