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


def render_changes(changes: list[dict[str, Any]]) -> Table:
    table = Table("kind", "path", "op", "old", "new")
    for c in changes:
        old, new = c["old"], c["new"]
        if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 50:
            old, new = _changed_part(old, new)
        table.add_row(c["kind"], Text(c["path"]), c["op"], Text(_short(old, 60)), Text(_short(new, 60)))
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
