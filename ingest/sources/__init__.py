"""The source registry: source name -> its ``SOURCE`` (see :mod:`.base` for the contract).

Adding a source: write ``ingest/sources/<name>.py`` (see ctgov), end it with
``SOURCE = source_of(globals())`` and list the module in ``_MODULES``. A mirror
site is mostly a label table for :mod:`trialmirror.ingest.parsing.mirror` (see ctv.py).
A duplicate name fails at import; an unknown name lists the valid ones.

Code outside a source never tests its name: it asks the registry by role.
"""

from __future__ import annotations

from types import ModuleType

from trialmirror.errors import UnknownSourceError
from trialmirror.ingest.sources import ctgov, ctgov_history, ctv, ictrp
from trialmirror.ingest.sources.base import Source

_MODULES: tuple[ModuleType, ...] = (ctgov, ctgov_history, ctv, ictrp)


def _load(modules: tuple[ModuleType, ...]) -> dict[str, Source]:
    registry: dict[str, Source] = {}
    for module in modules:
        source: Source = module.SOURCE
        if source.name in registry:
            raise RuntimeError(f"duplicate source name {source.name!r} in {module.__name__}")
        registry[source.name] = source
    return registry


SOURCES: dict[str, Source] = _load(_MODULES)
# The registry's own sources by rank: on one valid_from the later one is the newer
# state. The first keeps the record's history, the last reads the live record.
REGISTRY: tuple[str, ...] = tuple(
    s.name for s in sorted((s for s in SOURCES.values() if s.role == "registry"), key=lambda s: s.rank))
MIRRORS: tuple[str, ...] = tuple(s.name for s in SOURCES.values() if s.role == "mirror")
HISTORY, LIVE = REGISTRY[0], REGISTRY[-1]


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}; valid sources: {', '.join(sorted(SOURCES))}") from None


def registry_first(names: list[str]) -> list[str]:
    """``names`` without repeats, the registry's sources first (mirrors find their
    pages by its title), each group in the order given."""
    return sorted(dict.fromkeys(names), key=lambda name: name not in REGISTRY)
