"""The ``trialmirror`` command's shared parts: the group, its context, options and output.

Every command family is a module of its own (``sync_cmds``, ``record_cmds``, ``read_cmds``,
``service_cmds``, ``db_cmds``, ``check_cmds``, ``reporting_cmds``) that registers its commands on :data:`app`;
:mod:`trialmirror.cli.main` loads them all. Readable tables by default, ``--json`` for
machines. Exit status 1 when any record failed (one line per failure on stderr: which
record, which source, why, what to do), 2 for a usage or configuration error, and for a
problem of the storage (a full disk, a read-only or damaged database, a file an export
cannot write: one line naming the file and what to do).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson
from pydantic import ValidationError
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as _RichTable
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from trialmirror import __version__
from trialmirror.errors import ConfigError, StorageError, TrialmirrorError
from trialmirror.ingest.sources import LIVE, SOURCES, get_source
from trialmirror.ingest.sources.base import Source
from trialmirror.models.bounds import Bound
from trialmirror.settings import Settings
from trialmirror.store import Store, integrity, open_for_reading
from trialmirror.store.service_state import ServiceState
from trialmirror.urls import masked


def emit_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then the exit status (a console of its own: it may come before
    the context exists, and it reads the terminal's width now). A URL's password in the
    message is masked: whatever put it there, it is not printed."""
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(masked(message))}",
                                               highlight=False)
    sys.exit(code)


# The commands that only read the store: they open it read-only (so they read read-only
# media, and never wait for the write lock) and refuse a database that does not exist
# instead of making an empty one where a mistyped path points.
READERS = frozenset({"show", "history", "diff", "timeline", "reconcile", "changes", "search",
                     "export", "drift", "serve", "reporting"})
# The commands that store what they fetch or derive: on SQLite they check the database
# first when its last check is older than TRIALMIRROR_DB_CHECK_INTERVAL (a write touches
# a few pages and would not meet damage elsewhere).
CHECK_FIRST = frozenset({"sync", "backfill", "reparse"})
# The commands that store versions: when they end, the ranked search index is brought up
# to date (store/ranked.py), so that searches do not wait for it. The service's rounds
# and `search --reindex` do it themselves.
INDEXING = frozenset({"sync", "backfill", "reparse"})


_TOKEN_MAX = 40  # longer words (URLs, long paths) fold across lines instead
_WRAP_MIN = 16  # a wrapping column keeps at least this much room (or its own width)
_PIPED_WIDTH = 1000  # stdout not a terminal, COLUMNS unset: lines as long as they are


def _token(cell: object) -> str | None:
    """The cell's text when it is one word of at most _TOKEN_MAX characters, else None."""
    text = Text.from_markup(cell) if isinstance(cell, str) else cell
    if not isinstance(text, Text) or any(c.isspace() for c in text.plain) or cell_len(text.plain) > _TOKEN_MAX:
        return None
    return text.plain


def _plain_width(cell: object) -> int:
    text = Text.from_markup(cell) if isinstance(cell, str) else cell
    return cell_len(text.plain) if isinstance(text, Text) else _WRAP_MIN


class Table(_RichTable):
    """Every table the CLI prints, with one rule for narrow widths: a column whose cells are
    all single words (ids, sources, kinds, outcomes, numbers, dates) is never wrapped or
    cut, and every other column wraps (a long word folds), so nothing ends in "…". Rich
    used to squeeze every column alike, so at 80 columns a record's id came out as
    ``NCT013422…``. When the whole words and a little room for the rest do not fit the
    console, the table is printed wider than the console rather than cut."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        needed = self._extra_width
        for column in self.columns:
            tokens = [_token(cell) for cell in column.cells]
            padding = self._get_padding_width(column._index)
            header = cell_len(str(column.header))
            if tokens and all(t is not None for t in tokens):
                column.no_wrap = True
                needed += padding + max(header, *(cell_len(t or "") for t in tokens))
            else:
                column.no_wrap, column.overflow = False, "fold"
                natural = max([header, *(_plain_width(cell) for cell in column.cells)])
                needed += padding + min(natural, _WRAP_MIN)
        if needed > options.max_width:
            options = options.update_width(needed)
        yield from super().__rich_console__(console, options)


class Context:
    """One invocation: its settings, its consoles (made now, so they read the terminal's
    width of this run), and the store and service state, opened on first use (read-only
    for the ``command``s in :data:`READERS`, unless one sets ``reading`` False before)."""

    def __init__(self, settings: Settings, command: str | None = None):
        self.settings, self.command = settings, command
        self.reading = command in READERS
        self.out = Console(soft_wrap=True)
        if not self.out.is_terminal and "COLUMNS" not in os.environ:
            # A pipe or a file has no width: tables at their natural width, one line per
            # row, not squeezed into rich's default of 80 columns (COLUMNS still sets one).
            self.out.width = _PIPED_WIDTH
        self.err = Console(stderr=True, soft_wrap=True)
        self._store: Store | None = None
        self._state: ServiceState | None = None

    def progress(self, *, eta: bool = True) -> Progress:
        """Bars on stderr while the work runs, gone after it; none where stderr is not a
        terminal (a log or a pipe would keep only a stray blank line of them)."""
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
        return Progress(*columns, *([TimeRemainingColumn()] if eta else []), console=self.err,
                        transient=True, disable=not self.err.is_terminal)

    @property
    def state(self) -> ServiceState:
        """The service's state in the store, the watchlist seeded from the settings once."""
        if self._state is None:
            self._state = ServiceState(self.store)
            self._state.seed_watchlist(self.settings.watchlist_ids(), self.settings.source_names())
        return self._state

    def watched_ids(self, source: str) -> list[str]:
        return [w.registry_id for w in self.state.watched(source)]

    def pinned_url(self, source: str, registry_id: str) -> str | None:
        return self.state.pinned_url(source, registry_id)

    def close(self) -> None:
        """At the end of the invocation: a command that stored versions brings the ranked
        search index up to date (:data:`INDEXING`); a PostgreSQL connection left to the
        garbage collector is a ResourceWarning, and the server holds it until then."""
        if self._store is not None:
            if self.command in INDEXING:
                self._store.catch_up_search()
            self._store.close()
            self._store = None

    @property
    def store(self) -> Store:
        if self._store is None:
            url = self.settings.database_url
            try:
                self._store = (open_for_reading(url, search_dir=self.settings.search_dir) if self.reading
                               else Store(url, search_dir=self.settings.search_dir))
                if self.command in CHECK_FIRST and not self.reading:
                    integrity.before_writing(self._store, self.settings.db_check_interval,
                                             by=f"trialmirror {self.command}")
            except (SQLAlchemyError, ValueError) as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                fail(f"cannot open the database {self.settings.database_url!r}: {reason}. "
                      "Check TRIALMIRROR_DATABASE_URL (or --database-url).", 2)
        return self._store


source_option = click.option(
    "--source", "source_name", default=LIVE, show_default=True,
    help=f"Source name: {', '.join(sorted(SOURCES))}.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


class _Day(click.ParamType):
    """A date option, YYYY-MM-DD, as a datetime at midnight; a date that does not exist
    (2024-02-30) says so, as the API does, instead of naming a format string."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.strptime(str(value).strip(), "%Y-%m-%d")
        except ValueError:
            self.fail(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2024-01-31", param, ctx)


DAY = _Day()


def whole(bound: Bound) -> click.IntRange:
    """An integer option within ``bound`` (models/bounds.py, the API's too): a number out
    of it is a usage error stating the range, exit 2, before the store sees it."""
    return click.IntRange(bound.low, bound.high)


class _Commands(click.Group):
    """Wherever a command meets a configuration error (an optional dependency that is not
    installed: serve, worker, a broker, Parquet, PostgreSQL; a database URL trialmirror
    cannot use) or a problem of the storage (full, read-only, damaged, missing): one line
    naming what and what to do, exit 2; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, StorageError) as exc:
            fail(str(exc), 2)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="trialmirror")
@click.option("--database-url", envvar="TRIALMIRROR_DATABASE_URL", default=None,
              help="SQLAlchemy URL [env TRIALMIRROR_DATABASE_URL; default sqlite:///trialmirror.db]")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A TOML settings file [env TRIALMIRROR_CONFIG]; the environment wins over it.")
@click.pass_context
def app(ctx: click.Context, database_url: str | None, config_file: Path | None) -> None:
    """Clinical-trial registry records: fetched politely, normalized, versioned, diffed."""
    try:
        settings = (Settings.load(config_file, database_url=database_url) if database_url
                    else Settings.load(config_file))
    except ValidationError as exc:
        fail(_setting_error(exc), 2)
    except ValueError as exc:  # the settings file
        fail(str(exc), 2)
    ctx.obj = Context(settings, ctx.invoked_subcommand)
    ctx.call_on_close(ctx.obj.close)


def _setting_error(exc: ValidationError) -> str:
    """"invalid setting TRIALMIRROR_CANARY_ID: 'x' is not ..." from pydantic's first error."""
    first = exc.errors()[0]
    name = "TRIALMIRROR_" + "_".join(str(part) for part in first["loc"]).upper()
    reason = first["msg"].removeprefix("Value error, ")
    return f"invalid setting {name}: {reason}"


def source_named(name: str) -> Source:
    try:
        return get_source(name)
    except ConfigError as exc:
        fail(str(exc), 2)


def normalize_id(source_name: str, registry_id: str) -> str:
    try:
        return source_named(source_name).validate_id(registry_id)
    except TrialmirrorError as exc:
        fail(str(exc), 2)
