"""The API's response shapes, both generations: the only module that knows their field names.

The newest documents use snake_case (`summary.total_visitors`, `daily_stats`, `time_range`); the
older ones (help pages of 2025) use camelCase (`totalVisitors` at the top level, `dailyStats`,
`topCountries`). A website is listed under `websites` with an `id` (some answers say
`website_id`). Everything here is pure and tolerant: the API's answers are untrusted, so a missing
or odd field gives an empty value, never an exception. views, export, alert, completion and the
fan-out workflow (sites.py) ask this module rather than spelling field names themselves; a test
(tests/test_architecture.py) checks that no other module spells a camelCase alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

# --- times ----------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time as the API writes them ("2026-07-01T00:00:00.000Z", also in headers such as
    X-Usage-Reset) as an aware UTC datetime; None for anything else. A time without an offset is
    taken as UTC."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# --- websites -------------------------------------------------------------------------------------

WEBSITES = "websites"  # GET /websites: {"websites": [...], "total": n}


def website_list(data: Any) -> list[dict]:
    """The website objects of a /websites answer (or a bare list), non-objects dropped."""
    items = data.get(WEBSITES) if isinstance(data, Mapping) else data
    return [w for w in items if isinstance(w, dict)] if isinstance(items, list) else []


def website_id(site: Mapping) -> str:
    """A website's id (`id`, or `website_id` in some answers) as text; "" when it has none."""
    value = site.get("id", site.get("website_id"))
    return "" if value is None else str(value)


def website_domain(site: Mapping) -> str:
    value = site.get("domain")
    return value if isinstance(value, str) else ""


def website_label(site: Mapping) -> str:
    """How messages name a website: its domain, else its id."""
    return website_domain(site) or website_id(site)


def website_ref(site: Mapping) -> dict:
    """The `website` object of a per-website row (analytics --all)."""
    return {"id": site.get("id"), "domain": site.get("domain"), "name": site.get("name")}


# --- analytics overview ---------------------------------------------------------------------------

SUMMARY = "summary"
# Old camelCase overview fields (top level in the old shape) -> the newest `summary` names.
OLD_SUMMARY_FIELDS = {
    "totalVisitors": "total_visitors",
    "totalPageViews": "total_page_views",
    "uniqueVisitors": "unique_visitors",
}
# Also renamed where records flatten old answers, so old and new answers share columns.
METRIC_ALIASES = {**OLD_SUMMARY_FIELDS, "bounceRate": "bounce_rate"}
RANGE_KEYS = ("time_range", "timeRange", "range")
DAILY_KEYS = ("daily_stats", "dailyStats", "daily")
DAILY_COLUMNS = (
    "date", "total_visitors", "visitors", "unique_visitors", "page_views", "pageViews",
    "bounce_rate", "bounceRate",
)
TOP_COUNTRIES_KEYS = ("top_countries", "topCountries")
DATE_RANGE_KEYS = ("date_range", "dateRange")
# A metric in a daily row / in the summary: the names each generation used for it.
DAILY_METRIC_FIELDS = {
    "total_visitors": ("total_visitors", "visitors", "totalVisitors"),
    "total_page_views": ("page_views", "total_page_views", "pageViews", "views"),
    "unique_visitors": ("unique_visitors", "uniqueVisitors"),
}
SUMMARY_METRIC_FIELDS = {
    "total_visitors": ("total_visitors", "totalVisitors"),
    "total_page_views": ("total_page_views", "totalPageViews"),
    "unique_visitors": ("unique_visitors", "uniqueVisitors"),
}
# Every old field name -> its newest name (for labels and columns shared by both generations).
FIELD_ALIASES = {**METRIC_ALIASES, "pageViews": "page_views"}
# Where each canonical metric may be found: newest snake_case first, then the old camelCase.
METRIC_KEYS = {
    "visitors": ("total_visitors", "totalVisitors", "visitors"),
    "page_views": ("total_page_views", "totalPageViews", "page_views", "pageViews", "pageviews"),
    "unique_visitors": ("unique_visitors", "uniqueVisitors"),
}


def summary_of(analytics: Any) -> dict:
    """The overview's totals by their newest names: `summary`, or the old top-level fields."""
    if not isinstance(analytics, Mapping):
        return {}
    summary = analytics.get(SUMMARY)
    if isinstance(summary, Mapping):
        return dict(summary)
    return {new: analytics[old] for old, new in OLD_SUMMARY_FIELDS.items() if old in analytics}


# --- other endpoints ------------------------------------------------------------------------------

# Where each list lives in an endpoint's `data`, newest name first (/pages is undocumented: these
# names are guesses taken from sibling endpoints).
PAGES_KEYS = ("pages", "top_pages", "topPages")
PAGE_COLUMNS = (
    "url", "path", "page_url", "title", "views", "page_views", "pageViews", "visitors",
    "unique_visitors",
)
COUNTRIES_KEYS = ("countries", *TOP_COUNTRIES_KEYS)
ERROR_GROUP_KEYS = ("error_groups", "errorGroups", "groups", "errors")
DEVICE_TYPE_KEYS = ("device_types", "deviceTypes", "devices")
TECH_TITLES = {
    "browsers": "Browsers", "operating_systems": "Operating systems",
    "operatingSystems": "Operating systems", "os": "Operating systems",
    "device_types": "Device types", "deviceTypes": "Device types", "devices": "Device types",
}


# --- endpoints added in 2026 ------------------------------------------------------------------------
# The list wrappers (`anomalies`, `insights`, `cohorts`) are documented as assumptions: a bare list
# of objects is accepted too.

ANOMALIES_KEYS = ("anomalies", "items", "data")
INSIGHTS_KEYS = ("insights", "items", "data")
HEATMAP_PAGES_KEYS = ("pages", "heatmaps")
REPLAY_SESSIONS_KEYS = ("sessions", "replays")
COHORTS_KEYS = ("cohorts",)
# Every list a paged 2026 endpoint answers with (for `zenovay api --paginate` too).
PAGED_LIST_KEYS = (*ANOMALIES_KEYS[:1], *INSIGHTS_KEYS[:1], *REPLAY_SESSIONS_KEYS[:1])

# The fields of one item of each list, in the documented order: the csv/tsv columns of the
# commands (known columns come first in this order, so an empty answer prints the same header row
# as a full one).
ANOMALY_FIELDS = (
    "id", "metric_name", "expected_value", "actual_value", "deviation_percentage", "severity",
    "detected_at", "is_resolved",
)
INSIGHT_FIELDS = (
    "id", "type", "severity", "title", "description", "metric_name", "metric_value",
    "metric_change", "recommendation", "created_at",
)
RETENTION_FIELDS = ("cohort_date", "period_number", "total_users", "retained_users", "retention_rate")
HEATMAP_PAGE_FIELDS = ("url", "total_interactions", "last_updated")
REPLAY_SESSION_FIELDS = (
    "id", "session_id", "page_url", "device_type", "browser", "os", "country_code",
    "duration_seconds", "event_count", "started_at", "ended_at",
)
# /revenue/{id}/ltv nests periods in cohorts; flat, it is one record per cohort and period.
LTV_RECORD_FIELDS = ("cohort_date", "customers", "period_number", "cumulative_revenue_per_customer")


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
        periods = cohort.get("periods")
        periods = periods if isinstance(periods, list) else []
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


# --- rows the history store keeps (history sync) -------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _first_of(row: Mapping, keys: tuple[str, ...]) -> Any:
    return next((row[k] for k in keys if k in row), None)


def daily_rows(analytics: Any) -> list[tuple[str, int | None, int | None, int | None]]:
    """(date, visitors, unique_visitors, page_views) of each `daily_stats` row (or the old
    `dailyStats`) whose date is a YYYY-MM-DD text; figures that are not whole numbers are None."""
    import re

    if not isinstance(analytics, Mapping):
        return []
    items = _first_of(analytics, DAILY_KEYS)
    out = []
    for row in items if isinstance(items, list) else []:
        if not isinstance(row, Mapping):
            continue
        day = row.get("date")
        if not isinstance(day, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day[:10]):
            continue
        out.append((
            day[:10],
            _int_or_none(_first_of(row, METRIC_KEYS["visitors"])),
            _int_or_none(_first_of(row, METRIC_KEYS["unique_visitors"])),
            _int_or_none(_first_of(row, METRIC_KEYS["page_views"])),
        ))
    return out


def _items(data: Any, keys: tuple[str, ...]) -> list[Mapping]:
    if isinstance(data, list):
        items: Any = data
    elif isinstance(data, Mapping):
        items = _first_of(data, keys)
    else:
        items = None
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def country_rows(data: Any) -> list[tuple[str, str | None, int | None]]:
    """(code, name, visitors) of a /countries answer; rows with neither code nor name dropped."""
    out = []
    for row in _items(data, COUNTRIES_KEYS):
        code = _text_or_none(_first_of(row, ("country_code", "code")))
        name = _text_or_none(_first_of(row, ("country_name", "name", "country")))
        if code or name:
            out.append((code or name or "", name, _int_or_none(row.get("visitors"))))
    return out


def page_rows(data: Any) -> list[tuple[str, str | None, int | None, int | None]]:
    """(url, title, visitors, page views) of a /pages answer (an undocumented shape)."""
    out = []
    for row in _items(data, PAGES_KEYS):
        url = _text_or_none(_first_of(row, ("url", "path", "page_url")))
        if url:
            out.append((url, _text_or_none(row.get("title")),
                        _int_or_none(_first_of(row, ("visitors", "unique_visitors"))),
                        _int_or_none(_first_of(row, ("views", "page_views", "pageViews")))))
    return out


TECH_DIMENSIONS = {  # /technology list -> the history store's dimension
    "browsers": "browser", "operating_systems": "os", "operatingSystems": "os", "os": "os",
    "device_types": "device", "deviceTypes": "device", "devices": "device",
}


def tech_rows(data: Any) -> dict[str, list[tuple[str, int | None]]]:
    """{"browser"|"os"|"device": [(name, visitors)]} of a /technology answer (undocumented)."""
    out: dict[str, list[tuple[str, int | None]]] = {}
    if not isinstance(data, Mapping):
        return out
    for key, dimension in TECH_DIMENSIONS.items():
        for row in _items(data.get(key), ()):
            name = _text_or_none(_first_of(row, ("name", "browser", "os", "device_type", "type")))
            if name:
                out.setdefault(dimension, []).append((name, _int_or_none(row.get("visitors"))))
    return out
