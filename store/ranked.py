"""Top-k ranked retrieval: a Tantivy index of the search rows, kept beside the store.

Why: FTS5's ``bm25()`` and PostgreSQL's ``ts_rank_cd`` score every record a query
matches before the first twenty are known, so a common word cost what its matches
cost: "cancer" (a third of the records) took seconds at 580,000 records. Tantivy keeps
each posting block's best score and skips the blocks that cannot enter the top k
(Block-Max WAND), in compiled code: a common word costs about what a rare one does.
It is an embedded library (a folder of files, no server), so SQLite stays the
zero-setup default, and one index serves both stores: the same query ranks alike on
SQLite and PostgreSQL by construction.

What it holds: one document per search row (``search_doc``, store/search.py): the
six weighted fields, in the same text (abbreviations expanded), and the status and
phases to filter on. It is derived data; the store stays the truth:

- Keeping up (:meth:`Ranked.catch_up`): the index remembers the last event
  (``event.seq``, which grows in commit order) it has applied. Every change of a
  search row comes with an event in the same transaction, so the records named by
  newer events are read again from ``search_doc`` and replaced. A search catches
  up first, when at most ``SEARCH_CATCH_UP`` records wait; when more wait, the store's
  ranking answers while a thread of the process catches up (a server whose store
  other processes or hosts write). The commands that write (``sync``, ``backfill``, ``reparse``,
  ``search --reindex``, the service's rounds) catch up fully when they end.
- Rebuilt from ``search_doc`` when its build differs from the store's
  (``search_generation`` in ``store_meta``: new at schema creation and at every
  reindex, so a reindexed or replaced database is never answered from an old index),
  or when the store's events end before the index's (another database at the same
  place).
- Where: beside a SQLite file (``<file>.search``), in memory for a database in
  memory, and for PostgreSQL in ``search_dir`` (``TRIALMIRROR_SEARCH_DIR``) or the
  user's cache folder, one sub-folder per database.
- When it cannot be used (the folder cannot be made or written, as on read-only media;
  it is far behind and another process holds its writer; it is damaged), a search is
  answered by the store's own ranking (store/search.py), and the reason is logged once.

Scoring: BM25 (Tantivy's: k1 1.2, b 0.75) per field, each field's score times its
weight (title 10, conditions and keywords 5, interventions and arms 3, the rest 1),
summed. Per field, so a word repeated in twenty arm descriptions saturates within the
arms and counts as much as any arms mention would. Words are cut as FTS5's unicode61
cuts them, lower-cased, accents folded, stemmed (Snowball English). Every word of the
query must match, a "phrase" in one field. Ties: by registry id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from trialmirror.store import meta
from trialmirror.store.search import FIELDS, GENERATION_KEY, WEIGHTS

log = logging.getLogger(__name__)

SEARCH_CATCH_UP = 2_000  # records a search waits for; more: the store's ranking answers
_STATE = "trialmirror-state.json"
_CHUNK = 500
_HEAP = 32_000_000  # the writer's buffer, flushed as a segment when full: 64 MB cost 33 MB more
# memory (a 200,000-document build: 194 against 161 MB anonymous) for no speed
_ANALYZER = "trialmirror_en"
_QUERY_SPECIALS = str.maketrans({c: " " for c in '"\\'})

try:  # a compiled library: where no wheel exists, searches use the store's ranking
    import tantivy
except ImportError:  # pragma: no cover - every supported platform has a wheel
    tantivy = None  # type: ignore[assignment]


def default_location(url: str, *, sqlite_path: Path | None, search_dir: Path | None) -> Path | None:
    """Where the index of the store at ``url`` lives (None: in memory)."""
    if sqlite_path is not None:
        return sqlite_path.with_name(sqlite_path.name + ".search")
    if not url.startswith("postgresql"):
        return None
    base = search_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trialmirror" / "search"
    return base / hashlib.sha256(url.encode()).hexdigest()[:16]


def size(location: Path | None) -> int | None:
    """The bytes of the index's files (None: none there, or in memory)."""
    if location is None or not location.is_dir():
        return None
    return sum(p.stat().st_size for p in location.iterdir() if p.is_file())


@dataclass
class _State:
    generation: str | None
    seq: int


class Unavailable(Exception):
    """The ranked index cannot answer; the store's own ranking does."""


class Behind(Unavailable):
    """More records wait than a search waits for: a thread of this process catches up."""


_BEHIND = "; it is being brought up to date"


class Ranked:
    """The index of one store (thread-safe: one writer at a time per process, and Tantivy's
    lock file between processes)."""

    def __init__(self, location: Path | None,
                 transaction: Callable[[], AbstractContextManager[Connection]] | None = None):
        """``transaction``: the store's, for catching up in a thread of its own when a
        search finds the index far behind (a server whose store another host writes)."""
        self.location, self._transaction = location, transaction
        self._background: threading.Thread | None = None
        self._lock = threading.Lock()
        self._index: Any = None
        self._state = _State(None, -1)
        self._broken: str | None = None
        self._said: set[str] = set()

    # --- opening -------------------------------------------------------------

    def _open(self) -> Any:
        if self._broken is not None:
            raise Unavailable(self._broken)
        if self._index is not None:
            return self._index
        if tantivy is None:
            return self._give_up("the tantivy package is not installed")
        try:
            schema = _schema()
            index = tantivy.Index(schema) if self.location is None else self._on_disk(schema, self.location)
            index.register_tokenizer(_ANALYZER, _analyzer())
        except (OSError, ValueError) as exc:
            return self._give_up(f"cannot open the search index at {self.location}: {exc}")
        self._index = index
        return index

    def _on_disk(self, schema: Any, location: Path) -> Any:
        location.mkdir(parents=True, exist_ok=True)
        if tantivy.Index.exists(str(location)):
            try:
                index = tantivy.Index(schema, path=str(location), reuse=True)
                self._state = self._read_state()
                return index
            except ValueError as exc:  # another build's schema, or damaged: it is derived data
                log.warning("search: the index at %s cannot be read (%s); building it again", location, exc)
            for child in location.iterdir():
                if child.is_file():
                    child.unlink()
        self._state = _State(None, -1)
        return tantivy.Index(schema, path=str(location), reuse=False)

    def _give_up(self, reason: str) -> Any:
        self._broken = reason
        log.warning("search: %s; the store's own ranking answers instead (exhaustive, slower on "
                    "common words)", reason)
        raise Unavailable(reason)

    def _read_state(self) -> _State:
        try:
            found = json.loads((self.location / _STATE).read_text())  # type: ignore[operator]
            return _State(found.get("generation"), int(found["seq"]))
        except (OSError, ValueError, KeyError, TypeError):
            return _State(None, -1)  # none yet, or unreadable: rebuild

    def _write_state(self) -> None:
        if self.location is None:
            return
        tmp = self.location / (_STATE + ".tmp")
        tmp.write_text(json.dumps({"generation": self._state.generation, "seq": self._state.seq}))
        tmp.replace(self.location / _STATE)

    # --- keeping up --------------------------------------------------------------

    def catch_up(self, conn: Connection, *, at_most: int | None = None) -> int:
        """Apply the store's changes since the index's last; returns how many records were
        written. ``at_most``: refuse (Unavailable) when more records than that wait."""
        index = self._open()
        if at_most is not None and self._background is not None and self._background.is_alive():
            raise Unavailable("the search index is being brought up to date by this process")
        with self._lock:
            if self.location is not None:  # another process may have brought it further
                found = self._read_state()
                if found != self._state:
                    self._state = found
                    index.reload()
            generation = meta.get(conn, GENERATION_KEY)
            newest = int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM event")).scalar_one())
            state = self._state
            # Never built (or a store from before the generation key: everything waits), its
            # store rebuilt, or another database's events: from the rows, not the events.
            rebuild = state.seq < 0 or state.generation != generation or newest < state.seq
            if not rebuild and newest == state.seq:
                return 0
            if rebuild:
                waiting = None
                if at_most is not None:
                    count = int(conn.execute(text("SELECT count(*) FROM search_doc")).scalar_one())
                    if count > at_most:
                        raise Behind(f"the search index is not built yet ({count} records){_BEHIND}")
            else:
                waiting = list(conn.execute(text(
                    "SELECT DISTINCT registry_id FROM event WHERE seq > :after AND seq <= :upto"),
                    {"after": state.seq, "upto": newest}).scalars())
                if at_most is not None and len(waiting) > at_most:
                    raise Behind(f"the search index is {len(waiting)} records behind{_BEHIND}")
            try:
                written = self._write(index, conn, waiting)
            except (OSError, ValueError) as exc:  # a full disk, a damaged segment: the store answers
                raise Unavailable(f"cannot write the search index at {self.location}: {exc}") from None
            self._state = _State(generation, newest)
            self._write_state()
            return written

    def _catch_up_in_background(self) -> None:
        if self._transaction is None or (self._background is not None and self._background.is_alive()):
            return
        transaction = self._transaction

        def run() -> None:
            try:
                with transaction() as conn:
                    written = self.catch_up(conn)
                log.info("search: the ranked index is up to date (%d records written)", written)
            except Exception as exc:  # a thread's failure must not go unsaid; searches go on
                log.warning("search: the ranked index could not be brought up to date: %s", exc)

        self._background = threading.Thread(target=run, name="trialmirror-search-index", daemon=True)
        self._background.start()

    def _write(self, index: Any, conn: Connection, registry_ids: list[str] | None) -> int:
        try:
            writer = index.writer(_HEAP, 1)
        except ValueError as exc:  # another process holds the writer: it is catching up
            raise Unavailable(f"the search index is being written by another process ({exc})") from None
        written = 0
        try:
            if registry_ids is None:
                writer.delete_all_documents()
                for row in _rows(conn, None):
                    writer.add_document(_document(row))
                    written += 1
            else:
                for start in range(0, len(registry_ids), _CHUNK):
                    chunk = registry_ids[start:start + _CHUNK]
                    found = {row["registry_id"]: row for row in _rows(conn, chunk)}
                    for registry_id in chunk:
                        writer.delete_documents_by_term("registry_id", registry_id)
                        if registry_id in found:
                            writer.add_document(_document(found[registry_id]))
                            written += 1
            writer.commit()
            writer.wait_merging_threads()  # releases the lock file
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
                writer.wait_merging_threads()
            raise
        index.reload()
        return written

    # --- searching ---------------------------------------------------------------

    def search(self, conn: Connection, terms: list[str], *, status: str | None, phase: str | None,
               among: list[str] | None, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` best (registry id, score) for ``terms``, best first, kept by the
        filters: ``among`` the records a SQL filter kept (None: all)."""
        index = self._open()
        try:
            self.catch_up(conn, at_most=SEARCH_CATCH_UP)
        except Unavailable as exc:
            reason = re.sub(r"\d+", "N", str(exc))
            if reason not in self._said:  # once per process and reason: a server answers many
                self._said.add(reason)
                log.warning("search: %s; the store's own ranking answers meanwhile", exc)
            if isinstance(exc, Behind):
                self._catch_up_in_background()
            raise
        if among is not None and not among:
            return []
        words = " ".join('+"' + t.translate(_QUERY_SPECIALS).strip() + '"' for t in terms)
        try:
            query = index.parse_query(words, list(FIELDS), field_boosts=WEIGHTS)
        except ValueError:
            return []  # no word the analyzer keeps
        clauses = [(tantivy.Occur.Must, query)]
        filters = [("status", [status]) if status else None, ("phases", [phase]) if phase else None,
                   ("registry_id", among) if among is not None else None]
        schema = index.schema
        for field, values in (f for f in filters if f):
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(schema, field, values), 0.0)))
        try:
            searcher = index.searcher()
            found = searcher.search(tantivy.Query.boolean_query(clauses), limit, count=False).hits
            hits = [(searcher.doc(address)["registry_id"][0], float(score)) for score, address in found]
        except (OSError, ValueError) as exc:
            raise Unavailable(f"cannot read the search index at {self.location}: {exc}") from None
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits


def _schema() -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("registry_id", stored=True, tokenizer_name="raw")
    for field in FIELDS:
        builder.add_text_field(field, tokenizer_name=_ANALYZER)
    builder.add_text_field("status", tokenizer_name="raw")
    builder.add_text_field("phases", tokenizer_name="raw")
    return builder.build()


def _analyzer() -> Any:
    """Words as FTS5's unicode61 cuts them (letters and digits; "_" separates), lower
    case, accents folded, Snowball English stems; words over 40 letters dropped."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold()).filter(tantivy.Filter.stemmer("english")).build())


_ROW = f"SELECT registry_id, status, phases, {', '.join(FIELDS)} FROM search_doc"


def _rows(conn: Connection, registry_ids: list[str] | None) -> Iterator[dict[str, Any]]:
    if registry_ids is None:
        result = conn.execute(text(_ROW + " ORDER BY registry_id").execution_options(
            stream_results=True, yield_per=_CHUNK))
    else:
        marks = ", ".join(f":r{i}" for i in range(len(registry_ids)))
        result = conn.execute(text(f"{_ROW} WHERE registry_id IN ({marks})"),
                              {f"r{i}": r for i, r in enumerate(registry_ids)})
    for row in result:
        yield row._asdict()


def _document(row: dict[str, Any]) -> Any:
    doc = tantivy.Document(registry_id=row["registry_id"])
    if row["status"]:
        doc.add_text("status", row["status"])
    for phase in (row["phases"] or "").split():
        doc.add_text("phases", phase)
    for field in FIELDS:
        if row[field]:
            doc.add_text(field, row[field])
    return doc
