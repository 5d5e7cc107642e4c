"""Feeds over the event log: the notifying events as notices, and their Atom document.

Shared by the service (which writes the feed file and posts the webhook, see
:mod:`trialmirror.schedules.notify`) and the HTTP API (``/feeds/status.atom``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from lxml import etree

from trialmirror.read.timeline import milestone_text
from trialmirror.store import Store
from trialmirror.store.rows import EventRow

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
        milestone = milestone_text(self.kind, self.data)
        if milestone is not None:
            return f"{self.registry_id} [{self.source}]: {milestone}"
        return f"{self.registry_id} [{self.source}]: {self.kind} (version {self.version})"


def notices(rows: list[EventRow], kinds: frozenset[str], produced_by: frozenset[str]) -> list[Notice]:
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
    etree.SubElement(feed, f"{{{ATOM_NS}}}title").text = "trialmirror: notifications"
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
