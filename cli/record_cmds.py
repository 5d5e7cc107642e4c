"""Reading one record: ``show`` (also as of a date), ``history``, ``diff``, ``timeline``,
``reconcile`` (mirrors against the registry), and ``changes`` (the event log)."""

from __future__ import annotations

from datetime import datetime

import click
import orjson
from rich.markup import escape

from trialmirror.cli.app import (
    DAY,
    Context,
    Table,
    app,
    emit_json,
    fail,
    json_option,
    normalize_id,
    source_named,
    source_option,
    whole,
)
from trialmirror.ingest.sources import LIVE, MIRRORS, SOURCES
from trialmirror.models.bounds import FEED_LIMIT, SEQ, VERSION
from trialmirror.store.events import EVENT_KINDS, MILESTONE_EVENTS
from trialmirror.store.rows import VersionRow


def _require_version(obj: Context, registry_id: str, source_name: str, number: int | None) -> VersionRow:
    from trialmirror.read.records import NotStored, version_row

    try:
        return version_row(obj.store, registry_id, source_name, number)
    except NotStored as exc:
        fail(str(exc))


def _as_of(obj: Context, registry_id: str, source_name: str | None, day: str) -> VersionRow:
    from trialmirror.read.records import NotStored, as_of_row

    try:
        row = as_of_row(obj.store, registry_id, day, source_name)
    except NotStored as exc:
        fail(str(exc))
    obj.err.print(escape(f"as of {day}: {registry_id} version {row.version} from {row.source}, valid "
                     f"from {row.valid_from}"), highlight=False)
    return row


@app.command("show")
@click.argument("registry_id")
@click.option("--source", "source_name", default=None,
              help=f"Source name: {', '.join(sorted(SOURCES))} [default: ctgov; with --as-of, "
                   "both ClinicalTrials.gov sources].")
@click.option("--version", "number", type=whole(VERSION), default=None,
              help="A stored version (default: latest).")
@click.option("--as-of", "as_of", type=DAY, default=None,
              help="The version current on this date (YYYY-MM-DD), from valid_from.")
@json_option
@click.pass_obj
def show_cmd(obj: Context, registry_id: str, source_name: str | None, number: int | None,
             as_of: datetime | None, as_json: bool) -> None:
    """Show the normalized record (--json: exactly the record)."""
    registry_id = normalize_id(source_name or LIVE, registry_id)
    if as_of is not None:
        row = _as_of(obj, registry_id, source_name, as_of.date().isoformat())
    else:
        row = _require_version(obj, registry_id, source_name or LIVE, number)
    record = orjson.loads(row.record)
    if as_json:
        emit_json(record)
        return
    from trialmirror.cli.render import render_record

    obj.out.print(render_record(record, row))


@app.command("timeline")
@click.argument("registry_id")
@click.option("--source", "source_name", default=None,
              help="ctgov_history or ctgov [default: ctgov_history when it holds versions].")
@json_option
@click.pass_obj
def timeline_cmd(obj: Context, registry_id: str, source_name: str | None, as_json: bool) -> None:
    """Status periods (from, to, days, versions) and the change kinds of every version."""
    from trialmirror.read.records import NotStored, timeline, timeline_source

    registry_id = normalize_id(source_name or LIVE, registry_id)
    source_name = timeline_source(obj.store, registry_id, source_name)
    try:
        periods, rows = timeline(obj.store, registry_id, source_name)
    except NotStored as exc:
        fail(str(exc))
    if as_json:
        emit_json([p.as_json() for p in periods])
        return
    table = Table("status", "from", "to", "days", "versions", title=escape(f"{registry_id} [{source_name}]"))
    for p in periods:
        table.add_row(p.status or "?", p.start, p.end or "(current)", "" if p.days is None else str(p.days),
                      ", ".join(map(str, p.versions)))
    obj.out.print(table)
    for r in rows:
        kinds = sorted({c["kind"] for c in orjson.loads(r.diff)}) if r.diff else None
        what = "first version" if kinds is None else (", ".join(kinds) or "no change in the record")
        said = "; ".join(e["what"] for p in periods for e in p.events if e["version"] == r.version)
        obj.out.print(escape(f"v{r.version}  {r.valid_from or '?':10}  {r.overall_status or '?':24}  {what}"
                             + (f"  — {said}" if said else "")), highlight=False)


@app.command("reconcile")
@click.argument("registry_id")
@click.option("--source", "source_names", multiple=True, default=None,
              help=f"A mirror, repeatable [default: every mirror with a capture: {', '.join(MIRRORS)}].")
@json_option
@click.pass_obj
def reconcile_cmd(obj: Context, registry_id: str, source_names: tuple[str, ...], as_json: bool) -> None:
    """Each mirror's latest capture against the ClinicalTrials.gov version current when it
    was captured: fields that agree, disagree, are not shown; and whether it is stale."""
    from trialmirror.read.reconcile import NothingToCompare, reconcile

    registry_id = normalize_id(LIVE, registry_id)
    for name in source_names:
        if name not in MIRRORS:
            fail(f"{name!r} is not a mirror; mirrors: {', '.join(MIRRORS)}", 2)
    try:
        report = reconcile(obj.store, registry_id, list(source_names or MIRRORS))
    except NothingToCompare as exc:
        fail(str(exc))
    if as_json:
        emit_json(report)
        return
    from trialmirror.cli.render import render_reconciliation

    for entry in report["mirrors"]:
        obj.out.print(render_reconciliation(registry_id, entry, SOURCES[entry["source"]].label))


@app.command("history")
@click.argument("registry_id")
@source_option
@json_option
@click.pass_obj
def history_cmd(obj: Context, registry_id: str, source_name: str, as_json: bool) -> None:
    """List the stored versions, oldest first."""
    registry_id = normalize_id(source_name, registry_id)
    from trialmirror.read.records import version_meta

    items = [{k: v for k, v in version_meta(r).items() if k not in ("registry_id", "source")}
             for r in obj.store.versions(registry_id, source_name)]
    if as_json:
        emit_json(items)
        return
    if not items:
        from trialmirror.read.records import NotStored, version_row

        try:
            version_row(obj.store, registry_id, source_name, command="history")
        except NotStored as exc:  # says what to run, or which source holds the versions
            fail(str(exc))
    table = Table("version", "valid from", "observed at (UTC)", "status", "content hash")
    for i in items:
        table.add_row(str(i["version"]), i["valid_from"] or "", i["observed_at"][:19],
                      i["status"] or "", i["content_hash"][:19])
    obj.out.print(table)


@app.command("diff")
@click.argument("registry_id")
@source_option
@click.option("--from", "from_n", type=whole(VERSION), default=None, help="Older version (default: to - 1).")
@click.option("--to", "to_n", type=whole(VERSION), default=None, help="Newer version (default: latest).")
@json_option
@click.pass_obj
def diff_cmd(obj: Context, registry_id: str, source_name: str, from_n: int | None,
             to_n: int | None, as_json: bool) -> None:
    """Semantic diff between two versions (default: the latest against the one before)."""
    from trialmirror.read.records import NotStored, changes_between

    registry_id = normalize_id(source_name, registry_id)
    try:
        old, new, changes = changes_between(obj.store, registry_id, source_name, from_n, to_n)
    except NotStored as exc:
        fail(str(exc))
    if as_json:
        emit_json(changes)
        return
    from trialmirror.cli.render import render_changes, shown_changes

    shown = shown_changes(changes)
    obj.out.print(escape(f"{registry_id} [{source_name}] version {old.version} → {new.version}: "
                     f"{len(shown)} change(s)"), highlight=False)
    if shown:
        obj.out.print(render_changes(shown))


@app.command("changes")
@click.option("--after", type=whole(SEQ), default=0, show_default=True, help="Events after this seq.")
@click.option("--kind", type=click.Choice(EVENT_KINDS), default=None, help="Only this kind of event.")
@click.option("--limit", type=whole(FEED_LIMIT), default=None,
              help=f"At most this many events ({FEED_LIMIT}) [default: every one].")
@click.option("--source", "source_names", multiple=True,
              help="Only events of this source, repeatable (the feed holds the mirrors' too).")
@json_option
@click.pass_obj
def changes_cmd(obj: Context, after: int, kind: str | None, limit: int | None,
                source_names: tuple[str, ...], as_json: bool) -> None:
    """The event log in seq order (a change feed): every new version, and notes about
    records (vanished from the registry's listing, reappeared in it, merged into another)."""
    for name in source_names:
        source_named(name)
    from trialmirror.read.records import event_items
    from trialmirror.read.timeline import milestone_text

    items = event_items(obj.store.events(after=after, kind=kind, limit=limit,
                                         sources=list(source_names) or None))
    if as_json:
        emit_json(items)
        return
    table = Table("seq", "record", "source", "version", "kind", "detail", "at (UTC)")
    for i in items:
        detail = ", ".join(i.get("kinds") or [])
        if i["kind"] == "status_change":
            detail = f"{i['status']['old']} → {i['status']['new']}" + (f" ({detail})" if detail else "")
        elif i["kind"] == "new_record" and i.get("status"):
            detail = str(i["status"]["new"])
        elif i["kind"] in MILESTONE_EVENTS:
            detail = milestone_text(i["kind"], i) or ""
        table.add_row(str(i["seq"]), i["registry_id"], i["source"], str(i["version"]), i["kind"],
                      detail, i["occurred_at"][:19])
    if not items:  # an empty table says nothing of why
        what = f"no {kind} events" if kind else "no events"
        obj.err.print(f"{what} after seq {after}" if after else what, highlight=False)
        return
    obj.out.print(table)
    obj.out.print(f"next cursor: --after {items[-1]['seq']}", highlight=False)
