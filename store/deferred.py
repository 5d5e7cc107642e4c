"""Statements a batch runs at its end (:meth:`trialmirror.store.engine.Database.batch`)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import Connection

DEFERRED = "trialmirror.deferred"  # the key of a batch's deferred statements in Connection.info


def deferred(conn: Connection, cursor: Any, sql: str, params: tuple[Any, ...]) -> None:
    """Run ``sql`` on the driver's ``cursor`` now, or, inside a :meth:`~trialmirror.store.engine.Database.batch`, at
    the batch's end.

    For FTS5 writes: FTS5 keeps a transaction's new postings in memory until any
    statement needing a savepoint (an AUTOINCREMENT insert, a multi-row insert, a
    savepoint) makes it write them as a new segment. Inserted record by record between the
    other writes, every record became a segment to merge later (a fifth of a first
    ingest's time); inserted together at the batch's end they make a few large ones.
    """
    pending = conn.info.get(DEFERRED)
    if pending is None:
        cursor.execute(sql, params)
    else:
        pending.append((sql, params))


def run_deferred(conn: Connection, pending: list[tuple[str, tuple[Any, ...]]]) -> None:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for sql, group in itertools.groupby(pending, key=lambda item: item[0]):
            cursor.executemany(sql, [params for _, params in group])
    finally:
        cursor.close()
