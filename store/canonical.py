"""The canonical form of a record and its content hash.

Two captures are the same version exactly when their canonical forms are
equal: provenance (:data:`trialmirror.models.record.PROVENANCE_FIELDS`) is left out, keys
are sorted, and every list is sorted, because no list in the record carries
meaning in its order (arms, sites, criteria items, phases ...). Reordering a
list never makes a new version; the eligibility ``criteria_text`` still keeps
the source's order for readers.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from trialmirror.models.record import ADDED_FIELDS, PROVENANCE_FIELDS, PROVENANCE_PATHS, Record, path_tree


def _sort_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _sort_lists(value: Any) -> None:
    """Sort every list inside ``value``, in place, innermost first."""
    if isinstance(value, dict):
        for v in value.values():
            if isinstance(v, (dict, list)):
                _sort_lists(v)
    elif isinstance(value, list):
        if len(value) < 2:
            if value and isinstance(value[0], (dict, list)):
                _sort_lists(value[0])
            return  # one item is in order (a result's lists are mostly of one or two)
        if all(v.__class__ is str for v in value):
            value.sort()  # the common case; any fixed order will do
            return
        for v in value:
            if isinstance(v, (dict, list)):
                _sort_lists(v)
        value.sort(key=_sort_key)


def canonicalize(value: Any) -> Any:
    """A copy of ``value`` with every list sorted (keys are sorted when dumped)."""
    copy = orjson.loads(orjson.dumps(value))  # a deep copy at C speed
    _sort_lists(copy)
    return copy


def content_of(record: Record | dict[str, Any], *, own: bool = False) -> dict[str, Any]:
    """The record as a JSON-ready dict without provenance fields. ``own``: the caller
    owns the dict given and needs it no more, so the added fields are dropped from its
    sections in place (no copy; the store's hot path)."""
    data = record.model_dump(mode="json") if isinstance(record, Record) else record
    content = {k: v for k, v in data.items() if k not in PROVENANCE_FIELDS}
    for parent, child in PROVENANCE_PATHS:
        if isinstance(content.get(parent), dict) and child in content[parent]:
            content[parent] = {k: v for k, v in content[parent].items() if k != child}
    _drop_null(content, _ADDED, copy=not own)
    return content


_ADDED = path_tree(ADDED_FIELDS)  # {"sites": {"zip": {}, ...}, ...}: one walk for every path


def _drop_null(node: dict[str, Any], tree: dict[str, Any], *, copy: bool) -> None:
    """Leave out the added fields of ``tree`` while they are null. ``copy``: a dict or
    list is copied before it changes, so the caller's record is never touched."""
    for key, below in tree.items():
        if key not in node:
            continue
        child = node[key]
        if not below:  # a leaf of the tree: the added field itself
            if child is None:
                del node[key]
        elif child.__class__ is dict:
            if copy:
                node[key] = child = dict(child)
            _drop_null(child, below, copy=copy)
        elif child.__class__ is list and child:
            if copy:
                node[key] = child = [dict(i) if i.__class__ is dict else i for i in child]
            for item in child:
                if item.__class__ is dict:
                    _drop_null(item, below, copy=copy)


def content_hash(record: Record | dict[str, Any], *, sort_in_place: bool = False) -> str:
    """``sha256:<hex>`` of the canonical JSON of the record's content.

    ``sort_in_place`` skips the copy and sorts the lists of the dict given: for
    callers that own it and care for no list order (the store, on its hot path).
    """
    if sort_in_place and isinstance(record, dict):
        canonical = content_of(record, own=True)
        _sort_lists(canonical)
    else:
        canonical = canonicalize(content_of(record))
    digest = hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS))
    return "sha256:" + digest.hexdigest()
