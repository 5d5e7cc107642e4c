"""Where a round of fetching runs: in this process, or on the workers.

One policy for the CLI's ``sync`` and the service's rounds: with ``TRIALMIRROR_BROKER_URL``
set, every record becomes a task for ``trialmirror worker`` processes (they fetch, store and
make the events that notifications read); otherwise the caller's run happens here. The
order of sources (the registry's first: mirrors find their pages by its title) is
:func:`trialmirror.ingest.sources.registry_first`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trialmirror.ingest.runs.pipeline import RunSummary
from trialmirror.ingest.sources import get_source
from trialmirror.settings import Settings


@dataclass(frozen=True)
class Enqueued:
    """Record tasks handed to the workers."""

    source: str
    count: int


def check(settings: Settings) -> None:
    """At start, not at the first round: with a broker, the workers' client must be
    installed (MissingExtraError names the extra)."""
    if settings.broker_url:
        import trialmirror.schedules.tasks  # noqa: F401


def dispatch(settings: Settings, source: str, registry_ids: list[str],
             here: Callable[[], RunSummary]) -> RunSummary | Enqueued:
    """Enqueue ``registry_ids`` of ``source`` for the workers when a broker is set (the ids
    checked first: a worker could only fail them), or run ``here``."""
    if not settings.broker_url:
        return here()
    from trialmirror.schedules.tasks import enqueue

    checked = [get_source(source).validate_id(i) for i in registry_ids]
    return Enqueued(source, enqueue(settings, source, checked))
