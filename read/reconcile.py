"""Reconciliation: what a mirror shows against what the registry said when it was captured.

For each mirror, its latest version is compared with the ClinicalTrials.gov
version current on the day of the mirror's latest capture, field by field over
:data:`FIELDS`: ``agree``, ``disagree`` (both values given), or ``not_shown``
(the mirror does not show a field the registry has). Values are compared as
the record holds them, so wording never disagrees: "Completed" and COMPLETED
are both ``COMPLETED`` by then; ages compare in years; lists as sets; text with
its whitespace collapsed; "Funder types" with the classes of the sponsors.

Staleness: every stored registry version is scored the same way; when an older
one disagrees with the mirror on fewer fields than the compared one, the mirror
shows that older state (``stale``): which version, and ``since`` when the
registry moved on from it. Ties go to the newer version (no false alarms).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from trialmirror.ingest.sources import REGISTRY
from trialmirror.store import Store
from trialmirror.store.queries import registry_order
from trialmirror.store.rows import VersionRow

Getter = Callable[[dict[str, Any]], Any]


def _path(path: str) -> Getter:
    names = path.split(".")

    def get(record: dict[str, Any]) -> Any:
        node: Any = record
        for name in names:
            node = node.get(name) if isinstance(node, dict) else None
        return node
    return get


def _text(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


def _sorted(values: Any) -> list[Any] | None:
    unique = set(values)
    return sorted(unique, key=str) if unique else None


def _ids(r: dict[str, Any]) -> list[str] | None:
    # The ids beside the registry's own (which every mirror page must show: the engine
    # checks it), whatever the source calls them: org study id, secondary id, alias.
    ident = r.get("identifiers") or {}
    ids = [ident.get("org_study_id"), *(ident.get("aliases") or []),
           *(s["id"] for s in ident.get("secondary") or [])]
    return _sorted(i for i in ids if i and i != r.get("registry_id"))


def _funder_types(r: dict[str, Any]) -> list[str] | None:
    sponsors = r.get("sponsors") or {}
    if sponsors.get("funder_types"):
        return _sorted(sponsors["funder_types"])
    orgs = [sponsors.get("lead"), *(sponsors.get("collaborators") or [])]
    return _sorted(o["class"] for o in orgs if o and o.get("class"))


def _interventions(r: dict[str, Any]) -> list[str] | None:
    return _sorted(f"{i['type'] or '?'}: {_text(i['name'])}" for i in r.get("interventions") or [])


def _arms(r: dict[str, Any]) -> list[str] | None:
    return _sorted(f"{_text(a['label'])} [{a['type'] or '?'}]: "
                   + "; ".join(sorted(_text(n) for n in a["interventions"] or []))
                   for a in r.get("arms") or [])


def _countries(r: dict[str, Any]) -> list[str] | None:
    return _sorted(s["country"] for s in r.get("sites") or [] if s.get("country"))


def _list(path: str) -> Getter:
    get = _path(path)
    return lambda r: _sorted(_text(v) for v in get(r) or [])


def _years(path: str) -> Getter:
    get = _path(path)

    def years(r: dict[str, Any]) -> Any:
        age = get(r)
        if not age:
            return None
        if age.get("years") is not None:
            return age["years"]
        return f"{age['value']} {age['unit']}" if age.get("unit") else f"{age['value']} (no unit)"
    return years


def _same_date(a: Any, b: Any) -> bool:
    # "2012-07" (a mirror's month) agrees with "2012-07-15": compare at the coarser precision.
    n = min(len(a), len(b))
    return bool(a[:n] == b[:n])


def _same_casefold(a: Any, b: Any) -> bool:
    fold = (lambda v: [x.casefold() for x in v]) if isinstance(a, list) else str.casefold
    return bool(fold(a) == fold(b))


@dataclass(frozen=True)
class Field:
    name: str
    get: Getter
    same: Callable[[Any, Any], bool] = lambda a, b: bool(a == b)


def _plain(path: str) -> Getter:
    get = _path(path)
    return lambda r: _text(get(r))


def _field(name: str, get: Getter | None = None, same: Callable[[Any, Any], bool] | None = None) -> Field:
    getter = get or _plain(name)
    return Field(name, getter, same) if same else Field(name, getter)


FIELDS: tuple[Field, ...] = (
    _field("titles.brief"),
    _field("titles.official"),
    _field("status.overall"),
    _field("status.start", lambda r: (_path("status.start")(r) or {}).get("date"), _same_date),
    _field("study_type"),
    _field("phases", _list("phases")),
    _field("conditions", _list("conditions"), _same_casefold),
    _field("interventions", _interventions),
    _field("arms", _arms),
    _field("enrollment.count"),
    _field("eligibility.sex"),
    _field("eligibility.min_age", _years("eligibility.min_age")),
    _field("eligibility.max_age", _years("eligibility.max_age")),
    _field("eligibility.healthy_volunteers"),
    _field("eligibility.inclusion", _list("eligibility.inclusion")),
    _field("eligibility.exclusion", _list("eligibility.exclusion")),
    _field("design.allocation"),
    _field("design.intervention_model"),
    _field("design.masking"),
    _field("design.primary_purpose"),
    _field("design.observational_model"),
    _field("design.time_perspective"),
    _field("identifiers", _ids),
    _field("sponsors.lead", lambda r: _text((_path("sponsors.lead")(r) or {}).get("name")), _same_casefold),
    _field("sponsors.funder_types", _funder_types),
    _field("countries", _countries),
    _field("summary"),
    _field("description"),
)


def compare(mirror: dict[str, Any], registry: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{field, mirror, registry, verdict}]`` over the fields either record has."""
    rows = []
    for f in FIELDS:
        mine, theirs = f.get(mirror), f.get(registry)
        if mine is None and theirs is None:
            continue
        if mine is None:
            verdict = "not_shown"
        elif theirs is not None and f.same(mine, theirs):
            verdict = "agree"
        else:
            verdict = "disagree"
        rows.append({"field": f.name, "mirror": mine, "registry": theirs, "verdict": verdict})
    return rows


def _disagreements(mirror: dict[str, Any], registry: dict[str, Any]) -> int:
    return sum(r["verdict"] == "disagree" for r in compare(mirror, registry))


def _ref(row: VersionRow) -> dict[str, Any]:
    return {"source": row.source, "version": row.version, "valid_from": row.valid_from,
            "upstream_version": row.upstream_version}


class NothingToCompare(LookupError):
    """No mirror capture, or no registry version, of the record."""


def reconcile(store: Store, registry_id: str, mirrors: list[str]) -> dict[str, Any]:
    """The report for ``registry_id``: one entry per mirror in ``mirrors`` with a capture."""
    history = _registry_versions(store, registry_id)
    if not history:
        raise NothingToCompare(f"no ClinicalTrials.gov version of {registry_id} is stored; run "
                               f"`trialmirror sync {registry_id}` first")
    entries = []
    for source in mirrors:
        row = store.version(registry_id, source)
        if row is None:
            continue
        captured = store.last_capture(registry_id, source) or row.observed_at
        entries.append(_entry(store, registry_id, row, captured, history))
    if not entries:
        raise NothingToCompare(f"no mirror capture of {registry_id} is stored (sources: "
                               f"{', '.join(mirrors)}); run `trialmirror sync --source "
                               f"{mirrors[0]} {registry_id}` first")
    return {"registry_id": registry_id, "mirrors": entries}


def _registry_versions(store: Store, registry_id: str) -> list[VersionRow]:
    rows = [r for source in REGISTRY for r in store.versions(registry_id, source)]
    return sorted(rows, key=registry_order(REGISTRY))


def _entry(store: Store, registry_id: str, row: VersionRow, captured: datetime,
           history: list[VersionRow]) -> dict[str, Any]:
    mirror = orjson.loads(row.record)
    current = store.version_as_of(registry_id, list(REGISTRY), captured.date().isoformat())
    current = current or history[0]
    fields = compare(mirror, orjson.loads(current.record))
    return {"source": row.source, "captured_at": captured.isoformat(), "mirror_version": row.version,
            "compared_with_version": _ref(current), "fields": fields,
            "counts": dict(Counter(f["verdict"] for f in fields)),
            "stale": _staleness(mirror, current, history, fields)}


def _staleness(mirror: dict[str, Any], current: VersionRow, history: list[VersionRow],
               fields: list[dict[str, Any]]) -> dict[str, Any] | None:
    baseline = sum(f["verdict"] == "disagree" for f in fields)
    if baseline == 0:
        return None
    position = next(i for i, r in enumerate(history) if r.id == current.id)
    best, best_score = None, baseline
    for i in range(position - 1, -1, -1):  # newest first, so ties keep the newer version
        score = _disagreements(mirror, orjson.loads(history[i].record))
        if score < best_score:
            best, best_score = i, score
    if best is None:
        return None
    matched = history[best]
    moved_on = next((r for r in history[best + 1:] if r.content_hash != matched.content_hash), None)
    return {"matches_version": _ref(matched), "since": moved_on.valid_from if moved_on else None,
            "disagreements": {"with_matched": best_score, "with_compared": baseline}}
