"""Results reporting in the store (SQLite and PostgreSQL): the view ``reporting_status`` for
today, the periods written with the search row, the ``overdue`` event (by the clock, or with a
version; once per record and due date; never for a reparse, nor for a record first seen
overdue), and migration 0006's fill. Records SYNTHETIC (tests/fixtures/fdaaa.py)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from alembic import command
from sqlalchemy import text

from tests.fixtures.fdaaa import doc, trial
from trialmirror.ingest.sources import ctgov
from trialmirror.models import reporting as r
from trialmirror.read.feeds import notices
from trialmirror.settings import Settings
from trialmirror.store import schema
from trialmirror.store.engine import make_engine
from trialmirror.store.reporting import period_rows


def put(store, record, *, observed: str, valid_from: str | None = None, produced_by: str = "fetch"):
    return store.put(record, fetch=None, raw_sha256=None, produced_by=produced_by, searchable=True,
                     valid_from=valid_from or observed,
                     observed_at=datetime.fromisoformat(observed).replace(hour=12, tzinfo=UTC))


def view(store) -> dict[str, dict]:
    with store.transaction() as conn:
        result = conn.execute(text("SELECT * FROM reporting_status ORDER BY registry_id"))
        return {row["registry_id"]: dict(row) for row in result.mappings()}


def _ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def test_the_view_says_where_each_record_stands_today(store):
    records = {
        "NCT09000001": trial("NCT09000001", completion=_ago(500)),  # overdue
        "NCT09000002": trial("NCT09000002", completion=_ago(900), results=_ago(400)),  # reported late
        "NCT09000003": trial("NCT09000003", completion=_ago(900), results=_ago(600)),  # reported
        "NCT09000004": trial("NCT09000004", completion=_ago(100)),  # not due yet
        "NCT09000005": trial("NCT09000005", completion=_ago(500), certificate=_ago(480)),  # delayed
        "NCT09000006": trial("NCT09000006", phases=("PHASE1",)),  # not applicable
    }
    for record in records.values():
        put(store, record, observed=_ago(1000))
    rows = view(store)
    assert list(rows) == sorted(records)  # one row per record
    today = date.fromisoformat(rows["NCT09000001"]["as_of"])
    for registry_id, row in rows.items():
        expected = r.status_on(records[registry_id], today)
        assert (row["state"], row["days_late"], row["due_date"], bool(row["results_due"]),
                row["reported_on"], row["classification"]) == (
            expected.state, expected.days_late, expected.due_date and expected.due_date.isoformat(),
            expected.results_due, expected.reported_on and expected.reported_on.isoformat(),
            expected.classification), registry_id
    assert {k: v["state"] for k, v in rows.items()} == {
        "NCT09000001": "overdue", "NCT09000002": "reported_late", "NCT09000003": "reported",
        "NCT09000004": "ongoing", "NCT09000005": "ongoing", "NCT09000006": "not_applicable"}
    assert rows["NCT09000001"]["days_late"] == 135  # 500 days after completion, 365 + 135
    overdue = [p for p in r.periods(records["NCT09000001"]) if p.state == "overdue"]
    assert rows["NCT09000001"]["state_since"] == overdue[0].start.isoformat()  # a year and 31 days on


def test_the_view_follows_the_newest_version(store):
    put(store, trial(completion=_ago(500)), observed=_ago(600))
    assert view(store)["NCT09000001"]["state"] == "overdue"
    put(store, trial(completion=_ago(500), results=_ago(2)), observed=_ago(1))
    assert (view(store)["NCT09000001"]["state"], view(store)["NCT09000001"]["version"]) == ("reported_late", 2)
    with store.transaction() as conn:  # the older version's periods are gone
        versions = conn.execute(text("SELECT DISTINCT version FROM reporting_period")).scalars().all()
    assert versions == [2]


def test_a_backfilled_older_state_leaves_the_periods_of_the_newer(store):
    put(store, trial(results="2022-03-01"), observed="2023-01-01", valid_from="2022-06-01")
    store.put(trial(), fetch=None, raw_sha256=None, produced_by="backfill", searchable=True,
              valid_from="2021-01-01", observed_at=datetime(2023, 1, 2, tzinfo=UTC))
    assert view(store)["NCT09000001"]["state"] == "reported"


# --- the overdue event --------------------------------------------------------------------------

def _overdue(store):
    return [(e.registry_id, e.version, json.loads(e.data)) for e in store.events(kind="overdue")]


def test_results_that_pass_their_due_date_unreported_are_news_when_the_days_pass(store):
    put(store, trial(), observed="2021-06-01")  # due 2022-03-15; overdue from 2022-04-15
    assert store.note_overdue(date(2022, 4, 14)) == []
    (noted,) = store.note_overdue(date(2022, 4, 15))  # no new version: the clock's news
    assert (noted["registry_id"], noted["version"], noted["kind"]) == ("NCT09000001", 1, "overdue")
    assert noted["data"] == {"found_by": "clock", "state": "overdue", "since": "2022-04-15",
                             "due_date": "2022-03-15", "days_late": 31, "as_of": "2022-04-15",
                             "classification": "act", "completion_date": "2021-03-15", "certificate_date": None}
    assert store.note_overdue(date(2022, 4, 16)) == [] and store.note_overdue(date(2023, 1, 1)) == []
    assert [(rid, v, d["due_date"]) for rid, v, d in _overdue(store)] == [("NCT09000001", 1, "2022-03-15")]
    assert [n.kind for n in notices(store.events(), Settings(_env_file=None).notify_kind_set(),
                                    Settings(_env_file=None).notify_produced_by_set())] == ["overdue"]


def test_once_per_due_date_a_new_due_date_is_news_again(store):
    put(store, trial(), observed="2021-06-01")
    assert len(store.note_overdue(date(2022, 5, 1))) == 1
    put(store, trial(certificate="2022-05-10"), observed="2022-05-12")  # due 2024-03-15 now
    assert store.note_overdue(date(2022, 6, 1)) == []
    (again,) = store.note_overdue(date(2024, 4, 15))
    assert (again["version"], again["data"]["due_date"], again["data"]["days_late"]) == (2, "2024-03-15", 31)
    assert [d["due_date"] for _, _, d in _overdue(store)] == ["2022-03-15", "2024-03-15"]


def test_a_record_first_seen_overdue_is_no_news(store):
    put(store, trial(), observed="2023-01-01")
    assert store.note_overdue(date(2023, 2, 1)) == [] and _overdue(store) == []


def test_a_reparse_that_makes_a_record_overdue_is_no_news(store):
    put(store, trial(drug=None, countries=("Canada",)), observed="2021-06-01")  # not applicable
    result = put(store, trial(), observed="2023-01-01", valid_from="2021-06-01", produced_by="reparse")
    assert [e["kind"] for e in result.events] == ["reparsed"]
    assert store.note_overdue(date(2023, 2, 1)) == [] and _overdue(store) == []


def test_a_reparse_leaves_the_clock_to_tell_what_is_overdue_later(store):
    put(store, trial(drug=None, countries=("Canada",)), observed="2021-06-01")
    put(store, trial(), observed="2021-07-01", produced_by="reparse")
    assert len(store.note_overdue(date(2022, 4, 15))) == 1  # became overdue after the reparse


def test_a_registry_change_that_makes_results_overdue_comes_with_its_version(store):
    put(store, trial(completion="2025-03", phases=("PHASE2",)), observed="2021-06-01")
    # The registry corrects the completion date, which makes the results overdue at once.
    result = put(store, trial(completion="2021-03-15", phases=("PHASE2",)), observed="2023-01-12",
                 valid_from="2023-01-10")
    assert [e["kind"] for e in result.events] == ["updated", "overdue"]
    assert result.events[1]["data"] == {"produced_by": "fetch", "found_by": "version", "state": "overdue",
                                        "since": "2022-04-15", "due_date": "2022-03-15", "days_late": 301,
                                        "as_of": "2023-01-10", "classification": "act",
                                        "completion_date": "2021-03-15", "certificate_date": None}
    assert store.note_overdue(date(2023, 2, 1)) == []  # told already
    unchanged = put(store, trial(completion="2021-03-15", phases=("PHASE2",), overall="TERMINATED"),
                    observed="2023-02-01")
    assert [e["kind"] for e in unchanged.events] == ["status_change"]  # overdue before and after


def test_a_version_that_stays_overdue_is_no_news_and_the_clock_tells_once(store):
    put(store, trial(), observed="2021-06-01")
    later = put(store, trial(overall="TERMINATED"), observed="2022-06-01")  # overdue on both sides
    assert [e["kind"] for e in later.events] == ["status_change"]
    assert len(store.note_overdue(date(2022, 6, 2))) == 1  # the clock's: it passed while watched


# --- migration 0006 -----------------------------------------------------------------------------

def _periods(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT registry_id, source, version, classification, completion_date, period_from, period_to, "
                "state, results_due, due_date, certificate_date, reported_on, days_late, known_on "
                "FROM reporting_period ORDER BY registry_id, period_from")).all()
    finally:
        engine.dispose()


def _migrate(url, revision, how):
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            how(schema.config(conn), revision)
    finally:
        engine.dispose()


def test_the_upgrade_fills_the_periods_of_every_indexed_version(store):
    put(store, trial("NCT09000001"), observed="2021-06-01")
    put(store, trial("NCT09000001", results="2022-05-01"), observed="2022-06-01")
    put(store, trial("NCT09000002", certificate="2021-09-01"), observed="2021-06-01")
    put(store, trial("NCT09000002", certificate="2021-09-01", overall="TERMINATED"), observed="2021-10-01",
        produced_by="reparse")
    put(store, trial("NCT09000003", start="2015-01-01", drug=None), observed="2021-06-01")
    written = _periods(store.url)
    assert {row.known_on for row in written if row.registry_id == "NCT09000002"} == {"2021-10-01"}
    url = store.url
    store.close()
    _migrate(url, "0005", command.downgrade)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM version")).scalar() == 5
    engine.dispose()
    _migrate(url, "head", command.upgrade)
    assert _periods(url) == written


@pytest.mark.corpus
def test_the_migration_writes_the_periods_the_store_writes(corpus_dir):
    """0006's frozen copy of the rules gives every corpus record (and the fixture's trials)
    the rows the store writes for it now: the fill and the write path agree."""
    migration = _module(schema.MIGRATIONS / "versions" / "0006_reporting_status.py")
    docs = [orjson.loads(ctgov.parse(p.read_bytes(), p.stem).model_dump_json())
            for p in sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))]
    docs += [doc(t) for t in (trial(submissions=({"released": "2022-03-01", "unreleased": "2022-03-20"},
                                                 {"released": "2022-04-25"})),
                              trial(certificate="2022-05-10", results="2024-06-01"), trial(completion=None),
                              trial(start="2016-01-01", drug=None, submissions=(
                                  {"released": "2017-01-01", "unreleased_unknown": True},)))]
    for record in docs:
        assert migration._rows(record["registry_id"], "ctgov", 3, record, "2020-01-01") == period_rows(
            record, "ctgov", 3, "2020-01-01"), record["registry_id"]


def _module(path):
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
