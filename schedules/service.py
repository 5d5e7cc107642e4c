"""``trialmirror run``: the long-running service (APScheduler 3).

- One interval job per source over the watchlist (the ``watch`` table, seeded
  from ``TRIALMIRROR_WATCHLIST``), every ``TRIALMIRROR_<SOURCE>_INTERVAL``
  seconds plus up to ``TRIALMIRROR_SCHEDULE_JITTER``; ``coalesce`` (runs missed
  while down are one run), ``max_instances=1``, a misfire grace time. Each job
  calls what ``trialmirror sync`` calls (``Ingestor.run``, for every source: the
  record history's is a backfill), notes the records whose results became overdue
  (``overdue`` events: the days pass without a new version), then delivers notifications. With ``TRIALMIRROR_BROKER_URL``
  a job enqueues record tasks for ``trialmirror worker`` processes instead.
- At start, one round over every source, the registry's first (mirrors find their
  pages by its title), then the intervals take over.
- Jobs live in a persistent SQLAlchemy job store in the same database (table
  ``scheduler_jobs_<name>``), so ``trialmirror status`` can say when each runs next.
- Each record is claimed in the database before it is fetched (a lease, see
  :mod:`trialmirror.store.service_state`), so services on one database share the work and never
  fetch the same (source, record) at once, nor again within half its interval
  (one round). The lease holder is
  the service's name on this host: a restarted service takes up its own leases
  at once; one name is one running service.
- The canary (``trialmirror check``) every ``TRIALMIRROR_CANARY_INTERVAL`` seconds (daily;
  0: never) over the sources this service fetches: at the end of a round when a source
  has not been checked for an interval (the first round after a restart, so the mirrors
  have the registry's title), else on its own job; one service of those on a database
  checks per interval (a lease). Its last result per source is in the store for
  ``trialmirror status``.
- The database's integrity check (``trialmirror db check``) every
  ``TRIALMIRROR_DB_CHECK_INTERVAL`` seconds (daily; 0: never): at the start of a round
  when due, else on its own job; one service of those on a database per interval (a
  lease). Damage is logged as an error; its last result is in the store for ``status``.
- SIGTERM or Ctrl-C: jobs finish the record in hand, the service exits 0. A second
  signal exits at once (each record is its own transaction: nothing half-written).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from trialmirror.ingest.runs.canary import Canary, CheckReport
from trialmirror.ingest.runs.pipeline import Ingestor, RunSummary, log_summary
from trialmirror.ingest.sources import SOURCES, registry_first
from trialmirror.schedules.dispatch import Enqueued, check, dispatch
from trialmirror.schedules.notify import Notifier
from trialmirror.settings import Settings
from trialmirror.store import Store, integrity
from trialmirror.store.engine import make_engine, utcnow
from trialmirror.store.service_state import ServiceState

T = TypeVar("T")
log = logging.getLogger("trialmirror")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_FAR_FUTURE = timedelta(days=3650)
_current: Service | None = None


def jobs_table(name: str) -> str:
    return f"scheduler_jobs_{name}"


def ordered(sources: list[str]) -> list[str]:
    """The registry's sources first (mirrors find their pages by its title), by name."""
    return registry_first(sorted(sources))


class _Gate:
    """Leases for one round of one source. The lease holder is the service, so a
    restarted service takes up its own leases; inside the service, the records in
    hand are kept apart too (the first round and an interval job may overlap)."""

    def __init__(self, service: Service, source: str):
        self.service, self.state, self.holder = service, service.state, service.holder
        self.ttl = service.settings.lease_ttl
        # Done by any service within half an interval: this round has it already.
        self.fresh = timedelta(seconds=service.settings.interval(source) / 2)

    def claim(self, source: str, registry_id: str) -> bool:
        with self.service.in_hand_lock:
            if (source, registry_id) in self.service.in_hand:
                return False
            self.service.in_hand.add((source, registry_id))
        if self.state.claim(source, registry_id, self.holder, self.ttl, utcnow() - self.fresh):
            return True
        with self.service.in_hand_lock:
            self.service.in_hand.discard((source, registry_id))
        return False

    def release(self, source: str, registry_id: str) -> None:
        try:
            self.state.release(source, registry_id, self.holder, done=True)
        finally:
            with self.service.in_hand_lock:
                self.service.in_hand.discard((source, registry_id))


class NameTaken(ValueError):
    """Another live service holds this service's name."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True


class Service:
    def __init__(self, settings: Settings, *, name: str = "main"):
        if not NAME.match(name):
            raise ValueError(f"service name {name!r}: lower-case letters, digits and _, 31 at most")
        self.settings, self.name = settings, name
        check(settings)
        self.holder = f"{name}@{socket.gethostname()}"
        self.instance = f"{self.holder}#{os.getpid()}"  # who holds the name
        self.store = Store(settings.database_url, search_dir=settings.search_dir)
        self.state = ServiceState(self.store)
        self.ingestor = Ingestor(settings, self.store, pinned=self.state.pinned_url)
        self.notifier = Notifier(settings, self.store, self.state)
        self.canary = Canary(self.ingestor)
        self._checking = threading.Lock()
        self._checking_db = threading.Lock()
        self.damage: integrity.CheckResult | None = None  # the last check's, when it found any
        self.stopping = threading.Event()
        self._notify_lock = threading.Lock()
        self.in_hand: set[tuple[str, str]] = set()  # (source, record) being fetched here now
        self.in_hand_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.store.engine,
                                                     tablename=jobs_table(name))},
            executors={"default": ThreadPoolExecutor(max_workers=len(SOURCES) + 2)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": settings.misfire_grace_time},
            timezone=UTC)

    # --- the jobs -------------------------------------------------------------

    def sync_source(self, source: str) -> RunSummary:
        """One round of one source over the watchlist (enqueued for the workers in
        distributed mode: they fetch, store and make the events notifications read)."""
        t0 = time.perf_counter()
        gate = _Gate(self, source)
        ids = [w.registry_id for w in self.state.watched(source)]
        result = dispatch(self.settings, source, ids,
                          lambda: self.ingestor.run(source, ids, gate=gate, should_stop=self.stopping.is_set))
        if isinstance(result, Enqueued):
            log.info("run %s: %d record tasks enqueued", source, result.count, extra={"fields": {
                "event": "run", "source": source, "enqueued": result.count}})
            self.note_overdue()
            return RunSummary(source=source)
        log_summary(result, time.perf_counter() - t0)
        self.note_overdue()
        return result

    def note_overdue(self) -> int:
        """``overdue`` events for the records whose results the days made overdue (each round
        and check: no new version tells of it); a failure is logged, never stops the service."""
        try:
            noted = self.store.note_overdue()
        except Exception:  # a bug here must not stop the service
            log.exception("noting overdue results failed", extra={"fields": {"event": "overdue"}})
            return 0
        if noted:
            log.info("%d record(s) overdue: %s", len(noted), ", ".join(e["registry_id"] for e in noted),
                     extra={"fields": {"event": "overdue", "records": [e["registry_id"] for e in noted]}})
        return len(noted)

    def round(self, sources: list[str]) -> list[RunSummary]:
        """Every source in turn, the registry's first, then the ranked search index brought
        up to date, the check of the sources when it is due, then notifications."""
        summaries = []
        if (due := self.next_db_check()) is not None and due <= utcnow():
            self.check_database()  # before writing: damage is logged, and status shows it
        for source in ordered(sources):
            if self.stopping.is_set():
                break
            summaries.append(self.sync_source(source))
        self.store.catch_up_search()
        if self.next_check() <= utcnow():
            self.check_sources()
        self.notify()
        return summaries

    def next_check(self) -> datetime:
        """When the canary is due: an interval after the oldest last check of a source
        this service fetches (now, for a source never checked; far ahead when disabled)."""
        interval = self.settings.canary_interval
        if not interval:
            return utcnow() + _FAR_FUTURE
        checked = (self.state.last_check() or {}).get("sources", {})
        last = [datetime.fromisoformat(checked[s]["at"]) if s in checked else None for s in self.sources()]
        if not last:  # nothing watched: nothing to check
            return utcnow() + _FAR_FUTURE
        if None in last:
            return utcnow()
        return min(at for at in last if at is not None) + timedelta(seconds=interval)

    def check_sources(self) -> CheckReport | None:
        """The canary over the sources this service fetches, its result kept for ``status``;
        skipped when a service on this database did it within half an interval."""
        return self._exclusive(self._checking, ("check", "canary"), self.settings.canary_interval,
                               self._check_sources, "the check of the sources", "check")

    def _check_sources(self) -> CheckReport:
        report = self.canary.run(self.sources(), should_stop=self.stopping.is_set)
        self.state.record_check({c.source: c.summary() for c in report.sources},
                                at=report.checked_at, by=f"service {self.name}")
        self.note_overdue()
        return report

    def next_db_check(self) -> datetime | None:
        """When the database's integrity check is due (None: disabled)."""
        return integrity.due(self.state.last_db_check(), self.settings.db_check_interval)

    def check_database(self) -> integrity.CheckResult | None:
        """The database's integrity check, its result kept for ``status``; skipped when a
        service on this database did it within half an interval."""
        return self._exclusive(self._checking_db, ("db", "check"), self.settings.db_check_interval,
                               self._check_database, "the database check", "db_check")

    def _check_database(self) -> integrity.CheckResult:
        engine = make_engine(self.settings.database_url, read_only=True)
        try:
            result = integrity.check(engine)
        finally:
            engine.dispose()
        self.state.record_db_check(result, by=f"service {self.name}")
        self.damage = None if result.ok else result
        fields = {"event": "db_check", "ok": result.ok, "method": result.method,
                  "problems": result.problems[:integrity.KEPT], "seconds": result.seconds}
        if result.ok:
            log.info("database check: ok (%s, %.1fs)", result.method, result.seconds,
                     extra={"fields": fields})
        else:
            log.error("database check: the database is DAMAGED: %s; run `trialmirror db check`",
                      "; ".join(result.problems[:3]), extra={"fields": fields})
        return result

    def _exclusive(self, lock: threading.Lock, lease: tuple[str, str], interval: float,
                   work: Callable[[], T], what: str, event: str) -> T | None:
        """``work`` once at a time: not while this service runs it (the end of a round and
        its own job are two scheduler threads of one holder: ``lock``), nor when a service
        on this database did it within half an interval (``lease``). Its failure is logged;
        it never stops the service. None: disabled (interval 0), skipped or failed."""
        if not interval or not lock.acquire(blocking=False):
            return None
        try:
            fresh = utcnow() - timedelta(seconds=interval / 2)
            if not self.state.claim(*lease, self.holder, self.settings.lease_ttl, fresh):
                return None
            try:
                return work()
            except Exception:  # a bug or a failure of the check must not stop the service
                log.exception("%s failed", what, extra={"fields": {"event": event}})
                return None
            finally:
                self.state.release(*lease, self.holder, done=True)
        finally:
            lock.release()

    def claim_name(self) -> None:
        """Hold this service's name in the store while running: two services of one
        name would share leases and job store, and fetch records twice. A holder on
        this host whose process is gone is taken over at once; elsewhere, its claim
        lapses a few heartbeats after its last."""
        if self._renew_name():
            return
        other = self.state.holder_of("service", self.name)
        if other is None and self._renew_name():  # it lapsed or was released meanwhile
            return
        holder, _, pid = (other or "").rpartition("#")
        if (other and holder == self.holder and pid.isdigit() and not _alive(int(pid))
                and self.state.take_over("service", self.name, self.instance, other, self._name_ttl())):
            return
        raise NameTaken(
            f"a service named {self.name!r} is running ({other or 'another service'}): stop it, "
            f"or give this one another --name (two of one name would fetch records twice)")

    def _renew_name(self) -> bool:
        """Claim the name, or extend this service's claim on it."""
        return self.state.claim("service", self.name, self.instance, self._name_ttl(),
                                utcnow() + _FAR_FUTURE)

    def _name_ttl(self) -> float:
        return max(30.0, 6 * self.settings.notify_interval)

    def release_name(self) -> None:
        self.state.release("service", self.name, self.instance, done=False)

    @contextmanager
    def holding_name(self) -> Iterator[None]:
        """Claim the name and renew the claim until the block ends (``run --once``,
        which has no heartbeat job to do it), then release it."""
        self.claim_name()
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self._name_ttl() / 3):
                self._renew_name()

        keeper = threading.Thread(target=renew, name=f"name-{self.name}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()
            self.release_name()

    def heartbeat(self, state: str = "running") -> None:
        """Say in the store that this service is alive (``status`` reads it)."""
        if state == "running":  # and keep its name
            self._renew_name()
        self.state.put_meta(f"service:{self.name}", json.dumps({
            "state": state, "holder": self.holder, "pid": os.getpid(), "at": utcnow().isoformat()}))

    def notify(self) -> dict[str, int]:
        """Deliver pending notifications; one deliverer at a time across services."""
        if not (self.settings.webhook_url or self.settings.atom_path):
            return {}
        with self._notify_lock:
            if not self.state.claim("notify", "targets", self.holder, self.settings.lease_ttl,
                                    utcnow() + _FAR_FUTURE):
                return {}
            try:
                return self.notifier.run()
            except Exception:  # a notification bug must not stop the service
                log.exception("notifications failed", extra={"fields": {"event": "delivery"}})
                return {}
            finally:
                self.state.release("notify", "targets", self.holder, done=False)

    # --- life -----------------------------------------------------------------

    def sources(self) -> list[str]:
        return ordered(list({w.source for w in self.state.watched()}))

    def start(self) -> None:
        global _current
        self.claim_name()
        _current = self
        self.state.seed_watchlist(self.settings.watchlist_ids(), self.settings.source_names())
        now = datetime.now(UTC)
        self.scheduler.start(paused=True)
        self.scheduler.remove_all_jobs()  # the jobs of this configuration, not an older one's
        for source in self.sources():
            interval = self.settings.interval(source)
            self.scheduler.add_job(
                "trialmirror.schedules.service:_run_source", IntervalTrigger(
                    seconds=interval, jitter=min(self.settings.schedule_jitter, interval / 2)),
                args=[source], id=f"sync:{source}", name=f"sync {source}", replace_existing=True,
                next_run_time=now + timedelta(seconds=interval))
        if self.settings.canary_interval:
            interval, due = self.settings.canary_interval, self.next_check()
            # Due now: the first round ends with it (the mirrors then have the registry's
            # title), and this job takes the next.
            self.scheduler.add_job(
                "trialmirror.schedules.service:_run_check", IntervalTrigger(seconds=interval),
                id="check", name="check sources", replace_existing=True,
                next_run_time=due if due > now else now + timedelta(seconds=interval))
        if self.settings.db_check_interval:
            interval, when = self.settings.db_check_interval, self.next_db_check() or now
            # Due now: the first round starts with it, and this job takes the next.
            self.scheduler.add_job(
                "trialmirror.schedules.service:_run_db_check", IntervalTrigger(seconds=interval),
                id="db_check", name="check the database", replace_existing=True,
                next_run_time=when if when > now else now + timedelta(seconds=interval))
        self.scheduler.add_job("trialmirror.schedules.service:_run_notify",
                               IntervalTrigger(seconds=self.settings.notify_interval), id="notify",
                               name="notify", replace_existing=True)
        self.scheduler.add_job("trialmirror.schedules.service:_run_round", id="start", name="first round",
                               next_run_time=now, replace_existing=True)
        self.heartbeat()
        self.scheduler.resume()
        log.info("service %s started: %s", self.name, ", ".join(
            f"{s} every {self.settings.interval(s):g}s" for s in self.sources()) or "nothing watched",
            extra={"fields": {"event": "service", "name": self.name, "pid": os.getpid(),
                              "sources": self.sources()}})

    def run_forever(self) -> None:
        """Start, wait for SIGTERM or Ctrl-C, stop cleanly."""
        self._install_signals()
        self.start()
        while not self.stopping.wait(1.0):
            pass
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        log.info("service %s stopping: finishing the records in hand", self.name,
                 extra={"fields": {"event": "service", "name": self.name}})
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.heartbeat("stopped")
        self.release_name()
        self.store.close()
        log.info("service %s stopped", self.name, extra={"fields": {"event": "service", "name": self.name}})

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():
                os._exit(130)  # a second signal: now (every record is its own transaction)
            self.stopping.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


# Jobs are stored by reference (textual, picklable); they act on the running service.

def _service() -> Service:
    if _current is None:
        raise RuntimeError("no trialmirror service is running in this process")
    return _current


def _run_source(source: str) -> None:
    _service().sync_source(source)
    _service().notify()


def _run_round() -> None:
    service = _service()
    service.round(service.sources())


def _run_check() -> None:
    _service().check_sources()


def _run_db_check() -> None:
    _service().check_database()


def _run_notify() -> None:
    _service().heartbeat()
    _service().notify()


def service_state(store: Store, name: str = "main") -> dict[str, Any] | None:
    """The service's last word in the store: ``{state, holder, pid, at}``, or None."""
    value = ServiceState(store).get_meta(f"service:{name}")
    return json.loads(value) if value else None


def next_runs(store: Store, name: str = "main") -> dict[str, datetime]:
    """When each source's job runs next, from the service's job store (for ``status``)."""
    runs = ServiceState(store).next_runs(jobs_table(name))
    return {job.split(":", 1)[1]: at for job, at in runs.items() if job.startswith("sync:")}


def next_check(store: Store, name: str = "main") -> datetime | None:
    """When the service's check of the sources runs next (None: not scheduled)."""
    return ServiceState(store).next_runs(jobs_table(name)).get("check")


def next_db_check(store: Store, name: str = "main") -> datetime | None:
    """When the service's check of the database runs next (None: not scheduled)."""
    return ServiceState(store).next_runs(jobs_table(name)).get("db_check")
