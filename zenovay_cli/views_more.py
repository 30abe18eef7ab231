"""Views and records of the endpoints added in 2026: anomalies, insights, retention cohorts (a
triangle on a terminal), revenue LTV, heatmap pages, replay sessions and /query answers.

Registered into views.py's tables at its import (see the end of views.py); pure like views.py.
Where each list lives is in schema.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from zenovay_cli import schema as shape
from zenovay_cli.views import (
    View,
    _generic,
    _generic_records,
    _kv,
    _list_records,
    _list_views,
    _ListSpec,
    flatten,
)

KINDS: tuple[str, ...] = ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays", "query", "api",
         "api_page", "doctor")

LIST_SPECS: dict[str, _ListSpec] = {
    "anomalies": _ListSpec("Anomalies", shape.ANOMALIES_KEYS, (
        "detected_at", "severity", "metric_name", "actual_value", "expected_value",
        "deviation_percentage", "is_resolved", "id")),
    "insights": _ListSpec("Insights", shape.INSIGHTS_KEYS, (
        "created_at", "type", "severity", "title", "metric_name", "metric_value", "metric_change",
        "description", "recommendation", "id")),
    "heatmaps": _ListSpec("Heatmap pages", shape.HEATMAP_PAGES_KEYS, (
        "url", "total_interactions", "last_updated")),
    "replays": _ListSpec("Replay sessions", shape.REPLAY_SESSIONS_KEYS, (
        "started_at", "duration_seconds", "event_count", "page_url", "device_type", "browser",
        "os", "country_code", "ended_at", "session_id", "id")),
}


# -- retention: one row per cohort, one column per period (a triangle) --------------------------


def _retention_views(data: Any) -> list[View]:
    rows = shape.retention_rows(data)
    if rows is None:
        return _generic(data, "Retention")
    if not rows:
        return [View("Retention", ["field", "value"], [["cohorts", "none in this range"]], "kv")]
    cohorts, periods = shape.retention_triangle(rows)
    columns = ["cohort_date", "total_users", *[f"period_{k}_rate" for k in periods]]
    labels = ["Cohort", "Users", *[f"{k}" for k in periods]]
    table = []
    for cohort_date, (users, rates) in cohorts.items():
        table.append([cohort_date, users, *[rates.get(k) for k in periods]])
    return [View("Retention % by period since the cohort's first visit", columns, table,
                 labels=labels)]


def _retention_records(data: Any) -> list[dict[str, Any]]:
    rows = shape.retention_rows(data)
    return [flatten(r) for r in rows] if rows is not None else _generic_records(data)


# -- revenue LTV ----------------------------------------------------------------------------------


NO_REVENUE = "no revenue data (cohorts stay empty until revenue tracking is set up)"


def _revenue_views(data: Any) -> list[View]:
    cohorts = shape.ltv_cohorts(data)
    if cohorts is None:
        return _generic(data, "Revenue LTV")
    summary = shape.ltv_summary(data)
    if not cohorts:
        return [View("Revenue LTV", ["field", "value"], [["revenue", NO_REVENUE]], "kv")]
    views = []
    if summary:
        views.append(_kv("Average LTV per customer", summary))
    width = max(len(values) for _, _, values in cohorts)
    columns = ["cohort_date", "customers", *[f"period_{k}" for k in range(width)]]
    labels = ["Cohort", "Customers", *[f"{k}" for k in range(width)]]
    rows = [[cohort, customers, *(values + [None] * (width - len(values)))]
            for cohort, customers, values in cohorts]
    views.append(View("Cumulative revenue per customer by period", columns, rows, labels=labels))
    return views


def _revenue_records(data: Any) -> list[dict[str, Any]]:
    """One record per cohort and period (empty when there is no revenue data)."""
    cohorts = shape.ltv_cohorts(data)
    if cohorts is None:
        return _generic_records(data)
    return [dict(zip(shape.LTV_RECORD_FIELDS, (cohort, customers, k, value)))
            for cohort, customers, values in cohorts for k, value in enumerate(values)]


# -- POST /query ----------------------------------------------------------------------------------


def _query_views(data: Any) -> list[View]:
    table = shape.query_table(data)
    if table is None:
        return _generic(data, "Answer")
    columns, rows = table
    about = {k: v for k, v in flatten({k: v for k, v in data.items() if k != "results"}).items()}
    return [_kv("Answer", about, ("question", "summary", "intent", "confidence", "time_range")),
            View("Results", columns, rows)]


def _query_records(data: Any) -> list[dict[str, Any]]:
    table = shape.query_table(data)
    if table is None:
        return _generic_records(data)
    columns, rows = table
    return [dict(zip(columns, row)) for row in rows]


# -- zenovay api: any answer; with --paginate, records are the items of each page's list ---------


def _page_records(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        items = next((v for v in data.values() if isinstance(v, list)), None)
        if items is not None and all(isinstance(i, dict) for i in items):
            return [flatten(i) for i in items]
    return _generic_records(data)


# -- zenovay doctor -------------------------------------------------------------------------------


def _doctor_views(data: Any) -> list[View]:
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list):
        return _generic(data, "Doctor")
    rows = [[c.get("status"), c.get("check"), c.get("detail"), c.get("fix")]
            for c in checks if isinstance(c, dict)]
    return [View("zenovay doctor", ["status", "check", "detail", "fix"], rows,
                 labels=["", "Check", "Result", "How to fix"])]


def _doctor_records(data: Any) -> list[dict[str, Any]]:
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list):
        return _generic_records(data)
    return [flatten(c) for c in checks]


def _api_records(data: Any) -> list[dict[str, Any]]:
    """One GET answer: a list answer (one list of objects beside scalars and `pagination`, e.g.
    {"insights": [...], "pagination": {...}}) gives one record per item, as with --paginate;
    anything else (the analytics overview, /usage) stays one flattened record."""
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        others = [v for k, v in data.items() if not isinstance(v, list) and k != "pagination"]
        if len(lists) == 1 and all(not isinstance(v, dict) for v in others):
            return _page_records(data)
    return _generic_records(data)


VIEW_BUILDERS: dict[str, Callable[[Any], list]] = {
    "api": _generic,
    "api_page": _generic,
    "doctor": _doctor_views,
    "retention": _retention_views,
    "revenue": _revenue_views,
    "query": _query_views,
    **{kind: partial(_list_views, spec) for kind, spec in LIST_SPECS.items()},
}
# The known csv/tsv columns of each kind (views.record_columns): an empty answer prints them as its
# header row, the same header a full answer has.
RECORD_COLUMNS: dict[str, tuple[str, ...]] = {
    "anomalies": shape.ANOMALY_FIELDS,
    "insights": shape.INSIGHT_FIELDS,
    "retention": shape.RETENTION_FIELDS,
    "revenue": shape.LTV_RECORD_FIELDS,
    "heatmaps": shape.HEATMAP_PAGE_FIELDS,
    "replays": shape.REPLAY_SESSION_FIELDS,
}
RECORD_BUILDERS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "api": _api_records,
    "api_page": _page_records,
    "doctor": _doctor_records,
    "retention": _retention_records,
    "revenue": _revenue_records,
    "query": _query_records,
    **{kind: partial(_list_records, spec) for kind, spec in LIST_SPECS.items()},
}
