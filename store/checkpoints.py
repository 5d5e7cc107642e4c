"""Bulk sync's checkpoints (``sync_checkpoint``): where each run stands, so it resumes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from trialmirror.store import Store
from trialmirror.store.rows import CheckpointRow
from trialmirror.store.sql import CHECKPOINT, columns

_COLUMNS = columns(CHECKPOINT, CheckpointRow)


class Checkpoints:
    """The checkpoints in ``store``, by name ("all", "query:<expression>", a slice "all[a..b]")."""

    def __init__(self, store: Store):
        self.store = store

    def load(self, name: str) -> CheckpointRow | None:
        with self.store.transaction() as conn:
            row = conn.execute(select(*_COLUMNS).where(CHECKPOINT.c.name == name)).first()
        return None if row is None else CheckpointRow._make(row)

    def save(self, name: str, **values: Any) -> None:
        """Set ``values`` (columns) on the checkpoint, made if it is new."""
        with self.store.transaction() as conn:
            if not conn.execute(update(CHECKPOINT).where(CHECKPOINT.c.name == name).values(**values)).rowcount:
                conn.execute(insert(CHECKPOINT).values(name=name, **values))

    def slices_since(self, prefix: str, started: datetime) -> tuple[int, int]:
        """Of the checkpoints named ``prefix``…: how many finished a run started at or after
        ``started``, and the records of all those runs (one transaction)."""
        mine = CHECKPOINT.c.name.like(prefix + "%")
        with self.store.transaction() as conn:
            done = conn.execute(select(func.count()).select_from(CHECKPOINT).where(
                mine, CHECKPOINT.c.status == "done", CHECKPOINT.c.last_started_at >= started)).scalar_one()
            records = conn.execute(select(func.coalesce(func.sum(CHECKPOINT.c.records), 0)).where(
                mine, CHECKPOINT.c.last_started_at >= started)).scalar_one()
        return int(done), int(records)
