"""The service's state in the store (SQLite and PostgreSQL): watchlist, leases, health."""

import time
from datetime import timedelta

import pytest

from trialmirror.schedules.service import NameTaken, Service
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo
from trialmirror.store.service_state import ServiceState

NCT = "NCT01342250"


def test_the_watchlist_is_seeded_once_then_belongs_to_the_user(store):
    state = ServiceState(store)
    assert state.seed_watchlist([NCT, "NCT00000102"], ["ctgov", "ctv"]) == 4
    assert state.watch_remove("NCT00000102") == 2
    assert state.seed_watchlist([NCT, "NCT00000102"], ["ctgov", "ctv"]) == 0  # not re-seeded
    assert [(w.registry_id, w.source) for w in state.watched()] == [(NCT, "ctgov"), (NCT, "ctv")]
    assert state.watch_add([NCT], ["ctv"], pinned_url="/study/x") == []  # already watched: pin only
    assert state.pinned_url("ctv", NCT) == "/study/x" and state.pinned_url("ctgov", NCT) is None
    assert [w.registry_id for w in state.watched("ctgov")] == [NCT]


def test_a_lease_keeps_others_out_until_released_and_a_round_fetches_once(store):
    state = ServiceState(store)
    round_a = utcnow()
    assert state.claim("ctgov", NCT, "a@host", 60, round_a)
    assert not state.claim("ctgov", NCT, "b@host", 60, round_a)  # held
    state.release("ctgov", NCT, "a@host", done=True)
    assert not state.claim("ctgov", NCT, "b@host", 60, round_a)  # done in this round already
    assert state.claim("ctgov", NCT, "b@host", 60, utcnow())  # the next round
    assert not state.claim("ctgov", NCT, "a@host", 60, utcnow() + timedelta(hours=1))


def test_a_dead_holders_lease_expires_and_its_own_restart_takes_it_at_once(store):
    state = ServiceState(store)
    assert state.claim("ctgov", NCT, "a@host", 0.2, utcnow())  # then a is killed
    assert state.claim("ctgov", NCT, "a@host", 60, utcnow())  # a restarted: its own lease
    assert not state.claim("ctgov", NCT, "b@host", 60, utcnow())
    assert state.claim("ctgov", "NCT00000102", "a@host", 0.2, utcnow())
    time.sleep(0.3)
    assert state.claim("ctgov", "NCT00000102", "b@host", 60, utcnow())  # expired


def test_health_counts_failures_since_the_last_success(store):
    state = ServiceState(store)
    state.watch_add([NCT, "NCT00000102"], ["ctgov"])

    def log(outcome, family=None):
        info = FetchInfo("ctgov", NCT, "u", utcnow(), 1.0)
        store.log_fetch(info, outcome=outcome, error_family=family, error=family and f"{family}: why")

    log("error", "retry_later")
    log("new_version")
    log("error", "retry_later")
    log("error", "parse")
    health = {h.registry_id: h for h in state.health()}
    mine = health[NCT]
    assert mine.consecutive_failures == 2 and mine.last_error_family == "parse"
    assert mine.last_success is not None and mine.last_failure >= mine.last_success
    never = health["NCT00000102"]
    assert never.last_success is None and never.consecutive_failures == 0


def test_a_one_round_run_keeps_its_name_for_as_long_as_it_takes(store, settings, monkeypatch):
    """``run --once`` has no heartbeat job: a thread renews the name's claim, so a round
    longer than the claim's lifetime still keeps a second service of that name out."""
    monkeypatch.setattr(Service, "_name_ttl", lambda self: 0.6)
    config = settings.model_copy(update={"database_url": store.url})
    first, second = Service(config, name="a"), Service(config, name="a")
    second.instance = second.instance + "0"  # another process of this name on this host, alive
    try:
        with first.holding_name():
            time.sleep(1.5)  # the claim would have lapsed twice without renewal
            with pytest.raises(NameTaken, match="a service named 'a' is running"):
                second.claim_name()
        second.claim_name()  # released at the end of the block
    finally:
        first.store.close()
        second.store.close()
