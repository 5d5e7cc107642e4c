"""Bulk sync's checkpoints in the store (both stores)."""

from datetime import timedelta

from trialmirror.store.checkpoints import Checkpoints
from trialmirror.store.engine import as_utc, utcnow


def test_a_checkpoint_is_made_then_updated_in_place(store):
    checkpoints, started = Checkpoints(store), utcnow()
    assert checkpoints.load("all") is None
    checkpoints.save("all", status="running", started_at=started, pages=0, records=0)
    checkpoints.save("all", page_token="t2", pages=2, records=2000)
    cp = checkpoints.load("all")
    assert cp is not None
    assert (cp.name, cp.status, cp.page_token, cp.pages, cp.records) == ("all", "running", "t2", 2, 2000)
    assert abs(as_utc(cp.started_at) - started) < timedelta(milliseconds=1)


def test_slices_count_only_runs_finished_since(store):
    checkpoints, started = Checkpoints(store), utcnow()
    earlier = started - timedelta(days=1)
    for name, status, last, records in [("all[MIN..1999-12-31]", "done", started, 10),
                                        ("all[2000-01-01..MAX]", "running", started, 5),
                                        ("all[2001-01-01..MAX]", "done", earlier, 7),
                                        ("query:cancer", "done", started, 99)]:
        checkpoints.save(name, status=status, started_at=last, last_started_at=last, records=records)
    assert checkpoints.slices_since("all[", started) == (1, 15)
