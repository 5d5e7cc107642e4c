"""The scheduled service's state in the store: the watchlist, leases, notification
cursors, the delivery log, and each watched record's fetch health.

Leases: before a service fetches a (source, record) it claims it in the database:
the claim succeeds only when no other holder's lease is live and no service has
done the record since a given time (the service passes "half an interval ago").
So two services on one database never fetch the same record at once, nor twice
in one round; a lease whose holder died (kill -9) expires after its time to live
and the record is taken up again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, inspect, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from trialmirror.store import Store, integrity, meta
from trialmirror.store.engine import as_utc, utcnow
from trialmirror.store.rows import DeliveryRow, Health, WatchRow
from trialmirror.store.sql import CURSOR, DELIVERY, FETCH, LEASE, WATCH, columns

OK_OUTCOMES = ("new_version", "unchanged", "not_modified", "listed")
_SEEDED = "watchlist_seeded"
_CHECK = "check"  # the canary's last result per source
_WATCH_COLUMNS = columns(WATCH, WatchRow)
_DELIVERY_COLUMNS = columns(DELIVERY, DeliveryRow)


class ServiceState:
    """The scheduled service's tables in ``store``."""

    def __init__(self, store: Store):
        self.store = store

    # --- the watchlist ------------------------------------------------------

    def seed_watchlist(self, registry_ids: list[str], sources: list[str]) -> int:
        """Fill the watchlist from the settings once, the first time a service or a
        ``watch`` command meets this store; later edits are the user's."""
        try:
            with self.store.transaction() as conn:
                if meta.get(conn, _SEEDED) is not None:
                    return 0
                conn.execute(insert(meta.TABLE).values(key=_SEEDED, value=utcnow().isoformat()))
        except IntegrityError:
            return 0  # another process seeded it at the same moment
        return len(self.watch_add(registry_ids, sources))

    def watch_add(self, registry_ids: list[str], sources: list[str],
                  pinned_url: str | None = None) -> list[tuple[str, str]]:
        """Watch each id on each source; returns the pairs that were not watched yet
        (a pinned URL given again replaces the old one)."""
        added = []
        with self.store.transaction() as conn:
            for registry_id in registry_ids:
                for source in sources:
                    key = and_(WATCH.c.registry_id == registry_id, WATCH.c.source == source)
                    if conn.execute(select(WATCH.c.id).where(key)).first():
                        if pinned_url:
                            conn.execute(update(WATCH).where(key).values(pinned_url=pinned_url))
                        continue
                    conn.execute(insert(WATCH).values(registry_id=registry_id, source=source,
                                                       pinned_url=pinned_url, added_at=utcnow()))
                    added.append((registry_id, source))
        return added

    def watch_remove(self, registry_id: str, sources: list[str] | None = None) -> int:
        query = delete(WATCH).where(WATCH.c.registry_id == registry_id)
        if sources:
            query = query.where(WATCH.c.source.in_(sources))
        with self.store.transaction() as conn:
            return int(conn.execute(query).rowcount or 0)

    def watched(self, source: str | None = None) -> list[WatchRow]:
        query = select(*_WATCH_COLUMNS).order_by(WATCH.c.registry_id, WATCH.c.source)
        if source:
            query = query.where(WATCH.c.source == source)
        with self.store.transaction() as conn:
            return [WatchRow._make(row) for row in conn.execute(query)]

    def pinned_url(self, source: str, registry_id: str) -> str | None:
        with self.store.transaction() as conn:
            return conn.execute(select(WATCH.c.pinned_url).where(
                WATCH.c.source == source, WATCH.c.registry_id == registry_id)).scalar()

    def put_meta(self, key: str, value: str) -> None:
        with self.store.transaction() as conn:
            meta.put(conn, key, value)

    def get_meta(self, key: str) -> str | None:
        with self.store.transaction() as conn:
            return meta.get(conn, key)

    # --- the canary ------------------------------------------------------------

    def record_check(self, results: dict[str, dict[str, Any]], *, at: str, by: str) -> None:
        """Keep the canary's result per source, over the results of the sources it did
        not check this time (a check of one source leaves the others' standing)."""
        with self.store.transaction() as conn:
            last = json.loads(meta.get(conn, _CHECK) or "{}")
            meta.put(conn, _CHECK, json.dumps({
                "at": at, "by": by, "sources": {**last.get("sources", {}), **results}}))

    def last_check(self) -> dict[str, Any] | None:
        """``{at, by, sources: {source: {ok, at, failure, reason, ...}}}``, or None."""
        value = self.get_meta(_CHECK)
        return json.loads(value) if value else None

    # --- the database's integrity check ----------------------------------------

    def record_db_check(self, result: integrity.CheckResult, *, by: str) -> None:
        with self.store.transaction() as conn:
            integrity.record(conn, result, by=by)

    def last_db_check(self) -> dict[str, Any] | None:
        """The last ``db check`` (``{at, by, ok, method, problems, ...}``), or None."""
        with self.store.transaction() as conn:
            return integrity.last(conn)

    # --- leases -------------------------------------------------------------

    def claim(self, source: str, registry_id: str, holder: str, ttl: float,
              done_since: datetime) -> bool:
        """Take the (source, record) for ``ttl`` seconds, unless another holder has it
        or some holder has done it since ``done_since``."""
        now = utcnow()
        key = and_(LEASE.c.source == source, LEASE.c.registry_id == registry_id)
        free = or_(LEASE.c.holder.is_(None), LEASE.c.holder == holder, LEASE.c.expires_at < now)
        not_done = or_(LEASE.c.done_at.is_(None), LEASE.c.done_at < done_since)
        expires = now + timedelta(seconds=ttl)
        with self.store.transaction() as conn:
            if conn.execute(update(LEASE).where(key, free, not_done)
                            .values(holder=holder, expires_at=expires)).rowcount:
                return True
            if conn.execute(select(LEASE.c.source).where(key)).first():
                return False
        try:
            with self.store.transaction() as conn:
                conn.execute(insert(LEASE).values(source=source, registry_id=registry_id,
                                                   holder=holder, expires_at=expires))
            return True
        except IntegrityError:
            return False  # another service inserted it first

    def holder_of(self, source: str, registry_id: str) -> str | None:
        """Who holds the lease now (None when nobody, or when it lapsed)."""
        with self.store.transaction() as conn:
            row = conn.execute(select(LEASE.c.holder, LEASE.c.expires_at).where(
                LEASE.c.source == source, LEASE.c.registry_id == registry_id)).first()
        if row is None or row.holder is None or as_utc(row.expires_at) < utcnow():
            return None
        return str(row.holder)

    def take_over(self, source: str, registry_id: str, holder: str, previous: str, ttl: float) -> bool:
        """Take the lease from ``previous`` (known dead), unless someone else took it first."""
        with self.store.transaction() as conn:
            return bool(conn.execute(update(LEASE).where(
                LEASE.c.source == source, LEASE.c.registry_id == registry_id,
                LEASE.c.holder == previous).values(
                    holder=holder, expires_at=utcnow() + timedelta(seconds=ttl))).rowcount)

    def release(self, source: str, registry_id: str, holder: str, *, done: bool) -> None:
        now = utcnow()
        values: dict[str, Any] = {"holder": None, "expires_at": now}
        if done:
            values["done_at"] = now
        with self.store.transaction() as conn:
            conn.execute(update(LEASE).where(
                LEASE.c.source == source, LEASE.c.registry_id == registry_id,
                LEASE.c.holder == holder).values(**values))

    # --- notification cursors and the delivery log ----------------------------

    def cursor(self, target: str) -> int | None:
        with self.store.transaction() as conn:
            return conn.execute(select(CURSOR.c.seq).where(CURSOR.c.target == target)).scalar()

    def set_cursor(self, target: str, seq: int) -> None:
        with self.store.transaction() as conn:
            if not conn.execute(update(CURSOR).where(CURSOR.c.target == target)
                                .values(seq=seq, updated_at=utcnow())).rowcount:
                conn.execute(insert(CURSOR).values(target=target, seq=seq, updated_at=utcnow()))

    def log_delivery(self, target: str, seq: int, attempt: int, outcome: str, *,
                     http_status: int | None = None, error: str | None = None,
                     duration_ms: float | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute(insert(DELIVERY).values(
                target=target, seq=seq, attempt=attempt, at=utcnow(), outcome=outcome,
                http_status=http_status, error=error, duration_ms=duration_ms))

    def deliveries(self, target: str | None = None) -> list[DeliveryRow]:
        query = select(*_DELIVERY_COLUMNS).order_by(DELIVERY.c.id)
        if target:
            query = query.where(DELIVERY.c.target == target)
        with self.store.transaction() as conn:
            return [DeliveryRow._make(row) for row in conn.execute(query)]

    # --- health ---------------------------------------------------------------

    def health(self) -> list[Health]:
        """Per watched (source, record): last success, last failure, failures since,
        first attempt."""
        keys = (FETCH.c.source, FETCH.c.registry_id)
        first = (select(*keys, func.min(FETCH.c.started_at).label("first_at"))
                 .where(FETCH.c.outcome.in_((*OK_OUTCOMES, "error"))).group_by(*keys).subquery())
        ok = (select(*keys, func.max(FETCH.c.id).label("ok_id"),
                     func.max(FETCH.c.started_at).label("ok_at"))
              .where(FETCH.c.outcome.in_(OK_OUTCOMES)).group_by(*keys).subquery())
        err = (select(*keys, func.max(FETCH.c.id).label("err_id")).where(FETCH.c.outcome == "error")
               .group_by(*keys).subquery())
        since = (select(*keys, func.count().label("n")).select_from(
            FETCH.outerjoin(ok, and_(ok.c.source == FETCH.c.source,
                                      ok.c.registry_id == FETCH.c.registry_id)))
            .where(FETCH.c.outcome == "error", or_(ok.c.ok_id.is_(None), FETCH.c.id > ok.c.ok_id))
            .group_by(*keys).subquery())
        last_err = FETCH.alias("last_err")
        on = lambda q: and_(q.c.source == WATCH.c.source, q.c.registry_id == WATCH.c.registry_id)  # noqa: E731
        query = (select(WATCH.c.source, WATCH.c.registry_id, ok.c.ok_at, last_err.c.started_at,
                        last_err.c.error, last_err.c.error_family, since.c.n, first.c.first_at)
                 .select_from(WATCH.outerjoin(ok, on(ok)).outerjoin(err, on(err))
                              .outerjoin(last_err, last_err.c.id == err.c.err_id)
                              .outerjoin(since, on(since)).outerjoin(first, on(first)))
                 .order_by(WATCH.c.source, WATCH.c.registry_id))
        with self.store.transaction() as conn:
            return [Health(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6] or 0), r[7]) for r in conn.execute(query)]

    # --- the job store ----------------------------------------------------------

    def next_runs(self, table: str) -> dict[str, datetime]:
        """When each job of APScheduler's job table ``table`` runs next (none: no table)."""
        if not inspect(self.store.engine).has_table(table):
            return {}
        with self.store.transaction() as conn:
            rows: Any = conn.execute(text(f"SELECT id, next_run_time FROM {table}"))  # noqa: S608
            return {row[0]: datetime.fromtimestamp(row[1], UTC) for row in rows if row[1] is not None}
