"""The database's own integrity check (``trialmirror db check``; the service runs it daily).

- SQLite: ``PRAGMA integrity_check`` reads every page and checks every index against
  its table; ``quick_check`` leaves out the index contents (faster on a big file).
- PostgreSQL: amcheck's ``bt_index_check(index, heapallindexed => true)`` on every
  B-tree index of the store's schema (each index's structure, and every table row
  found in it), when the extension is installed in the database and this user may
  call it; then, and otherwise alone, every table is read whole (each row cast to
  text, so every TOAST value is read back) — a lighter check that finds the damage a
  read would meet. Nothing is installed or written by the check itself.

Damage so severe that the check cannot run (a file that is no database) is a
problem found, never an exception. The last result is kept in ``store_meta`` for
``trialmirror status`` (:func:`record`, :func:`last`).
"""

from __future__ import annotations

import json
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from trialmirror.errors import StorageError
from trialmirror.store import faults, meta
from trialmirror.store.engine import as_utc, utcnow

if TYPE_CHECKING:
    from trialmirror.store import Store

KEY = "db_check"  # store_meta: the last result
LIMIT = 100  # problems listed at most (SQLite stops counting there too)
KEPT = 20  # problems kept with the last result


@dataclass
class CheckResult:
    ok: bool
    method: str  # integrity_check, quick_check, amcheck, read every table
    problems: list[str] = field(default_factory=list)
    at: str = ""
    seconds: float = 0.0
    note: str | None = None  # what a deeper check needs, when it could not run
    by: str | None = None  # who ran it (for status)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(engine: Engine, *, quick: bool = False) -> CheckResult:
    """Run the database's integrity check over ``engine`` (read-only is enough)."""
    t0, at = time.perf_counter(), utcnow().isoformat()
    result = _sqlite(engine, quick) if engine.dialect.name == "sqlite" else _postgres(engine)
    result.at, result.seconds = at, round(time.perf_counter() - t0, 3)
    return result


def _sqlite(engine: Engine, quick: bool) -> CheckResult:
    method = "quick_check" if quick else "integrity_check"
    found, failure = _pragma(engine, method, LIMIT)
    if failure is not None:
        # Some damage stops the check itself ("database disk image is malformed") and
        # the driver drops what it found so far: ask for fewer problems, which ends
        # the check before it reaches that damage; the most that come back are kept.
        low, high = 0, LIMIT
        while high - low > 1:
            middle = (low + high) // 2
            rows, stopped = _pragma(engine, method, middle)
            low, high, found = (middle, high, rows) if stopped is None else (low, middle, found)
        found = [*found, f"the check stopped: {failure}"]
    return CheckResult(found == ["ok"], method, [] if found == ["ok"] else found)


def _pragma(engine: Engine, method: str, limit: int) -> tuple[list[str], str | None]:
    """The check's problems (SQLite joins them with newlines in one row), or the error
    that stopped it."""
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql(f"PRAGMA {method}({limit})")]
    except DBAPIError as exc:
        if faults.storage_error(exc, str(engine.url)) is None:
            raise
        return [], _first_line(exc)
    return [line for row in rows for line in row.splitlines() if not line.startswith("*** ")], None


def _postgres(engine: Engine) -> CheckResult:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        amcheck = conn.execute(text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'amcheck'")).scalar()
        tables = [str(r[0]) for r in conn.execute(text(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind IN ('r', 'm') ORDER BY 1"), {"s": schema})]
        indexes = [str(r[0]) for r in conn.execute(text(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND a.amname = 'btree' AND i.indisready AND i.indisvalid "
            "ORDER BY 1"), {"s": schema})]
    problems: list[str] = []
    note, method = None, "read every table"
    if amcheck is None:
        note = ("amcheck is not installed in this database: `CREATE EXTENSION amcheck` (as a "
                "superuser) for a check of every index; every table was read instead")
    else:
        denied = _amcheck(engine, str(amcheck), indexes, problems)
        if denied is None:
            method = "amcheck"
        else:
            note = f"amcheck is installed but cannot be run ({denied}); every table was read instead"
    for table in tables:
        _read(engine, f"SELECT count(*), sum(octet_length(t::text)) FROM {table} t",  # noqa: S608
              f"table {table}", problems)
    return CheckResult(not problems, method, problems[:LIMIT], note=note)


def _amcheck(engine: Engine, where: str, indexes: list[str], problems: list[str]) -> str | None:
    """bt_index_check on each index, problems appended; the reason when not allowed."""
    for index in indexes:
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SELECT {where}.bt_index_check(CAST(:i AS regclass), true)"),
                             {"i": index})
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
                return _first_line(exc)
            problems.append(f"index {index}: {_first_line(exc)}")
    return None


def _read(engine: Engine, sql: str, what: str, problems: list[str]) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(text(sql)).all()
    except DBAPIError as exc:
        problems.append(f"{what}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else orig.__class__.__name__


def record(conn: Connection, result: CheckResult, *, by: str) -> None:
    """Keep ``result`` (its first problems) as the last check, for ``status``."""
    kept = {**result.as_dict(), "problems": result.problems[:KEPT], "by": by,
            "problem_count": len(result.problems)}
    meta.put(conn, KEY, json.dumps(kept))


def last(conn: Connection) -> dict[str, Any] | None:
    """The last check kept (``at``, ``by``, ``ok``, ``method``, ``problems``...), or None."""
    value = meta.get(conn, KEY)
    return json.loads(value) if value else None


def due(last_check: dict[str, Any] | None, interval: float) -> datetime | None:
    """When the next check is due (now or past: due; None: checks are off)."""
    if not interval:
        return None
    if last_check is None:
        return utcnow()
    return as_utc(datetime.fromisoformat(last_check["at"])) + timedelta(seconds=interval)


def damaged(url: str, result: CheckResult) -> StorageError:
    more = f" (and {len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
    return StorageError(
        f"the database {faults.display_name(url)} is damaged: {result.problems[0]}{more}: nothing "
        "was written; run `trialmirror db check` for the list, then restore it from a backup, or "
        "move it aside and sync again", kind="damaged", path=faults.display_name(url))


def before_writing(store: Store, interval: float, *, by: str) -> CheckResult | None:
    """On SQLite, ``quick_check`` before a command writes, when the last check is older
    than ``interval``: a write touches a few pages and would not meet damage elsewhere,
    so without this a sync on a damaged file says "unchanged" and exits 0. StorageError
    when damaged (after keeping the result). PostgreSQL: the service's check only (a
    read of every table is too slow for each command)."""
    if store.is_postgres:
        return None
    with store.transaction() as conn:
        when = due(last(conn), interval)
    if when is None or when > utcnow():
        return None
    result = check(store.engine, quick=True)
    with suppress(StorageError), store.transaction() as conn:  # too damaged to keep it: the verdict counts
        record(conn, result, by=by)
    if not result.ok:
        raise damaged(store.url, result)
    return result
