"""Record history: the ctgov_history source, its sync (a backfill), the canary, timelines (offline)."""

import json

import pytest

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.http import Http
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import ctgov, ctgov_history
from trialmirror.read.timeline import status_periods
from trialmirror.store.canonical import content_hash

NCT = "NCT01342250"
SRC = "ctgov_history"


def _backfill(settings, store, cassette, name, ids=(NCT,)):
    with cassette.use_cassette(f"ctgov_history/NCT01342250_{name}.yaml") as tape:
        summary = Ingestor(settings, store, Http(settings)).run(SRC, list(ids))
    assert tape.all_played, f"{name}: not every recorded exchange was requested"
    return summary, tape


def test_backfill_stores_every_version_with_its_date_and_events(settings, store, cassette):
    summary, _ = _backfill(settings, store, cassette, "backfill")
    assert [(r.outcome, r.version) for r in summary.results] == [
        ("new_version", 1), ("new_version", 2), ("new_version", 3)]
    versions = store.versions(NCT, SRC)
    assert [(v.valid_from, v.overall_status, v.upstream_version, v.produced_by) for v in versions] == [
        ("2011-04-27", "RECRUITING", 0, "backfill"),
        ("2011-07-20", "ACTIVE_NOT_RECRUITING", 1, "backfill"),
        ("2011-10-14", "COMPLETED", 2, "backfill")]
    events = store.events()
    assert [e.kind for e in events] == ["new_record", "status_change", "status_change"]
    assert [json.loads(e.data)["status"] for e in events[1:]] == [
        {"old": "RECRUITING", "new": "ACTIVE_NOT_RECRUITING"},
        {"old": "ACTIVE_NOT_RECRUITING", "new": "COMPLETED"}]
    assert all(json.loads(e.data)["produced_by"] == "backfill" for e in events)


def test_newest_history_version_equals_the_current_api_v2_record(settings, store, cassette):
    _backfill(settings, store, cassette, "backfill")
    with cassette.use_cassette("ctgov/NCT01342250_current.yaml"):
        Ingestor(settings, store, Http(settings)).run("ctgov", [NCT])
    newest, live = store.version(NCT, SRC), store.version(NCT, "ctgov")
    assert newest.content_hash == live.content_hash  # HTML and Markdown read the same


def test_second_backfill_requests_only_the_list(settings, store, cassette):
    _backfill(settings, store, cassette, "backfill")
    summary, tape = _backfill(settings, store, cassette, "list_only")
    assert tape.play_count == 1  # the list; no version request
    assert [(r.outcome, r.version) for r in summary.results] == [("unchanged", 3)]
    assert len(store.versions(NCT, SRC)) == 3


def test_backfill_resumes_where_it_failed_without_skipping(settings, store, cassette):
    summary, _ = _backfill(settings, store, cassette, "fails_at_1")
    assert [r.outcome for r in summary.results] == ["new_version", "error"]
    assert summary.results[1].error.family == "retry_later"
    assert [v.upstream_version for v in store.versions(NCT, SRC)] == [0]
    summary, tape = _backfill(settings, store, cassette, "resume_after_1")  # holds no version 0
    assert tape.play_count == 3
    assert [v.upstream_version for v in store.versions(NCT, SRC)] == [0, 1, 2]
    assert [e.kind for e in store.events()] == ["new_record", "status_change", "status_change"]


@pytest.mark.parametrize(("name", "key"), [("list_shape_changed", "'version'"),
                                           ("version_shape_changed", "'studyVersion'")])
def test_canary_names_the_key_and_url_and_writes_nothing(settings, store, cassette, name, key):
    summary, _ = _backfill(settings, store, cassette, name)
    error = summary.results[-1].error
    assert error.family == "layout_changed"
    message = str(error)
    assert key in message and "no longer has the shape" in message
    assert "/api/int/studies/NCT01342250/history" in message
    assert store.counts()["version"] == 0 and store.counts()["event"] == 0
    assert store.fetches(NCT)[-1].error_family == "layout_changed"


def test_real_history_version_parses_to_plain_text(corpus_dir):
    raw = (corpus_dir / "ctgov_history" / "NCT04280705" / "history_version_0.json").read_bytes()
    record = ctgov_history.parse(raw, "NCT04280705")
    assert record.source == SRC and record.status.overall == "NOT_YET_RECRUITING"
    assert len(record.eligibility.inclusion) >= 5 and record.eligibility.exclusion
    assert any(i.startswith("Illness of any duration") and "\n- " in i for i in record.eligibility.inclusion)
    text = json.dumps(record.model_dump(mode="json"), ensure_ascii=False)
    assert "&#x2F;" not in text and "&lt;" not in text and "<p>" not in text and "<li>" not in text


def test_real_history_change_list_gives_the_status_timeline(corpus_dir):
    raw = (corpus_dir / "ctgov_history" / "NCT03690141" / "study_history_true.json").read_bytes()
    entries = ctgov_history.parse_list(raw, "NCT03690141")
    assert [e.version for e in entries] == list(range(10))
    periods = status_periods([(e.version, e.date, e.status) for e in entries])
    assert [p.as_json() for p in periods] == [
        {"status": "NOT_YET_RECRUITING", "from": "2018-09-27", "to": "2018-10-16", "days": 19, "versions": [0],
         "events": []},
        {"status": "RECRUITING", "from": "2018-10-16", "to": "2019-07-16", "days": 273,
         "versions": [1, 2, 3, 4, 5, 6], "events": []},
        {"status": "ACTIVE_NOT_RECRUITING", "from": "2019-07-16", "to": "2020-04-27", "days": 286,
         "versions": [7, 8], "events": []},
        {"status": "COMPLETED", "from": "2020-04-27", "to": None, "days": None, "versions": [9], "events": []}]
    # The study in the same payload (HTML, search-highlight markup included) reads too.
    study = json.loads(raw)["study"]
    record = ctgov.parse_document(study, "NCT03690141", source=SRC, markup="html")
    assert record.status.overall == "COMPLETED" and record.eligibility.inclusion
    assert "<mark" not in json.dumps(record.model_dump(mode="json"))


def test_a_status_that_returns_starts_a_new_period():
    periods = status_periods([(1, "2020-01-01", "RECRUITING"), (2, "2020-03-01", "SUSPENDED"),
                              (3, "2020-04", "RECRUITING"), (4, "2020-05-01", "RECRUITING")])
    assert [(p.status, p.days, p.versions) for p in periods] == [
        ("RECRUITING", 60, [1]), ("SUSPENDED", 31, [2]), ("RECRUITING", None, [3, 4])]


def test_history_and_v2_hash_alike_for_the_same_state():
    for number in range(3):
        _, _, _, make = fx.HISTORY[number]
        html_record = ctgov_history.parse(json.dumps(fx.history_version(number)).encode(), NCT)
        md_record = ctgov.parse(json.dumps(make()).encode(), NCT)
        assert content_hash(html_record) == content_hash(md_record)
