"""The results section's flat rows (``models.results_tables``), made in Python for the
CSV and Parquet exports; the SQL views (``store/results_views.py``) make the same rows
from the same description, and a test holds the two equal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trialmirror.models.results_tables import TABLES, Const, Joined, Key, Position, Source, Step

Found = dict[str, tuple[int, dict[str, Any]]]  # step -> (position from 1, item)


def _items(node: Any, path: tuple[str, ...]) -> list[Any]:
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    return node if isinstance(node, list) else []


def _walk(parent: dict[str, Any], steps: tuple[Step, ...], found: Found) -> Iterator[Found]:
    if not steps:
        yield found
        return
    step, rest = steps[0], steps[1:]
    for n, item in enumerate(_items(parent, step.path), 1):
        yield from _walk(item, rest, {**found, step.at: (n, item)})


def _value(source: Source, found: Found) -> Any:
    if isinstance(source, Const):
        return source.value
    position, item = found[source.at]
    if isinstance(source, Position):
        return position
    if isinstance(source, Key):
        return item.get(source.key)
    assert isinstance(source, Joined)
    return "|".join(item.get(source.key) or ()) or None


def rows(record: dict[str, Any], source: str, version: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) of every results table, for one stored version's record."""
    if not record.get("results"):
        return
    head = {"registry_id": record["registry_id"], "source": source, "version": version}
    for table in TABLES:
        for branch in table.branches:
            for found in _walk(record, branch.steps, {}):
                yield table.name, {**head, **{name: _value(src, found) for name, src in branch.columns}}
