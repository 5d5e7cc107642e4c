"""The source registry: source name -> a module-level object satisfying ``Source``.

Adding a source: write ``ingest/sources/<name>.py`` with a pure ``parse`` and a
thin ``fetch`` (see ctgov.py), expose ``SOURCE``, and list it in ``_MODULES``. A
mirror site is mostly a label table for :mod:`trialmirror.ingest.parsing.mirror` (see ctv.py).
A duplicate name fails at import; an unknown name lists the valid ones.
"""

from __future__ import annotations

from importlib import import_module

from trialmirror.ingest.errors import UnknownSourceError
from trialmirror.ingest.sources.base import Source

_MODULES = ("trialmirror.ingest.sources.ctgov", "trialmirror.ingest.sources.ctgov_history", "trialmirror.ingest.sources.ctv",
            "trialmirror.ingest.sources.ictrp")


def _load() -> dict[str, Source]:
    registry: dict[str, Source] = {}
    for module_name in _MODULES:
        source: Source = import_module(module_name).SOURCE
        if source.name in registry:
            raise RuntimeError(f"duplicate source name {source.name!r} in {module_name}")
        registry[source.name] = source
    return registry


_registry: dict[str, Source] | None = None


def __getattr__(name: str) -> dict[str, Source]:
    # SOURCES loads on first use, not at import: the source modules import helpers
    # (trialmirror.ingest.sources.base, trialmirror.ingest.parsing.mirror) that must not wait on this package.
    if name == "SOURCES":
        return _sources()
    raise AttributeError(name)


def _sources() -> dict[str, Source]:
    global _registry
    if _registry is None:
        _registry = _load()
    return _registry


def get_source(name: str) -> Source:
    try:
        return _sources()[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}; valid sources: {', '.join(sorted(_sources()))}"
        ) from None
