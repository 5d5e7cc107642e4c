"""The read side's commands: ``search``, ``serve`` (the HTTP API), ``export``, ``drift``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
import orjson
from rich.markup import escape
from rich.text import Text

from trialmirror.cli.app import DAY, Context, Table, app, emit_json, fail, json_option, source_named, whole
from trialmirror.errors import InvalidQueryError, require_extra
from trialmirror.ingest.sources import REGISTRY
from trialmirror.models.bounds import SEARCH_LIMIT, SEQ


@app.command("search")
@click.argument("query", required=False, default="")
@click.option("--status", default=None,
              help="Only this overall status (completed, recruiting, 'Active, not recruiting', ...).")
@click.option("--phase", default=None, help="Only records with this phase (1, 2, 'Phase 2', PHASE2, NA, ...).")
@click.option("--condition", default=None, help="Only records with a condition containing this text.")
@click.option("--mesh", default=None, metavar="TERM",
              help="Only records whose conditions or interventions the registry indexed with this MeSH "
                   "term or a term below it ('Liver Diseases' finds 'Liver Cirrhosis'), by name or id (D008103).")
@click.option("--near", default=None, metavar="LAT,LON",
              help="With --within: only records with a site within that distance of this point "
                   "(decimal degrees, latitude first: 31.23,121.47).")
@click.option("--within", default=None, metavar="KM", help="With --near: the distance, in kilometres.")
@click.option("--limit", type=whole(SEARCH_LIMIT), default=20, show_default=True)
@click.option("--reindex", is_flag=True, help="Rebuild the index from the stored versions first.")
@json_option
@click.pass_obj
def search_cmd(obj: Context, query: str, status: str | None, phase: str | None,
               condition: str | None, mesh: str | None, near: str | None, within: str | None,
               limit: int, reindex: bool, as_json: bool) -> None:
    """Full-text search over the newest version of every record (titles, conditions,
    interventions, arms, criteria, summary), best first: every word, and every "quoted
    phrase", must match. Without a query, the records the filters keep (nearest first
    with --near)."""
    from trialmirror.store.search import query as checked

    try:  # before a reindex: a mistyped filter is said at once
        request = checked(query, status=status, phase=phase, condition=condition, mesh=mesh, near=near,
                          within=within)
    except InvalidQueryError as exc:
        fail(str(exc), 2)
    if reindex:
        obj.reading = False  # it writes the index
        obj.err.print(f"indexed {obj.store.reindex(REGISTRY)} records", highlight=False)
    elif obj.store.search_outdated():
        obj.err.print("the search index was built by an older trialmirror (ranking and "
                      "abbreviations differ): `trialmirror search --reindex` rebuilds it", highlight=False)
    hits = obj.store.search(request, limit=limit)
    by_place = request.near is not None
    if as_json:
        emit_json([{"registry_id": h.registry_id, "title": h.title, "status": h.status,
                    "phases": h.phases, "score": round(h.score, 4), "source": h.source,
                    "version": h.version, **({"distance_km": _km(h.distance_km)} if by_place else {})}
                   for h in hits])
        return
    table = Table("#", "record", "status", "phases", "title", "score", *(["km"] if by_place else []))
    for n, h in enumerate(hits, 1):
        table.add_row(str(n), h.registry_id, h.status or "", ", ".join(h.phases), escape(h.title or ""),
                      f"{h.score:.2f}", *([f"{h.distance_km:.1f}"] if by_place else []))
    obj.out.print(table)
    if not hits:
        filtered = any(v is not None for v in (status, phase, condition, mesh, near))
        if not obj.store.count_records(list(REGISTRY)):
            hint = ": no ClinicalTrials.gov record is stored yet (`trialmirror sync` or `sync --all` first)"
        elif filtered:
            hint = ""  # the filters may simply keep nothing
        else:
            hint = "; `trialmirror search --reindex` if records were stored before the index existed"
        obj.err.print("no match" + hint, highlight=False)


def _km(distance: float | None) -> float | None:
    return None if distance is None else round(distance, 3)  # metres: the geocode is a city's


@app.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 0.0.0.0 exposes the API to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.pass_obj
def serve_cmd(obj: Context, host: str, port: int) -> None:
    """The read-only HTTP API: studies, versions, diffs, timelines, reconciliation, the
    change feed, search, the Atom feed (OpenAPI at /docs)."""
    require_extra("api", "fastapi", "fastapi_offline", "uvicorn", needed_for="trialmirror serve (the HTTP API)")
    import uvicorn

    from trialmirror.api.app import create_app

    reader = obj.store  # read-only; fails here, clearly, when there is no database to serve
    try:
        uvicorn.run(create_app(obj.settings, reader), host=host, port=port, log_level="info")
    finally:
        reader.close()


@app.command("export")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv", "parquet", "es-bulk", "es-mapping"]),
              required=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="A file (ndjson, es-bulk, es-mapping; default stdout) or a folder (csv, parquet; "
                   "default export/).")
@click.option("--as-of", "as_of", type=DAY, default=None,
              help="Each record as it was on this date (YYYY-MM-DD); not with es-bulk.")
@click.option("--after", type=whole(SEQ), default=0, show_default=True,
              help="es-bulk: only records with an event after this seq (your cursor).")
@click.option("--index", "index_name", default="trials", show_default=True, help="es-bulk: the index.")
@click.pass_obj
def export_cmd(obj: Context, fmt: str, output: Path | None, as_of: datetime | None, after: int,
               index_name: str) -> None:
    """Export the newest (or --as-of) normalized record of every study.

    ndjson: one stored record a line. csv / parquet: flat tables (study, study_condition,
    study_arm, study_intervention, study_criterion, study_outcome, study_site, study_mesh,
    study_browse_branch, study_reference, study_official; the results: result_groups,
    outcomes, outcome_counts, outcome_measurements, outcome_analyses, baseline_counts,
    baseline_measurements, milestones, drop_withdrawals, reported_events,
    reported_event_totals; versions, changes). es-bulk:
    Elasticsearch/OpenSearch bulk NDJSON of the records changed after --after; the new
    cursor is printed on stderr as `next cursor: N`. es-mapping: the index's mapping for
    es-bulk's documents (site coordinates as geo_point, MeSH terms as keyword).
    """

    from trialmirror.read import export

    if fmt == "es-mapping":  # no store needed: the mapping is the code's
        with export.output(output) as out:
            out.write(orjson.dumps(export.ES_MAPPING, option=orjson.OPT_INDENT_2) + b"\n")
        return
    day = as_of.date().isoformat() if as_of else None
    if fmt == "parquet":  # before the progress bar starts
        export.require_parquet()
    if fmt == "es-bulk" and day:
        fail("--as-of does not apply to es-bulk (an index holds the current records)", 2)
    store = obj.store  # before any file: a database that cannot be read leaves none
    progress = obj.progress(eta=False)
    task = progress.add_task("export", total=None)
    advance = lambda done, total: progress.update(task, completed=done, total=total)  # noqa: E731
    with progress:
        if fmt in ("ndjson", "es-bulk"):
            with export.output(output) as out:  # whole or not at all
                if fmt == "ndjson":
                    count = export.ndjson(store, out, as_of=day, progress=advance)
                else:
                    count, cursor = export.es_bulk(store, out, after=after, index=index_name)
                    obj.err.print(f"next cursor: {cursor}", highlight=False)
            obj.err.print(f"{count} records", highlight=False)
            return
        folder = output or Path("export")
        counts = export.write_tables(store, folder, fmt, as_of=day, progress=advance)
    obj.out.print(", ".join(f"{name}: {n}" for name, n in counts.items()) + f" → {folder}/",
                  highlight=False)



@app.command("drift")
@click.option("--since", type=DAY, default=None,
              help="Only values first seen on or after this date (YYYY-MM-DD, UTC).")
@click.option("--source", "source_names", multiple=True, help="Only this source (repeatable).")
@click.option("--path", "paths", multiple=True, help="Only this record path, e.g. status.overall (repeatable).")
@json_option
@click.pass_obj
def drift_cmd(obj: Context, since: datetime | None, source_names: tuple[str, ...],
              paths: tuple[str, ...], as_json: bool) -> None:
    """What the registry and mirrors wrote that the parsers did not expect: each flagged
    path and raw value, what was done with it (kept, coerced, dropped, skipped), how many
    records and versions carry it, and when it was first seen; newest first."""
    from datetime import UTC

    for name in source_names:
        source_named(name)
    rows = obj.store.drift(since=since.replace(tzinfo=UTC) if since else None,
                           sources=list(source_names) or None, paths=list(paths) or None)
    if as_json:
        emit_json([{**r._asdict(), "first_seen": r.first_seen.isoformat(),
                    "last_seen": r.last_seen.isoformat()} for r in rows])
        return
    if not rows:
        obj.err.print("no drift flagged" + (f" since {since.date()}" if since else ""), highlight=False)
        return
    if obj.out.width < 100:  # a table's columns would cut the values: one block per flag
        for r in rows:
            obj.out.print(f"{r.first_seen:%Y-%m-%d}  {r.source}  {escape(r.path)}  {r.action}  "
                          f"{r.records} record(s), e.g. {r.example}", highlight=False, soft_wrap=False)
            obj.out.print(Text(r.value, style="bold"), overflow="fold", soft_wrap=False)
        return
    wide = obj.out.width >= 120  # the counts of versions and the last sighting fit beside
    table = Table("first seen", "source", "path", "action")
    table.add_column("value")
    table.add_column("records", justify="right")
    if wide:
        table.add_column("versions", justify="right")
    table.add_column("e.g.")
    if wide:
        table.add_column("last seen")
    for r in rows:
        table.add_row(f"{r.first_seen:%Y-%m-%d}", r.source, escape(r.path), r.action, escape(r.value),
                      str(r.records), *([str(r.versions)] if wide else []), r.example,
                      *([f"{r.last_seen:%Y-%m-%d}"] if wide else []))
    obj.out.print(table)
