"""Notifications, driven by the event log: a signed webhook and an Atom feed file.

Each target keeps a cursor (the last event ``seq`` it dealt with) in the store, so
a restart neither drops nor repeats a delivery: the cursor moves only after the
target took the event. Which events notify: kinds in ``TRIALMIRROR_NOTIFY_KINDS``
(``status_change``, ``results_posted`` and ``annotated`` by default) of versions made
by ``TRIALMIRROR_NOTIFY_PRODUCED_BY`` (``fetch`` by default: a backfill's or a
reparse's versions describe the past). A record's first version is a ``new_record``
event, never a status change nor results posted.

Webhook: ``POST TRIALMIRROR_WEBHOOK_URL`` with the event as JSON, the headers
``X-Trialmirror-Signature: sha256=<hex HMAC-SHA256 of the body with
TRIALMIRROR_WEBHOOK_SECRET>``, ``X-Trialmirror-Event: <kind>`` and
``Idempotency-Key: <seq>`` (a receiver that saw the key drops the repeat).
Attempts: up to ``TRIALMIRROR_WEBHOOK_MAX_ATTEMPTS`` with exponential backoff,
honouring ``Retry-After``; each attempt is a row in the delivery log. A 2xx from
the configured URL delivers; another 4xx (but 408, 425 and 429) is a refusal that
retrying cannot fix: logged, and the cursor moves on; anything else leaves the
cursor where it is, so the next round tries again, in order. Redirects are never
followed: a client following a 302 turns the POST into a body-less GET (whose 200
would count as delivered), and a 307 re-sends body and signature to wherever it
points; a 3xx is a failed attempt, logged with its ``Location``.

Atom: the last 50 notified events, rewritten (atomically) to
``TRIALMIRROR_ATOM_PATH`` whenever one is added.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from pathlib import Path

import orjson
import requests

from trialmirror.files import replaced
from trialmirror.ingest.http import user_agent
from trialmirror.read.feeds import Notice, atom_feed, notices
from trialmirror.settings import Settings
from trialmirror.store import Store
from trialmirror.store.service_state import ServiceState
from trialmirror.urls import masked

log = logging.getLogger("trialmirror")
_BATCH = 500  # events read per round


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, settings: Settings, store: Store, state: ServiceState | None = None,
                 session: requests.Session | None = None):
        self.settings, self.store = settings, store
        self.state = state or ServiceState(store)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent(settings.contact)
        self.kinds = settings.notify_kind_set()
        self.produced_by = settings.notify_produced_by_set()

    def run(self) -> dict[str, int]:
        """Deliver what each configured target has not had yet; returns counts per target."""
        done: dict[str, int] = {}
        if self.settings.webhook_url:
            done["webhook"] = self._webhook()
        if self.settings.atom_path:
            done["atom"] = self._atom()
        return done

    def pending(self, target: str) -> tuple[list[Notice], int, bool]:
        """Events after the target's cursor that notify, the last seq looked at, and
        whether more events follow that batch."""
        after = self.state.cursor(target) or 0
        rows = self.store.events(after=after, limit=_BATCH)
        return (notices(rows, self.kinds, self.produced_by), (rows[-1].seq if rows else after),
                len(rows) == _BATCH)

    # --- webhook ------------------------------------------------------------

    def _webhook(self) -> int:
        delivered, more = 0, True
        while more:
            notices, last, more = self.pending("webhook")
            for notice in notices:
                if not self._post(notice):
                    return delivered  # the cursor stays before it: the next round retries
                delivered += 1
                self.state.set_cursor("webhook", notice.seq)
            self.state.set_cursor("webhook", last)  # events that do not notify are passed over
        return delivered

    def _post(self, notice: Notice) -> bool:
        """Deliver one event; True when the cursor may move past it."""
        url = self.settings.webhook_url
        assert url is not None
        body = orjson.dumps(notice.body())
        headers = {"Content-Type": "application/json", "X-Trialmirror-Event": notice.kind,
                   "Idempotency-Key": str(notice.seq)}
        secret = self.settings.webhook_secret
        if secret is not None:
            headers["X-Trialmirror-Signature"] = sign(secret.get_secret_value(), body)
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        for attempt in range(1, self.settings.webhook_max_attempts + 1):
            t0 = time.perf_counter()
            status, error, wait = None, None, None
            try:
                response = self.session.post(url, data=body, headers=headers, timeout=timeout,
                                             allow_redirects=False)
                status = response.status_code
                wait = _retry_after(response.headers.get("Retry-After"))
                response.close()
                if 300 <= status < 400:
                    error = (f"HTTP {status} redirect to {response.headers.get('Location') or '(no Location)'}"
                             ": not followed; set TRIALMIRROR_WEBHOOK_URL to the receiver's address")
            except requests.RequestException as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            ms = (time.perf_counter() - t0) * 1000
            if status is not None and 200 <= status < 300:
                self._logged(notice, attempt, "delivered", status, None, ms)
                return True
            if status is not None and 400 <= status < 500 and status not in (408, 425, 429):
                self._logged(notice, attempt, "refused", status, f"HTTP {status}", ms)
                return True  # retrying cannot help; the event stays in the event log
            self._logged(notice, attempt, "failed", status, error or f"HTTP {status}", ms)
            if attempt < self.settings.webhook_max_attempts:
                backoff = self.settings.backoff_factor * 2 ** (attempt - 1)
                time.sleep(min(max(wait or 0.0, backoff), self.settings.backoff_max))
        return False

    def _logged(self, notice: Notice, attempt: int, outcome: str, status: int | None,
                error: str | None, ms: float) -> None:
        error = masked(error) if error else None  # a receiver's URL may carry a password
        self.state.log_delivery("webhook", notice.seq, attempt, outcome, http_status=status,
                                error=error, duration_ms=ms)
        level = logging.INFO if outcome == "delivered" else logging.WARNING
        log.log(level, "webhook seq %s attempt %s: %s", notice.seq, attempt, outcome, extra={"fields": {
            "event": "delivery", "target": "webhook", "seq": notice.seq, "attempt": attempt,
            "outcome": outcome, "http_status": status, "error": error, "duration_ms": round(ms, 1)}})

    # --- Atom ---------------------------------------------------------------

    def _atom(self) -> int:
        added, more = 0, True
        while more:
            notices, last, more = self.pending("atom")
            added += len(notices)
            self.state.set_cursor("atom", last)
        if added or not Path(self.settings.atom_path or "").exists():
            self._write_atom()
        return added

    def _write_atom(self) -> None:
        path = Path(self.settings.atom_path or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced(path) as handle:  # for others to read: ordinary permissions, whole or not at all
            handle.write(atom_feed(self.store, self.kinds, self.produced_by))


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value)
    return None
