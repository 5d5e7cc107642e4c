"""Reparse: re-derive records from the archived raw payloads after a parser change.

For each (record, source), its latest version's raw payload is parsed again with
today's parser. A new version is stored only where the normalized record
changed; it is marked ``produced_by: reparse`` and its event is ``reparsed``
(never ``status_change``), so monitors are not told the registry changed. Rows
already parsed by the current parser version are skipped unless ``everything``.

The record passes the same :class:`~trialmirror.ingest.runs.pipeline.Keeping` as a sync's
(``keeping``: the deployment's settings), so a store whose settings leave personal
contact details out gets records without them from payloads archived before.

On SQLite, :data:`CHUNK` records are stored in one commit (their raw payloads are archived
already); an interrupted reparse keeps the chunks before, and a second run redoes the rest.
On PostgreSQL a chunk is shared among ``writers`` threads (:mod:`~trialmirror.ingest.runs.writers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trialmirror.errors import TrialmirrorError
from trialmirror.ingest.runs import writers as threads
from trialmirror.ingest.runs.pipeline import Keeping
from trialmirror.ingest.sources import SOURCES, get_source
from trialmirror.store import Store
from trialmirror.store.rows import VersionHead

CHUNK = 500  # records stored in one commit on SQLite (Store.batch); a stop loses at most these


@dataclass
class ReparseResult:
    looked_at: int = 0
    skipped: int = 0  # parsed by the current parser already
    unchanged: int = 0
    new_versions: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (source, id, reason)


def reparse(store: Store, sources: list[str] | None = None, *, everything: bool = False,
            progress: Callable[[int, int], None] | None = None,
            keeping: Keeping | None = None, writers: int = 1) -> ReparseResult:
    """Reparse the latest version of each record of ``sources`` (all by default);
    ``keeping`` defaults to keeping everything, as the default settings do. ``writers``:
    threads sharing the work on PostgreSQL (the ``TRIALMIRROR_WRITERS`` setting)."""
    keeping = keeping or Keeping()
    result = ReparseResult()
    names = sources or list(SOURCES)
    total = store.count_records(names) if progress else 0
    writers = threads.count(store.is_postgres, writers)
    after: tuple[str, str] | None = None
    with threads.pool(writers) as pool:
        while rows := store.latest_versions(names, after=after, limit=CHUNK):  # a chunk in memory at a time
            with store.batch():  # a chunk a commit (SQLite); each record's writes atomic all the same
                outcomes = threads.shared(pool, writers, rows, lambda row: f"{row.registry_id}/{row.source}",
                                          lambda run: [_one(store, row, keeping, everything) for row in run])
            for row, (outcome, reason) in zip(rows, outcomes, strict=True):
                result.looked_at += 1
                if outcome == "failed":
                    result.failed.append((row.source, row.registry_id, reason))
                else:
                    setattr(result, outcome, getattr(result, outcome) + 1)
                if progress:
                    progress(result.looked_at, max(total, result.looked_at))
            after = (rows[-1].registry_id, rows[-1].source)
    return result


def _one(store: Store, row: VersionHead, keeping: Keeping, everything: bool) -> tuple[str, str]:
    """What became of one record: (skipped | unchanged | new_versions | failed, the reason)."""
    source = get_source(row.source)
    if (row.parser_version == source.parser_version and not everything) or not row.raw_sha256:
        return "skipped", ""
    found = store.raw_payload(row.raw_sha256)
    if found is None:
        return "failed", "raw payload missing from the archive"
    raw, url = found
    try:
        record = keeping.parse(source, raw, row.registry_id, url)
    except TrialmirrorError as exc:
        return "failed", str(exc)
    put = store.put(record, fetch=None, raw_sha256=row.raw_sha256, parser_version=source.parser_version,
                    produced_by="reparse", valid_from=row.valid_from, upstream_version=row.upstream_version,
                    searchable=source.role == "registry")
    if put.outcome == "new_version":
        return "new_versions", ""
    store.mark_parsed(row.registry_id, row.source, row.version, source.parser_version)
    return "unchanged", ""
