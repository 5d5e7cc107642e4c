"""The service's commands: ``run``, ``watch add|remove|list``, ``status``, ``worker``, and
``reparse`` (maintenance of what is stored)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape

from trialmirror.cli.app import Context, Table, app, emit_json, fail, json_option, normalize_id, source_named
from trialmirror.ingest.sources import LIVE
from trialmirror.store.engine import as_utc
from trialmirror.store.rows import Health
from trialmirror.urls import masked, page_url


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - as_utc(when)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit} ago"
    return f"{seconds:.0f}s ago"


@app.command("run")
@click.option("--name", default="main", show_default=True,
              help="This service's name; two services on one database need two names.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--once", is_flag=True, help="Run one round over every source, notify, and exit.")
@click.pass_obj
def run_cmd(obj: Context, name: str, log_format: str, once: bool) -> None:
    """Fetch the watchlist on schedules and notify on status changes, until stopped.

    Intervals: TRIALMIRROR_<SOURCE>_INTERVAL seconds (ctgov 6 h, the others daily);
    a first round at start. SIGTERM or Ctrl-C finishes the record in hand and exits 0.
    """
    from trialmirror.cli.logs import setup
    from trialmirror.schedules.service import NameTaken, Service

    setup(log_format)
    obj.store  # noqa: B018  (fails here, clearly, when the database cannot be opened)
    try:
        service = Service(obj.settings, name=name)
    except ValueError as exc:  # a bad name
        fail(str(exc), 2)
    if once:
        try:
            with service.holding_name():
                service.state.seed_watchlist(obj.settings.watchlist_ids(), obj.settings.source_names())
                summaries = service.round(service.sources())
        except NameTaken as exc:  # a running service holds the name
            fail(str(exc), 2)
        finally:
            service.store.close()
        sys.exit(1 if any(s.failures for s in summaries) or service.damage else 0)
    try:
        service.run_forever()
    except NameTaken as exc:
        fail(str(exc), 2)


@app.group("watch")
def watch_group() -> None:
    """The watchlist: which records the service and `sync` fetch, from which sources."""


def _sources_option(help_text: str) -> Any:
    return click.option("--source", "source_names", multiple=True, help=help_text)


def _checked_sources(names: tuple[str, ...], default: list[str]) -> list[str]:
    for name in names:
        source_named(name)
    return list(names) or default


@watch_group.command("add")
@click.argument("ids", nargs=-1, required=True)
@_sources_option("Source, repeatable [default: TRIALMIRROR_SOURCES, all four].")
@click.option("--url", default=None, help="Pin this page URL (or path) for a mirror source.")
@click.pass_obj
def watch_add(obj: Context, ids: tuple[str, ...], source_names: tuple[str, ...], url: str | None) -> None:
    """Watch IDS (from the given sources)."""
    sources = _checked_sources(source_names, obj.settings.source_names())
    if url and (len(ids) != 1 or not source_names):
        fail("--url pins one page: give one id and its --source", 2)
    if url is not None:
        try:
            url = page_url(url.strip(), "--url")  # checked now, not when a round fetches it
        except ValueError as exc:
            fail(str(exc), 2)
    registry_ids = [normalize_id(sources[0], i) for i in ids]
    added = obj.state.watch_add(registry_ids, sources, pinned_url=url)
    obj.out.print(f"watching {len(added)} new (record, source) pair(s)"
                  + (f"; pinned {masked(url)}" if url else ""), highlight=False)


@watch_group.command("remove")
@click.argument("ids", nargs=-1, required=True)
@_sources_option("Source, repeatable [default: every source].")
@click.pass_obj
def watch_remove(obj: Context, ids: tuple[str, ...], source_names: tuple[str, ...]) -> None:
    """Stop watching IDS (on the given sources); stored versions stay."""
    _checked_sources(source_names, [])
    state = obj.state
    removed = sum(state.watch_remove(normalize_id(LIVE, i), list(source_names) or None)
                  for i in ids)
    obj.out.print(f"removed {removed} (record, source) pair(s)", highlight=False)


@watch_group.command("list")
@json_option
@click.pass_obj
def watch_list(obj: Context, as_json: bool) -> None:
    """The watchlist, one row per (record, source)."""
    rows = obj.state.watched()
    items: list[dict[str, Any]] = [{"registry_id": r.registry_id, "source": r.source, "pinned_url": r.pinned_url and masked(r.pinned_url),
              "added_at": as_utc(r.added_at).isoformat()} for r in rows]
    if as_json:
        emit_json(items)
        return
    table = Table("record", "source", "pinned URL", "added (UTC)")
    for i in items:
        table.add_row(i["registry_id"], i["source"], i["pinned_url"] or "", i["added_at"][:19])
    obj.out.print(table)


def _service_summary(word: dict[str, Any] | None, beat: float, now: datetime) -> dict[str, Any]:
    if word is None:
        return {"state": "never_ran", "summary": "has never run on this database (`trialmirror run`)"}
    age = (now - datetime.fromisoformat(word["at"])).total_seconds()
    if word["state"] == "running" and age > max(3 * beat, 60):
        state = "silent"  # killed, or hung: no heartbeat for a while
        summary = f"SILENT: last heartbeat {_ago(datetime.fromisoformat(word['at']), now)} (pid {word['pid']})"
    elif word["state"] == "running":
        state, summary = "running", f"running (pid {word['pid']}, heartbeat {_ago(datetime.fromisoformat(word['at']), now)})"
    else:
        state, summary = "stopped", f"stopped {_ago(datetime.fromisoformat(word['at']), now)}"
    return {"state": state, "summary": summary, "pid": word.get("pid"), "last_heartbeat": word["at"]}


def _check_summary(last: dict[str, Any] | None, next_run: datetime | None) -> dict[str, Any] | None:
    """The canary's last result per source (``check``, or the service's daily check)."""
    if last is None:
        return None
    sources = [{"source": name, **entry} for name, entry in sorted(last["sources"].items())]
    return {"at": last["at"], "by": last["by"], "ok": all(s["ok"] for s in sources),
            "next_run": next_run.isoformat() if next_run else None, "sources": sources}


def _print_check(obj: Context, check: dict[str, Any] | None, now: datetime) -> None:
    if check is None:
        obj.out.print("sources never checked (`trialmirror check`; the service checks daily)",
                      highlight=False)
        return
    failed = [s["source"] for s in check["sources"] if not s["ok"]]
    next_run = f", next {check['next_run'][:19].replace('T', ' ')} UTC" if check["next_run"] else ""
    obj.out.print(f"sources last checked {_ago(datetime.fromisoformat(check['at']), now)} by {check['by']}"
                  f"{next_run}: {len(check['sources']) - len(failed)} ok"
                  + (f", {len(failed)} failed ({', '.join(failed)})" if failed else ""), highlight=False)
    table = Table("source", "record", "checked", "result")
    for s in check["sources"]:
        result = "[green]ok[/green]" if s["ok"] else f"[red]FAILED[/red]: {escape(s['reason'] or '')}"
        table.add_row(s["source"], s["registry_id"], _ago(datetime.fromisoformat(s["at"]), now), result)
    obj.out.print(table)


def _db_check_summary(last: dict[str, Any] | None, next_run: datetime | None) -> dict[str, Any] | None:
    """The database's last integrity check (``db check``, or the service's daily one)."""
    if last is None:
        return None
    return {**last, "next_run": next_run.isoformat() if next_run else None}


def _print_db_check(obj: Context, db: dict[str, Any] | None, now: datetime) -> None:
    if db is None:
        obj.out.print("database never checked (`trialmirror db check`; the service checks daily)",
                      highlight=False)
        return
    when = f"database last checked {_ago(datetime.fromisoformat(db['at']), now)} by {db['by']}"
    if db["ok"]:
        obj.out.print(f"{when}: [green]ok[/green] ({db['method']})", highlight=False)
        return
    count = db.get("problem_count", len(db["problems"]))
    obj.out.print(f"{when}: [red]DAMAGED[/red], {count} problem(s), first: "
                  f"{escape(db['problems'][0] if db['problems'] else '?')}; `trialmirror db check` "
                  "lists them", highlight=False)


_STATE_CELLS = {"ok": "[green]ok[/green]", "overdue": "[red]OVERDUE[/red]",
                "never_succeeded": "[yellow]never succeeded[/yellow]",
                "never_fetched": "[yellow]not fetched yet[/yellow]"}


def _judge(h: Health, added: datetime, limit: float, now: datetime) -> dict[str, Any]:
    """The record's state and the sentence that explains it. Lateness is measured from the
    last success, else from when trying began (added, or the first attempt if earlier);
    a failure explains it only when it came after that success: an old failure followed
    by many successes says nothing about why the record is late now."""
    since = as_utc(h.last_success) if h.last_success else min(
        added, as_utc(h.first_attempt) if h.first_attempt else added)
    overdue = (now - since).total_seconds() > limit
    if h.last_success is not None:
        why = f"last success {_ago(h.last_success, now)}"
    elif h.first_attempt is not None:
        why = f"never succeeded, tried since {_ago(since, now)}"
    else:
        why = f"never fetched, watched since {_ago(since, now)}"
    if overdue:
        why += f", longer than the {limit:g}s allowed"
    failed_since = h.last_failure is not None and (
        h.last_success is None or as_utc(h.last_failure) > as_utc(h.last_success))
    if failed_since and h.last_error:
        why += f"; {h.consecutive_failures} failure(s) since, the last {_ago(h.last_failure, now)}: {h.last_error}"
    elif overdue and h.last_success is not None:
        why += "; no attempt since (is the service running? `trialmirror run`)"
    state = ("overdue" if overdue else "ok" if h.last_success is not None
             else "never_succeeded" if h.first_attempt is not None else "never_fetched")
    return {"max_age_s": limit, "overdue": overdue, "state": state, "explanation": why}


@app.command("status")
@click.option("--max-age", type=float, default=None,
              help="Seconds without a success before a record counts as failing "
                   "[default: TRIALMIRROR_STALE_AFTER, else 3 intervals of its source].")
@click.option("--name", default="main", show_default=True, help="The service whose next runs to show.")
@json_option
@click.pass_obj
def status_cmd(obj: Context, max_age: float | None, name: str, as_json: bool) -> None:
    """Per source and record: last success, last failure and why, consecutive failures,
    next run; then the last check of the sources (`check`). Exit 1 when a record has gone
    without a success for longer than allowed."""
    from trialmirror.schedules.service import next_check, next_db_check, next_runs, service_state

    state = obj.state
    now = datetime.now(UTC)
    runs = next_runs(obj.store, name)
    service = _service_summary(service_state(obj.store, name), obj.settings.notify_interval, now)
    check = _check_summary(state.last_check(), next_check(obj.store, name))
    db_check = _db_check_summary(state.last_db_check(), next_db_check(obj.store, name))
    added = {(w.source, w.registry_id): as_utc(w.added_at) for w in state.watched()}
    items: list[dict[str, Any]] = []
    health = state.health()
    for h in health:
        limit = max_age or obj.settings.stale_after or 3 * obj.settings.interval(h.source)
        items.append({
            "source": h.source, "registry_id": h.registry_id,
            "last_success": h.last_success and as_utc(h.last_success).isoformat(),
            "last_failure": h.last_failure and as_utc(h.last_failure).isoformat(),
            "last_error_family": h.last_error_family, "last_error": h.last_error,
            "consecutive_failures": h.consecutive_failures,
            "next_run": runs[h.source].isoformat() if h.source in runs else None,
            **_judge(h, added[(h.source, h.registry_id)], limit, now)})
    if as_json:
        emit_json({"service": {"name": name, **service}, "records": items, "check": check,
                   "db_check": db_check})
    else:
        obj.out.print(f"service {name}: {service['summary']}", highlight=False)
        table = Table("source", "record", "last success", "last failure", "fails", "next run (UTC)",
                      "state")
        for i, h in zip(items, health, strict=True):
            why = f" ({i['last_error_family']})" if i["last_error_family"] else ""
            table.add_row(i["source"], i["registry_id"], _ago(h.last_success, now),
                          _ago(h.last_failure, now) + why, str(i["consecutive_failures"]),
                          (i["next_run"] or "not scheduled")[:19].replace("T", " "), _STATE_CELLS[i["state"]])
        obj.out.print(table)
        _print_check(obj, check, now)
        _print_db_check(obj, db_check, now)
        for i in items:
            if i["state"] != "ok":
                colour = "red" if i["overdue"] else "yellow"
                label = "overdue" if i["overdue"] else "not ok"
                line = f"[{i['source']}] {i['registry_id']}: {i['explanation']}"
                obj.err.print(f"[{colour}]{label}:[/{colour}] {escape(line)}", highlight=False)
    if not items:
        obj.err.print("nothing is watched: `trialmirror watch add ID`", highlight=False)
    if any(i["overdue"] for i in items):
        sys.exit(1)



@app.command("reparse")
@click.option("--source", "source_names", multiple=True, help="Only this source, repeatable.")
@click.option("--all", "everything", is_flag=True,
              help="Also records the current parser version made already.")
@json_option
@click.pass_obj
def reparse_cmd(obj: Context, source_names: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Re-derive the latest version of every record from its archived raw payload after a
    parser change: a new version (event `reparsed`) only where the record changed."""

    from trialmirror.ingest.runs.pipeline import Keeping
    from trialmirror.ingest.runs.reparse import reparse

    sources = _checked_sources(source_names, [])
    progress = obj.progress(eta=False)
    task = progress.add_task("reparse", total=None)
    with progress:
        result = reparse(obj.store, sources or None, everything=everything, keeping=Keeping.of(obj.settings),
                         progress=lambda done, total: progress.update(task, completed=done, total=total),
                         writers=obj.settings.writers)
    summary = {"looked_at": result.looked_at, "skipped": result.skipped, "unchanged": result.unchanged,
               "new_versions": result.new_versions,
               "failed": [{"source": s, "registry_id": i, "error": e} for s, i, e in result.failed]}
    if as_json:
        emit_json(summary)
    else:
        obj.out.print(f"{result.looked_at} records: {result.new_versions} new versions (reparsed), "
                      f"{result.unchanged} unchanged, {result.skipped} already parsed by this parser, "
                      f"{len(result.failed)} failed", highlight=False)
    for source, registry_id, error in result.failed:
        obj.err.print(f"[red]failed:[/red] {escape(f'[{source}] {registry_id}: {error}')}", highlight=False)
    if result.failed:
        sys.exit(1)


@app.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes on this machine.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def worker_cmd(obj: Context, concurrency: int, log_format: str) -> None:
    """A Celery worker for distributed mode (TRIALMIRROR_BROKER_URL): runs the record
    tasks `trialmirror sync` enqueues, against the shared database."""
    from trialmirror.cli.logs import setup
    from trialmirror.schedules.tasks import configure

    if not obj.settings.broker_url:
        fail("set TRIALMIRROR_BROKER_URL (amqp://... or redis://...) to run a worker", 2)
    setup(log_format)
    obj.store  # noqa: B018  (fails here, clearly, when the database cannot be opened)
    import os

    # A node name per process: two workers on one host must not share Celery's pidbox queue.
    configure(obj.settings).worker_main(["worker", "--concurrency", str(concurrency), "--loglevel",
                                         "WARNING", "--without-gossip", "--without-mingle",
                                         "--hostname", f"trialmirror-{os.getpid()}@%h"])
