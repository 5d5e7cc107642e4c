"""Distributed mode: the same work as Celery tasks, for workers on any machines.

With ``TRIALMIRROR_BROKER_URL`` set (RabbitMQ ``amqp://`` or Redis ``redis://``),
``trialmirror sync`` enqueues one task per (source, record) instead of fetching
in-process; ``trialmirror worker`` (a Celery worker) runs them against the one
database all workers share (PostgreSQL). The per-host rate limit holds across
workers when ``TRIALMIRROR_RATE_LIMIT_STORAGE`` is a shared Redis.

Tasks are idempotent (storing the same record twice adds no version: the store
compares content hashes under a per-record lock) and acknowledged late, with
``reject_on_worker_lost``: a worker killed mid-task leaves its task on the queue
for another worker, which redoes it; nothing is lost, nothing duplicated.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from trialmirror.errors import require_extra
from trialmirror.settings import Settings

require_extra("distributed", "celery", needed_for="distributed mode (TRIALMIRROR_BROKER_URL)")
from celery import Celery  # noqa: E402  (after the check: one line naming the extra, not a traceback)

log = logging.getLogger("trialmirror")
app = Celery("trialmirror")
_state: dict[str, Any] = {}


def configure(settings: Settings) -> Celery:
    _state["settings"] = settings
    app.conf.update(
        broker_url=settings.broker_url, task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1, task_serializer="json", accept_content=["json"],
        task_ignore_result=True, broker_connection_retry_on_startup=True,
        task_default_queue=os.environ.get("TRIALMIRROR_QUEUE", "trialmirror"),
        worker_hijack_root_logger=False)
    return app


def _ingestor() -> Any:
    """One Store and Http per worker process, made on first use."""
    if "ingestor" not in _state:
        from trialmirror.ingest.runs.pipeline import Ingestor
        from trialmirror.store import Store
        from trialmirror.store.service_state import ServiceState

        settings = _state.get("settings") or Settings.load()
        store = Store(settings.database_url, search_dir=settings.search_dir)
        _state["ingestor"] = Ingestor(settings, store, pinned=ServiceState(store).pinned_url)
    return _state["ingestor"]


@app.task(name="trialmirror.sync_record", bind=True, max_retries=5)
def sync_record(self: Any, source_name: str, registry_id: str) -> str:
    """Fetch and store one record (for a record history: its versions not stored yet);
    transient failures are retried with backoff, others stay in the fetch log."""
    summary = _ingestor().run(source_name, [registry_id])
    last = summary.results[-1]
    if last.error is not None and last.error.family == "retry_later":
        raise self.retry(countdown=min(60 * 2 ** self.request.retries, 3600))
    return last.outcome


@app.task(name="trialmirror.bulk_slice", bind=True, max_retries=None)
def bulk_slice(self: Any, since: str, until: str, run_started: str) -> str:
    """One page of one date slice of a distributed full load, then the next page as a
    new task. A lease keeps one worker on a slice at a time; the slice's checkpoint
    says which page is next, so a redelivered task neither repeats nor skips one."""
    import socket
    from datetime import datetime, timedelta

    from trialmirror.ingest.runs.bulk import BulkSync
    from trialmirror.store.engine import utcnow
    from trialmirror.store.service_state import ServiceState

    ingestor = _ingestor()
    state = ServiceState(ingestor.store)
    sync = BulkSync(ingestor, window=(since, until), max_pages=1,
                    done_since=datetime.fromisoformat(run_started))
    holder = f"worker@{socket.gethostname()}:{os.getpid()}"
    if not state.claim("bulk", sync.name[:64], holder, ingestor.settings.lease_ttl,
                       utcnow() + timedelta(days=3650)):
        raise self.retry(countdown=2)  # another worker is on this slice now
    try:
        result = sync.run()
    finally:
        state.release("bulk", sync.name[:64], holder, done=False)
    if result.more:
        bulk_slice.delay(since, until, run_started)
    else:
        from trialmirror.ingest.runs.bulk import finish_slices, year_windows

        finished = finish_slices(ingestor, datetime.fromisoformat(run_started), len(year_windows()))
        if finished is not None:
            log.info("full load done: %s records stored, %d vanished", finished.stored,
                     len(finished.vanished), extra={"fields": {
                         "event": "run", "source": finished.source, "stored": finished.stored,
                         "vanished": finished.vanished}})
    return f"{sync.name}: {result.pages} pages"


def enqueue_full_load(settings: Settings) -> int:
    """A distributed full load: one page chain per year of LastUpdatePostDate."""
    from trialmirror.ingest.runs.bulk import year_windows
    from trialmirror.store.engine import utcnow

    configure(settings)
    started = utcnow().isoformat()
    windows = year_windows()
    for since, until in windows:
        bulk_slice.delay(since, until, started)
    return len(windows)


def enqueue(settings: Settings, source_name: str, registry_ids: list[str]) -> int:
    configure(settings)
    for registry_id in registry_ids:
        sync_record.delay(source_name, registry_id)
    return len(registry_ids)

