"""What a failure of the database means for the person running trialmirror.

The driver's own codes (SQLite's result codes, PostgreSQL's SQLSTATE) say whether an
error is the storage's: a full disk, a database that cannot be written, a damaged
file, a disk that failed. Each becomes one :class:`~trialmirror.errors.StorageError`
naming the database and what to do; every other error is left as it is (a bug, a
lock, a constraint: not the user's disk). :meth:`Database.tx
<trialmirror.store.engine.Database.tx>` applies this to every transaction, so no
command needs its own list of database errors.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from trialmirror.errors import StorageError

# SQLite's primary result codes (https://sqlite.org/rescode.html).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL = 8, 10, 11, 13
_SQLITE_CANTOPEN, _SQLITE_NOTADB = 14, 26
# PostgreSQL's SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_KINDS = {"53100": "full", "XX001": "damaged", "XX002": "damaged", "58030": "io",
             "25006": "read_only"}
_SQLITE_KINDS = {_SQLITE_READONLY: "read_only", _SQLITE_IOERR: "io", _SQLITE_CORRUPT: "damaged",
                 _SQLITE_NOTADB: "damaged", _SQLITE_FULL: "full", _SQLITE_CANTOPEN: "cannot_open"}


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``sqlite:///x.db``, or a ``file:`` URI); None for other
    databases and for a database in memory."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        path = unquote(urlsplit(parsed.database).path)
        return Path(path) if path and "mode=memory" not in parsed.database else None
    return Path(parsed.database)


def display_name(url: str) -> str:
    """The database as its user knows it: SQLite's file path, else the URL with its
    password masked (an error line must not print a secret)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def _kind(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_KINDS.get(code & 0xFF)
    state = getattr(exc, "sqlstate", None)
    return _PG_KINDS.get(state) if isinstance(state, str) else None


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def storage_error(exc: BaseException, url: str) -> StorageError | None:
    """The StorageError ``exc`` means (a SQLAlchemy error or the driver's own), or None
    when it is not the storage's fault."""
    orig = getattr(exc, "orig", None) or exc
    kind = _kind(orig)
    if kind is None:
        return None
    name, reason, postgres = display_name(url), _reason(orig), sqlite_path(url) is None
    where = f"the PostgreSQL server's disk ({name})" if postgres else f"the disk holding {name}"
    message = {
        "full": f"{where} is full ({reason}): free some space, then run the same command again; "
                "what was stored before is intact (a record, or a bulk page, is stored in one transaction)",
        "damaged": f"the database {name} is damaged ({reason}): run `trialmirror db check` to see "
                   "where; then restore it from a backup, or move it aside and sync again",
        "read_only": f"the database {name} cannot be written ({reason}): "
                     + ("the server is read-only (a standby?); write to the primary" if postgres else
                        "the file or its folder is read-only; read commands work on it, "
                        "writing needs both to be writable"),
        "cannot_open": f"cannot open the database file {name} ({reason}): check that its folder "
                       "exists and can be written, or set TRIALMIRROR_DATABASE_URL (--database-url)",
        "io": f"{where} failed a read or write ({reason}): check the disk and its free space, "
              "then run the same command again",
    }[kind]
    return StorageError(message, kind=kind, path=name)


def missing(url: str, why: str) -> StorageError:
    """A read found no database where the settings point: never make an empty one there."""
    return StorageError(
        f"no trialmirror database at {display_name(url)} ({why}): check the "
        f"{'path' if sqlite_path(url) else 'URL'} (TRIALMIRROR_DATABASE_URL, --database-url), "
        "or run `trialmirror sync` to make one",
        kind="missing", path=display_name(url))
