"""Exports of the normalized records: NDJSON, flat tables (CSV, Parquet), and bulk
NDJSON for Elasticsearch/OpenSearch.

Every export takes, per record, the newest ClinicalTrials.gov version (or the one
current on ``as_of``). NDJSON lines are the records exactly as stored. Flat
tables are :data:`trialmirror.read.flat.TABLES` (the study's and the results' tables) plus
``versions`` (every stored version) and ``changes`` (the event log). ``es-bulk`` writes an ``index`` action and the
record for every record with an event after a cursor, and returns the new cursor,
so an index is kept current incrementally; a record whose sites have coordinates
also carries them as ``site_locations`` (``[{lat, lon}]``), which :data:`ES_MAPPING`
(``es-mapping``) maps as a ``geo_point``, beside the MeSH terms as ``keyword``.

Files are written whole or not at all: each goes to a temporary name beside it and
is renamed into place once complete (:func:`output`, :func:`write_tables`), so a full
disk or a damaged database met half-way leaves no partial export, nor an older one
overwritten. A file that cannot be written is one
:class:`~trialmirror.errors.StorageError` naming it and what to do.
"""

from __future__ import annotations

import csv
import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import orjson

from trialmirror.errors import StorageError, require_extra
from trialmirror.files import replaced, temporary_beside
from trialmirror.ingest.sources import REGISTRY
from trialmirror.models import results_tables
from trialmirror.read.flat import TABLES, rows
from trialmirror.read.records import event_items, version_meta
from trialmirror.store import Store
from trialmirror.store.facets import site_rows

Progress = Callable[[int, int], None]
VERSION_COLUMNS = ("registry_id", "source", "version", "valid_from", "observed_at", "status",
                   "content_hash", "produced_by", "upstream_version")
ALL_TABLES = (*TABLES, "versions", "changes")
CHANGE_COLUMNS = ("seq", "registry_id", "source", "version", "kind", "occurred_at", "produced_by",
                  "status_old", "status_new", "kinds")


def write_error(exc: OSError, path: Path | None, *, folder: bool = False) -> StorageError:
    """What a failed write of an export means, and what to do (``path`` None: stdout)."""
    name = str(path) if path is not None else "standard output"
    nothing = "; nothing was written" if path is not None else ""
    reason = exc.strerror or str(exc)
    kind, message = "io", f"cannot write {name} ({reason}): choose another --output{nothing}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        what = "the file would be larger than allowed" if exc.errno == errno.EFBIG else "the disk is full"
        kind, message = "full", (f"cannot write {name}: {what} ({reason}): free some space"
                                 + (", or choose another --output" if path is not None else "")
                                 + f", then export again{nothing}")
    elif exc.errno == errno.ENOENT and path is not None:
        message = (f"cannot write {name}: the folder {path.parent} does not exist: create it, or "
                   "choose another --output")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        kind, message = "read_only", f"cannot write {name} ({reason}): choose another --output{nothing}"
    elif exc.errno in (errno.EEXIST, errno.ENOTDIR) and folder:
        message = (f"cannot write the tables into {name}: it is a file, and csv and parquet write "
                   "a folder of tables: give a folder with --output")
    elif exc.errno == errno.EISDIR:
        message = f"cannot write {name}: it is a folder; this format writes one file: give a file name"
    return StorageError(message, kind=kind, path=name)


@contextmanager
def output(path: Path | None) -> Iterator[IO[bytes]]:
    """``path`` (or stdout, when None) to write one export into: a regular file is
    written under a temporary name and renamed into place when the block ends well,
    removed when it does not; a device or pipe (``/dev/stdout``) is written as it is.
    An OSError becomes a StorageError naming the file."""
    if path is None:
        try:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        except OSError as exc:
            raise write_error(exc, path) from exc
        return
    if path.exists() and not path.is_file():
        try:
            with path.open("wb") as out:
                yield out
        except OSError as exc:
            raise write_error(exc, path) from exc
        return
    final = Path(os.path.realpath(path))  # a symlink stays one: its target is replaced
    try:
        with replaced(final) as out:
            yield out
    except OSError as exc:
        raise write_error(exc, path) from exc


def ndjson(store: Store, out: IO[bytes], *, as_of: str | None = None,
           progress: Progress | None = None) -> int:
    n = 0
    for _, record in _newest_records(store, as_of, progress):
        out.write(record.encode() + b"\n")
        n += 1
    return n


def _newest_records(store: Store, as_of: str | None, progress: Progress | None) -> Iterator[tuple[Any, str]]:
    """(row, record JSON) of the newest (or ``as_of``) version of each record, page by page
    (the whole registry's rows at once took 757 MB at 580,000 records)."""
    total, n = store.count_newest(REGISTRY, as_of) if progress else 0, 0
    for page in store.newest_registry_pages(REGISTRY, as_of):
        for row, record in store.records(page):
            yield row, record
            n += 1
            if progress:
                progress(n, total)


def table_rows(store: Store, *, as_of: str | None = None,
               progress: Progress | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) of every flat table, streamed: the study tables of the newest (or
    ``as_of``) version of each record, then ``versions`` and ``changes``."""
    for row, record in _newest_records(store, as_of, progress):
        yield from rows(orjson.loads(record), row.source, row.version, row.valid_from)
    for page in store.newest_registry_pages(REGISTRY, as_of):
        exported = {r.registry_id for r in page}  # as of a date: the records it had
        for v in store.version_rows(REGISTRY, between=(page[0].registry_id, page[-1].registry_id)):
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


# Parquet column types of the study tables; every other column is a string. The results
# tables say their columns' types (models.results_tables).
_INT = {"version", "enrollment_count", "position", "seq", "upstream_version"}
_FLOAT = {"min_age_years", "max_age_years", "latitude", "longitude"}
_BOOL = {"healthy_volunteers", "has_results", "has_dmc", "fda_regulated_drug", "fda_regulated_device",
         "patient_registry"}
_RESULTS_TYPES = {table.name: dict(table.types) for table in results_tables.TABLES}
_BATCH = 10_000


def _column_type(table: str, column: str) -> str:
    """The column's type, as models.results_tables names types."""
    typed = _RESULTS_TYPES.get(table, {}).get(column)
    if typed:
        return typed
    return (results_tables.INT if column in _INT else results_tables.FLOAT if column in _FLOAT
            else results_tables.BOOL if column in _BOOL else results_tables.TEXT)


class _Files:
    """One temporary file per table, beside its final name; renamed into place together
    once every table is complete (:meth:`commit`), or all removed (:meth:`discard`)."""

    def __init__(self, directory: Path, suffix: str):
        self.final = {name: directory / f"{name}.{suffix}" for name in ALL_TABLES}
        self.temps: dict[str, Path] = {}
        self.handles: dict[str, IO[bytes]] = {}
        try:
            for name, final in self.final.items():
                temp, fd = temporary_beside(final)
                self.temps[name], self.handles[name] = temp, os.fdopen(fd, "wb")
        except OSError:
            self.discard()
            raise

    def commit(self) -> None:
        for handle in self.handles.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        for name, temp in self.temps.items():
            os.replace(temp, self.final[name])
        self.temps.clear()

    def discard(self) -> None:
        for handle in self.handles.values():
            with suppress(OSError):  # a buffer the full disk refused: the file goes anyway
                handle.close()
        for temp in self.temps.values():
            temp.unlink(missing_ok=True)


class _CsvSink:
    def __init__(self, directory: Path):
        import io

        self.files = _Files(directory, "csv")
        self.texts: dict[str, io.TextIOWrapper] = {}
        self.writers: dict[str, Any] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        for name in ALL_TABLES:
            text = io.TextIOWrapper(self.files.handles[name], newline="", encoding="utf-8",
                                    write_through=True)
            self.texts[name] = text
            self.writers[name] = csv.writer(text)
            self.writers[name].writerow(_columns(name))
            self.columns[name] = _columns(name)

    def add(self, name: str, row: dict[str, Any]) -> None:
        # A list in the header's order: DictWriter checked each row's keys against the
        # header again (half of a CSV export's time); a row names no column outside it.
        self.writers[name].writerow([row.get(c) for c in self.columns[name]])

    def close(self) -> None:
        for text in self.texts.values():
            text.flush()
            text.detach()  # the handle stays open for the commit's fsync
        self.files.commit()

    def discard(self) -> None:
        self.files.discard()


class _ParquetSink:
    def __init__(self, directory: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.files = _Files(directory, "parquet")
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.writers: dict[str, Any] = {}
        arrow = {results_tables.INT: pa.int64(), results_tables.FLOAT: pa.float64(),
                 results_tables.BOOL: pa.bool_(), results_tables.TEXT: pa.string()}
        for name in ALL_TABLES:
            schema = pa.schema([(c, arrow[_column_type(name, c)]) for c in _columns(name)])
            self.writers[name] = pq.ParquetWriter(self.files.handles[name], schema)
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
        self.files.commit()

    def discard(self) -> None:
        self.files.discard()


def require_parquet() -> None:
    """pyarrow, or MissingExtraError naming the extra that installs it."""
    require_extra("parquet", "pyarrow", needed_for="export --format parquet")


def write_tables(store: Store, directory: Path, fmt: str, *, as_of: str | None = None,
                 progress: Progress | None = None) -> dict[str, int]:
    """The flat tables as CSV or Parquet files, streamed: a batch of records in memory
    at a time, whatever the number of records. Every table is renamed into place once
    all are complete; on any failure none is (a folder made for them is removed)."""
    if fmt == "parquet":  # before anything is written
        require_parquet()
    made = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        sink: _CsvSink | _ParquetSink = _CsvSink(directory) if fmt == "csv" else _ParquetSink(directory)
    except OSError as exc:
        raise write_error(exc, directory, folder=True) from exc
    counts = dict.fromkeys(ALL_TABLES, 0)
    try:
        for name, row in table_rows(store, as_of=as_of, progress=progress):
            sink.add(name, row)
            counts[name] += 1
        sink.close()
    except BaseException as exc:
        sink.discard()
        if made and not any(directory.iterdir()):
            directory.rmdir()
        if isinstance(exc, OSError):
            raise write_error(exc, directory, folder=True) from exc
        raise
    return counts


_KEYWORD: dict[str, Any] = {"type": "keyword"}
_MESH_TERM = {"properties": {"id": _KEYWORD, "term": _KEYWORD}}
_MESH_INDEX = {"properties": {
    "terms": _MESH_TERM, "ancestors": _MESH_TERM,
    "leaves": {"properties": {"id": _KEYWORD, "name": _KEYWORD, "as_found": _KEYWORD, "relevance": _KEYWORD}},
    "branches": {"properties": {"abbrev": _KEYWORD, "name": _KEYWORD}}}}
# The index's mapping for es-bulk's documents (``PUT /trials`` with it before the first
# bulk): what dynamic mapping would get wrong. The rest is left to dynamic mapping.
ES_MAPPING: dict[str, Any] = {"mappings": {"properties": {
    "registry_id": _KEYWORD,
    "site_locations": {"type": "geo_point"},  # every site's point, for geo_distance queries
    "mesh": {"properties": {"conditions": _MESH_INDEX, "interventions": _MESH_INDEX}},
    "sites": {"properties": {"zip": _KEYWORD, "latitude": {"type": "double"},
                             "longitude": {"type": "double"}}},
}}}


def es_document(record: str) -> bytes:
    """A stored record as es-bulk's document: as stored, plus ``site_locations`` when
    any site has coordinates (a geo_point wants ``{lat, lon}`` in one field)."""
    if '"latitude":' not in record:  # no site of it has the key: nothing to add
        return record.encode()
    data = orjson.loads(record)
    points = [{"lat": p["latitude"], "lon": p["longitude"]} for p in site_rows(data)]
    return orjson.dumps({**data, "site_locations": points}) if points else record.encode()


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
        out.write(orjson.dumps(action) + b"\n" + es_document(record) + b"\n")
    return len(newest), cursor
