"""The results section's flat rows (``models.results_tables``), made in Python for the
CSV and Parquet exports; the SQL views (``store/results_views.py``) make the same rows
from the same description, and a test holds the two equal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


def _getter(source: Source) -> Callable[[Found], Any]:
    """How a column's value is read from the items found (chosen once per column, not per
    cell: a results export reads millions of cells)."""
    if isinstance(source, Const):
        value = source.value
        return lambda found: value
    at = source.at
    if isinstance(source, Position):
        return lambda found: found[at][0]
    key = source.key
    if isinstance(source, Key):
        return lambda found: found[at][1].get(key)
    assert isinstance(source, Joined)
    return lambda found: "|".join(found[at][1].get(key) or ()) or None


_BRANCHES = [(table.name, branch.steps, [(name, _getter(src)) for name, src in branch.columns])
             for table in TABLES for branch in table.branches]


def rows(record: dict[str, Any], source: str, version: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) of every results table, for one stored version's record."""
    if not record.get("results"):
        return
    head = {"registry_id": record["registry_id"], "source": source, "version": version}
    for name, steps, columns in _BRANCHES:
        for found in _walk(record, steps, {}):
            row = head.copy()
            for column, get in columns:
                row[column] = get(found)
            yield name, row
