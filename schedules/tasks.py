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

from celery import Celery

from ingest.settings import Settings

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
        from ingest.pipeline import Ingestor
        from ingest.store import Store
        from schedules.state import ServiceState

        settings = _state.get("settings") or Settings.load()
        store = Store(settings.database_url)
        _state["ingestor"] = Ingestor(settings, store, pinned=ServiceState(store).pinned_url)
    return _state["ingestor"]


@app.task(name="trialmirror.sync_record", bind=True, max_retries=5)
def sync_record(self: Any, source_name: str, registry_id: str) -> str:
    """Fetch and store one record (a backfill for ctgov_history); transient failures
    are retried with backoff, others stay in the fetch log."""
    from ingest.backfill import backfill_one
    from ingest.pipeline import log_result
    from ingest.sources import get_source

    ingestor = _ingestor()
    if source_name == "ctgov_history":
        results = backfill_one(ingestor, registry_id)
    else:
        results = [ingestor.sync_one(get_source(source_name), registry_id)]
    for result in results:
        log_result(result)
    last = results[-1]
    if last.error is not None and last.error.family == "retry_later":
        raise self.retry(countdown=min(60 * 2 ** self.request.retries, 3600))
    return last.outcome


def enqueue(settings: Settings, source_name: str, registry_ids: list[str]) -> int:
    configure(settings)
    for registry_id in registry_ids:
        sync_record.delay(source_name, registry_id)
    return len(registry_ids)

