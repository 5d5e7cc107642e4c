"""Sync end to end from cassettes (vcrpy, replay only), on SQLite and PostgreSQL."""

import json

import pytest

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.http import Http
from trialmirror.ingest.runs.pipeline import Ingestor

NCT = "NCT01342250"


def _sync(settings, store, cassette, name, ids=(NCT,)):
    with cassette.use_cassette(f"ctgov/NCT01342250_{name}.yaml") as tape:
        summary = Ingestor(settings, store, Http(settings)).run("ctgov", list(ids))
    assert tape.all_played, f"{name}: not every recorded exchange was requested"
    return summary


def test_first_sync_stores_version_and_new_record_event(settings, store, cassette):
    summary = _sync(settings, store, cassette, "current")
    (result,) = summary.results
    assert (result.outcome, result.version) == ("new_version", 1)
    assert [e["kind"] for e in result.events] == ["new_record"]
    row = store.version(NCT, "ctgov")
    assert row.overall_status == "COMPLETED" and row.valid_from == "2011-10-14"
    assert store.raw(row.raw_sha256).startswith(b"{")
    (fetch,) = store.fetches(NCT)
    assert (fetch.outcome, fetch.http_status, fetch.version) == ("new_version", 200, 1)


def test_earlier_then_current_gives_one_status_change_and_the_diff(settings, store, cassette):
    _sync(settings, store, cassette, "earlier")
    summary = _sync(settings, store, cassette, "current")
    (result,) = summary.results
    assert result.version == 2
    changes = {(c["path"], c["op"]): (c["old"], c["new"]) for c in result.changes}
    assert changes == {
        ("status.overall", "replace"): ("RECRUITING", "COMPLETED"),
        ("enrollment.count", "replace"): (30, 20),
        ("enrollment.kind", "replace"): ("anticipated", "actual"),
        ("eligibility.exclusion", "remove"): (fx.EARLIER_EXCLUSION, None),
        ("eligibility.exclusion", "add"): (None, "Plan to have liver transplantation in 3 months."),
        ("eligibility.criteria_text", "replace"): changes[("eligibility.criteria_text", "replace")],
    }
    events = store.events()
    assert [e.kind for e in events] == ["new_record", "status_change"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert len(store.events(kind="status_change")) == 1


def test_unchanged_capture_adds_no_version_but_is_logged(settings, store, cassette):
    _sync(settings, store, cassette, "current")
    summary = _sync(settings, store, cassette, "current")
    assert summary.results[0].outcome == "unchanged"
    assert len(store.versions(NCT, "ctgov")) == 1 and len(store.events()) == 1
    assert [f.outcome for f in store.fetches(NCT)] == ["new_version", "unchanged"]


def test_throttled_then_ok_is_retried_and_stored(settings, store, cassette):
    summary = _sync(settings, store, cassette, "throttled_then_ok")
    assert summary.results[0].outcome == "new_version"
    assert store.fetches(NCT)[0].attempts == 2


@pytest.mark.parametrize(("name", "ids", "family", "raw_kept"), [
    ("not_found", ("NCT09999999",), "not_found", False),
    ("unavailable_3x", (NCT,), "retry_later", False),
    ("truncated", (NCT,), "retry_later", False),
    ("malformed", (NCT,), "retry_later", False),  # cut JSON without Content-Length: truncated too
    ("wrong_shape", (NCT,), "parse", True),
])
def test_errors_write_no_version_and_are_logged(settings, store, cassette, name, ids, family, raw_kept):
    summary = _sync(settings, store, cassette, name, ids)
    (result,) = summary.results
    assert result.outcome == "error" and result.error.family == family
    assert ids[0] in str(result.error) and "ctgov" in str(result.error)
    if family == "not_found":
        assert "not found at ClinicalTrials.gov" in str(result.error)
    counts = store.counts()
    assert counts["version"] == 0 and counts["event"] == 0
    (fetch,) = store.fetches(ids[0])
    assert (fetch.outcome, fetch.error_family) == ("error", family)
    assert (fetch.raw_sha256 is not None) == raw_kept  # a parse failure keeps the raw payload
    assert counts["raw_payload"] == int(raw_kept)


@pytest.mark.parametrize(("name", "attempts"), [("unavailable_3x", 3), ("truncated", 3), ("malformed", 3),
                                                ("not_found", 1)])
def test_the_fetch_log_counts_the_attempts_of_a_failed_fetch(settings, store, cassette, name, attempts):
    rid = "NCT09999999" if name == "not_found" else NCT
    _sync(settings, store, cassette, name, (rid,))
    (fetch,) = store.fetches(rid)
    assert fetch.outcome == "error" and fetch.attempts == attempts


def test_one_truncated_answer_is_fetched_again_within_the_run(settings, store, cassette):
    summary = _sync(settings, store, cassette, "truncated_then_ok")
    assert summary.results[0].outcome == "new_version"
    (fetch,) = store.fetches(NCT)
    assert (fetch.outcome, fetch.attempts) == ("new_version", 2)


def test_error_after_a_good_version_leaves_it_untouched(settings, store, cassette):
    _sync(settings, store, cassette, "current")
    _sync(settings, store, cassette, "wrong_shape")
    assert [v.version for v in store.versions(NCT, "ctgov")] == [1]
    assert [f.outcome for f in store.fetches(NCT)] == ["new_version", "error"]


def test_invalid_id_is_refused_before_any_request(settings, store, cassette):
    summary = _sync(settings, store, cassette, "not_found", ("NCT123", "NCT09999999"))
    assert [r.error.family for r in summary.results] == ["invalid_id", "not_found"]
    assert [f.registry_id for f in store.fetches()] == ["NCT09999999"]


def test_error_message_names_source_record_and_field(settings, store, cassette):
    summary = _sync(settings, store, cassette, "wrong_shape")
    message = str(summary.results[0].error)
    assert "[ctgov] NCT01342250" in message
    assert message.count("$.protocolSection") == 1 and "not an API v2 study document" in message



def test_concurrent_writers_number_versions_without_gaps_or_duplicates(store):
    """Two writers (own connections) racing on one record: versions 1..N, one event each."""
    import threading

    from trialmirror.ingest.sources import ctgov
    from trialmirror.store import Store

    statuses = ["RECRUITING", "ACTIVE_NOT_RECRUITING", "SUSPENDED", "COMPLETED"]
    records = []
    for i in range(16):
        doc = fx.current()
        doc["protocolSection"]["statusModule"]["overallStatus"] = statuses[i % 4]
        doc["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = i
        records.append(ctgov.parse(json.dumps(doc).encode(), NCT))
    other = Store(store.url)
    barrier, errors = threading.Barrier(2), []

    def write(target, mine):
        barrier.wait()
        try:
            for record in mine:
                target.put(record, fetch=None, raw_sha256=None)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, records[k::2])) for k, s in enumerate((store, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    versions = store.versions(NCT, "ctgov")
    assert [v.version for v in versions] == list(range(1, 17))
    events = store.events()
    assert len(events) == 16 and len({e.seq for e in events}) == 16
    assert [e.version for e in events] == list(range(1, 17))  # seq order is version order


def test_not_modified_reply_is_logged_against_the_latest_version(settings, store):
    """A 304 to the ETag of the last good fetch: no parse, no version, a fetch-log row."""
    from tests.fixtures.server import Reply, ScriptedServer

    with ScriptedServer() as server:
        path = f"/api/v2/studies/{NCT}"
        server.play(path, Reply(body=json.dumps(fx.current()).encode(), headers={"ETag": '"v1"'}),
                    Reply(304, b""))
        local = settings.model_copy(update={"ctgov_base_url": server.base_url})
        ingestor = Ingestor(local, store, Http(local))
        first, second = (ingestor.run("ctgov", [NCT]).results[0] for _ in range(2))
        assert server.request_headers[-1]["If-None-Match"] == '"v1"'
    assert (first.outcome, second.outcome, second.version) == ("new_version", "not_modified", 1)
    assert [(f.outcome, f.version, f.http_status) for f in store.fetches(NCT)] == [
        ("new_version", 1, 200), ("not_modified", 1, 304)]
    assert len(store.versions(NCT, "ctgov")) == 1
