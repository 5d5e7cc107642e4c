"""Drift flags as rows: the ``drift_flag`` table, filled from the versions stored so far.

Each ``unmapped`` entry of a stored version becomes a row, so ``trialmirror drift`` can
count flagged paths and values across the store without reading every record. Entries
written before the drift policy have no ``action``: every one of them was a value a
vocabulary did not know, kept verbatim, so they are ``kept``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_BATCH = 1_000


def upgrade() -> None:
    table = op.create_table(
        "drift_flag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("observed_at", _TZ, nullable=False))
    op.create_index("ix_drift_flag_path", "drift_flag", ["source", "path", "value"])
    op.create_index("ix_drift_flag_record", "drift_flag", ["registry_id", "source", "version"])
    version = sa.table("version", sa.column("registry_id"), sa.column("source"), sa.column("version"),
                       sa.column("observed_at", _TZ), sa.column("record", sa.Text))
    conn = op.get_bind()
    # The store writes compact JSON; other writers may put a space after the colon.
    flagged = sa.select(version).where(sa.or_(version.c.record.like('%"unmapped":[%'),
                                              version.c.record.like('%"unmapped": [%')))
    # Streamed and written in batches: memory stays flat whatever the store's size.
    rows: list[dict[str, object]] = []
    for registry_id, source, number, observed_at, record in conn.execute(
            flagged.execution_options(stream_results=True, yield_per=_BATCH)):
        for entry in orjson.loads(record).get("unmapped") or []:
            rows.append({"registry_id": registry_id, "source": source, "version": number,
                         "path": str(entry["path"])[:200], "value": entry["value"],
                         "action": entry.get("action", "kept"), "observed_at": observed_at})
        if len(rows) >= _BATCH:
            op.bulk_insert(table, rows)
            rows = []
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("drift_flag")
