"""The event log: the kinds of event, which ones a new version makes, appending, and reading.

A new version makes one version event (:func:`version_event`) and, after it in the
same transaction, a milestone event for each piece of news the registry published
with it (:func:`milestone_events`): its results posted for the first time
(``results_posted``), an FDAAA 801 violation or an unposted-results event annotated
on it (``annotated``), its results now overdue under FDAAA (``overdue``,
:func:`overdue_news`: a registry record whose new state is overdue where the one before
was not). Results also become overdue with no new version, as the days pass:
:meth:`Events.note_overdue` notes those (the service's rounds, ``sync`` and ``check``
call it). One ``overdue`` event per record and due date, never for a reparse, nor for a
record first seen overdue (store/reporting.py).

``event.seq`` grows in commit order: on PostgreSQL a writer takes a
transaction-scoped advisory lock before it appends (after the record's own lock),
or a consumer reading "everything after my cursor" could miss a row committed
late with a smaller seq. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from trialmirror.models import reporting
from trialmirror.store import reporting as side
from trialmirror.store.diff import LIST_KEYS, Change
from trialmirror.store.engine import EVENT_LOCK, RECORD_LOCK, Database, dumps, utcnow
from trialmirror.store.rows import EventRow
from trialmirror.store.sql import EVENT, HotSql, columns

# Events that come with a new version (the others are notes about a record).
VERSION_EVENTS = ("new_record", "status_change", "updated", "reparsed")
# News about a record besides its version events (monitors are told of them): what a version
# published, and its results passing their due date unreported (with a version, or by the clock).
MILESTONE_EVENTS = ("results_posted", "annotated", "overdue")
# Whether the registry's listing has the record: bulk runs note a change of state.
LISTING_EVENTS = ("vanished", "reappeared")
EVENT_KINDS = (*VERSION_EVENTS, *MILESTONE_EVENTS, *LISTING_EVENTS, "merged")
# Kinds a record gets at most once per source: results appear for the first time once,
# however a drifting field flickers afterwards.
_ONCE = ("results_posted",)
# The annotation lists whose new items are news; the identity of their items is the diff's.
_ANNOTATION_LISTS = ("violation_events", "unposted_events")
_COLUMNS = columns(EVENT, EventRow)


def version_event(registry_id: str, source: str, status: str | None, number: int, first: bool,
                  changes: list[Change], produced_by: str,
                  results: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event per new version: new_record, status_change, updated, or reparsed.
    ``results``: the record's results dates when it shows results (:func:`results_of`)."""
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
        if results is not None:  # first seen with its results: news there is no "before" of
            data["results"] = results
    elif status_change is not None:
        kind = "status_change"
        data["status"] = {"old": status_change["old"], "new": status_change["new"]}
    else:
        kind = "updated"
    return {"registry_id": registry_id, "source": source, "version": number, "kind": kind,
            "data": data}


def results_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The results dates of a record that shows results (``has_results`` true, or a
    results first posted date), each ISO or null; None when it shows none."""
    status = record.get("status") or {}
    if record.get("has_results") is not True and not status.get("results_first_posted"):
        return None
    return {name: (status.get(f"results_{name}") or {}).get("date")
            for name in ("first_submitted", "first_submitted_qc", "first_posted")}


def milestone_events(registry_id: str, source: str, number: int, old: dict[str, Any],
                     new: dict[str, Any], produced_by: str) -> list[dict[str, Any]]:
    """The news version ``number`` (record ``new``) carries against the version before it
    (``old``, as stored): ``results_posted`` when it shows results and ``old`` did not,
    ``annotated`` when it adds violation or unposted-results events to its annotations.

    None for a reparse: the parser changed, not the registry. A field that ``old`` does not
    hold at all was not read by the parser that made it (versions stored before the field
    joined the record): what it said then is unknown, so the field appearing is no news;
    a null it holds means "the source did not say", and a value appearing after it is news.
    """
    if produced_by == "reparse":
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    results = results_of(new)
    if results is not None and "has_results" in old and results_of(old) is None:
        found.append(("results_posted", {"produced_by": produced_by, "results": results}))
    added = _new_annotations(old, new) if "annotations" in old else {}
    if added:
        types = sorted({i["type"] for items in added.values() for i in items if i.get("type")})
        found.append(("annotated", {"produced_by": produced_by, "types": types, **added}))
    return [{"registry_id": registry_id, "source": source, "version": number, "kind": kind,
             "data": data} for kind, data in found]


def overdue_news(registry_id: str, source: str, number: int, old: dict[str, Any], new: dict[str, Any],
                 produced_by: str, on: date) -> list[dict[str, Any]]:
    """``overdue`` when registry record ``new`` (version ``number``) is overdue on ``on`` (the
    date the registry published it) and ``old``, the version before, was not: a registry change
    (an earlier completion date, a certificate of delay withdrawn) made the results overdue.
    None for a reparse, or when ``old`` was stored before the record held its FDA flags (what
    it said of them is unknown)."""
    if produced_by == "reparse" or "oversight" not in old:
        return []
    now = reporting.status_on(new, on)
    if now.state not in reporting.OVERDUE_STATES or reporting.status_on(old, on).state in reporting.OVERDUE_STATES:
        return []
    since = next(p.start for p in reporting.periods(new) if (p.start is None or p.start <= on)
                 and (p.end is None or on < p.end))
    data = overdue_data(now.state, since.isoformat() if since else None, now.due_date.isoformat()
                        if now.due_date else None, now.days_late, now.classification,
                        now.completion_date, now.certificate_date, on)
    return [{"registry_id": registry_id, "source": source, "version": number, "kind": "overdue",
             "data": {"produced_by": produced_by, "found_by": "version", **data}}]


def overdue_data(state: str, since: str | None, due_date: str | None, days_late: int | None,
                 classification: str | None, completion: date | str | None, certificate: date | str | None,
                 on: date) -> dict[str, Any]:
    """What an ``overdue`` event says: the state on ``on``, since when, the due date and the
    dates it comes from, and the days late on ``on``."""
    def iso(value: date | str | None) -> str | None:
        return value.isoformat() if isinstance(value, date) else value

    return {"state": state, "since": since, "due_date": due_date, "days_late": days_late, "as_of": on.isoformat(),
            "classification": classification, "completion_date": iso(completion),
            "certificate_date": iso(certificate)}


def _new_annotations(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The items of ``new``'s annotation lists whose identity ``old``'s lack, by list."""
    before, after = old.get("annotations") or {}, new.get("annotations") or {}
    added = {}
    for name in _ANNOTATION_LISTS:
        keys = LIST_KEYS[f"annotations.{name}"]
        seen = {tuple(i.get(k) for k in keys) for i in before.get(name) or []}
        items = [i for i in after.get(name) or [] if tuple(i.get(k) for k in keys) not in seen]
        if items:
            added[name] = items
    return added


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

    def append_version(self, conn: Connection, events: list[dict[str, Any]],
                       occurred_at: Any) -> list[dict[str, Any]]:
        """Append a new version's events in order (its version event first) in the caller's
        transaction; a kind a record gets once (``results_posted``) is left out when the log
        holds it already. Returns the events appended, each with its ``seq``."""
        appended = []
        for event in events:
            rid, source, kind = event["registry_id"], event["source"], event["kind"]
            if kind in _ONCE and conn.execute(select(EVENT.c.seq).where(
                    EVENT.c.registry_id == rid, EVENT.c.source == source,
                    EVENT.c.kind == kind).limit(1)).first() is not None:
                continue
            if kind == "overdue" and self._told_overdue(conn, rid, event["data"]["due_date"]):
                continue
            event["seq"] = self.append(conn, rid, source, event["version"], kind, occurred_at,
                                       event["data"])
            appended.append(event)
        return appended

    def _told_overdue(self, conn: Connection, registry_id: str, due_date: str | None) -> bool:
        """Whether the log tells of the record's results overdue for ``due_date`` already
        (whatever the source: one record, one due date); on PostgreSQL under a lock of the
        record's overdue news, so two writers cannot both tell it."""
        if self.db.is_postgres:
            self._sql.run(conn, "record_lock", {"k": RECORD_LOCK, "rid": registry_id, "src": "overdue"})
        said = conn.execute(select(EVENT.c.data).where(EVENT.c.registry_id == registry_id,
                                                       EVENT.c.kind == "overdue")).scalars()
        return any(orjson.loads(data or "{}").get("due_date") == due_date for data in said)

    def note_overdue(self, today: date | None = None) -> list[dict[str, Any]]:
        """``overdue`` events for the records whose results passed their due date unreported
        while the store watched them, as of ``today`` (default: today, UTC), with no new
        version: the clock's news (store/reporting.py). Each record and due date is told once.
        Returns the events noted, each with its ``seq``."""
        today = today or utcnow().date()
        with self.db.tx() as conn:
            found = side.became_overdue(conn, today.isoformat())
            told = {(rid, orjson.loads(data or "{}").get("due_date")) for rid, data in conn.execute(
                select(EVENT.c.registry_id, EVENT.c.data).where(EVENT.c.kind == "overdue"))}
        noted = []
        for item in found:
            if (item.registry_id, item.due_date) in told:
                continue
            data = {"found_by": "clock", **overdue_data(
                item.state, item.since, item.due_date, (today - date.fromisoformat(item.due_date)).days,
                item.classification, item.completion_date, item.certificate_date, today)}
            with self.db.tx() as conn:
                if self._told_overdue(conn, item.registry_id, item.due_date):
                    continue  # another writer told it meanwhile
                seq = self.append(conn, item.registry_id, item.source, item.version, "overdue", utcnow(), data)
            noted.append({"seq": seq, "registry_id": item.registry_id, "source": item.source,
                          "version": item.version, "kind": "overdue", "data": data})
        return noted

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
