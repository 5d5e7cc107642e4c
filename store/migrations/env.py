"""Alembic's environment: migrations run on the connection the store hands over (in its
transaction, under its lock), or on ``-x url=...`` / TRIALMIRROR_DATABASE_URL when a
developer runs ``python -m trialmirror.store.migrations``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from trialmirror.store import schema


def _run(connection: Connection) -> None:
    from sqlmodel import SQLModel

    import trialmirror.models.tables  # noqa: F401  (the models, for --autogenerate)

    context.configure(connection=connection, target_metadata=SQLModel.metadata,
                      include_object=schema.include_object, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from trialmirror.store.engine import make_engine

    # The developers' command: the store sits below the settings object, so it reads the
    # one variable it needs itself (the same default as the settings).
    url = (context.get_x_argument(as_dictionary=True).get("url")
           or os.environ.get("TRIALMIRROR_DATABASE_URL") or "sqlite:///trialmirror.db")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: the migrations read the database")
_main()
