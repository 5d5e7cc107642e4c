"""The service's stored jobs name their functions under the new package name.

APScheduler keeps each job pickled (``scheduler_jobs_<service name>``), its function as
a text reference: ``schedules.service:_run_source`` until the code moved under the
``trialmirror`` package, ``trialmirror.schedules.service:_run_source`` since. A job whose
reference no longer imports is dropped, with a warning, whenever APScheduler loads the
job store; this rewrites the references so the jobs load (``trialmirror run`` replaces
its jobs at start in any case; anything else reading the job store keeps them).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD, NEW = "schedules.service:", "trialmirror.schedules.service:"
log = logging.getLogger("trialmirror")


def _job_tables(conn: Connection) -> list[str]:
    return [name for name in sa.inspect(conn).get_table_names() if name.startswith("scheduler_jobs_")]


def _renamed(state: dict[str, Any], old: str, new: str) -> bool:
    func = state.get("func")
    if isinstance(func, str) and func.startswith(old):
        state["func"] = new + func[len(old):]
        return True
    return False


def rewrite(conn: Connection, old: str, new: str) -> int:
    """Rewrite the job references starting with ``old``; returns how many jobs changed."""
    changed = 0
    for name in _job_tables(conn):
        table = sa.table(name, sa.column("id"), sa.column("job_state"))
        for job_id, blob in conn.execute(sa.select(table.c.id, table.c.job_state)).all():
            try:
                state = pickle.loads(blob)  # noqa: S301  (the store's own job rows)
            except Exception:  # noqa: BLE001  (APScheduler drops an unreadable job itself)
                log.warning("job %s in %s cannot be read; left as it is", job_id, name)
                continue
            if _renamed(state, old, new):
                conn.execute(sa.update(table).where(table.c.id == job_id).values(
                    job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
                changed += 1
    return changed


def upgrade() -> None:
    rewrite(op.get_bind(), OLD, NEW)


def downgrade() -> None:
    rewrite(op.get_bind(), NEW, OLD)
