"""``check``: the canary. Is every source still readable?"""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.text import Text

from trialmirror.cli.app import Context, Table, app, emit_json, json_option, source_named
from trialmirror.cli.reporting_cmds import print_overdue
from trialmirror.ingest.runs.canary import Canary, CheckReport, SourceCheck
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import SOURCES

DRIFT_SHOWN = 10  # flags listed per source in the table view; --json lists them all


def _reachable(check: SourceCheck) -> str:
    if check.reachable:
        return f"yes ({check.http_status})"
    if check.http_status is not None:
        return f"no (HTTP {check.http_status})"
    return "no" if check.failure in ("unreachable", "give_up") else "—"


def _layout(check: SourceCheck) -> Text:
    if check.layout_recognised is None:
        return Text("—")
    return Text("yes", style="green") if check.layout_recognised else Text("no", style="bold red")


def _result(check: SourceCheck) -> Text:
    if check.ok:
        return Text("ok", style="green")
    what = (check.failure or "failed").replace("_", " ")
    if check.missing:
        what = f"missing {', '.join(check.missing)}"
    return Text(f"FAILED: {what}", style="bold red")


def render(obj: Context, report: CheckReport) -> None:
    obj.out.print(f"{report.registry_id} read from each source:", highlight=False)
    table = Table("source", "reachable", "layout", "fields", "drift", "result")
    for c in report.sources:
        table.add_row(c.source, _reachable(c), _layout(c),
                      "—" if c.fields_read is None else str(c.fields_read), str(len(c.drift)), _result(c))
    obj.out.print(table)
    for c in report.sources:
        for flag in c.drift[:DRIFT_SHOWN]:
            obj.out.print(Text(f"drift [{c.source}] {flag.get('path', '?')} {flag.get('action', 'kept')} "
                               f"{flag.get('value')!r}", style="yellow"))
        if len(c.drift) > DRIFT_SHOWN:
            obj.out.print(f"drift [{c.source}] ... {len(c.drift) - DRIFT_SHOWN} more (--json lists all)",
                          highlight=False)
    failed = [c.source for c in report.failures]
    ok = len(report.sources) - len(failed)
    obj.out.print(f"{len(report.sources)} source(s) checked on {report.registry_id}: {ok} ok"
                  + (f", {len(failed)} failed ({', '.join(failed)})" if failed else ""), highlight=False)


@app.command("check")
@click.option("--source", "source_names", multiple=True,
              help=f"Source, repeatable: {', '.join(sorted(SOURCES))} [default: TRIALMIRROR_SOURCES, "
                   "all four].")
@json_option
@click.pass_obj
def check_cmd(obj: Context, source_names: tuple[str, ...], as_json: bool) -> None:
    """Is every source still readable? Fetch one known record (TRIALMIRROR_CANARY_ID,
    NCT01342250) from each source, read it, and say per source: reachable, layout
    recognised, fields read, drift flags. Nothing is stored but the fetch log, the
    result `status` shows, and an `overdue` event for each record whose results became
    overdue since (as the service's rounds note them); exit 1 when a source fails, one line
    each on stderr."""
    names = list(source_names) or obj.settings.source_names()
    for name in names:
        source_named(name)
    report = Canary(Ingestor(obj.settings, obj.store, pinned=obj.pinned_url)).run(names)
    obj.state.record_check({c.source: c.summary() for c in report.sources}, at=report.checked_at,
                           by="check")
    overdue = obj.store.note_overdue()  # a daily check notes what the days made overdue
    if as_json:
        emit_json(report.as_dict())
    else:
        render(obj, report)
        print_overdue(obj, overdue)
    for c in report.failures:
        obj.err.print(f"[red]failed:[/red] {escape(f'[{c.source}] {c.registry_id}: {c.reason}')}",
                      highlight=False)
    if report.failures:
        sys.exit(1)
