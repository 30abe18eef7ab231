"""Period comparison: the previous period's figures from the daily rows of the next longer range.

Pure (no I/O). The current period's figures are exactly the summary `analytics --range R` shows.
The previous period is the same number of days immediately before the current period's first
day; its visitors and page views are the sums of the `daily_stats` rows for those dates, taken
from the answer for the next longer range (7d -> 30d, 30d -> 90d, 90d -> 1y). Unique visitors
are not additive over days, so they are compared as sums of daily unique visitors on both sides
and marked approximate (a visitor seen on two days counts twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from zenovay_cli import schema
from zenovay_cli.errors import UsageError

RANGE_DAYS = {"7d": 7, "30d": 30, "90d": 90}
LONGER = {"7d": "30d", "30d": "90d", "90d": "1y"}
SUPPORTED = tuple(LONGER)
# No longer range holds the previous period of these: it comes from the local history store
# (`zenovay history sync`), when the store holds every one of its days.
FROM_HISTORY = {"24h": 1, "1y": 365}

# Field names of the metrics, newest first (older answers used camelCase): schema.py knows them.
_DAILY_KEYS = schema.DAILY_KEYS
_ROW_FIELDS = schema.DAILY_METRIC_FIELDS
_SUMMARY_FIELDS = schema.SUMMARY_METRIC_FIELDS
METRICS = ("total_visitors", "total_page_views", "unique_visitors")
APPROXIMATE = frozenset({"unique_visitors"})


def check_range(range_value: str, *, history: Path | None = None) -> str:
    """`range_value` if --compare supports it; otherwise a UsageError naming the ranges that do.

    With `history` (the store's path), 24h and 1y are supported too when that store exists (their
    previous period comes from it); without one they are refused before any request.
    """
    if range_value in LONGER:
        return range_value
    if history is not None and range_value in FROM_HISTORY:
        if history.is_file():
            return range_value
        raise UsageError(
            f"--compare with --range {range_value} needs the local history store, and there is none "
            f"at {history}",
            hint="Fill it with `zenovay history sync --backfill 1y` (then keep it with a daily "
                 f"cron job), or use one of {', '.join(SUPPORTED)}.",
        )
    raise UsageError(
        f"--compare does not support --range {range_value}; use one of {', '.join(SUPPORTED)}",
        hint="The previous period comes from the daily rows of the next longer range, and "
             "there is none for 1y (24h has no daily rows).",
    )


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN / infinity: untrusted
        return None
    return value


def _pick(obj: Any, names: tuple[str, ...]) -> int | float | None:
    if not isinstance(obj, dict):
        return None
    for name in names:
        value = _number(obj.get(name))
        if value is not None:
            return value
    return None


def daily_rows(data: Any) -> list[dict] | None:
    """The daily rows of an analytics answer; None when the answer has none (missing or [])."""
    if not isinstance(data, dict):
        return None
    for key in _DAILY_KEYS:
        rows = data.get(key)
        if isinstance(rows, list):
            rows = [r for r in rows if isinstance(r, dict) and _row_date(r) is not None]
            return rows or None
    return None


def _row_date(row: dict) -> date | None:
    text = row.get("date")
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def summary_value(data: Any, metric: str) -> int | float | None:
    """A summary metric of an analytics answer (old camelCase tolerated), or None."""
    if not isinstance(data, dict):
        return None
    summary = data.get("summary")
    value = _pick(summary, _SUMMARY_FIELDS[metric])
    return value if value is not None else _pick(data, _SUMMARY_FIELDS[metric])


def daily_series(data: Any, metric: str = "total_visitors") -> list[tuple[date, int | float]]:
    """(date, value) of every daily row, oldest first; a row without the metric counts 0."""
    rows = daily_rows(data) or []
    series = [(_row_date(r), _pick(r, _ROW_FIELDS[metric]) or 0) for r in rows]
    return sorted((d, v) for d, v in series if d is not None)


def _end_date(data: Any) -> date | None:
    if not isinstance(data, dict):
        return None
    dr = next((data[k] for k in schema.DATE_RANGE_KEYS if data.get(k)), None)
    text = dr.get("end") if isinstance(dr, dict) else None
    if isinstance(text, str):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def current_period(data: Any, range_value: str) -> tuple[date, date] | None:
    """(first, last) day of the current period: the dates of its daily rows, else the N days
    ending on `date_range.end`; None when the answer says neither."""
    days = RANGE_DAYS.get(range_value) or FROM_HISTORY[range_value]
    series = daily_series(data)
    if series:
        last = series[-1][0]
        return last - timedelta(days=days - 1), last
    end = _end_date(data)
    if end is None:
        return None
    return end - timedelta(days=days - 1), end


def previous_period(first: date, days: int) -> tuple[date, date]:
    """The `days` days immediately before `first`."""
    return first - timedelta(days=days), first - timedelta(days=1)


def window_sums(data: Any, start: date, end: date) -> dict[str, int | float]:
    """Sums of each metric over the daily rows dated start..end (inclusive)."""
    rows = [r for r in daily_rows(data) or () if start <= (_row_date(r) or date.min) <= end]
    return {m: sum(_pick(r, _ROW_FIELDS[m]) or 0 for r in rows) for m in METRICS}


@dataclass(frozen=True)
class Change:
    current: int | float | None
    previous: int | float | None

    @property
    def delta(self) -> int | float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        """Change in % of the previous value; None when there is no previous value or it is 0."""
        if self.delta is None or not self.previous:
            return None
        return 100.0 * self.delta / self.previous

    @property
    def is_new(self) -> bool:
        return self.previous == 0 and bool(self.current)

    def as_dict(self) -> dict[str, Any]:
        pct = self.pct
        return {
            "current": self.current,
            "previous": self.previous,
            "change": self.delta,
            "change_pct": None if pct is None else round(pct, 1),
            "new": self.is_new,
        }


def change_text(change: Change | None, *, arrows: bool = True) -> str:
    """"↑ 12.3%", "↓ 4.0%", "new" (previous 0), "0%" (both 0) or "" (nothing to compare)."""
    if change is None or change.current is None or change.previous is None:
        return ""
    if change.is_new:
        return "new"
    pct = change.pct
    if pct is None:  # previous and current both 0
        return "0%"
    if round(pct, 1) == 0:
        return "0%"
    up, down = ("↑ ", "↓ ") if arrows else ("+", "-")
    return f"{up if pct > 0 else down}{abs(pct):,.1f}%"


def compare(current: Any, longer: Any, range_value: str) -> dict[str, Any]:
    """The comparison document for one website: `current` is the answer for `range_value`,
    `longer` the answer for LONGER[range_value]. Never raises on odd shapes: a missing piece
    gives {"available": False, "reason": ...}."""
    days = RANGE_DAYS[range_value]
    source = LONGER[range_value]
    period = current_period(current, range_value)
    if period is None:
        return _unavailable(f"the {range_value} answer has no daily_stats and no date_range")
    if daily_rows(longer) is None:
        return _unavailable(f"the API returned no daily_stats for the {source} range, which "
                            "holds the previous period's days")
    first, last = period
    prev_first, prev_last = previous_period(first, days)
    # A day without a row counts as 0 visitors (an API may leave out empty days); how many
    # days had rows is reported so a reader can tell.
    previous = window_sums(longer, prev_first, prev_last)
    rows_seen = sum(1 for d, _ in daily_series(longer) if prev_first <= d <= prev_last)
    current_daily = window_sums(current, first, last) if daily_rows(current) else None
    metrics: dict[str, Any] = {}
    for metric in METRICS:
        if metric in APPROXIMATE:
            now = current_daily[metric] if current_daily else None
            entry = Change(now, previous[metric]).as_dict()
            entry["approximate"] = True
        else:
            entry = Change(summary_value(current, metric), previous[metric]).as_dict()
        metrics[metric] = entry
    return {
        "available": True,
        "current": {"range": range_value, "start": first.isoformat(), "end": last.isoformat()},
        "previous": {"start": prev_first.isoformat(), "end": prev_last.isoformat(),
                     "days": days, "days_with_rows": rows_seen, "source_range": source},
        "metrics": metrics,
    }


def history_window(range_value: str, today: date) -> tuple[date, date]:
    """The previous period of a 24h/1y comparison when the current one ends `today`."""
    days = FROM_HISTORY[range_value]
    return previous_period(today - timedelta(days=days - 1), days)


def compare_from_history(current: Any, range_value: str,
                         stored: Callable[[date, date], dict[str, int] | None]) -> dict[str, Any]:
    """The comparison document of a 24h or 1y answer, the previous period's sums taken from the
    history store: `stored(first, last)` gives them, or None when the store lacks a day."""
    days = FROM_HISTORY[range_value]
    period = current_period(current, range_value)
    if period is None:
        return _unavailable(f"the {range_value} answer has no daily_stats and no date_range")
    first, last = period
    prev_first, prev_last = previous_period(first, days)
    previous = stored(prev_first, prev_last)
    if previous is None:
        return _unavailable(
            f"the history store does not hold every day of {prev_first.isoformat()}.."
            f"{prev_last.isoformat()} (`zenovay history sync` keeps it)")
    sums = {"total_visitors": previous["visitors"], "total_page_views": previous["page_views"],
            "unique_visitors": previous["unique_visitors"]}
    current_daily = window_sums(current, first, last) if daily_rows(current) else None
    metrics: dict[str, Any] = {}
    for metric in METRICS:
        if metric in APPROXIMATE:
            entry = Change(current_daily[metric] if current_daily else None, sums[metric]).as_dict()
            entry["approximate"] = True
        else:
            entry = Change(summary_value(current, metric), sums[metric]).as_dict()
        metrics[metric] = entry
    return {
        "available": True,
        "current": {"range": range_value, "start": first.isoformat(), "end": last.isoformat()},
        "previous": {"start": prev_first.isoformat(), "end": prev_last.isoformat(),
                     "days": days, "days_with_rows": previous["days"], "source_range": "history"},
        "metrics": metrics,
    }


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def metric_change(comparison: Any, metric: str) -> Change | None:
    """The Change of one metric of a comparison document, or None when it is unavailable."""
    if not isinstance(comparison, dict) or not comparison.get("available"):
        return None
    entry = (comparison.get("metrics") or {}).get(metric)
    if not isinstance(entry, dict):
        return None
    return Change(_number(entry.get("current")), _number(entry.get("previous")))
