"""Human views of records and diffs (rich renderables)."""

from __future__ import annotations

import os
from typing import Any

import orjson
from rich.console import Group
from rich.text import Text

from trialmirror.cli.app import Table


def _date(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return value["date"] + (f" ({value['kind']})" if value.get("kind") else "")


def _age(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    unit = value["unit"]  # null: the source gave a number without a unit (flagged)
    return f"{value['value']:g} {unit.lower()}" if unit else f"{value['value']:g} (no unit)"


def _enrollment(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    count = "?" if value.get("count") is None else str(value["count"])
    return count + (f" ({value['kind']})" if value.get("kind") else "")


def _short(value: Any, width: int = 70) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# The design's vocabulary fields (its descriptions are text of their own: --json).
_DESIGN_WORDS = ("allocation", "intervention_model", "masking", "primary_purpose", "observational_model",
                 "time_perspective")


def _sites(sites: list[dict[str, Any]]) -> str:
    if not sites:
        return "0"
    countries = len({s.get("country") for s in sites if s.get("country")})
    placed = sum(1 for s in sites if s.get("latitude") is not None)
    return f"{len(sites)} in {countries} {'country' if countries == 1 else 'countries'}, {placed} with coordinates"


def _results(r: dict[str, Any], status: dict[str, Any]) -> str:
    if r.get("has_results") is None and not status.get("results_first_posted"):
        return ""  # the source does not say
    posted = _date(status.get("results_first_posted"))
    return f"posted {posted}" if status.get("results_first_posted") else (
        "yes" if r.get("has_results") else "none posted")


# Outcome measure types in the registry's order, as a reader says them.
_MEASURE_TYPES = {"PRIMARY": "primary", "SECONDARY": "secondary", "OTHER_PRE_SPECIFIED": "other pre-specified",
                  "POST_HOC": "post hoc"}


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _outcome_measures(measures: list[dict[str, Any]]) -> str:
    types: dict[str, int] = {}
    for m in measures:
        name = _MEASURE_TYPES.get(m.get("type") or "", m.get("type") or "no type")  # an unknown type as written
        types[name] = types.get(name, 0) + 1
    order = list(_MEASURE_TYPES.values())
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(types.items(), key=lambda i: (
        order.index(i[0]) if i[0] in order else len(order), i[0])))
    analyses = sum(len(m.get("analyses") or []) for m in measures)
    return f"{len(measures)} ({kinds}); {_counted(analyses, 'analysis', 'analyses')}"


def _flow(flow: dict[str, Any]) -> str:
    """Per flow group, how many started (the first period) and completed (the last): the
    registry counts both in every period of a study in phases."""
    periods = flow.get("periods") or []

    def reached(period: dict[str, Any] | None, milestone: str) -> dict[str | None, str | None]:
        for m in (period or {}).get("milestones") or []:
            if m.get("type") == milestone:
                return {a.get("group"): a.get("subjects") for a in m.get("achievements") or []}
        return {}

    started = reached(periods[0] if periods else None, "STARTED")
    completed = reached(periods[-1] if periods else None, "COMPLETED")
    return "; ".join(
        f"{g.get('id') or '?'} {_short(g.get('title'), 30)}: {started.get(g.get('id')) or '?'} started, "
        f"{completed.get(g.get('id')) or '?'} completed" for g in flow.get("groups") or [])


def _results_rows(results: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A few lines on what the results hold (``show --json`` has all of it)."""
    if not results:
        return []
    rows = []
    if results.get("outcome_measures"):
        rows.append(("outcome measures", _outcome_measures(results["outcome_measures"])))
    baseline = results.get("baseline") or {}
    if baseline.get("measures"):
        rows.append(("baseline", _counted(len(baseline["measures"]), "measure", "measures")))
    events = results.get("adverse_events") or {}
    if events:
        rows.append(("adverse events", f"event terms: {len(events.get('serious') or [])} serious, "
                                       f"{len(events.get('other') or [])} other"))
    flow = results.get("participant_flow") or {}
    if flow.get("groups"):
        rows.append(("participant flow", _flow(flow)))
    return rows


def render_record(r: dict[str, Any], row: Any) -> Group:
    status = r.get("status") or {}
    design = r.get("design") or {}
    elig = r.get("eligibility") or {}
    sponsors = r.get("sponsors") or {}
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("record", f"{r['registry_id']} [{r['source']}] version {row.version}, valid from "
                   f"{row.valid_from or '?'}"),
        ("title", (r.get("titles") or {}).get("brief") or ""),
        ("status", status.get("overall") or ""),
        ("start / completion", f"{_date(status.get('start'))} / {_date(status.get('completion'))}"),
        ("type / phases", f"{r.get('study_type') or ''} / {', '.join(r.get('phases') or [])}"),
        ("design", ", ".join(design[k] for k in _DESIGN_WORDS if isinstance(design.get(k), str))),
        ("enrollment", _enrollment(r.get("enrollment"))),
        ("conditions", "; ".join(r.get("conditions") or [])),
        ("lead sponsor", (sponsors.get("lead") or {}).get("name") or ""),
        ("ages / sex", f"{_age(elig.get('min_age'))} to {_age(elig.get('max_age'))} / {elig.get('sex') or ''}"),
        ("criteria", f"{len(elig.get('inclusion') or [])} inclusion, "
                     f"{len(elig.get('exclusion') or [])} exclusion"),
        ("sites", _sites(r.get("sites") or [])),
        ("results", _results(r, status)),
        *_results_rows(r.get("results")),
        ("MeSH (conditions)", "; ".join(t["term"] or t["id"] or "" for t in
                                        ((r.get("mesh") or {}).get("conditions") or {}).get("terms") or [])),
        ("oversight", ", ".join(k.replace("_", " ") + (" yes" if v else " no")
                                for k, v in (r.get("oversight") or {}).items() if v is not None)),
        ("officials", "; ".join(", ".join(x for x in (o.get("name"), o.get("role")) if x)
                                for o in (r.get("contacts") or {}).get("officials") or [])),
    ]
    for name, value in rows:
        facts.add_row(name, Text(value))
    arms = Table("arm", "type", "interventions", title=None)
    for arm in r.get("arms") or []:
        arms.add_row(arm["label"] or "(no label)", arm.get("type") or "", "; ".join(arm.get("interventions") or []))
    parts: list[Any] = [facts]
    if r.get("arms"):
        parts.append(arms)
    if r.get("unmapped"):
        flags = "; ".join(f"{u['path']} {u.get('action', 'kept')} {u['value']!r}" for u in r["unmapped"])
        parts.append(Text(f"drift flags ({len(r['unmapped'])}): {_short(flags, 300)}", style="yellow"))
    return Group(*parts)


def _changed_part(old: str, new: str, context: int = 18) -> tuple[str, str]:
    """The differing middle of two long texts, with a little context either side."""
    start = len(os.path.commonprefix([old, new]))
    end = len(os.path.commonprefix([old[start:][::-1], new[start:][::-1]]))
    lo = max(0, start - context)

    def cut(text: str) -> str:
        middle = text[lo: len(text) - max(0, end - context)]
        return ("…" if lo else "") + middle + ("…" if end > context else "")

    return cut(old), cut(new)


# Values the parser reads from a text beside it (a result's number, a p-value's "<"): their
# change goes with the text's in a table, as one correction.
_READ_FROM_TEXT = ("_num", "_modifier")


def shown_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes a person reads: without the change of a value read from a text whose own
    change is there (``...value`` "27" → "28" shows; ``...value_num`` 27.0 → 28.0 goes with
    it). ``--json`` has every one."""
    replaced = {c["path"] for c in changes if c["op"] == "replace"}
    return [c for c in changes if not (c["op"] == "replace" and any(
        c["path"].endswith(suffix) and c["path"][: -len(suffix)] in replaced for suffix in _READ_FROM_TEXT))]


def _path_lines(path: str) -> str:
    """A long path one step a line: the field's path, its first key selector, then each
    name that follows a selector with its own, so that a narrow column folds no group id
    in the middle (``.measurements[group="OG000"]`` stays on one line)."""
    if len(path) <= 60:
        return path
    out, depth, quoted, escaped = [], 0, False, False
    for i, ch in enumerate(path):
        if quoted:
            quoted, escaped = (ch != '"' or escaped), (ch == "\\" and not escaped)
        elif ch == '"':
            quoted = True
        elif ch in "[]":
            if ch == "[" and depth == 0 and "[" not in path[:i]:
                out.append("\n")  # the field's own path on a line of its own
            depth += 1 if ch == "[" else -1
        elif ch == "." and depth == 0 and i and path[i - 1] == "]":
            out.append("\n")
        out.append(ch)
    return "".join(out)


def render_changes(changes: list[dict[str, Any]]) -> Table:
    table = Table("kind", "path", "op", "old", "new")
    for c in changes:
        old, new = c["old"], c["new"]
        if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 50:
            old, new = _changed_part(old, new)
        table.add_row(c["kind"], Text(_path_lines(c["path"])), c["op"], Text(_short(old, 60)), Text(_short(new, 60)))
    return table


_VERDICT_STYLE = {"agree": "green", "disagree": "bold red", "not_shown": "dim"}


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return _short("; ".join(map(str, value)), 60)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _short(value, 60)


def render_reconciliation(registry_id: str, entry: dict[str, Any], site: str) -> Group:
    """One mirror's report: which versions met, the field table, the counts, staleness."""
    ref = entry["compared_with_version"]
    head = Text(f"{registry_id} on {site} [{entry['source']}] v{entry['mirror_version']}, captured "
                f"{entry['captured_at'][:16].replace('T', ' ')} UTC, against {ref['source']} "
                f"v{ref['version']} (valid from {ref['valid_from'] or '?'})", style="bold")
    table = Table("field", "mirror", "registry", "verdict")
    for f in entry["fields"]:
        shown = f["verdict"] != "not_shown"
        table.add_row(f["field"], _cell(f["mirror"]) if shown else "",
                      "" if f["verdict"] == "agree" else _cell(f["registry"]),
                      Text(f["verdict"].replace("_", " "), style=_VERDICT_STYLE[f["verdict"]]))
    counts = entry["counts"]
    summary = Text(f"{counts.get('agree', 0)} agree, {counts.get('disagree', 0)} disagree, "
                   f"{counts.get('not_shown', 0)} not shown")
    stale = entry["stale"]
    if stale is None:
        verdict = Text("not stale: no older registry version matches the mirror better", style="green")
    else:
        old = stale["matches_version"]
        since = f"; the registry moved on {stale['since']}" if stale["since"] else ""
        upstream = (f"record-history version {old['upstream_version']}, "
                    if old.get("upstream_version") is not None else "")
        verdict = Text(f"STALE: the mirror shows {old['source']} v{old['version']} ({upstream}valid "
                       f"from {old['valid_from'] or '?'}){since}", style="bold yellow")
    return Group(head, table, summary, verdict, Text(""))
