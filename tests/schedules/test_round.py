"""The service's round over every source, on SQLite and PostgreSQL: one record's bad
configuration fails that record only (issue 14)."""

import json

import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.schedules.service import Service
from trialmirror.store.service_state import ServiceState

NCT = "NCT01342250"


@pytest.mark.parametrize("pin", ["gopher://127.0.0.1:1/x", "http://", "http://[::1", "http://127.0.0.1:99999/x",
                                 "127.0.0.1:35497/x"])
def test_a_bad_stored_pin_is_its_records_config_failure_and_the_others_go_on(store, settings, pin):
    html = {"Content-Type": "text/html; charset=utf-8"}
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        server.play(f"/Trial2.aspx?TrialID={NCT}", Reply(body=mp.table(mp.ictrp_lines(fx.current())), headers=html))
        local = settings.model_copy(update={
            "database_url": store.url, "ctgov_base_url": server.base_url, "ctv_base_url": server.base_url,
            "ictrp_base_url": server.base_url, "canary_interval": 0})
        ServiceState(store).watch_add([NCT], ["ctgov", "ictrp"])
        ServiceState(store).watch_add([NCT], ["ctv"], pinned_url=pin)
        service = Service(local)  # its first round, as `run` starts with
        try:
            summaries = {s.source: s for s in service.round(service.sources())}
        finally:
            service.store.close()
    assert sorted(summaries) == ["ctgov", "ctv", "ictrp"]
    (failed,) = summaries["ctv"].results
    assert failed.error.family == "config" and "--source ctv --url" in str(failed.error)
    assert [r.outcome for r in summaries["ictrp"].results] == ["new_version"]
    (fetch,) = store.fetches(NCT, "ctv")
    assert (fetch.outcome, fetch.error_family) == ("error", "config")
