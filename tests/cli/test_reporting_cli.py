"""``trialmirror reporting`` (a table, ``--json``, ``--as-of``, ``--state``), and the
``overdue`` line ``sync`` prints when the days made a stored record's results overdue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from tests.fixtures.fdaaa import act_document, trial
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.ingest.sources import ctgov
from trialmirror.store import Store

NCT = "NCT01342250"


def _store(settings):
    store = Store(settings.database_url)
    for record in (trial("NCT09000001"), trial("NCT09000002", results="2022-03-16"),
                   trial("NCT09000003", phases=("PHASE1",))):
        store.put(record, fetch=None, raw_sha256=None, searchable=True, valid_from="2021-06-01",
                  observed_at=datetime(2021, 6, 1, tzinfo=UTC))
    store.close()


def _run(settings, *args):
    return CliRunner().invoke(main, ["--database-url", settings.database_url, *args],
                              env={"COLUMNS": "200"}, catch_exceptions=False)


def test_the_reporting_table_on_a_date(settings):
    _store(settings)
    result = _run(settings, "reporting", "NCT09000001", "NCT09000002", "NCT09000003", "--as-of", "2022-05-01")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "as of 2022-05-01 (FDAAA TrialsTracker rules; README: Results reporting)"
    row = next(line for line in lines if "NCT09000001" in line)
    assert row.split("│")[1:-1] == [" NCT09000001 ", " ACT   ", " 2021-03-15 ", "             ", " 2022-03-15 ",
                                     "            ", " overdue        ", " 47        "]
    assert "reported late" in next(line for line in lines if "NCT09000002" in line)
    assert "NCT09000003: not applicable: phase PHASE1 is not covered" in result.output
    assert lines[-1] == "3 records: 1 not applicable, 1 overdue, 1 reported late"


def test_reporting_json_every_record_and_a_state(settings):
    _store(settings)
    items = json.loads(_run(settings, "reporting", "--as-of", "2022-04-14", "--json").output)
    assert [(i["registry_id"], i["state"], i["days_late"]) for i in items] == [
        ("NCT09000001", "ongoing", None), ("NCT09000002", "reported", None), ("NCT09000003", "not_applicable", None)]
    assert set(items[0]) >= {"version", "valid_from", "as_of", "classification", "due_date", "results_due",
                             "reported_on", "certificate_date", "completion_date", "reasons", "rules"}
    overdue = json.loads(_run(settings, "reporting", "--state", "overdue", "--json").output)
    assert [i["registry_id"] for i in overdue] == ["NCT09000001"]  # today


def test_reporting_on_a_record_not_stored_says_what_to_run(settings):
    _store(settings)
    result = CliRunner().invoke(main, ["--database-url", settings.database_url, "reporting", "NCT09000001",
                                       "NCT09999999"])
    assert result.exit_code == 1 and "NCT09000001" in result.output
    assert "run `trialmirror sync NCT09999999 --source ctgov` first" in result.stderr
    mirror = CliRunner().invoke(main, ["--database-url", settings.database_url, "reporting", "--source", "ctv"])
    assert mirror.exit_code == 2 and "a mirror has no reporting status" in mirror.output


def test_sync_tells_of_results_the_days_made_overdue(settings):
    """The record does not change between the syncs; its results pass their due date meanwhile
    (stored 1,000 days ago, completed 500 days ago): the next sync says so, once."""
    completion = (datetime.now(UTC).date() - timedelta(days=500)).isoformat()
    payload = json.dumps(act_document(completion)).encode()
    store = Store(settings.database_url)
    store.put(ctgov.parse(payload, NCT), fetch=None, raw_sha256=None, searchable=True,
              observed_at=datetime.now(UTC) - timedelta(days=1000))
    store.close()
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=payload), Reply(body=payload))
        env = {"TRIALMIRROR_CTGOV_BASE_URL": server.base_url, "TRIALMIRROR_DATABASE_URL": settings.database_url,
               "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "COLUMNS": "200"}
        first = CliRunner().invoke(main, ["sync", NCT], env=env, catch_exceptions=False)
        assert "unchanged" in first.output
        assert f"overdue: {NCT} [ctgov] results overdue (due " in first.output and "135 days late on" in first.output
        second = CliRunner().invoke(main, ["sync", NCT], env=env, catch_exceptions=False)
        assert "overdue:" not in second.output
    events = json.loads(CliRunner().invoke(main, ["--database-url", settings.database_url, "changes", "--kind",
                                                   "overdue", "--json"]).output)
    assert [(e["registry_id"], e["version"], e["found_by"], e["days_late"]) for e in events] == [
        (NCT, 1, "clock", 135)]


def test_every_record_on_a_date_says_which_records_it_left_out_and_why(settings):
    """Every record on a date before some were first captured: the others are named as
    left out, with what to run, not dropped without a word; reasons only when asked."""
    _store(settings)
    store = Store(settings.database_url)
    store.put(trial("NCT09000004"), fetch=None, raw_sha256=None, searchable=True, valid_from="2023-01-01",
              observed_at=datetime(2023, 1, 1, tzinfo=UTC))
    store.close()
    result = CliRunner().invoke(main, ["--database-url", settings.database_url, "reporting", "--as-of",
                                       "2022-05-01"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "NCT09000004" not in result.stdout and "3 records:" in result.stdout
    assert ("1 stored record left out: no version of it is as old as 2022-05-01 (captured later); "
            "`trialmirror backfill` fetches their history") in result.stderr
    assert "NCT09000003: not applicable" not in result.stdout  # 837 such lines over the corpus
    assert "why a record is not applicable: give its id" in result.stdout
    asked = _run(settings, "reporting", "--as-of", "2022-05-01", "--state", "not_applicable")
    assert "NCT09000003: not applicable: phase PHASE1 is not covered" in asked.output


def test_a_date_that_does_not_exist_is_named_as_such(settings):
    _store(settings)
    result = CliRunner().invoke(main, ["--database-url", settings.database_url, "reporting", "--as-of",
                                       "2024-02-30"])
    assert result.exit_code == 2
    assert "'2024-02-30' is not a date: use YYYY-MM-DD" in result.output and "Traceback" not in result.output


def test_an_overdue_trial_judged_on_an_anticipated_completion_says_so(settings):
    """The tracker counts an anticipated completion date as it counts an actual one; the
    answer says which it rests on (the registry may not have updated a finished trial)."""
    record = trial("NCT09000009")
    anticipated = record.model_copy(update={"status": record.status.model_copy(update={
        "primary_completion": {"date": record.status.primary_completion["date"], "kind": "anticipated"}})})
    store = Store(settings.database_url)
    for r in (trial("NCT09000001"), anticipated):
        store.put(r, fetch=None, raw_sha256=None, searchable=True, valid_from="2021-06-01",
                  observed_at=datetime(2021, 6, 1, tzinfo=UTC))
    store.close()
    items = json.loads(_run(settings, "reporting", "--as-of", "2022-05-01", "--json").output)
    assert [(i["registry_id"], i["state"], i["completion_kind"]) for i in items] == [
        ("NCT09000001", "overdue", "actual"), ("NCT09000009", "overdue", "anticipated")]
    table = _run(settings, "reporting", "NCT09000009", "--as-of", "2022-05-01").output
    assert "2021-03-15 (anticipated)" in table
