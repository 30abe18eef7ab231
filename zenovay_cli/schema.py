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
from typing import Any

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
