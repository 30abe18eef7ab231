"""Response shapes of the endpoints added in 2026 (docs: "Endpoints added in 2026").

The list wrappers (`anomalies`, `insights`, `cohorts`) are documented as assumptions: a bare list
is accepted too. Everything is tolerant: odd items are skipped, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANOMALIES_KEYS = ("anomalies", "items", "data")
INSIGHTS_KEYS = ("insights", "items", "data")
HEATMAP_PAGES_KEYS = ("pages", "heatmaps")
REPLAY_SESSIONS_KEYS = ("sessions", "replays")
COHORTS_KEYS = ("cohorts",)
# Every list a paged 2026 endpoint answers with (for `zenovay api --paginate` too).
PAGED_LIST_KEYS = (*ANOMALIES_KEYS[:1], *INSIGHTS_KEYS[:1], *REPLAY_SESSIONS_KEYS[:1])


def _list(data: Any, keys: tuple[str, ...]) -> list | None:
    if isinstance(data, list):  # a bare list, when it is a list of objects
        return data if all(isinstance(item, dict) for item in data) else None
    if isinstance(data, Mapping):
        return next((data[k] for k in keys if isinstance(data.get(k), list)), None)
    return None


def anomalies(data: Any) -> list[dict]:
    """The anomaly objects of a /anomalies answer (items without a string id are dropped)."""
    return [a for a in _list(data, ANOMALIES_KEYS) or [] if isinstance(a, dict)
            and isinstance(a.get("id"), str)]


def retention_rows(data: Any) -> list[dict] | None:
    """The `cohorts` rows of /retention; None when the answer has no such list."""
    rows = _list(data, COHORTS_KEYS)
    return None if rows is None else [r for r in rows if isinstance(r, dict)]


def retention_triangle(rows: list[dict]) -> tuple[dict[str, tuple[Any, dict[int, Any]]], list[int]]:
    """{cohort_date: (total_users, {period_number: retention_rate})} in cohort order, and the
    period numbers seen (sorted). Rows without a cohort or period are skipped."""
    cohorts: dict[str, tuple[Any, dict[int, Any]]] = {}
    periods: set[int] = set()
    for row in rows:
        cohort, period = row.get("cohort_date"), row.get("period_number")
        if not isinstance(cohort, str) or isinstance(period, bool) or not isinstance(period, int):
            continue
        users, rates = cohorts.setdefault(cohort, (row.get("total_users"), {}))
        rates[period] = row.get("retention_rate")
        periods.add(period)
    ordered = dict(sorted(cohorts.items()))
    return ordered, sorted(periods)


def ltv_cohorts(data: Any) -> list[tuple[Any, Any, list[Any]]] | None:
    """[(cohort_date, customers, [cumulative revenue per customer by period])] of
    /revenue/{id}/ltv; None when the answer has no `cohorts` list."""
    items = _list(data, COHORTS_KEYS)
    if items is None:
        return None
    out = []
    for cohort in items:
        if not isinstance(cohort, dict):
            continue
        periods = cohort.get("periods") if isinstance(cohort.get("periods"), list) else []
        values = [p.get("cumulative_revenue_per_customer") if isinstance(p, dict) else p
                  for p in periods]
        out.append((cohort.get("cohort_date"), cohort.get("customers"), values))
    return out


def ltv_summary(data: Any) -> dict[str, Any]:
    summary = data.get("summary") if isinstance(data, Mapping) else None
    return dict(summary) if isinstance(summary, Mapping) else {}


def query_table(data: Any) -> tuple[list[str], list[list[Any]]] | None:
    """(columns, rows) of a /query answer's `results` table; None when it has none."""
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, Mapping):
        return None
    columns, rows = results.get("columns"), results.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return None
    names = [str(c) for c in columns]
    return names, [list(r) + [None] * (len(names) - len(r)) if isinstance(r, list) else [r]
                   for r in rows]


def newest_visit(data: Any) -> str | None:
    """The newest `visited_at` of a /visitors answer (the API sends newest first)."""
    items = data.get("visitors") if isinstance(data, Mapping) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("visited_at"), str):
            return item["visited_at"]
    return None


__all__ = ["ANOMALIES_KEYS", "COHORTS_KEYS", "HEATMAP_PAGES_KEYS", "INSIGHTS_KEYS",
           "PAGED_LIST_KEYS", "REPLAY_SESSIONS_KEYS", "anomalies", "ltv_cohorts", "ltv_summary",
           "newest_visit", "query_table", "retention_rows", "retention_triangle"]
