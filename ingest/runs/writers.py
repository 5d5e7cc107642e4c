"""Records stored by several threads at once, on PostgreSQL.

One writer leaves the database and the command each waiting for the other about half
of the time: a record is about 18 round trips, and Python parses while PostgreSQL
writes. So a bulk page (``sync --all``) and a chunk of ``reparse`` are shared among
``TRIALMIRROR_WRITERS`` threads, each on its own connection (store/engine.py keeps one
per thread). The record locks and the event log's order lock (store/write.py) keep
them apart. SQLite has one writer at a time: there the work runs on the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def count(postgres: bool, wanted: int) -> int:
    """How many threads write: ``wanted`` (the setting) on PostgreSQL, one on SQLite."""
    return wanted if postgres else 1


def pool(writers: int) -> ThreadPoolExecutor:
    """Threads to share work among; keep them for as long as the work goes on, since
    each thread keeps its own database connection."""
    return ThreadPoolExecutor(writers, thread_name_prefix="trialmirror-writer")


def shared(threads: ThreadPoolExecutor | None, writers: int, items: Sequence[T], key: Callable[[T], str],
           work: Callable[[list[T]], list[R]]) -> list[R]:
    """``work`` (a result per item) over ``items``, shared among ``writers`` threads of
    ``threads`` (none, or one writer: on this thread). The items of one ``key`` (a record)
    go to one thread, in their order, so its versions are numbered in that order; the
    results come back in the items' order."""
    writers = min(writers, len(items))
    if threads is None or writers <= 1:
        return work(list(items))
    owner: dict[str, int] = {}  # key -> its thread, dealt round the threads
    runs: list[list[int]] = [[] for _ in range(writers)]
    for n, item in enumerate(items):
        runs[owner.setdefault(key(item), len(owner) % writers)].append(n)
    parts = threads.map(lambda run: work([items[n] for n in run]), runs)
    results: list[R | None] = [None] * len(items)
    for run, part in zip(runs, parts, strict=True):
        for n, result in zip(run, part, strict=True):
            results[n] = result
    return [result for result in results if result is not None]
