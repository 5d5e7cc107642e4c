"""Typed rows at the store's boundary: each whole-table row is its table, and what the
write path's INSERTs put in comes back in the right fields (both stores)."""

import json

from sqlmodel import SQLModel

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import get_source
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import (
    CheckpointRow,
    DeliveryRow,
    EventRow,
    FetchInfo,
    FetchRow,
    VersionMeta,
    VersionRow,
    WatchRow,
)

NCT = "NCT01342250"


def _columns(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in SQLModel.metadata.tables[table].c)


def test_whole_table_rows_have_every_column_of_their_table_in_its_order():
    pairs = {VersionRow: "version", FetchRow: "fetch", EventRow: "event", WatchRow: "watch",
             DeliveryRow: "delivery", CheckpointRow: "sync_checkpoint"}
    for row, table in pairs.items():
        assert row._fields == _columns(table), row.__name__
    assert VersionMeta._fields == tuple(c for c in _columns("version") if c not in ("record", "diff"))


def test_a_stored_record_reads_back_as_typed_rows(store, settings):
    info = FetchInfo("ctgov", NCT, "https://example.invalid/x", utcnow(), 12.5, http_status=200,
                     attempts=1, etag='"e1"', last_modified="Tue, 01 Oct 2024 00:00:00 GMT")
    raw = json.dumps(fx.current()).encode()
    Ingestor(settings, store).ingest_payload(get_source("ctgov"), NCT, raw, info)

    (version,) = store.versions(NCT, "ctgov")
    assert isinstance(version, VersionRow)
    assert (version.registry_id, version.source, version.version, version.produced_by) == (NCT, "ctgov", 1, "fetch")
    assert json.loads(version.record)["registry_id"] == NCT and version.diff is None
    assert version.overall_status == json.loads(version.record)["status"]["overall"]
    assert store.raw(version.raw_sha256) == raw

    (fetch,) = store.fetches(NCT)
    assert isinstance(fetch, FetchRow)
    assert (fetch.outcome, fetch.version, fetch.http_status, fetch.attempts, fetch.duration_ms) == (
        "new_version", 1, 200, 1, 12.5)
    assert (fetch.etag, fetch.raw_sha256) == ('"e1"', version.raw_sha256)
    assert store.last_validators(NCT, "ctgov") == ('"e1"', "Tue, 01 Oct 2024 00:00:00 GMT")

    (event,) = store.events(registry_id=NCT)
    assert isinstance(event, EventRow)
    assert (event.kind, event.version, event.source) == ("new_record", 1, "ctgov")
    assert json.loads(event.data)["produced_by"] == "fetch"
