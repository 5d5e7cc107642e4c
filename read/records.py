"""The read side, shared by the CLI and the HTTP API: plain dicts from the store.

A miss is a :class:`NotStored` whose message says what to run, so both faces
word it the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from trialmirror.ingest.sources import HISTORY, LIVE, REGISTRY
from trialmirror.read.timeline import status_periods
from trialmirror.store import Store
from trialmirror.store.canonical import content_of
from trialmirror.store.diff import diff
from trialmirror.store.rows import EventRow, VersionMeta, VersionRow


class NotStored(LookupError):
    """Nothing stored answers the question (the message says what to run)."""


def version_meta(row: VersionRow | VersionMeta) -> dict[str, Any]:
    return {"registry_id": row.registry_id, "source": row.source, "version": row.version,
            "valid_from": row.valid_from, "observed_at": row.observed_at.isoformat(),
            "status": row.overall_status, "content_hash": row.content_hash,
            "produced_by": row.produced_by, "upstream_version": row.upstream_version}


def version_row(store: Store, registry_id: str, source: str, number: int | None = None) -> VersionRow:
    row = store.version(registry_id, source, number)
    if row is None:
        which = f"version {number}" if number is not None else "version"
        raise NotStored(f"no stored {which} of {registry_id} from {source}; "
                        f"run `trialmirror sync {registry_id} --source {source}` first")
    return row


def as_of_row(store: Store, registry_id: str, day: str, source: str | None = None) -> VersionRow:
    """The version current on ``day``: across the registry's sources unless ``source``
    (its history and its live record describe one registry)."""
    sources = [source] if source else list(REGISTRY)
    row = store.version_as_of(registry_id, sources, day)
    if row is None:
        first = store.first_valid_from(registry_id, sources)
        if first is None:
            raise NotStored(f"no stored version of {registry_id} from {' or '.join(sources)}; run "
                            f"`trialmirror backfill {registry_id}` or `trialmirror sync {registry_id}` first")
        raise NotStored(f"{registry_id} was not yet registered on {day}: its first stored version "
                        f"is valid from {first}")
    return row


def changes_between(store: Store, registry_id: str, source: str, from_n: int | None,
                    to_n: int | None) -> tuple[VersionRow, VersionRow, list[dict[str, Any]]]:
    """(older row, newer row, changes): default the latest against the one before."""
    new = version_row(store, registry_id, source, to_n)
    old_n = from_n if from_n is not None else new.version - 1
    if old_n < 1:
        raise NotStored(f"{registry_id} has only version {new.version} from {source}: nothing to diff")
    old = version_row(store, registry_id, source, old_n)
    if old.version + 1 == new.version and new.diff is not None:
        return old, new, orjson.loads(new.diff)
    return old, new, diff(content_of(orjson.loads(old.record)), content_of(orjson.loads(new.record)))


def timeline_source(store: Store, registry_id: str, source: str | None) -> str:
    """The source asked for, else the registry's history when it holds versions, else its live record."""
    if source is None:
        source = HISTORY if store.version(registry_id, HISTORY) else LIVE
    return source


def timeline(store: Store, registry_id: str, source: str) -> tuple[list[Any], list[VersionRow]]:
    """(status periods, version rows) of one source."""
    rows = store.versions(registry_id, source)
    if not rows:
        raise NotStored(f"no stored version of {registry_id} from {source}; "
                        f"run `trialmirror backfill {registry_id}` first")
    periods = status_periods([(r.version, r.valid_from or r.observed_at.date().isoformat(),
                               r.overall_status) for r in rows])
    return periods, rows


def event_items(rows: list[EventRow]) -> list[dict[str, Any]]:
    return [{"seq": r.seq, "registry_id": r.registry_id, "source": r.source, "version": r.version,
             "kind": r.kind, "occurred_at": r.occurred_at.isoformat(), **orjson.loads(r.data or "{}")}
            for r in rows]
