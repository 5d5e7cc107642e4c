"""Full-text search over the latest registry version of every record.

One row per record in ``search_doc`` (the newest ClinicalTrials.gov version by
``valid_from``, from ``ctgov`` or ``ctgov_history``), written by the store in the
same transaction as the version it reflects. Searched fields, by weight:
title (brief, official, acronym) 10, conditions and keywords 5, interventions and
arms 3, eligibility criteria, summary and description 1. Abbreviations the record
defines ("... stem cells (hUC-MSCs)") also count as their long form wherever the
record uses them (store/abbrev.py).

A query with words is answered from the ranked index beside the store (store/ranked.py,
:func:`ranked_search`: top-k without scoring every match); the ranking below, the
stores' own, answers when that index cannot (:func:`search`). Both stores rank by the same BM25 (k1 1.2, b 0.75, the field weights above scaling
term frequencies, one document length over all fields):

- SQLite: an FTS5 table ``search_fts`` (porter stemming, unicode61) beside
  ``search_doc``, ranked by FTS5's ``bm25()``.
- PostgreSQL: a generated ``tsvector`` column on ``search_doc`` with a GIN index
  (English configuration, the weights as classes A-D). ``ts_rank_cd`` does not
  saturate term frequency, so a record repeating a phrase in twenty arm
  descriptions outranked records about the subject; the score is BM25 instead,
  each term's weighted frequency read with ``ts_rank_cd`` on that term alone.
  Collection statistics (records, mean length, document frequencies) are cached
  for ``STATS_TTL`` seconds per database.

Queries are plain words and "quoted phrases"; every word must match (stemmed:
"cords" finds "cord"). A query is checked before it runs (:func:`query`): a word
or phrase given twice counts once, at most ``QUERY_WORDS`` words (a phrase counts
its words), and a query with no word at all (only punctuation) is refused, as is
a filter value that names nothing. Filters: status (one of the record's overall
status), phase (one of the record's phases), each in the words people type
("completed", "Active, not recruiting"; "2", "Phase 2", "phase2" are PHASE2), and
condition (a case-insensitive substring of a condition, ``%`` and ``_`` literal).

MeSH (``mesh``): a record matches when the term, case-insensitively, is one of the
MeSH terms the registry indexed its conditions or interventions with, or one of their
ancestors in the MeSH tree, by name ("Liver Diseases") or descriptor id ("D008103"):
so "Liver Diseases" finds a record indexed "Liver Cirrhosis". Place (``near`` LAT,LON
and ``within`` KM, always together): a record matches when any of its sites lies
within KM kilometres of the point: a bounding box on an index of the sites'
coordinates, then the exact great-circle distance; the nearest site's distance comes
with each hit (``distance_km``), and without query words the hits come nearest
first. Both read side tables written with the search row (store/facets.py); so is the
record's results-reporting periods' (store/reporting.py).

Each filter also works alone, without query words: it lists the records it keeps
(``search --mesh "Liver Diseases"``: all trials of liver diseases).
Differences left between the stores: PostgreSQL drops English stop words (a
query of only stop words finds nothing there) and scores a quoted phrase by its
words, FTS5 by the phrase.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Connection, text

from trialmirror.errors import InvalidQueryError
from trialmirror.models import vocab
from trialmirror.models.bounds import CONDITION_CHARS, MESH_CHARS, QUERY_CHARS, QUERY_WORDS
from trialmirror.store import abbrev, facets, meta, reporting
from trialmirror.store.deferred import deferred

FIELDS = ("title", "conditions", "interventions", "arms", "criteria", "summary")
# What the search rows are built by; a store whose rows an older build wrote says so
# (``outdated``) until ``reindex``. 2: abbreviations expanded, token counts for BM25.
# 3: MeSH terms and site coordinates (``search_mesh``, ``search_site``).
INDEX_VERSION = 3
_META_KEY = "search_index_version"
GENERATION_KEY = "search_generation"  # the ranked index's build of the rows (store/ranked.py)
_CLASS = {"title": "A", "conditions": "B", "interventions": "C", "arms": "C", "criteria": "D",
          "summary": "D"}
_WEIGHT = {"A": 10.0, "B": 5.0, "C": 3.0, "D": 1.0}
WEIGHTS = {f: _WEIGHT[_CLASS[f]] for f in FIELDS}
_SQLITE_WEIGHTS = ", ".join(str(_WEIGHT[_CLASS[f]]) for f in FIELDS)
# ts_rank_cd takes weights in [0, 1], in the order D, C, B, A
_PG_RANK_WEIGHTS = "{" + ",".join(str(_WEIGHT[c] / _WEIGHT["A"]) for c in "DCBA") + "}"
K1, B = 1.2, 0.75  # FTS5's bm25() constants
STATS_TTL = 600.0
_DF_CACHE_MAX = 20_000  # distinct query words remembered per database (a few MB at most)
_WORD = re.compile(r"[^\W_]+")  # as FTS5's unicode61 cuts words: "_" separates
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
                  for f, w in _CLASS.items())
    + ") STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_doc_tsv ON search_doc USING gin (tsv)",
    # Words in the record's search text, BM25's document length (FTS5 keeps its own).
    "ALTER TABLE search_doc ADD COLUMN IF NOT EXISTS ntok integer",
)


def outdated(conn: Connection) -> bool:
    """Whether search rows written by an older build of the index are in the store."""
    built = meta.get(conn, _META_KEY)
    return (built is None or int(built) < INDEX_VERSION) and not _empty(conn)


def mark_current(conn: Connection) -> None:
    """Every search row is this build's (after a reindex). The rows were rewritten without
    events, so the ranked index is told to rebuild (a new ``search_generation``)."""
    meta.put(conn, _META_KEY, str(INDEX_VERSION))
    meta.put(conn, GENERATION_KEY, uuid.uuid4().hex)


def mark_new(conn: Connection) -> None:
    """At schema creation: with nothing indexed yet, what comes is this build's."""
    if _empty(conn):
        mark_current(conn)


def _empty(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM search_doc LIMIT 1")).first() is None


def _join(*parts: Any) -> str | None:
    text_ = "\n".join(p for p in parts if isinstance(p, str) and p)
    return text_ or None


def document(record: dict[str, Any], *, expand: bool = True) -> dict[str, Any]:
    """The searchable text and the filter values of a normalized record (``expand``:
    with the long forms of the abbreviations it defines)."""
    titles = record.get("titles") or {}
    elig = record.get("eligibility") or {}
    conditions = record.get("conditions") or []
    interventions = record.get("interventions") or []
    arms = record.get("arms") or []
    fields = {
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
    if not expand:
        return fields
    expander = abbrev.Expander(abbrev.definitions(fields[f] for f in FIELDS))
    return {k: expander(v) if k in FIELDS else v for k, v in fields.items()}


def _length(doc: dict[str, Any]) -> int:
    return sum(len(_WORD.findall(doc[f])) for f in FIELDS if doc[f])


def index(conn: Connection, postgres: bool, record: dict[str, Any], source: str, version: int,
          valid_from: str | None, *, observed_on: str | None = None, produced_by: str = "fetch") -> None:
    """Make ``record`` the record's search row, unless a newer state is indexed; its side rows
    (MeSH terms, sites, reporting periods) move with it. ``observed_on`` (default today, UTC)
    and ``produced_by``: the version's, for the reporting periods' ``known_on``.

    Runs on the store's hot path, so on the DBAPI cursor (see store/sql.py).
    """
    doc = document(record)
    row = {"registry_id": record["registry_id"], "source": source, "version": version,
           "valid_from": valid_from or "", **doc}
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if postgres:
            cursor.execute(_PG_UPSERT, {**row, "ntok": _length(doc)})
            found = cursor.fetchone()  # none: the upsert's WHERE kept a newer state
            written, first = found is not None, found is not None and bool(found[0])
        else:
            written, first = _sqlite_index(conn, cursor, row, doc)
        if written:
            # A record's side rows are only ever written with its search row: a record
            # indexed the first time has none to forget (most rows of a first load).
            facets.index(cursor, postgres, record, first=first)
            reporting.index(cursor, postgres, record, source, version, observed_on, produced_by, first=first)
    finally:
        cursor.close()


_COLUMNS = ("registry_id", "source", "version", "valid_from", "status", "phases", "conditions_filter",
            *FIELDS)
_PG_COLUMNS = (*_COLUMNS, "ntok")
_PG_UPSERT = (
    f"INSERT INTO search_doc ({', '.join(_PG_COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in _PG_COLUMNS)}) "
    f"ON CONFLICT (registry_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _PG_COLUMNS[1:])} "
    "WHERE search_doc.valid_from <= excluded.valid_from RETURNING (xmax = 0)"  # true: inserted, not updated
)
_SQLITE_OLD = f"SELECT rowid, valid_from, {', '.join(FIELDS)} FROM search_doc WHERE registry_id = ?"
_SQLITE_FORGET = (f"INSERT INTO search_fts (search_fts, rowid, {', '.join(FIELDS)}) "
                  f"VALUES ('delete', ?, {', '.join('?' * len(FIELDS))})")
_SQLITE_INSERT = f"INSERT INTO search_doc ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_SQLITE_FTS = f"INSERT INTO search_fts (rowid, {', '.join(FIELDS)}) VALUES (?, {', '.join('?' * len(FIELDS))})"


def _sqlite_index(conn: Connection, cursor: Any, row: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, bool]:
    """(written, the record's first search row). The FTS5 writes are deferred to the end
    of a batch (:func:`~trialmirror.store.deferred.deferred`)."""
    old = cursor.execute(_SQLITE_OLD, (row["registry_id"],)).fetchone()
    if old is not None and old[1] > row["valid_from"]:
        return False, False  # a backfilled older state: the index keeps the newer one
    if old is not None:  # an external-content index forgets a row given its old values
        deferred(conn, cursor, _SQLITE_FORGET, (old[0], *old[2:]))
        cursor.execute("DELETE FROM search_doc WHERE rowid = ?", (old[0],))
    cursor.execute(_SQLITE_INSERT, tuple(row[c] for c in _COLUMNS))
    deferred(conn, cursor, _SQLITE_FTS, (cursor.lastrowid, *(doc[f] for f in FIELDS)))
    return True, old is None


@dataclass
class Hit:
    registry_id: str
    title: str | None
    status: str | None
    phases: list[str]
    score: float
    source: str
    version: int
    distance_km: float | None = None  # of the nearest site, in a search by place


@dataclass(frozen=True)
class Query:
    """A search as asked, checked by :func:`query`: the words and "phrases" every hit
    matches, and the filters in canonical words."""

    terms: tuple[str, ...] = ()
    status: str | None = None
    phase: str | None = None
    condition: str | None = None
    mesh: str | None = None
    near: tuple[float, float] | None = None  # (latitude, longitude)
    within: float | None = None  # kilometres; given with ``near``


def query(q: str = "", *, status: str | None = None, phase: str | None = None,
          condition: str | None = None, mesh: str | None = None,
          near: str | tuple[float, float] | None = None, within: str | float | None = None) -> Query:
    """``q`` and the filters as typed -> a :class:`Query`; InvalidQueryError says what is
    wrong with them (the CLI exits 2 with it, the API answers 400), InvalidPlaceError
    what is wrong with ``near`` and ``within`` (the API answers 422)."""
    if len(q) > QUERY_CHARS:
        raise InvalidQueryError(f"the query is {len(q)} characters long; at most {QUERY_CHARS}")
    _no_control("query", q, _CONTROL)
    terms = _terms(q)
    if q.strip() and not terms:
        raise InvalidQueryError(f"the query {q!r} has no word to search for (letters or digits); "
                                "leave it out to list records by the filters alone")
    words = sum(len(_WORD.findall(t)) for t in terms)
    if words > QUERY_WORDS:
        raise InvalidQueryError(f"the query has {words} different words; a search takes at most "
                                f"{QUERY_WORDS} (a word given twice counts once, a phrase counts its words)")
    condition = condition.strip() if condition else None
    if condition and len(condition) > CONDITION_CHARS:
        raise InvalidQueryError(f"the condition is {len(condition)} characters long; at most {CONDITION_CHARS}")
    _no_control("condition", condition or "", _CONTROL_OR_BREAK)
    if mesh is not None and not mesh.strip():
        raise InvalidQueryError("the MeSH term is empty; give a term or a descriptor id, "
                                "e.g. --mesh 'Liver Diseases' or --mesh D008107")
    mesh = mesh.strip() if mesh else None
    if mesh and len(mesh) > MESH_CHARS:
        raise InvalidQueryError(f"the MeSH term is {len(mesh)} characters long; at most {MESH_CHARS}")
    _no_control("MeSH term", mesh or "", _CONTROL_OR_BREAK)
    point, km = facets.place(near, within)
    return Query(tuple(terms), status and _canonical("status", status), phase and _canonical("phase", phase),
                 condition or None, mesh or None, point, km)


# No stored text holds these (PostgreSQL cannot hold NUL at all: it refused the query);
# a line break in a condition would match across two of a record's conditions.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(what: str, value: str, pattern: re.Pattern[str]) -> None:
    found = pattern.search(value)
    if found:
        raise InvalidQueryError(f"the {what} holds a control character (U+{ord(found[0]):04X}); "
                                "give words as text")


# What a filter value may be besides a canonical value: also "<prefix><value>" ("2": "Phase 2").
_VOCABULARIES = {"status": (vocab.OVERALL_STATUS, ""), "phase": (vocab.PHASE, "Phase ")}
_TYPED = {"status": "as ClinicalTrials.gov writes them too, e.g. 'completed', 'Active, not recruiting'",
          "phase": "also '2', 'Phase 2', 'phase2'"}


def _canonical(name: str, value: str) -> str:
    vocabulary, prefix = _VOCABULARIES[name]
    for candidate in (value, prefix + value.strip()):
        mapped = vocabulary.map(candidate)
        if mapped.known:
            return mapped.value
    raise InvalidQueryError(f"unknown {name} {value!r}; valid: {', '.join(sorted(vocabulary.values))} "
                            f"({_TYPED[name]})")


def _terms(q: str) -> list[str]:
    """The words and "phrases" of a query, in order, each once (whatever its case), and
    only those with a word in them: FTS5 and PostgreSQL would match nothing, or
    everything, on punctuation alone."""
    found: dict[str, str] = {}
    for term in (phrase or word for phrase, word in _TERM.findall(q)):
        words = _WORD.findall(term.casefold())
        if words:
            found.setdefault(" ".join(words), term)
    return list(found.values())


def _like(value: str) -> str:
    """``value`` matched literally by ``LIKE ... ESCAPE '\\'`` (its ``%`` and ``_`` are no wildcards)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_query(terms: list[str]) -> str:
    """Words and "phrases" as an FTS5 query: each one quoted (no operator syntax leaks)."""
    return " ".join('"' + t.replace('"', "") + '"' for t in terms)


def _filters(request: Query) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if request.status:
        where.append("d.status = :status")
        params["status"] = request.status
    if request.phase:
        where.append("(' ' || d.phases || ' ') LIKE :phase ESCAPE '\\'")
        params["phase"] = f"% {_like(request.phase)} %"
    if request.condition:
        where.append("d.conditions_filter LIKE :condition ESCAPE '\\'")
        params["condition"] = f"%{_like(request.condition.casefold())}%"
    if request.mesh:
        where.append(facets.MESH_FILTER)
        params.update(facets.mesh_params(request.mesh))
    return where, params


_HEAD = "SELECT d.registry_id, d.title, d.status, d.phases, {score} AS score, d.source, d.version, {km} AS km "


def search(conn: Connection, postgres: bool, request: Query, *, limit: int = 20,
           offset: int = 0) -> list[Hit]:
    where, params = _filters(request)
    params.update(limit=limit, offset=offset)
    joins = facets.place_join(request.near, request.within, params, postgres)
    km = "g.km" if joins else "NULL"
    terms = list(request.terms)
    if not terms:
        sql = _HEAD.format(score="0.0", km=km) + "FROM search_doc d" + joins
        order = "g.km, d.registry_id" if joins else "d.registry_id"  # nearest first
    elif postgres:
        return _pg_search(conn, terms, where, params, joins)
    else:
        sql = (_HEAD.format(score=f"-bm25(search_fts, {_SQLITE_WEIGHTS})", km=km)
               + "FROM search_fts JOIN search_doc d ON d.rowid = search_fts.rowid" + joins)
        where.insert(0, "search_fts MATCH :q")
        params["q"] = _fts_query(terms)
        order = "score DESC, d.registry_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT :limit OFFSET :offset"
    return _hits(conn.execute(text(sql), params))


class TopK(Protocol):
    """What :func:`ranked_search` asks of the ranked index (store/ranked.py's ``Ranked``)."""

    def search(self, conn: Connection, terms: list[str], *, status: str | None, phase: str | None,
               among: list[str] | None, limit: int) -> list[tuple[str, float]]: ...


def ranked_search(conn: Connection, postgres: bool, request: Query, ranked: TopK, *, limit: int = 20,
                  offset: int = 0) -> list[Hit]:
    """:func:`search` for a query with words, its top ``limit`` found by the ranked index
    (store/ranked.py) without scoring every match. The filters it does not hold
    (condition, MeSH term, place) are asked of the store first: their records bound it.
    Raises ``ranked.Unavailable`` when the index cannot answer (the caller asks :func:`search`)."""
    where, params = _filters(request)
    joins = facets.place_join(request.near, request.within, params, postgres)
    among = None
    if request.condition or request.mesh or joins:
        sql = "SELECT d.registry_id FROM search_doc d" + joins + (" WHERE " + " AND ".join(where) if where else "")
        among = list(conn.execute(text(sql), params).scalars())
    best = ranked.search(conn, list(request.terms), status=request.status, phase=request.phase, among=among,
                         limit=limit + offset)[offset:]
    if not best:
        return []
    marks = {f"id{i}": registry_id for i, (registry_id, _) in enumerate(best)}
    sql = (_HEAD.format(score="0.0", km="g.km" if joins else "NULL") + "FROM search_doc d" + joins
           + f" WHERE d.registry_id IN ({', '.join(':' + m for m in marks)})")
    rows = {row.registry_id: row for row in _hits(conn.execute(text(sql), {**params, **marks}))}
    return [replace(rows[registry_id], score=score) for registry_id, score in best if registry_id in rows]


def _hits(rows: Any) -> list[Hit]:
    return [Hit(r[0], (r[1] or "").split("\n")[0] or None, r[2], (r[3] or "").split(), float(r[4]),
                r[5], r[6], None if r[7] is None else float(r[7])) for r in rows]


# --- BM25 on PostgreSQL -------------------------------------------------------------

@dataclass
class _Stats:
    at: float
    records: int
    avgdl: float
    df: dict[str, int]


_stats: dict[str, _Stats] = {}
_stats_lock = threading.Lock()


def forget_stats() -> None:
    """Drop the cached collection statistics (after a reindex; tests)."""
    with _stats_lock:
        _stats.clear()


def _collection(conn: Connection, lexemes: list[str]) -> _Stats:
    key = conn.engine.url.render_as_string(hide_password=True)
    with _stats_lock:
        stats = _stats.get(key)
    if stats is None or time.monotonic() - stats.at > STATS_TTL or len(stats.df) > _DF_CACHE_MAX:
        records, avgdl = conn.execute(text(
            "SELECT count(*), coalesce(avg(ntok), 0) FROM search_doc")).one()
        stats = _Stats(time.monotonic(), int(records), float(avgdl), {})
    missing = [lex for lex in lexemes if lex not in stats.df]
    if missing:
        rows = conn.execute(text(
            "SELECT t.lex, (SELECT count(*) FROM search_doc WHERE tsv @@ t.tq) "
            "FROM unnest(CAST(:lexes AS text[]), CAST(:tqs AS tsquery[])) AS t(lex, tq)"),
            {"lexes": missing, "tqs": [_lexeme_query(x) for x in missing]})
        stats.df.update({lex: int(n) for lex, n in rows})
    with _stats_lock:
        _stats[key] = stats
    return stats


def _lexeme_query(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _idf(records: int, hits: int) -> float:
    idf = math.log((records - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0 else 1e-6  # as FTS5: a word in most records still counts a little


def _pg_search(conn: Connection, terms: list[str], where: list[str], params: dict[str, Any],
               joins: str) -> list[Hit]:
    terms = [t.replace("/", " ") for t in terms]  # as the tsvector splits "cord/nerve"
    names = [f"t{i}" for i in range(len(terms))]
    params.update(zip(names, terms, strict=True))
    lexemes = list(conn.execute(text(
        "SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', :all)))"),
        {"all": " ".join(terms)}).scalars())
    if not lexemes:
        return []  # only stop words: nothing the index can match
    stats = _collection(conn, lexemes)
    query = " && ".join(f"phraseto_tsquery('english', :{n})" for n in names)
    where.insert(0, f"d.tsv @@ ({query})")
    # Per word: its weighted frequency f<i> (ts_rank_cd of that word alone, unnormalized,
    # is the sum of the class weights of its occurrences), then BM25's saturation.
    # Inlined per word, not a subquery per row: a common word matches tens of
    # thousands of rows, each scored here.
    freqs, parts = [], []
    for i, lexeme in enumerate(lexemes):
        params[f"q{i}"], params[f"idf{i}"] = _lexeme_query(lexeme), _idf(stats.records, stats.df[lexeme])
        freqs.append(f":scale * ts_rank_cd(CAST(:w AS float4[]), d.tsv, CAST(:q{i} AS tsquery), 0) AS f{i}")
        parts.append(f":idf{i} * f.f{i} * (:k1 + 1) / (f.f{i} + f.norm)")
    params.update(avgdl=stats.avgdl or 1.0, k1=K1, b=B, w=_PG_RANK_WEIGHTS, scale=_WEIGHT["A"])
    sql = (
        "SELECT d.registry_id, d.title, d.status, d.phases, " + " + ".join(parts) + " AS score, "
        f"d.source, d.version, {'g.km' if joins else 'NULL'} AS km FROM search_doc d{joins} "
        "CROSS JOIN LATERAL (SELECT " + ", ".join(freqs)
        + ", :k1 * (1 - :b + :b * coalesce(d.ntok, :avgdl) / :avgdl) AS norm) f "
        f"WHERE {' AND '.join(where)} ORDER BY score DESC, d.registry_id LIMIT :limit OFFSET :offset")
    return _hits(conn.execute(text(sql), params))
