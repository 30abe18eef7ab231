"""The local history store (SQLite): schema and writes, dates and buckets, sums and comparisons.

`daily_sums(db, website_id, start, end)` is the entry point for other commands: the stored sums of
those days, or None when the store does not hold all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenovay_cli.history.query import daily_sums as daily_sums


def __getattr__(name: str) -> Any:
    # Lazy: importing zenovay_cli.history must not import sqlite3 for commands that never use it.
    if name == "daily_sums":
        from zenovay_cli.history.query import daily_sums

        return daily_sums
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
