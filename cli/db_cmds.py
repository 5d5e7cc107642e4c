"""The database's commands: ``db upgrade`` and ``db current`` (its schema revision).

Every command that writes brings the schema to the head on first use; ``db upgrade``
does only that, for operators who upgrade on purpose (before starting the API, or a
fleet of workers), and ``db current`` says where a database stands without changing it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from trialmirror.cli.app import Context, app, emit_json, fail, json_option
from trialmirror.store import schema
from trialmirror.store.engine import make_engine


@app.group("db")
def db_group() -> None:
    """The database's schema: its revision, and upgrading it."""


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
