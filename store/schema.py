"""The store's schema: Alembic owns it (store/migrations/), one history for SQLite and
PostgreSQL.

A writable :class:`~trialmirror.store.Store` brings its database to the head
revision when it opens it (first use): a new database is made from nothing, and a
database made before the migrations (trialmirror main b867388 and older: our tables, no
``alembic_version``) is levelled with what that code ran on every open, stamped at the
baseline ``0001`` and upgraded. One process does it at a time (PostgreSQL: an advisory
lock; SQLite: the write lock its transactions take); the others wait, then find it done.
A read-only store never writes: behind the head, it refuses to open and says to run
``trialmirror db upgrade`` (which does what the first use does, on its own).

Opening a database at the head costs one query (the revision, and whether the search
index is empty); Alembic is imported only to upgrade.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from trialmirror.store import faults, search

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0006"  # the newest revision in store/migrations/versions (a test holds them equal)
BASELINE = "0001"  # the schema of trialmirror main b867388
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_LOCK = 0x7472_6D73  # "trms": one process changes the schema at a time
# Tables a database made before the migrations has (any one of them says it is ours).
_LEGACY_TABLES = ("version", "raw_payload", "event", "fetch")
# What Alembic's comparison of the database with the models cannot see, or must not
# touch: the SQLite FTS5 table and its shadow tables, the service's job stores
# (APScheduler makes them), and the PostgreSQL search columns (search.PG_DDL).
_UNMODELLED_TABLES = ("search_fts", "search_fts_data", "search_fts_idx", "search_fts_docsize",
                      "search_fts_config", "alembic_version")
_UNMODELLED_COLUMNS = {("search_doc", "tsv"), ("search_doc", "ntok")}
_UNMODELLED_INDEXES = {"ix_search_doc_tsv"}


class SchemaError(ValueError):
    """The database's schema is not the one this trialmirror works with (``found``: where
    it stands, when known)."""

    def __init__(self, message: str, found: Status | None = None):
        super().__init__(message)
        self.found = found


@dataclass
class Status:
    revision: str | None  # None: no alembic_version
    legacy: bool  # our tables without a revision: made before the migrations
    head: str = HEAD

    @property
    def state(self) -> str:
        if self.revision == self.head:
            return "at head"
        if self.legacy:
            return "made before migrations"
        if self.revision is None:
            return "empty"
        return "behind" if self.revision in _known() else "unknown revision"

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "head": self.head, "at_head": self.revision == self.head,
                "state": self.state}


def _known() -> tuple[str, ...]:
    return tuple(p.name.split("_", 1)[0] for p in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
    """For Alembic's comparison: leave out what the models do not describe on purpose."""
    if type_ == "table":
        return not (name in _UNMODELLED_TABLES or (name or "").startswith("scheduler_jobs_"))
    if type_ == "column":
        return (obj.table.name, name) not in _UNMODELLED_COLUMNS
    if type_ == "index":
        return name not in _UNMODELLED_INDEXES and not obj.table.name.startswith("scheduler_jobs_")
    return True


def config(conn: Connection | None = None) -> Config:
    """Alembic's configuration, in code (no alembic.ini), on ``conn`` when given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def status(conn: Connection) -> Status:
    revision = _revision(conn)
    legacy = revision is None and any(inspect(conn).has_table(name) for name in _LEGACY_TABLES)
    return Status(revision, legacy)


def ensure(engine: Engine, *, read_only: bool = False) -> None:
    """Open-time check: at the head, done (one query); behind, upgrade (or refuse, read-only)."""
    try:
        with engine.begin() as conn:
            row = conn.execute(text(
                "SELECT (SELECT version_num FROM alembic_version), "
                "(SELECT 1 FROM search_doc LIMIT 1)")).one()
            if row[0] == HEAD:
                if row[1] is None and not read_only:
                    search.mark_new(conn)  # nothing indexed yet: what comes is this build's
                return
    except DBAPIError as exc:
        if faults.storage_error(exc, engine.url.render_as_string(hide_password=False)) is not None:
            raise  # a damaged or unreadable file is not a schema to make
        # else: no alembic_version (a new database, or one made before the migrations)
    if read_only:
        with engine.connect() as conn:
            found = status(conn)
        if found.state == "unknown revision":
            raise SchemaError(_newer(found.revision), found)
        raise SchemaError(
            f"the database schema is {_describe(found)}; this trialmirror needs {HEAD}: "
            "run `trialmirror db upgrade`", found)
    upgrade(engine)


def _newer(revision: str | None) -> str:
    return (f"the database schema is at revision {revision}, which this trialmirror does not "
            f"know (its newest is {HEAD}): a newer trialmirror wrote it; use that")


def _describe(found: Status) -> str:
    if found.legacy:
        return "from before migrations (no revision)"
    if found.revision is None:
        return "missing (an empty database)"
    return f"at revision {found.revision}"


@dataclass
class Upgrade:
    before: Status
    after: str
    seconds: float


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the head, in one transaction, one process at a time."""
    t0 = time.perf_counter()
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, the write lock until commit
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
        before = status(conn)  # after the lock: another process may have done it meanwhile
        if before.revision != HEAD:
            if before.revision is not None and before.revision not in _known():
                raise SchemaError(_newer(before.revision), before)
            _migrate(conn, before)
        search.mark_new(conn)
    return Upgrade(before, HEAD, time.perf_counter() - t0)


def _migrate(conn: Connection, before: Status) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = config(conn)
    if before.legacy:
        baseline = ScriptDirectory.from_config(cfg).get_revision(BASELINE)
        assert baseline is not None
        baseline.module.level(conn)
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, "head")
