"""Notifications, driven by the event log: a signed webhook and an Atom feed file.

Each target keeps a cursor (the last event ``seq`` it dealt with) in the store, so
a restart neither drops nor repeats a delivery: the cursor moves only after the
target took the event. Which events notify: kinds in ``TRIALMIRROR_NOTIFY_KINDS``
(``status_change`` by default) of versions made by ``TRIALMIRROR_NOTIFY_PRODUCED_BY``
(``fetch`` by default: a backfill's or a reparse's versions describe the past).
A record's first version is a ``new_record`` event, never a status change.

Webhook: ``POST TRIALMIRROR_WEBHOOK_URL`` with the event as JSON, the headers
``X-Trialmirror-Signature: sha256=<hex HMAC-SHA256 of the body with
TRIALMIRROR_WEBHOOK_SECRET>``, ``X-Trialmirror-Event: <kind>`` and
``Idempotency-Key: <seq>`` (a receiver that saw the key drops the repeat).
Attempts: up to ``TRIALMIRROR_WEBHOOK_MAX_ATTEMPTS`` with exponential backoff,
honouring ``Retry-After``; each attempt is a row in the delivery log. A 2xx
delivers; another 4xx (but 408 and 429) is a refusal that retrying cannot fix:
logged, and the cursor moves on; anything else leaves the cursor where it is, so
the next round tries again, in order.

Atom: the last 50 notified events, rewritten (atomically) to
``TRIALMIRROR_ATOM_PATH`` whenever one is added.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests
from lxml import etree

from trialmirror.ingest.http import user_agent
from trialmirror.ingest.settings import Settings
from trialmirror.schedules.state import ServiceState
from trialmirror.store.core import Store

log = logging.getLogger("trialmirror")
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_ENTRIES = 50
_BATCH = 500


@dataclass
class Notice:
    """One event as targets receive it."""

    seq: int
    kind: str
    registry_id: str
    source: str
    version: int
    occurred_at: str
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "registry_id": self.registry_id,
                "source": self.source, "version": self.version, "occurred_at": self.occurred_at,
                **self.data}

    def title(self) -> str:
        status = self.data.get("status") or {}
        if self.kind == "status_change":
            return f"{self.registry_id} [{self.source}]: {status.get('old')} → {status.get('new')}"
        return f"{self.registry_id} [{self.source}]: {self.kind} (version {self.version})"


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
                response = self.session.post(url, data=body, headers=headers, timeout=timeout)
                status = response.status_code
                wait = _retry_after(response.headers.get("Retry-After"))
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
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".atom-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(atom_feed(self.store, self.kinds, self.produced_by))
        os.replace(tmp, path)  # readers see the old feed or the new one, never half of one

def notices(rows: list[Any], kinds: frozenset[str], produced_by: frozenset[str]) -> list[Notice]:
    """The events among ``rows`` that notify."""
    out = []
    for row in rows:
        data = orjson.loads(row.data or "{}")
        if row.kind in kinds and data.get("produced_by", "fetch") in produced_by:
            out.append(Notice(row.seq, row.kind, row.registry_id, row.source, row.version,
                              row.occurred_at.isoformat(), data))
    return out


def _latest_notices(store: Store, kinds: frozenset[str], produced_by: frozenset[str],
                    count: int) -> list[Notice]:
    """The newest ``count`` notifying events, newest first."""
    out: list[Notice] = []
    before = None
    while len(out) < count:
        rows = store.events(kinds=sorted(kinds), before=before, newest_first=True, limit=_BATCH)
        if not rows:
            break
        out.extend(notices(rows, kinds, produced_by))
        before = rows[-1].seq
    return out[:count]


def atom_feed(store: Store, kinds: frozenset[str], produced_by: frozenset[str]) -> bytes:
    """The Atom document of the newest notifying events (the file, and the API's feed)."""
    latest = _latest_notices(store, kinds, produced_by, ATOM_ENTRIES)
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, f"{{{ATOM_NS}}}id").text = "urn:trialmirror:notifications"
    etree.SubElement(feed, f"{{{ATOM_NS}}}title").text = "trialmirror: status changes"
    etree.SubElement(feed, f"{{{ATOM_NS}}}updated").text = (
        latest[0].occurred_at if latest else "1970-01-01T00:00:00+00:00")
    for notice in latest:
        entry = etree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        etree.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"urn:trialmirror:event:{notice.seq}"
        etree.SubElement(entry, f"{{{ATOM_NS}}}title").text = notice.title()
        etree.SubElement(entry, f"{{{ATOM_NS}}}updated").text = notice.occurred_at
        content = etree.SubElement(entry, f"{{{ATOM_NS}}}content", type="text")
        content.text = orjson.dumps(notice.body(), option=orjson.OPT_INDENT_2).decode()
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value)
    return None
