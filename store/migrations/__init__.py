"""Alembic's migrations of the store's schema: one history for SQLite and PostgreSQL.

The store runs them itself (:mod:`trialmirror.store.schema`, configured here in code:
no alembic.ini). Developers make a new one with::

    python -m trialmirror.store.migrations revision --rev-id 0003 -m "what changes"
    python -m trialmirror.store.migrations revision --rev-id 0003 -m "..." --autogenerate \\
        -x url=sqlite:///scratch.db

(any ``alembic`` subcommand works the same way; ``-x url=`` names the database, else
``TRIALMIRROR_DATABASE_URL``), then set :data:`trialmirror.store.schema.HEAD` to it.
A migration is written out in full: it must not import the models, which will have
moved on by the time an old database runs it.
"""
