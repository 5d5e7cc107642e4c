"""The event log: the kinds of event, which one a new version makes, appending, and reading.

``event.seq`` grows in commit order: on PostgreSQL a writer takes a
transaction-scoped advisory lock before it appends (after the record's own lock),
or a consumer reading "everything after my cursor" could miss a row committed
late with a smaller seq. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from trialmirror.store.diff import Change
from trialmirror.store.engine import EVENT_LOCK, RECORD_LOCK, Database, dumps, utcnow
from trialmirror.store.rows import EventRow
from trialmirror.store.sql import EVENT, HotSql, columns

# Events that come with a new version (the others are notes about a record).
VERSION_EVENTS = ("new_record", "status_change", "updated", "reparsed")
# Whether the registry's listing has the record: bulk runs note a change of state.
LISTING_EVENTS = ("vanished", "reappeared")
EVENT_KINDS = (*VERSION_EVENTS, *LISTING_EVENTS, "merged")
_COLUMNS = columns(EVENT, EventRow)


def version_event(registry_id: str, source: str, status: str | None, number: int, first: bool,
                  changes: list[Change], produced_by: str) -> dict[str, Any]:
    """One event per new version: new_record, status_change, updated, or reparsed."""
    data: dict[str, Any] = {"produced_by": produced_by, "kinds": sorted({c["kind"] for c in changes})}
    status_change = next((c for c in changes if c["path"] == "status.overall"), None)
    if produced_by == "reparse" and not first:
        # The parser changed, not the registry: its own kind, so monitors are not told
        # of a registry change (status differences are still in the data).
        kind = "reparsed"
        if status_change is not None:
            data["status"] = {"old": status_change["old"], "new": status_change["new"]}
    elif first:
        kind = "new_record"
        data["status"] = {"old": None, "new": status}
    elif status_change is not None:
        kind = "status_change"
        data["status"] = {"old": status_change["old"], "new": status_change["new"]}
    else:
        kind = "updated"
    return {"registry_id": registry_id, "source": source, "version": number, "kind": kind,
            "data": data}


class Events:
    """Appends to the event log and reads it back."""

    def __init__(self, db: Database, sql: HotSql):
        self.db, self._sql = db, sql

    def append(self, conn: Connection, registry_id: str, source: str, version: int, kind: str,
               occurred_at: Any, data: dict[str, Any]) -> int:
        """Add one event in the caller's transaction (which holds the record's lock on
        PostgreSQL); returns its seq."""
        if self.db.is_postgres:
            self._sql.run(conn, "event_lock", {"k": EVENT_LOCK})
        row = self._sql.one(conn, "event_insert", {
            "registry_id": registry_id, "source": source, "version": version, "kind": kind,
            "occurred_at": self._sql.time(occurred_at), "data": dumps(data)})
        assert row is not None  # INSERT .. RETURNING always returns the row
        return int(row[0])

    def note(self, registry_id: str, source: str, kind: str, data: dict[str, Any]) -> int | None:
        """An event about a record that is no new version, against its latest version.
        ``vanished`` and ``reappeared`` mark a state (listed or not): each is noted only
        when it changes it. Others (``merged``) are noted once per version. Returns its
        seq, or None when nothing was added."""
        with self.db.tx() as conn:
            if self.db.is_postgres:
                self._sql.run(conn, "record_lock", {"k": RECORD_LOCK, "rid": registry_id, "src": source})
            head = self._sql.one(conn, "latest_head", {"rid": registry_id, "src": source})
            if head is None or self._said(conn, registry_id, source, kind):
                return None
            return self.append(conn, registry_id, source, int(head[0]), kind, utcnow(), data)

    def _said(self, conn: Connection, registry_id: str, source: str, kind: str) -> bool:
        """Whether noting ``kind`` now would repeat what the log says already."""
        mine = (EVENT.c.registry_id == registry_id, EVENT.c.source == source)
        if kind in LISTING_EVENTS:
            last = conn.execute(select(EVENT.c.kind).where(*mine, EVENT.c.kind.in_(LISTING_EVENTS))
                                .order_by(EVENT.c.seq.desc()).limit(1)).scalar()
            return (last or "reappeared") == kind  # the record is in that state already
        since = conn.execute(select(func.max(EVENT.c.seq)).where(
            *mine, EVENT.c.kind.in_(VERSION_EVENTS))).scalar() or 0
        return conn.execute(select(EVENT.c.seq).where(*mine, EVENT.c.kind == kind,
                                                      EVENT.c.seq > since).limit(1)).first() is not None

    def vanished(self, source: str) -> list[str]:
        """The records of ``source`` whose last listing event is ``vanished``."""
        latest = (select(EVENT.c.registry_id, func.max(EVENT.c.seq).label("seq"))
                  .where(EVENT.c.source == source, EVENT.c.kind.in_(LISTING_EVENTS))
                  .group_by(EVENT.c.registry_id).subquery())
        with self.db.tx() as conn:
            return list(conn.execute(select(EVENT.c.registry_id).join(latest, EVENT.c.seq == latest.c.seq)
                                     .where(EVENT.c.kind == "vanished")
                                     .order_by(EVENT.c.registry_id)).scalars())

    def events(self, *, after: int = 0, kind: str | None = None, limit: int | None = None,
               registry_id: str | None = None, sources: list[str] | None = None,
               kinds: list[str] | None = None, before: int | None = None,
               newest_first: bool = False) -> list[EventRow]:
        query = select(*_COLUMNS).where(EVENT.c.seq > after)
        query = query.order_by(EVENT.c.seq.desc() if newest_first else EVENT.c.seq)
        if before is not None:
            query = query.where(EVENT.c.seq < before)
        if kind:
            query = query.where(EVENT.c.kind == kind)
        if kinds:
            query = query.where(EVENT.c.kind.in_(kinds))
        if sources:
            query = query.where(EVENT.c.source.in_(sources))
        if registry_id:
            query = query.where(EVENT.c.registry_id == registry_id)
        if limit is not None:  # 0 is no event, not every event
            query = query.limit(limit)
        with self.db.tx() as conn:
            return [EventRow._make(row) for row in conn.execute(query)]
