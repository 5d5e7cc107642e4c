"""The database's commands: ``db upgrade`` and ``db current`` (its schema revision),
``db check`` (its integrity) and ``db stats`` (its size by table and per record).

Every command that writes brings the schema to the head on first use; ``db upgrade``
does only that, for operators who upgrade on purpose (before starting the API, or a
fleet of workers), and ``db current`` says where a database stands without changing it.
``db check`` runs the database's own integrity check (:mod:`trialmirror.store.integrity`).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from trialmirror.cli.app import Context, Table, app, emit_json, fail, json_option
from trialmirror.store import faults, integrity, ranked, schema, sizes
from trialmirror.store.engine import make_engine


@app.group("db")
def db_group() -> None:
    """The database: its schema's revision, upgrading it, checking its integrity, its size."""


def _cannot(obj: Context, exc: Exception) -> NoReturn:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    fail(f"cannot open the database {obj.settings.database_url!r}: {reason}", 2)


@db_group.command("upgrade")
@json_option
@click.pass_obj
def upgrade_cmd(obj: Context, as_json: bool) -> None:
    """Bring the schema to the newest revision (what the first use of a database does)."""
    engine = make_engine(obj.settings.database_url)
    try:
        done = schema.upgrade(engine)
    except (SQLAlchemyError, schema.SchemaError) as exc:
        _cannot(obj, exc)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"before": done.before.as_dict(), "revision": done.after,
                        "seconds": round(done.seconds, 3)})
    elif done.before.revision == done.after:
        obj.out.print(f"already at the newest revision, {done.after}", highlight=False)
    else:
        was = done.before.revision or ("from before migrations" if done.before.legacy else "empty")
        obj.out.print(f"upgraded {was} → {done.after} in {done.seconds:.2f}s", highlight=False)


def _existing(obj: Context) -> str:
    """The database URL, refused when it names a SQLite file that does not exist (a
    read-only open would fail less clearly, a writable one would make it)."""
    url = obj.settings.database_url
    path = faults.sqlite_path(url)
    if path is not None and not path.is_file():
        raise faults.missing(url, "no such file")
    return url


@db_group.command("check")
@click.option("--quick", is_flag=True,
              help="SQLite: quick_check, without the index contents (faster on a big file).")
@json_option
@click.pass_obj
def check_cmd(obj: Context, quick: bool, as_json: bool) -> None:
    """Run the database's own integrity check: SQLite's PRAGMA integrity_check (every page,
    every index against its table); on PostgreSQL amcheck on every index where the
    extension is installed, and a read of every table. Changes nothing but the result
    `status` shows. Exit status 1 naming the damage."""
    url = _existing(obj)
    engine = make_engine(url, read_only=True)
    try:
        result = integrity.check(engine, quick=quick)
    except SQLAlchemyError as exc:
        _cannot(obj, exc)
    finally:
        engine.dispose()
    kept = _keep(url, result)
    if as_json:
        emit_json({"database": faults.display_name(url), **result.as_dict(), "kept": kept is None})
    else:
        _print_check(obj, url, result)
    if result.note:
        obj.err.print(f"note: {result.note}", highlight=False)
    if kept is not None:
        obj.err.print(f"note: the result is not kept for `trialmirror status`: {kept}", highlight=False)
    if not result.ok:
        sys.exit(1)


def _keep(url: str, result: integrity.CheckResult) -> str | None:
    """Keep the result for ``status``; why not, when the database cannot take it (read-only
    media, damage, a database without trialmirror's tables)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            integrity.record(conn, result, by="trialmirror db check")
    except SQLAlchemyError as exc:
        return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def _print_check(obj: Context, url: str, result: integrity.CheckResult) -> None:
    name = faults.display_name(url)
    if result.ok:
        obj.out.print(f"{name}: ok ({result.method}, {result.seconds:.2f}s)", highlight=False)
        return
    obj.out.print(f"{name}: DAMAGED ({result.method} found {len(result.problems)} problem(s)"
                  f"{', the first ' + str(integrity.LIMIT) if len(result.problems) >= integrity.LIMIT else ''}):",
                  highlight=False)
    for problem in result.problems:
        obj.out.print(f"  {problem}", highlight=False, soft_wrap=True)
    obj.err.print(f"[red]error:[/red] the database {name} is damaged: restore it from a backup, or "
                  "move it aside and run `trialmirror sync` to fetch the records again", highlight=False)


@db_group.command("current")
@json_option
@click.pass_obj
def current_cmd(obj: Context, as_json: bool) -> None:
    """The schema's revision and whether it is the newest; changes nothing. Exit status 1
    when an upgrade is due."""
    engine = make_engine(obj.settings.database_url, read_only=True)
    try:
        with engine.connect() as conn:
            found = schema.status(conn)
    except SQLAlchemyError as exc:
        _cannot(obj, exc)
    finally:
        engine.dispose()
    if as_json:
        emit_json(found.as_dict())
    else:
        obj.out.print(f"revision {found.revision or '(none)'}: {found.state} (newest: {found.head})",
                      highlight=False)
        if found.state in ("behind", "made before migrations", "empty"):
            obj.out.print("run `trialmirror db upgrade` (or any command that writes) to upgrade",
                          highlight=False)
    if found.revision != found.head:
        sys.exit(1)


@db_group.command("stats")
@json_option
@click.pass_obj
def stats_cmd(obj: Context, as_json: bool) -> None:
    """Bytes each table holds (its indexes included) and per record, and the total;
    changes nothing. A record is a registry id with a stored version."""
    url = _existing(obj)
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            found = sizes.measure(conn, engine.dialect.name == "postgresql")
    except SQLAlchemyError as exc:
        _cannot(obj, exc)
    finally:
        engine.dispose()
    # The ranked search index lives beside the database, not in it (store/ranked.py).
    place = ranked.default_location(url, sqlite_path=faults.sqlite_path(url), search_dir=obj.settings.search_dir)
    index_bytes = ranked.size(place)
    if as_json:
        emit_json({"database": faults.display_name(url), **found.as_dict(),
                   "search_index": None if index_bytes is None else {
                       "path": str(place), "bytes": index_bytes,
                       "bytes_per_record": round(index_bytes / found.records) if found.records else None}})
        return
    summary = found.as_dict()
    table = Table("table", "rows", "bytes", "share", "per record", title=faults.display_name(url))
    for row in summary["tables"]:
        share = f"{row['bytes'] / found.total_bytes:.1%}" if found.total_bytes else "-"
        table.add_row(row["table"], f"{row['rows']:,}", _bytes(row["bytes"]), share, _bytes(row["bytes_per_record"]))
    table.add_row("[b]all[/b]", "", _bytes(found.total_bytes), "100%" if found.total_bytes else "-",
                  _bytes(summary["bytes_per_record"]))
    obj.out.print(table)
    obj.out.print(f"{found.records:,} records", highlight=False)
    if index_bytes is not None:
        per = f", {_bytes(round(index_bytes / found.records))} a record" if found.records else ""
        obj.out.print(f"ranked search index, beside the database ({place}): {_bytes(index_bytes)}{per}",
                      highlight=False)
    if found.note:
        obj.err.print(f"note: {found.note}", highlight=False)


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f}\u00a0{unit}"  # one word: the table never wraps it
    return f"{n:,}\u00a0B"
