"""Semantic diff between two normalized records, and its inverse (apply).

A change is ``{path, op, old, new, kind}``:

- ``op`` is ``replace`` (a field's value changed; either side may be null),
  ``add`` or ``remove`` (an item joined or left the list at ``path``).
- ``path`` is dotted field names with key selectors for lists of things with an
  identity: ``arms[label="Placebo"].description``,
  ``interventions[type="DRUG",name="Aspirin"].description``. Selector values
  are JSON. Lists are matched by key, never by position, so a reorder is no
  change. A key whose value is a list (an analysis's compared groups) is a set:
  its order means nothing. Where a list's keys repeat on either side, the keys of
  :data:`MORE_KEYS` join them (two secondary outcome measures of one title, told
  apart by their time frames), and the selector shows them too. A keyed list
  whose keys still repeat, and every list of plain values, is compared as a
  multiset of items.
- ``kind`` groups paths for people and notifications: status, dates,
  enrollment, eligibility, arms, ... (see :data:`KINDS`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

import orjson

from trialmirror.store.canonical import canonicalize

# The identity of items in lists of things, by schema path (path without selectors).
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "arms": ("label",),
    "interventions": ("type", "name"),
    "outcomes.primary": ("measure",),
    "outcomes.secondary": ("measure",),
    "outcomes.other": ("measure",),
    "sites": ("facility", "city", "country"),
    "sites.contacts": ("name",),
    "sponsors.collaborators": ("name",),
    "identifiers.secondary": ("id",),
    "contacts.central": ("name",),
    "contacts.officials": ("name",),
    "references.citations": ("pmid", "citation"),
    "references.citations.retractions": ("pmid",),
    "references.links": ("url",),
    "references.available_ipds": ("id", "type"),
    **{f"mesh.{of}.{terms}": ("id",) for of in ("conditions", "interventions")
       for terms in ("terms", "ancestors", "leaves")},
    "mesh.conditions.branches": ("abbrev",),
    "mesh.interventions.branches": ("abbrev",),
    "documents.large_docs": ("filename",),
    "annotations.unposted_events": ("type", "date"),
    # A violation notice is the FDA's: its type and the day the FDA issued it.
    "annotations.violation_events": ("type", "issued"),
    "unmapped": ("path",),
    # The results section (issue 16): groups by the registry's id, values per group by
    # the group's id, measures by what the registry titles them, events by term and
    # organ system: ``results.outcome_measures[type="PRIMARY",title="Erectile Dysfunction
    # Rates"].classes[title=null].categories[title=null].measurements[group="OG000"].value``
    # (NCT00084552; a title is null for a measure's only class or category).
    **{f"results.{part}.groups": ("id",) for part in
       ("participant_flow", "baseline", "outcome_measures", "adverse_events")},
    "results.participant_flow.periods": ("title",),
    "results.participant_flow.periods.milestones": ("type",),
    "results.participant_flow.periods.milestones.achievements": ("group",),
    "results.participant_flow.periods.drop_withdraws": ("type",),
    "results.participant_flow.periods.drop_withdraws.reasons": ("group",),
    "results.baseline.measures": ("title",),
    "results.outcome_measures": ("type", "title"),
    **{f"results.{measure}.{part}": keys
       for measure in ("baseline", "baseline.measures", "baseline.measures.classes",
                       "outcome_measures", "outcome_measures.classes")
       for part, keys in (("denoms", ("units",)), ("denoms.counts", ("group",)))},
    **{f"results.{measures}.classes{part}": keys
       for measures in ("baseline.measures", "outcome_measures")
       for part, keys in (("", ("title",)), (".categories", ("title",)),
                          (".categories.measurements", ("group",)))},
    # An analysis has no title: the groups it compares, by what measure and method.
    "results.outcome_measures.analyses": ("groups", "param_type", "statistical_method"),
    **{f"results.adverse_events.{grade}{part}": keys for grade in ("serious", "other")
       for part, keys in (("", ("term", "organ_system")), (".stats", ("group",)))},
}

# Keys that join a list's own when those repeat in a record, so that its items are still
# matched one by one (over the 78 corpus records with results, the own keys repeat in
# 7 records' outcome measures, 1 record's baseline measures, 92 outcome measures'
# analyses and 1 record's other adverse events; with these, only 1 list of analyses).
MORE_KEYS: dict[str, tuple[str, ...]] = {
    # NCT00301262: one secondary measure "Percentage of Occasions of Successful
    # Intercourse (Event Log)" from Baseline to Week 8, another from Week 8 to Week 14.
    "results.outcome_measures": ("time_frame",),
    # NCT01150903: "Age, Continuous" as a mean and as a median.
    "results.baseline.measures": ("param_type", "unit"),
    # NCT00422734: two ANCOVAs of OG000 and OG001, one for the subject, one for the
    # partner, as their descriptions and p-value comments say.
    "results.outcome_measures.analyses": ("group_description", "p_value_comment"),
    # NCT03596047: "Not serius" skin disorders twice, told apart by their notes.
    **{f"results.adverse_events.{grade}": ("source_vocabulary", "assessment_type", "notes")
       for grade in ("serious", "other")},
}

# Change kind by schema path: exact matches first, then the longest dotted prefix.
KINDS_EXACT = {"status": "status", "status.overall": "status", "status.why_stopped": "status"}
_RESULTS = ("results_first_submitted", "results_first_submitted_qc", "results_first_posted",
            "disposition_first_submitted", "disposition_first_submitted_qc",
            "disposition_first_posted", "delayed_posting", "results_waived")
KINDS: dict[str, str] = {
    "status": "dates", "titles": "titles", "identifiers": "identifiers",
    "registry_id": "identifiers", "study_type": "design", "design": "design",
    "phases": "phases", "enrollment": "enrollment", "conditions": "conditions",
    "keywords": "conditions", "arms": "arms", "interventions": "interventions",
    "eligibility": "eligibility", "outcomes": "outcomes", "sponsors": "sponsors",
    "sites": "sites", "summary": "description", "description": "description",
    "unmapped": "unmapped",
    # The whole record (issue 15). Results: whether they are posted, their milestones,
    # and the registry's tracking of their submissions.
    "has_results": "results", **{f"status.{name}": "results" for name in _RESULTS},
    "registry_info.submission_tracking": "results",
    "status.expanded_access": "expanded_access", "design.expanded_access_types": "expanded_access",
    "design.expanded_access_referrers": "expanded_access",
    "contacts": "contacts", "oversight": "oversight", "references": "references",
    "ipd_sharing": "ipd_sharing", "mesh": "mesh", "documents": "documents",
    "annotations": "annotations", "registry_info": "registry_info",
    "registry_info.removed_countries": "sites",
    # The results section (issue 16): the section appearing or leaving is "results" like
    # the dates above; a change inside it has the kind of its module.
    "results": "results", "results.participant_flow": "results_flow",
    "results.baseline": "results_baseline", "results.outcome_measures": "results_outcomes",
    "results.adverse_events": "results_adverse_events", "results.more_info": "results_more_info",
}

Change = dict[str, Any]


@functools.cache  # a record has a few hundred schema paths at most
def kind_of(schema_path: str) -> str:
    if schema_path in KINDS_EXACT:
        return KINDS_EXACT[schema_path]
    path = schema_path
    while path not in KINDS:
        if "." not in path:
            return "other"
        path = path.rsplit(".", 1)[0]
    return KINDS[path]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _selector(keys: tuple[str, ...], item: dict[str, Any]) -> str:
    parts = ",".join(f"{k}={json.dumps(item.get(k), ensure_ascii=False, separators=(',', ':'))}" for k in keys)
    return f"[{parts}]"


def _ident(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _key_value(value: Any) -> Any:
    """A key's value as identity: a list is a set (its order means nothing)."""
    return sorted(value, key=_ident) if isinstance(value, list) else value


def _change(path: str, schema: str, op: str, old: Any, new: Any) -> Change:
    return {"path": path, "op": op, "old": old, "new": new, "kind": kind_of(schema)}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes that turn content ``old`` into content ``new`` (provenance excluded)."""
    out: list[Change] = []
    _diff(old, new, "", "", out)
    return out


def _diff(a: Any, b: Any, path: str, schema: str, out: list[Change]) -> None:
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            _diff(a.get(key), b.get(key), _join(path, key), _join(schema, key), out)
    elif isinstance(a, list) and isinstance(b, list):
        _diff_list(a, b, path, schema, out)
    else:
        out.append(_change(path, schema, "replace", a, b))


def _keyed(items: list[Any], keys: tuple[str, ...]) -> dict[bytes, Any] | None:
    if not all(isinstance(i, dict) for i in items):
        return None
    index = {_ident([_key_value(i.get(k)) for k in keys]): i for i in items}
    return index if len(index) == len(items) else None


def _matched(a: list[Any], b: list[Any], schema: str) -> tuple[tuple[str, ...], dict[bytes, Any],
                                                                 dict[bytes, Any]] | None:
    """The keys that tell the items of both lists apart (the list's own, or with
    :data:`MORE_KEYS`), and each list's items by them; None when no keys do."""
    keys = LIST_KEYS.get(schema)
    if keys is None:
        return None
    for tried in (keys, keys + MORE_KEYS[schema]) if schema in MORE_KEYS else (keys,):
        ka = _keyed(a, tried)
        kb = _keyed(b, tried) if ka is not None else None
        if ka is not None and kb is not None:
            return tried, ka, kb
    return None


def _diff_list(a: list[Any], b: list[Any], path: str, schema: str, out: list[Change]) -> None:
    matched = _matched(a, b, schema)
    if matched is not None:
        keys, ka, kb = matched
        for ident, item in ka.items():
            if ident not in kb:
                out.append(_change(path, schema, "remove", item, None))
        for ident, item in kb.items():
            if ident not in ka:
                out.append(_change(path, schema, "add", None, item))
            else:
                _diff(ka[ident], item, path + _selector(keys, item), schema, out)
        return
    # A multiset of items, compared in canonical form: an item whose inner lists are
    # merely reordered is the same item.
    remaining: dict[bytes, list[Any]] = {}
    for item in b:
        remaining.setdefault(_ident(canonicalize(item)), []).append(item)
    removed: list[Any] = []
    for item in a:
        bucket = remaining.get(_ident(canonicalize(item)))
        if bucket:
            bucket.pop()
        else:
            removed.append(item)
    added = [item for bucket in remaining.values() for item in bucket]
    out.extend(_change(path, schema, "remove", item, None) for item in removed)
    out.extend(_change(path, schema, "add", None, item) for item in added)


# --- apply -----------------------------------------------------------------

_NAME = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_DECODER = json.JSONDecoder()


def parse_path(path: str) -> list[str | dict[str, Any]]:
    """``'arms[label="A"].type'`` -> ``['arms', {'label': 'A'}, 'type']``."""
    parts: list[str | dict[str, Any]] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            selector: dict[str, Any] = {}
            pos += 1
            while path[pos] != "]":
                key = _KEY.match(path, pos)
                if key is None:
                    raise ValueError(f"bad selector in path {path!r} at {pos}")
                value, pos = _DECODER.raw_decode(path, key.end())
                selector[key[1]] = value
                pos += path[pos] == ","
            parts.append(selector)
            pos += 1
            continue
        name = _NAME.match(path, pos)
        if name is None:
            raise ValueError(f"bad path {path!r} at {pos}")
        parts.append(name[1])
        pos = name.end()
    return parts


def _select(items: list[Any], selector: dict[str, Any]) -> Any:
    wanted = {k: _key_value(v) for k, v in selector.items()}
    for item in items:
        if all(_key_value(item.get(k)) == v for k, v in wanted.items()):
            return item
    raise KeyError(f"no item matches {selector}")


def _parent(doc: Any, parts: list[str | dict[str, Any]]) -> Any:
    node = doc
    for part in parts:
        node = _select(node, part) if isinstance(part, dict) else node[part]
    return node


def apply(content: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    """``content`` with ``changes`` applied; the input is left untouched."""
    doc = copy.deepcopy(content)
    for change in changes:
        parts = parse_path(change["path"])
        if change["op"] == "replace":
            parent, last = _parent(doc, parts[:-1]), parts[-1]
            if isinstance(last, dict):
                raise ValueError(f"replace on a list item: {change['path']}")
            parent[last] = copy.deepcopy(change["new"])
        elif change["op"] == "add":
            _parent(doc, parts).append(copy.deepcopy(change["new"]))
        elif change["op"] == "remove":
            items = _parent(doc, parts)
            items.remove(change["old"])
        else:
            raise ValueError(f"unknown op {change['op']!r}")
    return doc
