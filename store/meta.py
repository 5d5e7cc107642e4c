"""``store_meta``: small facts about the store itself, read and written in a caller's
transaction (the search index's build, the service's heartbeat, the watchlist seed)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update
from sqlmodel import SQLModel

from trialmirror.models.tables import StoreMeta

TABLE = SQLModel.metadata.tables[StoreMeta.__tablename__]


def get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(TABLE.c.value).where(TABLE.c.key == key)).scalar()  # type: ignore[no-any-return]


def put(conn: Connection, key: str, value: str) -> None:
    if not conn.execute(update(TABLE).where(TABLE.c.key == key).values(value=value)).rowcount:
        conn.execute(insert(TABLE).values(key=key, value=value))
