"""What the database holds, in bytes: each table with its indexes, and per record
(``trialmirror db stats``).

- SQLite: the ``dbstat`` virtual table (every page, by the table or index it belongs
  to); an index counts with its table, FTS5's shadow tables (``search_fts_data`` ...)
  with ``search_fts``. Without ``dbstat`` in the SQLite library, the file's pages only.
- PostgreSQL: ``pg_total_relation_size`` of each table of the current schema (its
  indexes and TOAST included).

A record is a registry id with at least one stored version, whatever its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

_FTS_SHADOWS = ("_data", "_idx", "_docsize", "_config", "_content")


@dataclass
class TableSize:
    name: str
    rows: int
    bytes: int


@dataclass
class Sizes:
    records: int
    total_bytes: int  # the database as stored (SQLite: the file's pages; PostgreSQL: its tables)
    tables: list[TableSize] = field(default_factory=list)
    note: str | None = None  # what could not be measured

    def as_dict(self) -> dict[str, Any]:
        per = (lambda b: round(b / self.records)) if self.records else (lambda b: None)
        return {"records": self.records, "total_bytes": self.total_bytes,
                "bytes_per_record": per(self.total_bytes),
                "tables": [{"table": t.name, "rows": t.rows, "bytes": t.bytes, "bytes_per_record": per(t.bytes)}
                           for t in self.tables],
                "note": self.note}


def measure(conn: Connection, postgres: bool) -> Sizes:
    records = int(conn.execute(text('SELECT count(DISTINCT registry_id) FROM "version"')).scalar_one())
    found = _postgres(conn) if postgres else _sqlite(conn)
    sizes, total, note = found
    tables = [TableSize(name, _rows(conn, name), size) for name, size in sizes.items()]
    tables.sort(key=lambda t: (-t.bytes, t.name))
    return Sizes(records, total, tables, note)


def _rows(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def _sqlite(conn: Connection) -> tuple[dict[str, int], int, str | None]:
    pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())
    total = pages * int(conn.execute(text("PRAGMA page_size")).scalar_one())
    owner = {name: table for name, table in conn.execute(text(
        "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))}
    virtual = {name for (name,) in conn.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"))}
    try:
        used = conn.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all()
    except Exception:  # noqa: BLE001 - a SQLite library built without dbstat
        return {}, total, "this SQLite library has no dbstat table: the total only"
    sizes: dict[str, int] = {}
    for name, size in used:
        table = owner.get(name, name)
        for shadow in _FTS_SHADOWS:  # search_fts_data -> search_fts
            if table.endswith(shadow) and table.removesuffix(shadow) in virtual:
                table = table.removesuffix(shadow)
        if table.startswith("sqlite_") or table == "alembic_version":
            continue  # SQLite's own bookkeeping and the schema revision: in the total only
        sizes[table] = sizes.get(table, 0) + int(size)
    return sizes, total, None


def _postgres(conn: Connection) -> tuple[dict[str, int], int, str | None]:
    rows = conn.execute(text(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'alembic_version'")).all()
    sizes = {name: int(size) for name, size in rows}
    return sizes, sum(sizes.values()), None
