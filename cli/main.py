"""``trialmirror``: sync records and read what the store holds.

Readable tables by default, ``--json`` for machines. Exit status 1 when any
record failed (one line per failure on stderr: which record, which source,
why, what to do), 2 for a usage or configuration error.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from trialmirror import __version__
from trialmirror.ingest.errors import ConfigError, MissingExtraError, TrialmirrorError
from trialmirror.ingest.runs.pipeline import Ingestor, RecordResult, RunSummary, sync
from trialmirror.ingest.settings import Settings
from trialmirror.ingest.sources import HISTORY, LIVE, MIRRORS, SOURCES, get_source, registry_first
from trialmirror.store.core import EVENT_KINDS, Store

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
PROGRESS_THRESHOLD = 5  # show a progress bar from this many records up


def _emit_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    sys.exit(code)


class Context:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._state: Any = None

    @property
    def state(self) -> Any:
        """The service's state in the store, the watchlist seeded from the settings once."""
        if self._state is None:
            from trialmirror.schedules.state import ServiceState

            self._state = ServiceState(self.store)
            self._state.seed_watchlist(self.settings.watchlist_ids(), self.settings.source_names())
        return self._state

    def watched_ids(self, source: str) -> list[str]:
        return [w.registry_id for w in self.state.watched(source)]

    def pinned_url(self, source: str, registry_id: str) -> str | None:
        return self.state.pinned_url(source, registry_id)  # type: ignore[no-any-return]

    @property
    def store(self) -> Store:
        if self._store is None:
            try:
                self._store = Store(self.settings.database_url)
            except (SQLAlchemyError, ValueError) as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                _fail(f"cannot open the database {self.settings.database_url!r}: {reason}. "
                      "Check TRIALMIRROR_DATABASE_URL (or --database-url).", 2)
        return self._store


source_option = click.option(
    "--source", "source_name", default="ctgov", show_default=True,
    help=f"Source name: {', '.join(sorted(SOURCES))}.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


class _Commands(click.Group):
    """Wherever a command meets an optional dependency that is not installed (serve,
    worker, a broker, Parquet, PostgreSQL): one line naming the extra, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MissingExtraError as exc:
            _fail(str(exc), 2)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="trialmirror")
@click.option("--database-url", envvar="TRIALMIRROR_DATABASE_URL", default=None,
              help="SQLAlchemy URL [env TRIALMIRROR_DATABASE_URL; default sqlite:///trialmirror.db]")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A TOML settings file [env TRIALMIRROR_CONFIG]; the environment wins over it.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, config_file: Path | None) -> None:
    """Clinical-trial registry records: fetched politely, normalized, versioned, diffed."""
    global out, err
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)  # read COLUMNS now
    try:
        settings = (Settings.load(config_file, database_url=database_url) if database_url
                    else Settings.load(config_file))
    except ValidationError as exc:
        _fail(f"invalid setting: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", 2)
    except ValueError as exc:  # the settings file
        _fail(str(exc), 2)
    ctx.obj = Context(settings)


def _source(name: str) -> Any:
    try:
        return get_source(name)
    except ConfigError as exc:
        _fail(str(exc), 2)


def _result_row(result: RecordResult) -> tuple[str, ...]:
    detail = ""
    if result.error:
        detail = f"{result.error.family}: {result.error.reason}"
    elif result.events:
        event = result.events[0]
        status = event["data"].get("status")
        detail = event["kind"]
        if status and event["kind"] == "status_change":
            detail += f" {status['old']} → {status['new']}"
        if event["data"]["kinds"]:
            detail += f" ({', '.join(event['data']['kinds'])})"
    return (result.registry_id, result.source, result.outcome,
            "" if result.version is None else str(result.version), detail)


@main.command("sync")
@click.argument("ids", nargs=-1)
@click.option("--source", "source_names", multiple=True, default=("ctgov",), show_default=True,
              help=f"Source name, repeatable: {', '.join(sorted(SOURCES))}. ClinicalTrials.gov "
                   "sources run first (mirrors find their pages by its title).")
@click.option("--all", "all_records", is_flag=True,
              help="Every ClinicalTrials.gov record (paged search); after a first full load, "
                   "only what changed since (LastUpdatePostDate, with an overlap).")
@click.option("--query", default=None, help="A ClinicalTrials.gov search expression (query.term) "
                                            "instead of --all.")
@click.option("--full", is_flag=True, help="With --all/--query: a full load even after one finished.")
@json_option
@click.pass_obj
def sync_cmd(obj: Context, ids: tuple[str, ...], source_names: tuple[str, ...], all_records: bool,
             query: str | None, full: bool, as_json: bool) -> None:
    """Fetch IDS (default: the watchlist, TRIALMIRROR_WATCHLIST) and store new versions;
    or, with --all or --query, every matching ClinicalTrials.gov record."""
    if all_records or query:
        if ids or source_names != (LIVE,):  # the registry's live source has the search
            _fail("--all and --query take no ids and read ClinicalTrials.gov (ctgov) only", 2)
        if obj.settings.broker_url and full and not query:
            from trialmirror.schedules.tasks import enqueue_full_load

            out.print(f"enqueued a full load in {enqueue_full_load(obj.settings)} date slices for the "
                      "workers (`trialmirror worker`); later `sync --all` runs are incremental",
                      highlight=False)
            return
        _bulk(obj, query, not full, as_json)
        return
    names = registry_first(list(source_names))
    for name in names:
        _source(name)
    if obj.settings.broker_url:  # distributed mode: workers do the fetching
        from trialmirror.schedules.tasks import enqueue

        for name in names:
            registry_ids = [_normalize_id(name, i) for i in ids] or obj.watched_ids(name)
            out.print(f"enqueued {enqueue(obj.settings, name, registry_ids)} {name} record task(s) "
                      f"for the workers (`trialmirror worker`)", highlight=False)
        return
    summary = RunSummary(source=",".join(names))
    for name in names:
        registry_ids = list(ids) or obj.watched_ids(name)
        if not registry_ids:
            err.print(f"nothing to sync from {name}: give ids, or `trialmirror watch add ID --source "
                      f"{name}`", highlight=False)
            continue
        part = _sync(obj, name, registry_ids)  # a sync of the history is a backfill
        summary.results.extend(part.results)
        summary.listed = summary.listed or part.listed
    _report(summary, as_json)


def _bulk(obj: Context, query: str | None, incremental: bool, as_json: bool) -> None:
    from trialmirror.ingest.runs.bulk import bulk_sync

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err, transient=True)
    task = progress.add_task("sync --all" if not query else f"sync --query {query}", total=None)

    def on_page(result: Any) -> None:
        progress.update(task, completed=result.records, total=result.total_count)

    try:
        with progress:
            result = bulk_sync(Ingestor(obj.settings, obj.store), query=query, incremental=incremental,
                               on_page=on_page)
    except TrialmirrorError as exc:
        _fail(f"{exc} The pages stored so far are kept: run the same command again to resume.")
    except KeyboardInterrupt:
        _fail("interrupted; pages stored so far are kept, run the same command again to resume", 130)
    summary = {"name": result.name, "since": result.since, "resumed": result.resumed,
               "pages": result.pages, "records": result.records, "outcomes": result.outcomes,
               "total_count": result.total_count, "stored": result.stored,
               "failed": [{"registry_id": r.registry_id, "error": str(r.error)} for r in result.failed],
               "vanished": result.vanished, "reappeared": result.reappeared,
               "merged": [list(m) for m in result.merged],
               "complete": result.complete}
    if as_json:
        _emit_json(summary)
    else:
        what = f"since {result.since}" if result.since else "full load"
        out.print(f"{result.name} ({what}{', resumed' if result.resumed else ''}): {result.pages} pages, "
                  f"{result.records} records: " + ", ".join(f"{n} {k}" for k, n in sorted(result.outcomes.items())),
                  highlight=False)
        if result.stored is not None:
            out.print(f"completeness: {result.stored} stored of {result.total_count} the registry counts; "
                      f"{len(result.vanished)} vanished, {len(result.merged)} merged into others",
                      highlight=False)
        if result.reappeared:
            out.print(f"{len(result.reappeared)} listed again after they had vanished: "
                      + ", ".join(result.reappeared[:20]) + (" ..." if len(result.reappeared) > 20 else ""),
                      highlight=False)
    for failure in result.failed[:50]:
        err.print(f"[red]failed:[/red] {escape(str(failure.error))}", highlight=False)
    if not result.complete:
        short = ((result.total_count or 0) - (result.stored or 0)) if result.stored is not None else 0
        _fail(f"incomplete: {len(result.failed)} record(s) failed"
              + (f", {short} fewer stored than the registry counts" if short > 0 else "")
              + "; run the same command again to retry them")


def _sync(obj: Context, source_name: str, registry_ids: list[str], *, what: str = "sync",
          stored: str = "records", finish: str = "finish") -> RunSummary:
    """A bar over the records (from a few up), and one over each record's versions
    when its source lists them (a history)."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err, transient=True)
    bar = progress.add_task(f"{what} {source_name}", total=len(registry_ids),
                            visible=len(registry_ids) >= PROGRESS_THRESHOLD)
    listed: dict[str, Any] = {}

    def advance(registry_id: str, done: int, total: int) -> None:
        if registry_id not in listed:
            listed[registry_id] = progress.add_task(f"{what} {registry_id}", total=total)
        progress.update(listed[registry_id], completed=done)

    try:
        with progress:
            return sync(obj.settings, source_name, registry_ids, store=obj.store,
                        on_result=lambda _r: progress.advance(bar), pinned=obj.pinned_url,
                        on_progress=advance)
    except KeyboardInterrupt:
        # Each record is its own transaction: what was stored stays, nothing is half-written.
        _fail(f"interrupted; {stored} stored so far are kept, run {what} again to {finish}", 130)


def _report(summary: RunSummary, as_json: bool) -> None:
    """The result table (or JSON), one line per failure on stderr, exit 1 on any failure."""
    if as_json:
        _emit_json([{
            "registry_id": r.registry_id, "source": r.source, "outcome": r.outcome,
            "version": r.version, "events": [{k: v for k, v in e.items() if k != "occurred_at"}
                                             for e in r.events],
            "error": {"family": r.error.family, "message": str(r.error)} if r.error else None,
        } for r in summary.results])
    else:
        table = Table("record", "source", "outcome", "version", "detail", title=None)
        for result in summary.results:
            table.add_row(*_result_row(result))
        out.print(table)
        counts = ", ".join(f"{n} {k}" for k, n in sorted(summary.counts.items()))
        what = "records" if summary.source in SOURCES and not summary.listed else "results"
        count = len(summary.results)
        out.print(f"{count} {what if count != 1 else what[:-1]}: {counts}", highlight=False)
    for failure in summary.failures:
        err.print(f"[red]failed:[/red] {escape(str(failure.error))}", highlight=False)
    if summary.failures:
        sys.exit(1)


@main.command("backfill")
@click.argument("ids", nargs=-1)
@json_option
@click.pass_obj
def backfill_cmd(obj: Context, ids: tuple[str, ...], as_json: bool) -> None:
    """Fetch every published version of IDS (default: the watchlist) from the record
    history that is not stored yet; resumable, a second run fetches only the list."""
    registry_ids = list(ids) or obj.watched_ids(HISTORY)
    if not registry_ids:
        _fail(f"nothing to backfill: give ids, or `trialmirror watch add ID --source {HISTORY}`", 2)
    _report(_sync(obj, HISTORY, registry_ids, what="backfill", stored="versions", finish="resume"), as_json)


def _require_version(store: Store, registry_id: str, source: str, number: int | None) -> Any:
    from trialmirror.read.records import NotStored, version_row

    try:
        return version_row(store, registry_id, source, number)
    except NotStored as exc:
        _fail(str(exc))


def _as_of(store: Store, registry_id: str, source_name: str | None, day: str) -> Any:
    from trialmirror.read.records import NotStored, as_of_row

    try:
        row = as_of_row(store, registry_id, day, source_name)
    except NotStored as exc:
        _fail(str(exc))
    err.print(escape(f"as of {day}: {registry_id} version {row.version} from {row.source}, valid "
                     f"from {row.valid_from}"), highlight=False)
    return row


def _normalize_id(source_name: str, registry_id: str) -> str:
    try:
        return _source(source_name).validate_id(registry_id)
    except TrialmirrorError as exc:
        _fail(str(exc), 2)


@main.command("show")
@click.argument("registry_id")
@click.option("--source", "source_name", default=None,
              help=f"Source name: {', '.join(sorted(SOURCES))} [default: ctgov; with --as-of, "
                   "both ClinicalTrials.gov sources].")
@click.option("--version", "number", type=int, default=None, help="A stored version (default: latest).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The version current on this date (YYYY-MM-DD), from valid_from.")
@json_option
@click.pass_obj
def show_cmd(obj: Context, registry_id: str, source_name: str | None, number: int | None,
             as_of: datetime | None, as_json: bool) -> None:
    """Show the normalized record (--json: exactly the record)."""
    registry_id = _normalize_id(source_name or LIVE, registry_id)
    if as_of is not None:
        row = _as_of(obj.store, registry_id, source_name, as_of.date().isoformat())
    else:
        row = _require_version(obj.store, registry_id, source_name or LIVE, number)
    record = orjson.loads(row.record)
    if as_json:
        _emit_json(record)
        return
    from trialmirror.cli.render import render_record

    out.print(render_record(record, row))


@main.command("timeline")
@click.argument("registry_id")
@click.option("--source", "source_name", default=None,
              help="ctgov_history or ctgov [default: ctgov_history when it holds versions].")
@json_option
@click.pass_obj
def timeline_cmd(obj: Context, registry_id: str, source_name: str | None, as_json: bool) -> None:
    """Status periods (from, to, days, versions) and the change kinds of every version."""
    from trialmirror.read.records import NotStored, timeline, timeline_source

    registry_id = _normalize_id(source_name or LIVE, registry_id)
    source_name = timeline_source(obj.store, registry_id, source_name)
    try:
        periods, rows = timeline(obj.store, registry_id, source_name)
    except NotStored as exc:
        _fail(str(exc))
    if as_json:
        _emit_json([p.as_json() for p in periods])
        return
    table = Table("status", "from", "to", "days", "versions", title=escape(f"{registry_id} [{source_name}]"))
    for p in periods:
        table.add_row(p.status or "?", p.start, p.end or "(current)", "" if p.days is None else str(p.days),
                      ", ".join(map(str, p.versions)))
    out.print(table)
    for r in rows:
        kinds = sorted({c["kind"] for c in orjson.loads(r.diff)}) if r.diff else None
        what = "first version" if kinds is None else (", ".join(kinds) or "no change in the record")
        out.print(escape(f"v{r.version}  {r.valid_from or '?':10}  {r.overall_status or '?':24}  {what}"),
                  highlight=False)


@main.command("reconcile")
@click.argument("registry_id")
@click.option("--source", "source_names", multiple=True, default=None,
              help=f"A mirror, repeatable [default: every mirror with a capture: {', '.join(MIRRORS)}].")
@json_option
@click.pass_obj
def reconcile_cmd(obj: Context, registry_id: str, source_names: tuple[str, ...], as_json: bool) -> None:
    """Each mirror's latest capture against the ClinicalTrials.gov version current when it
    was captured: fields that agree, disagree, are not shown; and whether it is stale."""
    from trialmirror.read.reconcile import NothingToCompare, reconcile

    registry_id = _normalize_id(LIVE, registry_id)
    for name in source_names:
        if name not in MIRRORS:
            _fail(f"{name!r} is not a mirror; mirrors: {', '.join(MIRRORS)}", 2)
    try:
        report = reconcile(obj.store, registry_id, list(source_names or MIRRORS))
    except NothingToCompare as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(report)
        return
    from trialmirror.cli.render import render_reconciliation

    for entry in report["mirrors"]:
        out.print(render_reconciliation(registry_id, entry, SOURCES[entry["source"]].label))


@main.command("history")
@click.argument("registry_id")
@source_option
@json_option
@click.pass_obj
def history_cmd(obj: Context, registry_id: str, source_name: str, as_json: bool) -> None:
    """List the stored versions, oldest first."""
    registry_id = _normalize_id(source_name, registry_id)
    from trialmirror.read.records import version_meta

    items = [{k: v for k, v in version_meta(r).items() if k not in ("registry_id", "source")}
             for r in obj.store.versions(registry_id, source_name)]
    if as_json:
        _emit_json(items)
        return
    if not items:
        _fail(f"no stored version of {registry_id} from {source_name}; "
              f"run `trialmirror sync {registry_id}` first")
    table = Table("version", "valid from", "observed at (UTC)", "status", "content hash")
    for i in items:
        table.add_row(str(i["version"]), i["valid_from"] or "", i["observed_at"][:19],
                      i["status"] or "", i["content_hash"][:19])
    out.print(table)


@main.command("diff")
@click.argument("registry_id")
@source_option
@click.option("--from", "from_n", type=int, default=None, help="Older version (default: to - 1).")
@click.option("--to", "to_n", type=int, default=None, help="Newer version (default: latest).")
@json_option
@click.pass_obj
def diff_cmd(obj: Context, registry_id: str, source_name: str, from_n: int | None,
             to_n: int | None, as_json: bool) -> None:
    """Semantic diff between two versions (default: the latest against the one before)."""
    from trialmirror.read.records import NotStored, changes_between

    registry_id = _normalize_id(source_name, registry_id)
    try:
        old, new, changes = changes_between(obj.store, registry_id, source_name, from_n, to_n)
    except NotStored as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(changes)
        return
    from trialmirror.cli.render import render_changes

    out.print(escape(f"{registry_id} [{source_name}] version {old.version} → {new.version}: "
                     f"{len(changes)} change(s)"), highlight=False)
    if changes:
        out.print(render_changes(changes))


@main.command("changes")
@click.option("--after", type=int, default=0, show_default=True, help="Events after this seq.")
@click.option("--kind", type=click.Choice(EVENT_KINDS), default=None, help="Only this kind of event.")
@click.option("--limit", type=int, default=None, help="At most this many events.")
@click.option("--source", "source_names", multiple=True,
              help="Only events of this source, repeatable (the feed holds the mirrors' too).")
@json_option
@click.pass_obj
def changes_cmd(obj: Context, after: int, kind: str | None, limit: int | None,
                source_names: tuple[str, ...], as_json: bool) -> None:
    """The event log in seq order (a change feed): every new version, and notes about
    records (vanished from the registry's listing, reappeared in it, merged into another)."""
    for name in source_names:
        _source(name)
    from trialmirror.read.records import event_items

    items = event_items(obj.store.events(after=after, kind=kind, limit=limit,
                                         sources=list(source_names) or None))
    if as_json:
        _emit_json(items)
        return
    table = Table("seq", "record", "source", "version", "kind", "detail", "at (UTC)")
    for i in items:
        detail = ", ".join(i.get("kinds") or [])
        if i["kind"] == "status_change":
            detail = f"{i['status']['old']} → {i['status']['new']}" + (f" ({detail})" if detail else "")
        elif i["kind"] == "new_record" and i.get("status"):
            detail = str(i["status"]["new"])
        table.add_row(str(i["seq"]), i["registry_id"], i["source"], str(i["version"]), i["kind"],
                      detail, i["occurred_at"][:19])
    out.print(table)
    if items:
        out.print(f"next cursor: --after {items[-1]['seq']}", highlight=False)


from trialmirror.cli import db_cmds, read_cmds, service_cmds  # noqa: E402,F401  (register their commands)
