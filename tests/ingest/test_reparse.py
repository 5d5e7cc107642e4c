"""Reparse: re-deriving records from the archive after a parser change (both stores)."""

import json

import pytest
from sqlalchemy import text

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.runs.reparse import reparse
from trialmirror.ingest.sources import ctgov, get_source
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


def _as_if_an_older_parser_made_it(store, status):
    """The stored version says ``status`` and an older parser version made it."""
    with store.transaction() as conn:
        row = conn.execute(text("SELECT record FROM version WHERE registry_id = :r"), {"r": NCT}).one()
        record = json.loads(row[0])
        record["status"]["overall"] = status
        conn.execute(text("UPDATE version SET record = :rec, parser_version = 1, overall_status = :s "
                          "WHERE registry_id = :r"), {"rec": json.dumps(record), "s": status, "r": NCT})
    from trialmirror.store.canonical import content_hash
    with store.transaction() as conn:
        conn.execute(text("UPDATE version SET content_hash = :h WHERE registry_id = :r"),
                     {"h": content_hash(record), "r": NCT})


def test_reparse_makes_a_version_only_where_the_record_changed(store, settings):
    Ingestor(settings, store).ingest_payload(get_source("ctgov"), NCT, json.dumps(fx.current()).encode(),
                                             FetchInfo("ctgov", NCT, "https://example.invalid/x", utcnow(), 0.0))
    assert reparse(store).skipped == 1  # made by the current parser: nothing to do
    _as_if_an_older_parser_made_it(store, "RECRUITING")
    result = reparse(store)
    assert (result.new_versions, result.unchanged, result.failed) == (1, 0, [])
    newest = store.version(NCT, "ctgov")
    assert newest.version == 2 and newest.produced_by == "reparse" and newest.overall_status == "COMPLETED"
    assert newest.parser_version == ctgov.PARSER_VERSION
    assert json.loads(newest.record)["source_url"] == "https://example.invalid/x"
    event = store.events()[-1]
    assert event.kind == "reparsed" and json.loads(event.data)["status"] == {"old": "RECRUITING",
                                                                            "new": "COMPLETED"}
    again = reparse(store, everything=True)
    assert (again.new_versions, again.unchanged) == (0, 1)  # the same output: no version
    assert len(store.versions(NCT, "ctgov")) == 2


# Parser 4 reads criteria anew (header-shaped headers, eligibility.criteria_groups).
_CRITERIA_CHANGED = ("NCT03840161", "NCT05921903")  # a misfiled list; cohort sub-headings
_CRITERIA_SAME = ("NCT00000410", "NCT02513394")  # main headers and their items only


def _as_parser_3_stored_it(store, registry_id):
    """The stored version as parser 3 left it where this test needs it: no ``criteria_groups``
    key, and for NCT03840161 (as parser 3 read it) the first exclusion item taken for a
    header and the items after it filed under inclusion."""
    with store.transaction() as conn:
        row = conn.execute(text("SELECT record FROM version WHERE registry_id = :r"), {"r": registry_id}).one()
        record = json.loads(row[0])
        eligibility = record["eligibility"]
        del eligibility["criteria_groups"]
        if registry_id == "NCT03840161":
            eligibility["inclusion"] += eligibility["exclusion"][1:]
            eligibility["exclusion"] = None
        from trialmirror.store.canonical import content_hash
        conn.execute(text("UPDATE version SET record = :rec, parser_version = 3, content_hash = :h "
                          "WHERE registry_id = :r"),
                     {"rec": json.dumps(record), "h": content_hash(record), "r": registry_id})


def test_reparse_after_the_criteria_change_versions_only_records_whose_criteria_changed(store, settings,
                                                                                         corpus_dir):
    ingestor = Ingestor(settings, store)
    for registry_id in _CRITERIA_CHANGED + _CRITERIA_SAME:
        raw = (corpus_dir / "ctgov_v2" / f"{registry_id}.json").read_bytes()
        ingestor.ingest_payload(get_source("ctgov"), registry_id, raw,
                                FetchInfo("ctgov", registry_id, "https://example.invalid/x", utcnow(), 0.0))
        _as_parser_3_stored_it(store, registry_id)
    result = reparse(store)
    assert (result.new_versions, result.unchanged, result.failed) == (2, 2, [])
    for registry_id in _CRITERIA_SAME:  # criteria_groups null: left out of the hash, no version
        (only,) = store.versions(registry_id, "ctgov")
        assert only.parser_version == ctgov.PARSER_VERSION
    changed = {}
    for registry_id in _CRITERIA_CHANGED:
        newest = store.version(registry_id, "ctgov")
        assert (newest.version, newest.produced_by) == (2, "reparse")
        changed[registry_id] = {c["path"] for c in json.loads(newest.diff)}
    assert changed == {"NCT03840161": {"eligibility.inclusion", "eligibility.exclusion"},
                       "NCT05921903": {"eligibility.criteria_groups"}}
    assert {(e.registry_id, e.kind) for e in store.events(kinds=["reparsed"])} == {
        (registry_id, "reparsed") for registry_id in _CRITERIA_CHANGED}


@pytest.mark.parametrize("writers", [1, 3])
def test_reparse_pages_through_every_record_a_chunk_at_a_time(store, settings, monkeypatch, writers):
    """A chunk of records in memory (and, on SQLite, a commit) at a time: every record is
    looked at once, in record order, whatever the chunk size and however many threads
    share a chunk on PostgreSQL."""
    import trialmirror.ingest.runs.reparse as reparsing

    ingestor, source = Ingestor(settings, store), get_source("ctgov")
    ids = [f"NCT9000000{n}" for n in range(5)]
    for rid in ids:
        doc = json.loads(json.dumps(fx.current()))
        doc["protocolSection"]["identificationModule"]["nctId"] = rid
        ingestor.ingest_payload(source, rid, json.dumps(doc).encode(), FetchInfo("ctgov", rid, None, utcnow(), 0.0))
    monkeypatch.setattr(reparsing, "CHUNK", 2)
    seen: list[tuple[int, int]] = []
    result = reparse(store, everything=True, progress=lambda done, total: seen.append((done, total)),
                     writers=writers)

    assert (result.looked_at, result.unchanged, result.failed) == (5, 5, [])
    assert seen == [(n, 5) for n in range(1, 6)]
    assert [row.registry_id for row in store.latest_versions(["ctgov"], after=(ids[1], "ctgov"), limit=2)] == ids[2:4]
