"""``reporting``: where records stand on reporting their results under FDAAA, by the FDAAA
TrialsTracker's rules (models/reporting.py), on any date."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
import orjson
from rich.markup import escape
from rich.text import Text

from trialmirror.cli.app import DAY, Context, Table, app, emit_json, json_option, normalize_id, source_named
from trialmirror.ingest.sources import LIVE, REGISTRY
from trialmirror.models import reporting
from trialmirror.store.rows import VersionRow

_STYLE = {reporting.OVERDUE: "bold red", reporting.OVERDUE_CANCELLED: "bold red", reporting.REPORTED_LATE: "yellow",
          reporting.REPORTED: "green", reporting.NOT_APPLICABLE: "dim"}


def _rows(obj: Context, ids: tuple[str, ...], source_name: str | None, day: str | None) -> tuple[
        list[tuple[str, str, int, str | None, dict[str, Any]]], list[str], str | None]:
    """(registry id, source, version, valid from, record) of each record asked for, or of every
    record the store holds (its newest registry version, or the one current on ``day``), what
    could not be answered, and a note of the records left out for want of a version that old."""
    from trialmirror.read.records import NotStored, as_of_row, version_row

    if not ids:
        refs = obj.store.newest_registry_versions(REGISTRY, day)
        note = None
        if day is not None:
            later = len(obj.store.newest_registry_versions(REGISTRY)) - len(refs)
            if later:
                note = (f"{later} stored record{'s' if later != 1 else ''} left out: no version of "
                        f"{'them' if later != 1 else 'it'} is as old as {day} (captured later); "
                        "`trialmirror backfill` fetches their history")
        return [(ref.registry_id, ref.source, ref.version, ref.valid_from, orjson.loads(record))
                for ref, record in obj.store.records(refs)], [], note
    found, missing = [], []
    for given in ids:
        registry_id = normalize_id(source_name or LIVE, given)
        try:
            row: VersionRow = (as_of_row(obj.store, registry_id, day, source_name) if day
                               else version_row(obj.store, registry_id, source_name or LIVE))
        except NotStored as exc:
            missing.append(str(exc))
            continue
        found.append((row.registry_id, row.source, row.version, row.valid_from, orjson.loads(row.record)))
    return found, missing, None


@app.command("reporting")
@click.argument("ids", nargs=-1)
@click.option("--as-of", "as_of", type=DAY, default=None,
              help="The date asked about (YYYY-MM-DD) [default: today, UTC]; the version current that "
                   "day answers.")
@click.option("--source", "source_name", default=None,
              help="ctgov or ctgov_history [default: ctgov; with --as-of, both]; without IDS, "
                   "the newest version from either.")
@click.option("--state", "states", multiple=True, type=click.Choice(reporting.STATES),
              help="Only records in this state, repeatable.")
@json_option
@click.pass_obj
def reporting_cmd(obj: Context, ids: tuple[str, ...], as_of: datetime | None, source_name: str | None,
                  states: tuple[str, ...], as_json: bool) -> None:
    """Results reporting under FDAAA of IDS (default: every record stored): an applicable
    clinical trial (ACT) or a probable one (pACT), its results' due date, and whether they
    were reported, reported late, are overdue or not yet due, on a date; by the rules of the
    FDAAA TrialsTracker (README: Results reporting). A record that is neither says why."""
    from trialmirror.read.reporting import reporting_json, today

    if source_name is not None and source_name not in REGISTRY:
        source_named(source_name)  # an unknown name says the valid ones
        raise click.UsageError(f"--source {source_name}: a mirror has no reporting status; "
                               f"give {' or '.join(REGISTRY)}")
    day = as_of.date() if as_of is not None else today()
    rows, missing, note = _rows(obj, ids, source_name, as_of.date().isoformat() if as_of else None)
    items = []
    for registry_id, source, version, valid_from, record in rows:
        status = reporting_json(record, source, day)
        if status is not None and (not states or status["state"] in states):
            items.append({"registry_id": registry_id, "source": source, "version": version,
                          "valid_from": valid_from, **status})
    if as_json:
        emit_json(items)
    else:
        _render(obj, items, day.isoformat(), reasons=bool(ids) or reporting.NOT_APPLICABLE in states)
    if note:
        obj.err.print(escape(note), highlight=False)
    for message in missing:
        obj.err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    if missing:
        sys.exit(1)


def _render(obj: Context, items: list[dict[str, Any]], day: str, *, reasons: bool) -> None:
    """The table, then (``reasons``: for records asked by id, or for --state not_applicable)
    why each record that is neither ACT nor pACT is not, then the counts."""
    obj.out.print(f"as of {day} (FDAAA TrialsTracker rules; README: Results reporting)", highlight=False)
    table = Table("record", "class", "completion", "certificate", "due", "reported", "state", "days late")
    for i in items:
        state = Text(i["state"].replace("_", " "), style=_STYLE.get(i["state"], ""))
        table.add_row(i["registry_id"], {"act": "ACT", "pact": "pACT"}.get(i["classification"] or "", "—"),
                      (i["completion_date"] or "") + (" (anticipated)" if i.get("completion_kind") == "anticipated"
                                                     else ""),
                      i["certificate_date"] or "", i["due_date"] or "",
                      i["reported_on"] or "", state, "" if i["days_late"] is None else str(i["days_late"]))
    if items:
        obj.out.print(table)
    for i in items if reasons else ():
        if i["reasons"]:
            obj.out.print(escape(f"{i['registry_id']}: not applicable: {'; '.join(i['reasons'])}"), highlight=False)
    counts: dict[str, int] = {}
    for i in items:
        counts[i["state"]] = counts.get(i["state"], 0) + 1
    obj.out.print(f"{len(items)} record{'s' if len(items) != 1 else ''}"
                  + (": " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items())) if counts
                     else ""), highlight=False)
    if not reasons and counts.get(reporting.NOT_APPLICABLE):
        obj.out.print("why a record is not applicable: give its id, or --state not_applicable, or --json",
                      highlight=False)


def print_overdue(obj: Context, events: list[dict[str, Any]]) -> None:
    """A line per ``overdue`` event just noted (``sync`` and ``check`` note them)."""
    from trialmirror.read.timeline import milestone_text

    for event in events:
        obj.out.print(escape(f"overdue: {event['registry_id']} [{event['source']}] "
                             f"{milestone_text('overdue', event['data'])}"), highlight=False)
