"""The trialmirror command against a local server playing ClinicalTrials.gov."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.fixtures import nct01342250 as fx
from tests.fixtures import results_news as news
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.store import Store

NCT = "NCT01342250"
PATH = f"/api/v2/studies/{NCT}"


@pytest.fixture
def env(settings):
    with ScriptedServer() as server:
        yield server, {
            "TRIALMIRROR_CTGOV_BASE_URL": server.base_url,
            "TRIALMIRROR_DATABASE_URL": settings.database_url,
            "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000",
            "TRIALMIRROR_BACKOFF_FACTOR": "0.001",
            "TRIALMIRROR_MAX_RETRIES": "1",
            "TRIALMIRROR_WATCHLIST": NCT,
            "COLUMNS": "200",
        }


def _run(env, *args):
    return CliRunner().invoke(main, list(args), env=env[1], catch_exceptions=False)


def _body(doc):
    return Reply(body=json.dumps(doc).encode())


def test_sync_show_history_diff_changes(env):
    server, _ = env
    server.play(PATH, _body(fx.earlier()), _body(fx.current()))
    first = _run(env, "sync")  # the watchlist
    assert first.exit_code == 0, first.output
    assert first.stderr == ""  # no progress bar, nor what is left of one, outside a terminal
    assert "new_version" in first.output and "new_record" in first.output
    second = _run(env, "sync", NCT)
    assert second.exit_code == 0 and "RECRUITING → COMPLETED" in second.output
    # The sync left the ranked search index up to date beside the file: nothing waits for it.
    index = json.loads(_run(env, "db", "stats", "--json").output)["search_index"]
    assert index["bytes"] > 0 and index["path"].endswith(".db.search")

    record = json.loads(_run(env, "show", NCT, "--json").output)
    assert record == json.loads(json.dumps(record)) and record["status"]["overall"] == "COMPLETED"
    assert record["eligibility"]["exclusion"] == fx.EXCLUSION

    history = json.loads(_run(env, "history", NCT, "--json").output)
    assert [h["version"] for h in history] == [1, 2]
    assert set(history[0]) >= {"version", "content_hash", "observed_at", "valid_from"}
    assert [h["valid_from"] for h in history] == ["2011-04-27", "2011-10-14"]

    changes = json.loads(_run(env, "diff", NCT, "--json").output)
    assert {c["path"] for c in changes} >= {"status.overall", "enrollment.count", "eligibility.exclusion"}
    assert all(set(c) == {"path", "op", "old", "new", "kind"} for c in changes)
    assert json.loads(_run(env, "diff", NCT, "--from", "1", "--to", "2", "--json").output) == changes
    table = _run(env, "diff", NCT).output  # long texts show the part that changed
    assert "version 1 → 2: 6 change(s)" in table
    assert "in 6 months" in table and "in 3 months" in table

    events = json.loads(_run(env, "changes", "--json").output)
    assert [(e["seq"], e["kind"]) for e in events] == [(1, "new_record"), (2, "status_change")]
    after = json.loads(_run(env, "changes", "--after", "1", "--kind", "status_change", "--json").output)
    assert [e["version"] for e in after] == [2]
    assert "next cursor: --after 2" in _run(env, "changes").output


def test_failures_exit_non_zero_with_one_line_each(env):
    server, _ = env
    server.play(PATH, _body(fx.current()))
    server.play("/api/v2/studies/NCT09999999", Reply(404, b"{}"))
    result = CliRunner().invoke(main, ["sync", NCT, "NCT09999999", "NCT1"], env=env[1])
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2
    assert "[ctgov] NCT09999999" in failed[0] and "not found" in failed[0]
    assert "NCT1" in failed[1] and "not a ClinicalTrials.gov id" in failed[1]
    assert server.hits[PATH] == 1 and "/api/v2/studies/NCT1" not in server.hits


def test_show_before_sync_says_what_to_do(env):
    assert _run(env, "db", "upgrade").exit_code == 0  # a database, with nothing stored yet
    result = CliRunner().invoke(main, ["show", NCT], env=env[1])
    assert result.exit_code == 1
    assert "trialmirror sync NCT01342250" in result.stderr


def test_unknown_source_lists_valid_ones(env):
    result = CliRunner().invoke(main, ["sync", NCT, "--source", "nope"], env=env[1])
    assert result.exit_code == 2 and "valid sources: ctgov" in result.stderr


def test_sync_json_output(env):
    server, _ = env
    server.play(PATH, _body(fx.current()))
    data = json.loads(_run(env, "sync", NCT, "--json").output)
    assert data[0]["outcome"] == "new_version" and data[0]["events"][0]["kind"] == "new_record"


def test_unreachable_database_is_a_clear_error(env):
    bad = {**env[1], "TRIALMIRROR_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = CliRunner().invoke(main, ["history", NCT], env=bad)
    assert result.exit_code == 2
    assert "cannot open the database" in result.stderr and "TRIALMIRROR_DATABASE_URL" in result.stderr


def test_changes_refuses_an_unknown_kind(env):
    result = CliRunner().invoke(main, ["changes", "--kind", "statuschange"], env=env[1])
    assert result.exit_code == 2 and "status_change" in result.output + result.stderr


def test_results_posted_in_changes_and_timeline(env, settings):
    """A record that gains results, then an FDAAA violation (built, not fetched): the
    change feed filters by either kind and says what happened; the timeline puts each in
    its status period."""
    store = Store(settings.database_url)
    news.put(store, news.record(overall="RECRUITING"))
    news.put(store, news.record(results=True))
    news.put(store, news.record(results=True, annotations={"violation_events": [news.VIOLATION]}))
    store.close()
    posted = json.loads(_run(env, "changes", "--kind", "results_posted", "--json").output)
    assert [(e["version"], e["results"]["first_posted"]) for e in posted] == [(2, "2015-03-02")]
    table = _run(env, "changes", "--kind", "annotated").output
    assert "annotated" in table and "FDAAA 801 VIOLATION_IDENTIFIED issued 2021-07-26" in table
    assert "results_posted" not in table
    assert "results posted 2015-03-02 (submitted 2015-01-30)" in _run(env, "changes").output

    periods = json.loads(_run(env, "timeline", NCT, "--json").output)
    assert [(p["status"], p["versions"], p["events"] == []) for p in periods] == [
        ("RECRUITING", [1], True), ("COMPLETED", [2, 3], False)]
    assert periods[1]["events"] == [
        {"version": 2, "kind": "results_posted", "what": "results posted 2015-03-02 (submitted 2015-01-30)"},
        {"version": 3, "kind": "annotated", "what": "FDAAA 801 VIOLATION_IDENTIFIED issued 2021-07-26"}]
    human = _run(env, "timeline", NCT).output
    assert "results, status  — results posted 2015-03-02 (submitted 2015-01-30)" in human
    assert "annotations  — FDAAA 801 VIOLATION_IDENTIFIED issued 2021-07-26" in human


def test_backfill_timeline_and_as_of_from_a_local_history_server(env):
    server, environment = env
    environment = {**environment, "TRIALMIRROR_CTGOV_HISTORY_BASE_URL": server.base_url}
    history = f"/api/int/studies/{NCT}/history"
    server.play(history, _body(fx.history_list()))
    for n in range(3):
        server.play(f"{history}/{n}", _body(fx.history_version(n)))
    server.play(PATH, _body(fx.current()))
    run = lambda *args: CliRunner().invoke(main, list(args), env=environment)  # noqa: E731

    first = run("backfill", NCT)
    assert first.exit_code == 0, first.output + first.stderr
    assert [server.hits[f"{history}/{n}"] for n in range(3)] == [1, 1, 1]
    assert run("backfill", NCT).exit_code == 0  # a second run asks for the list only
    again = run("sync", NCT, "--source", "ctgov_history", "--json")  # sync of the history = backfill
    assert [(r["outcome"], r["version"]) for r in json.loads(again.stdout)] == [("unchanged", 3)]
    assert [server.hits[f"{history}/{n}"] for n in range(3)] == [1, 1, 1] and server.hits[history] == 3

    versions = json.loads(run("history", NCT, "--source", "ctgov_history", "--json").output)
    assert [(v["version"], v["valid_from"]) for v in versions] == [
        (1, "2011-04-27"), (2, "2011-07-20"), (3, "2011-10-14")]
    changes = json.loads(run("changes", "--kind", "status_change", "--json").output)
    assert len(changes) == 2

    timeline = json.loads(run("timeline", NCT, "--json").output)
    assert timeline == [
        {"status": "RECRUITING", "from": "2011-04-27", "to": "2011-07-20", "days": 84, "versions": [1],
         "events": []},
        {"status": "ACTIVE_NOT_RECRUITING", "from": "2011-07-20", "to": "2011-10-14", "days": 86,
         "versions": [2], "events": []},
        {"status": "COMPLETED", "from": "2011-10-14", "to": None, "days": None, "versions": [3],
         "events": []}]
    human = run("timeline", NCT).output
    assert "ACTIVE_NOT_RECRUITING" in human and "v2  2011-07-20" in human and "enrollment" in human
    assert "NCT01342250 [ctgov_history]" in human

    before = run("show", NCT, "--as-of", "2011-01-01")
    assert before.exit_code == 1 and "not yet registered on 2011-01-01" in before.stderr
    mid = run("show", NCT, "--as-of", "2011-08-01", "--json")
    assert json.loads(mid.stdout)["status"]["overall"] == "ACTIVE_NOT_RECRUITING"
    assert "version 2 from ctgov_history, valid from 2011-07-20" in mid.stderr
    assert json.loads(run("show", NCT, "--as-of", "2011-10-14", "--json").stdout)["status"]["overall"] \
        == "COMPLETED"

    assert run("sync", NCT).exit_code == 0  # the live record: no difference from the newest version
    live = json.loads(run("history", NCT, "--json").output)
    assert live[-1]["content_hash"] == versions[-1]["content_hash"]
    diff = json.loads(run("diff", NCT, "--source", "ctgov_history", "--json").output)
    assert {c["path"] for c in diff} >= {"status.overall"}


@pytest.fixture
def mirror_env(env):
    """ClinicalTrials.gov, ClinicalTrials.Veeva and WHO ICTRP, all on the local server."""
    from trialmirror.ingest.sources.ctv import slug

    server, environment = env
    title = fx.current()["protocolSection"]["identificationModule"]["briefTitle"]
    page = {"Content-Type": "text/html; charset=utf-8"}
    server.play(PATH, _body(fx.current()))
    environment = {**environment, "TRIALMIRROR_CTV_BASE_URL": server.base_url,
                   "TRIALMIRROR_ICTRP_BASE_URL": server.base_url}
    return server, environment, f"/study/{slug(title)}", f"/Trial2.aspx?TrialID={NCT}", page


@pytest.mark.parametrize(("ctv_page", "markup", "ictrp_design"), [
    ("seed", "semantic", "commas"), ("synthetic", "semantic", "commas"),
    # The site's chrome in landmarks (a menu bar on one line, header, footer, asides, ARIA
    # roles); ICTRP's design with full stops between its parts.
    ("seed", "nav_on_one_line", "full_stops"), ("seed", "landmarks", "full_stops"),
    ("seed", "roles", "full_stops"), ("synthetic", "landmarks", "full_stops")])
def test_sync_mirrors_then_reconcile_shows_the_agreement_table(mirror_env, request, ctv_page, markup,
                                                               ictrp_design):
    from tests.fixtures import mirror_pages as mp

    server, environment, ctv_path, ictrp_path, html = mirror_env
    lines = (mp.seed_lines(request.getfixturevalue("seeds_dir") / "ctv_veeva__NCT01342250.txt")
             if ctv_page == "seed" else mp.ctv_lines(fx.current()))
    render = mp.CTV_MARKUPS[markup]
    ictrp_lines = mp.ictrp_lines(fx.current())
    server.play(ctv_path, Reply(body=render(lines), headers=html))
    server.play(ictrp_path, Reply(body=mp.table(mp.full_stops(ictrp_lines) if ictrp_design == "full_stops"
                                                else ictrp_lines), headers=html))
    run = lambda *args: CliRunner().invoke(main, list(args), env=environment)  # noqa: E731

    early = run("sync", "--source", "ctv", NCT)  # no ClinicalTrials.gov title yet
    assert early.exit_code == 1 and "run `trialmirror sync NCT01342250`" in early.stderr
    assert run("sync", NCT).exit_code == 0
    synced = run("sync", "--source", "ctv", "--source", "ictrp", NCT)
    assert synced.exit_code == 0, synced.output + synced.stderr
    assert "ctv" in synced.output and "ictrp" in synced.output and "2 results: 2 new_version" in synced.output
    assert server.hits[ctv_path] == 1 and server.hits[ictrp_path] == 1  # none without a title
    feed = json.loads(run("changes", "--source", "ctv", "--json").stdout)
    assert [(e["source"], e["kind"]) for e in feed] == [("ctv", "new_record")]
    shown = run("show", NCT, "--source", "ctv")
    assert shown.exit_code == 0 and "NCT01342250 [ctv] version 1" in shown.output

    table = run("reconcile", NCT)
    assert table.exit_code == 0, table.output + table.stderr
    assert "ClinicalTrials.Veeva [ctv] v1" in table.output and "WHO ICTRP [ictrp] v1" in table.output
    assert "against ctgov v1 (valid from 2011-10-14)" in table.output
    assert "status.overall" in table.output and "0 disagree" in table.output
    assert table.output.count("not stale") == 2
    report = json.loads(run("reconcile", NCT, "--json").stdout)
    assert report["registry_id"] == NCT and [m["source"] for m in report["mirrors"]] == ["ctv", "ictrp"]
    for mirror in report["mirrors"]:
        assert set(mirror) >= {"source", "captured_at", "compared_with_version", "fields", "stale"}
        assert {f["verdict"] for f in mirror["fields"]} <= {"agree", "not_shown"}
    verdicts = {(m["source"], f["field"]): f["verdict"] for m in report["mirrors"] for f in m["fields"]}
    assert verdicts["ctv", "titles.brief"] == verdicts["ctv", "sponsors.lead"] == "agree"
    assert {verdicts["ictrp", f"design.{f}"] for f in ("allocation", "intervention_model", "masking",
                                                         "primary_purpose")} == {"agree"}

    # The mirror falls behind: ClinicalTrials.Veeva still says the trial is recruiting.
    server.play(ctv_path, Reply(body=render(["Recruiting" if x == "Completed" else x for x in lines]),
                                headers=html))
    assert run("sync", "--source", "ctv", NCT).exit_code == 0
    behind = run("reconcile", NCT, "--source", "ctv")
    assert "disagree" in behind.output and "RECRUITING" in behind.output
    assert "1 disagree" in behind.output and "not stale" in behind.output  # no older version stored


def test_reconcile_refuses_a_registry_source_and_says_what_to_run(env):
    refused = _run(env, "reconcile", NCT, "--source", "ctgov")
    assert refused.exit_code == 2 and "'ctgov' is not a mirror; mirrors: ctv, ictrp" in refused.stderr
    assert _run(env, "db", "upgrade").exit_code == 0  # a database, with nothing stored yet
    empty = _run(env, "reconcile", NCT)
    assert empty.exit_code == 1 and "run `trialmirror sync NCT01342250` first" in empty.stderr


def test_search_and_the_hint_when_the_index_is_outdated(env, settings):
    server, _ = env
    assert _run(env, "db", "upgrade").exit_code == 0  # nothing stored: say that, not "reindex"
    nothing = _run(env, "search", "cord")
    assert "no ClinicalTrials.gov record is stored yet" in nothing.stderr and "--reindex" not in nothing.stderr
    server.play(PATH, _body(fx.current()))
    assert _run(env, "sync", NCT).exit_code == 0
    assert "--reindex` if records were stored" in _run(env, "search", "xylophone").stderr
    hits = json.loads(_run(env, "search", "umbilical cord", "--json").stdout)
    assert [h["registry_id"] for h in hits] == [NCT] and hits[0]["status"] == "COMPLETED"
    table = _run(env, "search", "cord")
    assert NCT in table.stdout and "Human Umbilical Cord" in table.stdout and not table.stderr
    store = Store(settings.database_url)
    with store.transaction() as conn:  # as a store indexed by the build before abbreviations
        conn.execute(text("UPDATE store_meta SET value = '1' WHERE key = 'search_index_version'"))
    store.close()
    outdated = _run(env, "search", "cord")
    assert NCT in outdated.stdout and "trialmirror search --reindex" in outdated.stderr
    rebuilt = _run(env, "search", "--reindex", "cord")
    assert "indexed 1 records" in rebuilt.stderr and "--reindex` rebuilds" not in rebuilt.stderr
    assert not _run(env, "search", "cord").stderr


def test_drift_lists_a_new_registry_value_the_day_it_appears(env):
    server, _ = env
    server.routes[PATH] = [_body(fx.current())]
    assert _run(env, "sync", NCT).exit_code == 0
    assert "no drift flagged" in _run(env, "drift").stderr
    drifted = fx.current()
    drifted["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED_FOR_REVIEW"
    drifted["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = "20"
    server.routes[PATH] = [_body(drifted)]
    synced = _run(env, "sync", NCT)
    assert synced.exit_code == 0, synced.output
    table = _run(env, "drift").stdout
    assert "status.overall" in table and "PAUSED_FOR_REVIEW" in table and "kept" in table
    assert "enrollment.count" in table and "coerced" in table and NCT in table
    rows = json.loads(_run(env, "drift", "--json").stdout)
    by_path = {r["path"]: r for r in rows}
    assert by_path["status.overall"]["records"] == 1 and by_path["status.overall"]["source"] == "ctgov"
    assert by_path["enrollment.count"]["value"] == "20"
    assert json.loads(_run(env, "drift", "--json", "--since", "2999-01-01").stdout) == []
    assert [r["path"] for r in json.loads(_run(env, "drift", "--json", "--path", "enrollment.count").stdout)] \
        == ["enrollment.count"]
    assert json.loads(_run(env, "show", NCT, "--json").stdout)["status"]["overall"] == "PAUSED_FOR_REVIEW"
    # In an 80-column terminal a flag is a block of two lines: nothing is cut, nothing wraps.
    narrow = CliRunner().invoke(main, ["drift"], env={**env[1], "COLUMNS": "80"}).stdout.splitlines()
    assert max(map(len, narrow)) <= 80 and len(narrow) == 4
    assert narrow[2].split()[2:4] == ["status.overall", "kept"] and NCT in narrow[2]
    assert narrow[3] == "PAUSED_FOR_REVIEW"
    # Wider, a table; its value column folds rather than cuts.
    assert _column(_run(env, "drift").stdout, "value") == ["20", "PAUSED_FOR_REVIEW"]


def _column(table: str, name: str) -> list[str]:
    """The cells of a column of a rich table as printed, each folded cell joined again."""
    lines = [line for line in table.splitlines() if line.startswith(("┃", "│"))]
    names = [cell.strip() for cell in lines[0].strip("┃").split("┃")]
    cells: list[str] = []
    for line in lines[1:]:
        row = [cell.strip() for cell in line.strip("│").split("│")]
        if row[0]:  # a row's first line; the lines after it continue its cells
            cells.append("")
        cells[-1] += row[names.index(name)]
    return cells


def test_show_and_timeline_read_a_record_the_drift_policy_kept(env):
    """An age without a unit and a last-update day that does not exist are stored (kept,
    dropped) and every command still reads the record."""
    server, _ = env
    drifted = fx.current()
    drifted["protocolSection"]["eligibilityModule"]["minimumAge"] = "18"
    drifted["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2011-02-30"
    server.routes[PATH] = [_body(drifted)]
    assert _run(env, "sync", NCT).exit_code == 0
    shown = _run(env, "show", NCT)
    assert shown.exit_code == 0 and "18 (no unit)" in shown.stdout
    assert "eligibility.min_age.unit kept '18'" in shown.stdout
    assert "status.last_update_posted.date dropped '2011-02-30'" in shown.stdout
    assert _run(env, "timeline", NCT).exit_code == 0


@pytest.fixture
def store_env(env, store):
    """The local server, and the CLI on the `store` fixture's database (SQLite, then PostgreSQL)."""
    server, environment = env
    yield server, {**environment, "TRIALMIRROR_DATABASE_URL": store.url,
                   "TRIALMIRROR_CTGOV_HISTORY_BASE_URL": server.base_url}


def test_as_of_before_the_stored_versions_says_none_is_that_old_not_unregistered(store_env, corpus_dir):
    """NCT00000410 was first posted 1999-11-04; synced once, its one version is valid from its
    last update (2015-08-04). `--as-of 2010-01-01` said "was not yet registered"."""
    server, _ = store_env
    other = "NCT00000410"
    server.play(f"/api/v2/studies/{other}", Reply(body=(corpus_dir / "ctgov_v2" / f"{other}.json").read_bytes()))
    assert _run(store_env, "sync", other).exit_code == 0
    early = _run(store_env, "show", other, "--as-of", "2010-01-01")
    message = " ".join(early.stderr.split())
    assert early.exit_code == 1 and "not yet registered" not in message
    assert (f"no stored version of {other} from ctgov_history or ctgov is as old as 2010-01-01: the earliest, "
            "version 1 from ctgov (first posted 1999-11-04), is valid from 2015-08-04; "
            f"`trialmirror backfill {other}` stores every version") in message
    only_live = " ".join(_run(store_env, "show", other, "--as-of", "2010-01-01", "--source", "ctgov").stderr.split())
    assert "without --source, the record history's versions answer too" in only_live
    unborn = _run(store_env, "show", other, "--as-of", "1999-01-01")
    assert f"{other} was not yet registered on 1999-01-01: first posted 1999-11-04" in unborn.stderr


def test_diff_and_history_name_the_source_that_holds_the_versions(store_env):
    """After a backfill, `diff ID` (ctgov by default) said "nothing to diff" and pointed at
    `sync`, while three versions were under --source ctgov_history."""
    server, _ = store_env
    history = f"/api/int/studies/{NCT}/history"
    server.play(history, _body(fx.history_list()))
    for n in range(3):
        server.play(f"{history}/{n}", _body(fx.history_version(n)))
    server.play(PATH, _body(fx.current()))
    assert _run(store_env, "backfill", NCT).exit_code == 0
    hint = f"ctgov_history holds 3 version(s): `trialmirror diff {NCT} --source ctgov_history`"
    nothing = _run(store_env, "diff", NCT)  # ctgov holds none yet
    assert nothing.exit_code == 1 and hint in " ".join(nothing.stderr.split())
    assert "sync" not in nothing.stderr
    assert "holds 3 version(s): `trialmirror history" in " ".join(_run(store_env, "history", NCT).stderr.split())
    assert _run(store_env, "sync", NCT).exit_code == 0
    one = " ".join(_run(store_env, "diff", NCT).stderr.split())
    assert f"{NCT} has only version 1 from ctgov: nothing to diff; {hint}" in one
    assert {c["path"] for c in json.loads(_run(store_env, "diff", NCT, "--source", "ctgov_history",
                                                "--json").stdout)} >= {"status.overall"}


@pytest.mark.parametrize("columns", [None, "80", "60"])
def test_tables_never_cut_ids_or_kinds(env, columns):
    """Outside a terminal rich squeezed every column into 80, so ids came out as
    `NCT013422…`. Piped (COLUMNS unset) a table keeps its natural width, one line per row;
    at a set width the one-word columns stay whole and the others wrap."""
    server, environment = env
    environment = {**environment, "COLUMNS": columns, "TRIALMIRROR_SOURCES": "ctgov"}
    server.play(PATH, _body(fx.earlier()), _body(fx.current()))
    run = lambda *args: CliRunner().invoke(main, list(args), env=environment)  # noqa: E731
    outputs = [run("sync").stdout, run("sync").stdout]
    outputs += [run(*args).stdout for args in (["changes"], ["status"], ["history", NCT], ["search", "cord"],
                                                ["watch", "list"])]
    for output in outputs:
        assert "…" not in output, output
        rows = [line for line in output.splitlines() if line.startswith("│ ") and not line.startswith("│   ")]
        assert rows and all(NCT in row or "sha256:" in row for row in rows), output
    changes = outputs[2].splitlines()
    assert any("status_change" in line and "new_record" not in line for line in changes)
    if columns is None:
        assert any("status_change" in line and "RECRUITING → COMPLETED (eligibility, enrollment, status)" in line
                   for line in changes)


def test_one_table_rule_for_every_command():
    """The rule lives in trialmirror.cli.app.Table; no command builds rich's table directly."""
    from pathlib import Path

    import trialmirror.cli as cli

    folder = Path(cli.__file__).parent
    direct = [p.name for p in folder.glob("*.py") if p.name != "app.py" and "rich.table" in p.read_text()]
    assert direct == []


def test_a_sync_row_names_the_news_of_its_version(tmp_path):
    from trialmirror.cli.sync_cmds import _result_row
    from trialmirror.ingest.runs.pipeline import RecordResult

    store = Store(f"sqlite:///{tmp_path / 'news.db'}")
    news.put(store, news.record())
    put = news.put(store, news.record(results=True))
    store.close()
    row = _result_row(RecordResult(NCT, "ctgov", "new_version", put.version, put.changes, put.events))
    assert row[-1] == "updated (results); results posted 2015-03-02 (submitted 2015-01-30)"


def test_show_json_has_the_whole_record_as_the_source_has_it(env, corpus_dir):
    """`show --json` of a real record: oversight, IPD sharing, references, MeSH and site
    coordinates hold what the registry's document holds; NCT01342250's reconstruction
    says nothing of oversight, IPD or references, and they are null, not guessed."""
    server, _ = env
    rid = "NCT00499317"
    doc = json.loads((corpus_dir / "ctgov_v2" / f"{rid}.json").read_bytes())
    proto = doc["protocolSection"]
    server.play(f"/api/v2/studies/{rid}", _body(doc))
    server.play(PATH, _body(fx.current()))
    assert _run(env, "sync", rid, NCT).exit_code == 0
    shown = json.loads(_run(env, "show", rid, "--json").stdout)
    oversight = proto["oversightModule"]
    assert shown["oversight"]["has_dmc"] is oversight["oversightHasDmc"]
    assert shown["oversight"]["fda_regulated_drug"] is oversight["isFdaRegulatedDrug"]
    ipd = proto["ipdSharingStatementModule"]
    assert shown["ipd_sharing"]["sharing"] == ipd["ipdSharing"]
    pmids = [r.get("pmid") for r in proto["referencesModule"]["references"]]
    assert [c["pmid"] for c in shown["references"]["citations"]] == pmids
    terms = doc["derivedSection"]["conditionBrowseModule"]["meshes"]
    assert shown["mesh"]["conditions"]["terms"] == [{"id": t["id"], "term": t["term"]} for t in terms]
    human = _run(env, "show", rid).stdout  # the table: the whole record's headlines
    assert terms[0]["term"] in human and "with coordinates" in human and "has dmc yes" in human
    ours = json.loads(_run(env, "show", NCT, "--json").stdout)
    assert (ours["oversight"], ours["ipd_sharing"], ours["references"]) == (None, None, None)
    site = ours["sites"][0]
    assert (site["country"], site["latitude"], site["longitude"]) == ("China", 31.22222, 121.45806)
    assert {"id": "D008107", "term": "Liver Diseases"} in ours["mesh"]["conditions"]["ancestors"]
    found = _run(env, "search", "--mesh", "liver diseases", "--json")
    assert [r["registry_id"] for r in json.loads(found.stdout)] == [NCT]


def test_changes_with_nothing_to_show_says_so(env):
    server, _ = env
    server.play(PATH, _body(fx.current()))
    assert _run(env, "sync").exit_code == 0
    empty = _run(env, "changes", "--kind", "results_posted")
    assert empty.exit_code == 0 and "no results_posted events" in empty.output and "│" not in empty.output
    assert "no events after seq 1" in _run(env, "changes", "--after", "1").output
