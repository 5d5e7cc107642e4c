"""Full-text search over the latest registry version of every record.

One row per record in ``search_doc`` (the newest ClinicalTrials.gov version by
``valid_from``, from ``ctgov`` or ``ctgov_history``), written by the store in the
same transaction as the version it reflects. Searched fields, by weight:
title (brief, official, acronym) 10, conditions and keywords 5, interventions 3,
arms 2, eligibility criteria 1, summary and description 1.

- SQLite: an FTS5 table ``search_fts`` (porter stemming, unicode61) beside
  ``search_doc``, ranked by BM25.
- PostgreSQL: a generated ``tsvector`` column on ``search_doc`` with a GIN index
  (English configuration, the same weights as A-D), ranked by ``ts_rank_cd``.

Queries are plain words and "quoted phrases"; every word must match (stemmed:
"cords" finds "cord"). Filters: status (exact, canonical), phase (one of the
record's phases), condition (a case-insensitive substring of a condition).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

FIELDS = ("title", "conditions", "interventions", "arms", "criteria", "summary")
_SQLITE_WEIGHTS = "10.0, 5.0, 3.0, 2.0, 1.0, 1.0"
_PG_WEIGHTS = {"title": "A", "conditions": "B", "interventions": "C", "arms": "C", "criteria": "D",
               "summary": "D"}
_TERM = re.compile(r'"([^"]+)"|([\w][\w\-./]*)', re.UNICODE)

# External content: the text lives once, in search_doc; the FTS5 table holds the index.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    + ", ".join(FIELDS) + ", content='search_doc', tokenize='porter unicode61')"
)
PG_DDL = (
    "ALTER TABLE search_doc ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    # "/" split as FTS5 splits it: PostgreSQL's parser reads "cord/nerve" as one file path.
    + " || ".join(f"setweight(to_tsvector('english', translate(coalesce({f}, ''), '/', ' ')), '{w}')"
                  for f, w in _PG_WEIGHTS.items())
    + ") STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_doc_tsv ON search_doc USING gin (tsv)",
)


def _join(*parts: Any) -> str | None:
    text_ = "\n".join(p for p in parts if isinstance(p, str) and p)
    return text_ or None


def document(record: dict[str, Any]) -> dict[str, Any]:
    """The searchable text and the filter values of a normalized record."""
    titles = record.get("titles") or {}
    elig = record.get("eligibility") or {}
    conditions = record.get("conditions") or []
    interventions = record.get("interventions") or []
    arms = record.get("arms") or []
    return {
        "status": (record.get("status") or {}).get("overall"),
        "phases": " ".join(record.get("phases") or []) or None,
        "conditions_filter": "\n".join(c.casefold() for c in conditions) or None,
        "title": _join(titles.get("brief"), titles.get("official"), titles.get("acronym")),
        "conditions": _join(*conditions, *(record.get("keywords") or [])),
        "interventions": _join(*(i["name"] for i in interventions),
                               *(n for i in interventions for n in i.get("other_names") or []),
                               *(i.get("description") for i in interventions)),
        "arms": _join(*(a["label"] for a in arms), *(a.get("description") for a in arms)),
        "criteria": elig.get("criteria_text") or _join(*(elig.get("inclusion") or []),
                                                      *(elig.get("exclusion") or []),
                                                      *(elig.get("unclassified") or [])),
        "summary": _join(record.get("summary"), record.get("description")),
    }


def index(conn: Connection, postgres: bool, record: dict[str, Any], source: str, version: int,
          valid_from: str | None) -> None:
    """Make ``record`` the record's search row, unless a newer state is indexed.

    Runs on the store's hot path, so on the DBAPI cursor (see ingest/store_sql.py).
    """
    doc = document(record)
    row = {"registry_id": record["registry_id"], "source": source, "version": version,
           "valid_from": valid_from or "", **doc}
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if postgres:
            cursor.execute(_PG_UPSERT, row)
        else:
            _sqlite_index(cursor, row, doc)
    finally:
        cursor.close()


_COLUMNS = ("registry_id", "source", "version", "valid_from", "status", "phases", "conditions_filter",
            *FIELDS)
_PG_UPSERT = (
    f"INSERT INTO search_doc ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in _COLUMNS)}) "
    f"ON CONFLICT (registry_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _COLUMNS[1:])} "
    "WHERE search_doc.valid_from <= excluded.valid_from"
)
_SQLITE_OLD = f"SELECT rowid, valid_from, {', '.join(FIELDS)} FROM search_doc WHERE registry_id = ?"
_SQLITE_FORGET = (f"INSERT INTO search_fts (search_fts, rowid, {', '.join(FIELDS)}) "
                  f"VALUES ('delete', ?, {', '.join('?' * len(FIELDS))})")
_SQLITE_INSERT = f"INSERT INTO search_doc ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_SQLITE_FTS = f"INSERT INTO search_fts (rowid, {', '.join(FIELDS)}) VALUES (?, {', '.join('?' * len(FIELDS))})"


def _sqlite_index(cursor: Any, row: dict[str, Any], doc: dict[str, Any]) -> None:
    old = cursor.execute(_SQLITE_OLD, (row["registry_id"],)).fetchone()
    if old is not None and old[1] > row["valid_from"]:
        return  # a backfilled older state: the index keeps the newer one
    if old is not None:  # an external-content index forgets a row given its old values
        cursor.execute(_SQLITE_FORGET, (old[0], *old[2:]))
        cursor.execute("DELETE FROM search_doc WHERE rowid = ?", (old[0],))
    cursor.execute(_SQLITE_INSERT, tuple(row[c] for c in _COLUMNS))
    cursor.execute(_SQLITE_FTS, (cursor.lastrowid, *(doc[f] for f in FIELDS)))


@dataclass
class Hit:
    registry_id: str
    title: str | None
    status: str | None
    phases: list[str]
    score: float
    source: str
    version: int


def _fts_query(q: str) -> str:
    """Words and "phrases" as an FTS5 query: each one quoted (no operator syntax leaks)."""
    terms = [phrase or word for phrase, word in _TERM.findall(q)]
    return " ".join('"' + t.replace('"', "") + '"' for t in terms if t.strip())


def search(conn: Connection, postgres: bool, q: str = "", *, status: str | None = None,
           phase: str | None = None, condition: str | None = None, limit: int = 20,
           offset: int = 0) -> list[Hit]:
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status:
        where.append("d.status = :status")
        params["status"] = status
    if phase:
        where.append("(' ' || d.phases || ' ') LIKE :phase")
        params["phase"] = f"% {phase} %"
    if condition:
        where.append("d.conditions_filter LIKE :condition")
        params["condition"] = f"%{condition.casefold()}%"
    match = _fts_query(q) if q.strip() else ""
    head = "SELECT d.registry_id, d.title, d.status, d.phases, {score} AS score, d.source, d.version "
    if not match:
        sql = head.format(score="0.0") + "FROM search_doc d"
        order = "d.registry_id"
    elif postgres:
        sql = (head.format(score="ts_rank_cd(d.tsv, query, 1)")
               + "FROM search_doc d, websearch_to_tsquery('english', :q) query")
        where.insert(0, "d.tsv @@ query")
        params["q"] = q
        order = "score DESC, d.registry_id"
    else:
        sql = (head.format(score=f"-bm25(search_fts, {_SQLITE_WEIGHTS})")
               + "FROM search_fts JOIN search_doc d ON d.rowid = search_fts.rowid")
        where.insert(0, "search_fts MATCH :q")
        params["q"] = match
        order = "score DESC, d.registry_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT :limit OFFSET :offset"
    rows = conn.execute(text(sql), params)
    return [Hit(r[0], (r[1] or "").split("\n")[0] or None, r[2], (r[3] or "").split(), float(r[4]),
                r[5], r[6]) for r in rows]
