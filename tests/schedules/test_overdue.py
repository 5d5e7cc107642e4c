"""A round of the service tells of results that became overdue with no new version (the
days passed), through the notifications, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.fixtures.fdaaa import act_document
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.ingest.sources import ctgov
from trialmirror.schedules.service import Service
from trialmirror.store.service_state import ServiceState

NCT = "NCT01342250"


def test_a_round_after_the_due_date_tells_the_feed_once(store, settings, tmp_path):
    completion = (datetime.now(UTC).date() - timedelta(days=500)).isoformat()
    payload = json.dumps(act_document(completion)).encode()
    # Stored 1,000 days ago, before its completion: the store watched it pass its due date.
    store.put(ctgov.parse(payload, NCT), fetch=None, raw_sha256=None, searchable=True,
              observed_at=datetime.now(UTC) - timedelta(days=1000))
    ServiceState(store).watch_add([NCT], ["ctgov"])
    atom = tmp_path / "status.atom"
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=payload), Reply(body=payload))
        local = settings.model_copy(update={"database_url": store.url, "ctgov_base_url": server.base_url,
                                            "canary_interval": 0, "atom_path": str(atom)})
        service = Service(local)
        try:
            (first,) = service.round(["ctgov"])
            assert [r.outcome for r in first.results] == ["unchanged"]  # no new version
            feed = atom.read_text(encoding="utf-8")
            assert f"{NCT} [ctgov]: results overdue (due " in feed and "135 days late" in feed
            service.round(["ctgov"])
        finally:
            service.store.close()
    assert [(e.kind, e.version) for e in store.events(kind="overdue")] == [("overdue", 1)]
