"""Fetching: ``sync`` (records, a source's history, or the whole registry) and ``backfill``."""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import click
from rich.markup import escape

from trialmirror.cli.app import Context, Table, app, emit_json, fail, json_option, source_named
from trialmirror.cli.reporting_cmds import print_overdue
from trialmirror.errors import TrialmirrorError
from trialmirror.ingest.runs.pipeline import Ingestor, RecordResult, RunSummary, sync
from trialmirror.ingest.sources import HISTORY, LIVE, SOURCES, registry_first
from trialmirror.read.timeline import milestone_text
from trialmirror.schedules.dispatch import Enqueued, dispatch

PROGRESS_THRESHOLD = 5  # show a progress bar from this many records up


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
        for news in result.events[1:]:  # the version's milestones: results posted, annotated
            detail += f"; {milestone_text(news['kind'], news['data']) or news['kind']}"
    return (result.registry_id, result.source, result.outcome,
            "" if result.version is None else str(result.version), detail)


@app.command("sync")
@click.argument("ids", nargs=-1)
@click.option("--source", "source_names", multiple=True, default=(LIVE,), show_default=True,
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
            fail("--all and --query take no ids and read ClinicalTrials.gov (ctgov) only", 2)
        if obj.settings.broker_url and full and not query:
            from trialmirror.schedules.tasks import enqueue_full_load

            obj.out.print(f"enqueued a full load in {enqueue_full_load(obj.settings)} date slices for the "
                      "workers (`trialmirror worker`); later `sync --all` runs are incremental",
                      highlight=False)
            return
        _bulk(obj, query, not full, as_json)
        return
    names = registry_first(list(source_names))
    for name in names:
        source_named(name)
    summary = RunSummary(source=",".join(names))
    enqueued = ran_here = False
    for name in names:
        registry_ids = list(ids) or obj.watched_ids(name)
        if not registry_ids:
            obj.err.print(f"nothing to sync from {name}: give ids, or `trialmirror watch add ID --source "
                          f"{name}`", highlight=False)
            continue
        try:
            result = dispatch(obj.settings, name, registry_ids, partial(_sync, obj, name, registry_ids))
        except TrialmirrorError as exc:  # an id the workers could only fail
            fail(str(exc), 2)
        if isinstance(result, Enqueued):
            obj.out.print(f"enqueued {result.count} {name} record task(s) for the workers "
                          "(`trialmirror worker`)", highlight=False)
            enqueued = True
            continue
        ran_here = True
        summary.results.extend(result.results)  # a sync of the history is a backfill
        summary.listed = summary.listed or result.listed
    if ran_here or not enqueued:
        _report(obj, summary, as_json, obj.store.note_overdue())  # the clock's news too


def _bulk(obj: Context, query: str | None, incremental: bool, as_json: bool) -> None:
    from trialmirror.ingest.runs.bulk import bulk_sync

    progress = obj.progress()
    task = progress.add_task("sync --all" if not query else f"sync --query {query}", total=None)

    def on_page(result: Any) -> None:
        progress.update(task, completed=result.records, total=result.total_count)

    try:
        with progress:
            result = bulk_sync(Ingestor(obj.settings, obj.store), query=query, incremental=incremental,
                               on_page=on_page)
    except TrialmirrorError as exc:
        fail(f"{exc} The pages stored so far are kept: run the same command again to resume.")
    except KeyboardInterrupt:
        fail("interrupted; pages stored so far are kept, run the same command again to resume", 130)
    overdue: list[str] = [e["registry_id"] for e in obj.store.note_overdue()]  # the clock's news
    summary = {"name": result.name, "since": result.since, "resumed": result.resumed,
               "pages": result.pages, "records": result.records, "outcomes": result.outcomes,
               "total_count": result.total_count, "stored": result.stored,
               "failed": [{"registry_id": r.registry_id, "error": str(r.error)} for r in result.failed],
               "vanished": result.vanished, "reappeared": result.reappeared,
               "merged": [list(m) for m in result.merged],
               "complete": result.complete,
               "overdue": overdue}
    if as_json:
        emit_json(summary)
    else:
        what = f"since {result.since}" if result.since else "full load"
        obj.out.print(f"{result.name} ({what}{', resumed' if result.resumed else ''}): {result.pages} pages, "
                  f"{result.records} records: " + ", ".join(f"{n} {k}" for k, n in sorted(result.outcomes.items())),
                  highlight=False)
        if result.stored is not None:
            obj.out.print(f"completeness: {result.stored} stored of {result.total_count} the registry counts; "
                      f"{len(result.vanished)} vanished, {len(result.merged)} merged into others",
                      highlight=False)
        if overdue:
            obj.out.print(f"{len(overdue)} record(s) whose results became overdue (`trialmirror changes "
                          "--kind overdue`): " + ", ".join(overdue[:20])
                          + (" ..." if len(overdue) > 20 else ""), highlight=False)
        if result.reappeared:
            obj.out.print(f"{len(result.reappeared)} listed again after they had vanished: "
                      + ", ".join(result.reappeared[:20]) + (" ..." if len(result.reappeared) > 20 else ""),
                      highlight=False)
    for failure in result.failed[:50]:
        obj.err.print(f"[red]failed:[/red] {escape(str(failure.error))}", highlight=False)
    if not result.complete:
        short = ((result.total_count or 0) - (result.stored or 0)) if result.stored is not None else 0
        fail(f"incomplete: {len(result.failed)} record(s) failed"
              + (f", {short} fewer stored than the registry counts" if short > 0 else "")
              + "; run the same command again to retry them")


def _sync(obj: Context, source_name: str, registry_ids: list[str], *, what: str = "sync",
          stored: str = "records", finish: str = "finish") -> RunSummary:
    """A bar over the records (from a few up), and one over each record's versions
    when its source lists them (a history)."""
    progress = obj.progress()
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
        fail(f"interrupted; {stored} stored so far are kept, run {what} again to {finish}", 130)


def _report(obj: Context, summary: RunSummary, as_json: bool, overdue: list[dict[str, Any]] | None = None) -> None:
    """The result table (or JSON), a line per record whose results became overdue (the
    ``overdue`` events ``note_overdue`` noted), one line per failure on stderr, exit 1 on any
    failure."""
    if as_json:
        emit_json([{
            "registry_id": r.registry_id, "source": r.source, "outcome": r.outcome,
            "version": r.version, "events": [{k: v for k, v in e.items() if k != "occurred_at"}
                                             for e in r.events],
            "error": {"family": r.error.family, "message": str(r.error)} if r.error else None,
        } for r in summary.results])
    else:
        table = Table("record", "source", "outcome", "version", "detail", title=None)
        for result in summary.results:
            table.add_row(*_result_row(result))
        obj.out.print(table)
        counts = ", ".join(f"{n} {k}" for k, n in sorted(summary.counts.items()))
        what = "records" if summary.source in SOURCES and not summary.listed else "results"
        count = len(summary.results)
        obj.out.print(f"{count} {what if count != 1 else what[:-1]}: {counts}", highlight=False)
        print_overdue(obj, overdue or [])
    for failure in summary.failures:
        obj.err.print(f"[red]failed:[/red] {escape(str(failure.error))}", highlight=False)
    if summary.failures:
        sys.exit(1)


@app.command("backfill")
@click.argument("ids", nargs=-1)
@json_option
@click.pass_obj
def backfill_cmd(obj: Context, ids: tuple[str, ...], as_json: bool) -> None:
    """Fetch every published version of IDS (default: the watchlist) from the record
    history that is not stored yet; resumable, a second run fetches only the list."""
    registry_ids = list(ids) or obj.watched_ids(HISTORY)
    if not registry_ids:
        fail(f"nothing to backfill: give ids, or `trialmirror watch add ID --source {HISTORY}`", 2)
    _report(obj, _sync(obj, HISTORY, registry_ids, what="backfill", stored="versions", finish="resume"), as_json)
