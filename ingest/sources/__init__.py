"""The source registry: source name -> a module-level object satisfying ``Source``.

Adding a source: write ``ingest/sources/<name>.py`` with a pure ``parse`` and a
thin ``fetch`` (see ctgov.py), expose ``SOURCE``, and list it in ``_MODULES``. A
mirror site is mostly a label table for :mod:`ingest.mirror` (see ctv.py).
A duplicate name fails at import; an unknown name lists the valid ones.
"""

from __future__ import annotations

from importlib import import_module

from ingest.errors import UnknownSourceError
from ingest.sources.base import Source

_MODULES = ("ingest.sources.ctgov", "ingest.sources.ctgov_history", "ingest.sources.ctv",
            "ingest.sources.ictrp")


def _load() -> dict[str, Source]:
    registry: dict[str, Source] = {}
    for module_name in _MODULES:
        source: Source = import_module(module_name).SOURCE
        if source.name in registry:
            raise RuntimeError(f"duplicate source name {source.name!r} in {module_name}")
        registry[source.name] = source
    return registry


SOURCES: dict[str, Source] = _load()


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}; valid sources: {', '.join(sorted(SOURCES))}"
        ) from None
