"""Semantic diff between two normalized records, and its inverse (apply).

A change is ``{path, op, old, new, kind}``:

- ``op`` is ``replace`` (a field's value changed; either side may be null),
  ``add`` or ``remove`` (an item joined or left the list at ``path``).
- ``path`` is dotted field names with key selectors for lists of things with an
  identity: ``arms[label="Placebo"].description``,
  ``interventions[type="DRUG",name="Aspirin"].description``. Selector values
  are JSON. Lists are matched by key, never by position, so a reorder is no
  change. A keyed list whose keys repeat on either side, and every list of
  plain values, is compared as a multiset of items.
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
    parts = ",".join(f"{k}={json.dumps(item.get(k), ensure_ascii=False)}" for k in keys)
    return f"[{parts}]"


def _ident(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


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
    index = {_ident([i.get(k) for k in keys]): i for i in items}
    return index if len(index) == len(items) else None


def _diff_list(a: list[Any], b: list[Any], path: str, schema: str, out: list[Change]) -> None:
    keys = LIST_KEYS.get(schema)
    ka = _keyed(a, keys) if keys else None
    kb = _keyed(b, keys) if keys else None
    if keys and ka is not None and kb is not None:
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
    for item in items:
        if all(item.get(k) == v for k, v in selector.items()):
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
