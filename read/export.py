"""Exports of the normalized records: NDJSON, flat tables (CSV, Parquet), and bulk
NDJSON for Elasticsearch/OpenSearch.

Every export takes, per record, the newest ClinicalTrials.gov version (or the one
current on ``as_of``). NDJSON lines are the records exactly as stored. Flat
tables are :data:`trialmirror.read.flat.TABLES` plus ``versions`` (every stored version)
and ``changes`` (the event log). ``es-bulk`` writes an ``index`` action and the
record for every record with an event after a cursor, and returns the new cursor,
so an index is kept current incrementally.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from trialmirror.errors import require_extra
from trialmirror.ingest.sources import REGISTRY
from trialmirror.read.flat import TABLES, rows
from trialmirror.read.records import event_items, version_meta
from trialmirror.store import Store

Progress = Callable[[int, int], None]
VERSION_COLUMNS = ("registry_id", "source", "version", "valid_from", "observed_at", "status",
                   "content_hash", "produced_by", "upstream_version")
ALL_TABLES = (*TABLES, "versions", "changes")
CHANGE_COLUMNS = ("seq", "registry_id", "source", "version", "kind", "occurred_at", "produced_by",
                  "status_old", "status_new", "kinds")


def ndjson(store: Store, out: IO[bytes], *, as_of: str | None = None,
           progress: Progress | None = None) -> int:
    newest = store.newest_registry_versions(REGISTRY, as_of)
    for n, (_, record) in enumerate(store.records(newest), 1):
        out.write(record.encode() + b"\n")
        if progress:
            progress(n, len(newest))
    return len(newest)


def table_rows(store: Store, *, as_of: str | None = None,
               progress: Progress | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) of every flat table, streamed: the study tables of the newest (or
    ``as_of``) version of each record, then ``versions`` and ``changes``."""
    newest = store.newest_registry_versions(REGISTRY, as_of)
    for n, (row, record) in enumerate(store.records(newest), 1):
        yield from rows(orjson.loads(record), row.source, row.version, row.valid_from)
        if progress:
            progress(n, len(newest))
    exported = {r.registry_id for r in newest}
    for v in store.version_rows(REGISTRY):
        if v.registry_id in exported:
            yield "versions", {k: version_meta(v)[k] for k in VERSION_COLUMNS}
    after = 0
    while events := store.events(after=after, limit=5000):
        for event in event_items(events):
            yield "changes", _change_row(event)
        after = events[-1].seq


def flat_tables(store: Store, *, as_of: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every flat table in memory (small stores; the writers stream)."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in ALL_TABLES}
    for table, values in table_rows(store, as_of=as_of):
        out[table].append(values)
    return out


def _change_row(event: dict[str, Any]) -> dict[str, Any]:
    status = event.get("status") or {}
    return {"seq": event["seq"], "registry_id": event["registry_id"], "source": event["source"],
            "version": event["version"], "kind": event["kind"], "occurred_at": event["occurred_at"],
            "produced_by": event.get("produced_by"), "status_old": status.get("old"),
            "status_new": status.get("new"), "kinds": "|".join(event.get("kinds") or []) or None}


def _columns(name: str) -> tuple[str, ...]:
    return {"versions": VERSION_COLUMNS, "changes": CHANGE_COLUMNS}.get(name) or TABLES[name]


# Parquet column types; every other column is a string.
_INT = {"version", "enrollment_count", "position", "seq", "upstream_version"}
_FLOAT = {"min_age_years", "max_age_years"}
_BOOL = {"healthy_volunteers"}
_BATCH = 10_000


class _CsvSink:
    def __init__(self, directory: Path):
        self.files: dict[str, Any] = {}
        self.writers: dict[str, Any] = {}
        for name in ALL_TABLES:
            handle = (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
            self.files[name] = handle
            self.writers[name] = csv.DictWriter(handle, fieldnames=_columns(name))
            self.writers[name].writeheader()

    def add(self, name: str, row: dict[str, Any]) -> None:
        self.writers[name].writerow(row)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


class _ParquetSink:
    def __init__(self, directory: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.writers: dict[str, Any] = {}
        for name in ALL_TABLES:
            schema = pa.schema([(c, pa.int64() if c in _INT else pa.float64() if c in _FLOAT
                                 else pa.bool_() if c in _BOOL else pa.string()) for c in _columns(name)])
            self.writers[name] = pq.ParquetWriter(directory / f"{name}.parquet", schema)
            self.buffers[name] = []

    def add(self, name: str, row: dict[str, Any]) -> None:
        self.buffers[name].append(row)
        if len(self.buffers[name]) >= _BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        writer = self.writers[name]
        writer.write_table(self.pa.Table.from_pylist(self.buffers[name], schema=writer.schema))
        self.buffers[name] = []

    def close(self) -> None:
        for name, writer in self.writers.items():
            if self.buffers[name]:
                self._flush(name)
            writer.close()


def require_parquet() -> None:
    """pyarrow, or MissingExtraError naming the extra that installs it."""
    require_extra("parquet", "pyarrow", needed_for="export --format parquet")


def write_tables(store: Store, directory: Path, fmt: str, *, as_of: str | None = None,
                 progress: Progress | None = None) -> dict[str, int]:
    """The flat tables as CSV or Parquet files, streamed: a batch of records in memory
    at a time, whatever the number of records."""
    if fmt == "parquet":  # before anything is written
        require_parquet()
    directory.mkdir(parents=True, exist_ok=True)
    sink: _CsvSink | _ParquetSink = _CsvSink(directory) if fmt == "csv" else _ParquetSink(directory)
    counts = dict.fromkeys(ALL_TABLES, 0)
    try:
        for name, row in table_rows(store, as_of=as_of, progress=progress):
            sink.add(name, row)
            counts[name] += 1
    finally:
        sink.close()
    return counts


def es_bulk(store: Store, out: IO[bytes], *, after: int = 0, index: str = "trials") -> tuple[int, int]:
    """Bulk NDJSON (an action line, then the record) for every record with a registry
    event after ``after``; returns (documents written, the new cursor)."""
    changed: set[str] = set()
    cursor = after
    while True:
        events = store.events(after=cursor, limit=5000, sources=list(REGISTRY))
        if not events:
            break
        changed.update(e.registry_id for e in events)
        cursor = events[-1].seq
    newest = [r for r in store.newest_registry_versions(REGISTRY) if r.registry_id in changed]
    for row, record in store.records(newest):
        action = {"index": {"_index": index, "_id": row.registry_id}}
        out.write(orjson.dumps(action) + b"\n" + record.encode() + b"\n")
    return len(newest), cursor
