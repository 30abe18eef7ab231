"""Waiting out another SQLite writer where SQLite itself does not wait.

A connection's busy timeout makes most statements wait for another process's lock, but SQLite
answers some "database is locked" at once, without calling the busy handler: switching a new file
to WAL while another connection is opening it, and reading a WAL file that another process is
recovering. Both the rate ledger and the history store open the same file from several processes
at once (overlapping cron runs), so both run those steps through `retry_locked`.

Kept free of an `import sqlite3` at module level: a run answered from the cache never needs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" / "busy" errors."""
    text = str(exc)
    return "locked" in text or "busy" in text


def retry_locked(
    step: Callable[[], T],
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`step()`, retried with a growing pause (2 ms doubling to 50 ms) while it fails with a lock
    error, until `timeout` seconds have passed; then (or on any other error) the error is raised."""
    import sqlite3

    deadline = clock() + timeout
    pause = 0.002
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or clock() >= deadline:
                raise
        sleep(pause)
        pause = min(pause * 2, 0.05)
