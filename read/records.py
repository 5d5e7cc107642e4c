"""The read side, shared by the CLI and the HTTP API: plain dicts from the store.

A miss is a :class:`NotStored` whose message says what to run, so both faces
word it the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from trialmirror.ingest.sources import HISTORY, LIVE, REGISTRY, SOURCES
from trialmirror.read.timeline import Period, status_periods, with_milestones
from trialmirror.store import Store
from trialmirror.store.canonical import content_of
from trialmirror.store.diff import diff
from trialmirror.store.events import MILESTONE_EVENTS
from trialmirror.store.rows import EventRow, VersionMeta, VersionRow


class NotStored(LookupError):
    """Nothing stored answers the question (the message says what to run)."""


def version_meta(row: VersionRow | VersionMeta) -> dict[str, Any]:
    return {"registry_id": row.registry_id, "source": row.source, "version": row.version,
            "valid_from": row.valid_from, "observed_at": row.observed_at.isoformat(),
            "status": row.overall_status, "content_hash": row.content_hash,
            "produced_by": row.produced_by, "upstream_version": row.upstream_version}


def _held_elsewhere(store: Store, registry_id: str, source: str, at_least: int, command: str) -> str:
    """A hint naming the other sources that hold at least ``at_least`` versions of the
    record (a backfill stores them under ctgov_history, not ctgov), or ""."""
    held = [(name, row.version) for name in SOURCES if name != source
            and (row := store.version(registry_id, name)) is not None and row.version >= at_least]
    return "".join(f"; {name} holds {count} version(s): `trialmirror {command} {registry_id} --source {name}`"
                   for name, count in held)


def version_row(store: Store, registry_id: str, source: str, number: int | None = None,
                command: str = "show") -> VersionRow:
    row = store.version(registry_id, source, number)
    if row is None:
        which = f"version {number}" if number is not None else "version"
        elsewhere = _held_elsewhere(store, registry_id, source, number or 1, command)
        if elsewhere:
            raise NotStored(f"no stored {which} of {registry_id} from {source}{elsewhere}")
        raise NotStored(f"no stored {which} of {registry_id} from {source}; "
                        f"run `trialmirror sync {registry_id} --source {source}` first")
    return row


def as_of_row(store: Store, registry_id: str, day: str, source: str | None = None) -> VersionRow:
    """The version current on ``day``: across the registry's sources unless ``source``
    (its history and its live record describe one registry)."""
    sources = [source] if source else list(REGISTRY)
    row = store.version_as_of(registry_id, sources, day)
    if row is None:
        raise NotStored(_none_as_old(store, registry_id, day, sources))
    return row


def _none_as_old(store: Store, registry_id: str, day: str, sources: list[str]) -> str:
    """Why no stored version answers ``day``, truthfully: the record was not registered
    yet (its own first-posted date is later), or the versions stored do not reach back
    that far (only the live record was synced: its one version is valid from its last
    update, years after it was first posted), and what would store older ones."""
    rows = [r for name in sources for r in store.versions(registry_id, name) if r.valid_from]
    where = " or ".join(sources)
    if not rows:
        return (f"no stored version of {registry_id} from {where} says when it became current; run "
                f"`trialmirror backfill {registry_id}` or `trialmirror sync {registry_id}` first")
    earliest = min(rows, key=lambda r: r.valid_from or "")
    posted = (orjson.loads(earliest.record).get("status") or {}).get("first_posted") or {}
    if posted.get("date") and posted["date"] > day:
        return f"{registry_id} was not yet registered on {day}: first posted {posted['date']}"
    since = f" (first posted {posted['date']})" if posted.get("date") else ""
    message = (f"no stored version of {registry_id} from {where} is as old as {day}: the earliest, "
               f"version {earliest.version} from {earliest.source}{since}, is valid from {earliest.valid_from}")
    if HISTORY in sources and not store.version(registry_id, HISTORY):
        message += (f"; `trialmirror backfill {registry_id}` stores every version its record history "
                    "holds, back to the first")
    elif HISTORY not in sources and any(name in REGISTRY for name in sources):
        message += f"; without --source, the record history's versions answer too (`trialmirror backfill {registry_id}`)"
    return message


def changes_between(store: Store, registry_id: str, source: str, from_n: int | None,
                    to_n: int | None) -> tuple[VersionRow, VersionRow, list[dict[str, Any]]]:
    """(older row, newer row, changes): default the latest against the one before."""
    new = version_row(store, registry_id, source, to_n, command="diff")
    old_n = from_n if from_n is not None else new.version - 1
    if old_n < 1:
        elsewhere = _held_elsewhere(store, registry_id, source, 2, "diff")
        raise NotStored(f"{registry_id} has only version {new.version} from {source}: nothing to diff"
                        + (elsewhere or f"; a later `trialmirror sync {registry_id} --source {source}` "
                           "stores a new version when the record changes"))
    old = version_row(store, registry_id, source, old_n, command="diff")
    if old.version + 1 == new.version and new.diff is not None:
        return old, new, orjson.loads(new.diff)
    return old, new, diff(content_of(orjson.loads(old.record)), content_of(orjson.loads(new.record)))


def timeline_source(store: Store, registry_id: str, source: str | None) -> str:
    """The source asked for, else the registry's history when it holds versions, else its live record."""
    if source is None:
        source = HISTORY if store.version(registry_id, HISTORY) else LIVE
    return source


def timeline(store: Store, registry_id: str, source: str) -> tuple[list[Period], list[VersionRow]]:
    """(status periods with their milestones, version rows) of one source."""
    rows = store.versions(registry_id, source)
    if not rows:
        raise NotStored(f"no stored version of {registry_id} from {source}; "
                        f"run `trialmirror backfill {registry_id}` first")
    periods = status_periods([(r.version, r.valid_from or r.observed_at.date().isoformat(),
                               r.overall_status) for r in rows])
    events = store.events(registry_id=registry_id, sources=[source], kinds=list(MILESTONE_EVENTS))
    return with_milestones(periods, [(e.version, e.kind, orjson.loads(e.data or "{}")) for e in events]), rows


def event_items(rows: list[EventRow]) -> list[dict[str, Any]]:
    return [{"seq": r.seq, "registry_id": r.registry_id, "source": r.source, "version": r.version,
             "kind": r.kind, "occurred_at": r.occurred_at.isoformat(), **orjson.loads(r.data or "{}")}
            for r in rows]
