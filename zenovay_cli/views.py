"""Turn an API `data` object into tabular views and flat records (pure: no rich, no typer).

The API's documents disagree (newest snake_case shapes, older camelCase or unwrapped ones), so
nothing here trusts a shape: fields the code knows are put first, every other field is still shown
(flattened with dotted names), a missing field is a blank cell, and a value of the wrong type falls
back to a generic view instead of raising. Values are kept raw; formatting and escaping of
untrusted text happen in `output.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from zenovay_cli import schema

KINDS: tuple[str, ...] = (
    "usage", "websites", "website", "analytics", "analytics_all",
    "visitors", "pages", "countries", "tech", "errors",
)


@dataclass
class View:
    """One block of output: a table (`columns` x `rows`) or a key/value listing (`kind="kv"`)."""

    title: str | None
    columns: list[str]
    rows: list[list[Any]]
    kind: Literal["table", "kv"] = "table"
    # What a terminal shows instead of the field names: one label per column (table) or per
    # row (kv); None: the field names. Pipes always get the field names.
    labels: list[str] | None = None
    # Per column: right-align it (None: numbers right, text left).
    right: list[bool] | None = None
    # Columns whose "↑"/"↓" cells are coloured green/red on a colour terminal.
    changes: tuple[int, ...] = ()
    # Columns a terminal cuts with "…" to keep each row on one line (URLs, names); never off one.
    cut: tuple[int, ...] = ()
    # Columns a terminal drops when the table does not fit otherwise (an inline bar).
    optional: tuple[int, ...] = ()


@dataclass(frozen=True)
class _ListSpec:
    title: str
    list_keys: tuple[str, ...]  # where the items live; newest name first
    columns: tuple[str, ...]  # preferred order; other fields follow in first-seen order


_LIST_SPECS = {
    "websites": _ListSpec("Websites", (schema.WEBSITES,), (
        "id", "domain", "name", "is_active", "live_visitors", "tracking_code", "created_at",
        "team_id")),
    "visitors": _ListSpec("Visitors", ("visitors",), (
        "visited_at", "country_code", "country_name", "city", "device_type", "browser", "os",
        "value_score", "landing_page", "referrer", "had_interaction", "id")),
    "pages": _ListSpec("Pages", schema.PAGES_KEYS, schema.PAGE_COLUMNS),
    "countries": _ListSpec("Countries", schema.COUNTRIES_KEYS, (
        "country_code", "code", "country_name", "name", "visitors", "percentage",
        "avg_value_score")),
    "errors": _ListSpec("Error groups", schema.ERROR_GROUP_KEYS, (
        "status", "type", "message", "occurrence_count", "affected_users_count", "first_seen_at",
        "last_seen_at", "id", "fingerprint")),
}

_USAGE_ORDER = (
    "subscription.tier", "plan",
    "usage.monthly_requests", "usage.monthly_limit", "usage.monthly_remaining",
    "usage.monthly_reset_at", "forecast.summary", "forecast.burn_rate_per_day",
    "forecast.runs_out_on", "usage.total_requests", "rate_limits.requests_per_minute",
    "api_key.name", "api_key.permission", "api_key.website_id", "api_key.id",
)
_WEBSITE_ORDER = (
    "id", "domain", "name", "is_active", "live_visitors", "tracking_code", "created_at",
    "team_id", "user_id",
)

_RANGE_KEYS = schema.RANGE_KEYS
_DAILY_KEYS = schema.DAILY_KEYS
_SITE_KEYS = ("website.domain", "website", "domain", "website.name", "website.id", "website_id")
# Old camelCase summary fields, renamed in records so old and new answers share columns.
_METRIC_ALIASES = schema.METRIC_ALIASES
_SUMMARY_ORDER = (
    "website.domain", "website.name", "website.id", *_RANGE_KEYS,
    "date_range.start", "date_range.end",
    "summary.total_visitors", "summary.total_page_views", "summary.unique_visitors",
    *_METRIC_ALIASES,
)
_DAILY_COLUMNS = schema.DAILY_COLUMNS
_ALL_COLUMNS = ("website", "total_visitors", "total_page_views", "unique_visitors")
_ALL_HIDDEN = ("range", *schema.TOP_COUNTRIES_KEYS)

_TECH_TITLES = schema.TECH_TITLES
_TECH_COLUMNS = ("name", "visitors", "percentage")


# ---------------------------------------------------------------------------- flattening


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted names ("summary.total_visitors"); lists become JSON text.

    A non-object at the top becomes {"value": obj}; an empty nested object stays visible as "{}".
    When a literal dotted key collides with a nested one, the later one wins.
    """
    out: dict[str, Any] = {}
    _flatten_into(out, obj, prefix)
    return out


def _flatten_into(out: dict[str, Any], obj: Any, prefix: str) -> None:
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = "{}"
        for key, value in obj.items():
            _flatten_into(out, value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        out[prefix or "value"] = _json_text(obj)
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        out[prefix or "value"] = obj
    else:  # not JSON at all (a caller's Python object): show its text
        out[prefix or "value"] = str(obj)


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) for i in value)


def _split(obj: dict, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, list]]]:
    """Flatten `obj`, but pull out lists of objects (they deserve tables of their own)."""
    flat: dict[str, Any] = {}
    tables: list[tuple[str, list]] = []
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if _is_table(value):
            tables.append((path, value))
        elif isinstance(value, dict) and value:
            sub_flat, sub_tables = _split(value, path)
            flat.update(sub_flat)
            tables.extend(sub_tables)
        else:
            _flatten_into(flat, value, path)
    return flat, tables


# ---------------------------------------------------------------------------- view builders


def _ordered(keys: Iterable[str], preferred: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys(keys))
    present = set(keys)
    first = [k for k in dict.fromkeys(preferred) if k in present]
    taken = set(first)
    return first + [k for k in keys if k not in taken]


def _table_from_records(
    title: str | None, records: list[dict[str, Any]], preferred: Iterable[str] = ()
) -> View:
    columns = _ordered((k for r in records for k in r), preferred)
    rows = [[r.get(c) for c in columns] for r in records]
    return View(title, columns, rows, "table")


def _table(title: str | None, items: list, preferred: Iterable[str] = ()) -> View:
    return _table_from_records(title, [flatten(i) for i in items], preferred)


def _kv(title: str | None, flat: dict[str, Any], preferred: Iterable[str] = ()) -> View:
    rows = [[key, flat[key]] for key in _ordered(flat, preferred)]
    return View(title, ["field", "value"], rows, "kv")


def _dict_views(
    title: str | None,
    data: dict,
    order: Iterable[str] = (),
    tables: dict[str, tuple[str, tuple[str, ...]]] | None = None,
) -> list[View]:
    """A kv view of the scalar fields, then a table per list of objects."""
    flat, found = _split(data)
    views = [_kv(title, flat, order)] if flat or not found else []
    for path, items in found:
        table_title, columns = (tables or {}).get(path, (path, ()))
        views.append(_table(table_title, items, columns))
    return views


def _generic(data: Any, title: str | None = None) -> list[View]:
    if isinstance(data, dict):
        return _dict_views(title, data)
    if isinstance(data, list):
        return [_table(title, data)]
    return [_kv(title, flatten(data))]


def _find_list(data: dict, keys: Iterable[str]) -> str | None:
    return next((k for k in keys if isinstance(data.get(k), list)), None)


def _list_views(spec: _ListSpec, data: Any) -> list[View]:
    if isinstance(data, list):
        return [_table(spec.title, data, spec.columns)]
    key = _find_list(data, spec.list_keys) if isinstance(data, dict) else None
    if key is None:
        return _generic(data, spec.title)
    views = [_table(spec.title, data[key], spec.columns)]
    rest = {k: v for k, v in data.items() if k != key}
    if rest:  # pagination, total, and whatever else the API adds
        views.extend(_generic(rest))
    return views


def _website_flat(data: dict) -> dict[str, Any]:
    site = data.get("website")
    if not isinstance(site, dict):  # old, unwrapped answer
        return flatten(data)
    flat = flatten(site)
    for key, value in flatten({k: v for k, v in data.items() if k != "website"}).items():
        flat.setdefault(key, value)
    return flat


def _tech_items(value: Any) -> list | None:
    """The rows of one technology category, or None when `value` is not a category."""
    if isinstance(value, list):
        return value
    # Tolerate a {"Chrome": 5120, ...} mapping: the /technology shape is undocumented.
    if isinstance(value, dict) and value and all(
        v is None or isinstance(v, (bool, int, float, str)) for v in value.values()
    ):
        return [{"name": k, "value": v} for k, v in value.items()]
    return None


def _tech_views(data: Any) -> list[View]:
    if not isinstance(data, dict):
        return _generic(data, "Technology")
    views: list[View] = []
    rest: dict[str, Any] = {}
    for key, value in data.items():
        items = _tech_items(value)
        if items is None:
            rest[key] = value
        else:
            views.append(_table(_TECH_TITLES.get(key, str(key)), items, _TECH_COLUMNS))
    if rest or not views:
        views.extend(_generic(rest, None if views else "Technology"))
    return views


_ANALYTICS_TABLES = {
    **{k: ("Daily", _DAILY_COLUMNS) for k in _DAILY_KEYS},
    **{k: ("Top countries", _LIST_SPECS["countries"].columns) for k in schema.TOP_COUNTRIES_KEYS},
}


def _analytics_views(data: Any) -> list[View]:
    if not isinstance(data, dict):
        return _generic(data, "Analytics")
    return _dict_views("Summary", _without_own_website_id(data), _SUMMARY_ORDER, _ANALYTICS_TABLES)


def _without_own_website_id(data: dict) -> dict:
    """Daily rows repeat the website's own id in every row; the table shows it once, in the summary.
    A row naming another website keeps its id (the API's data is shown, not second-guessed)."""
    website = data.get("website")
    own = website.get("id") if isinstance(website, dict) else None
    if own is None:
        return data
    trimmed = dict(data)
    for key in _DAILY_KEYS:
        rows = data.get(key)
        if isinstance(rows, list):
            trimmed[key] = [
                {k: v for k, v in row.items() if not (k == "website_id" and v == own)}
                if isinstance(row, dict) else row
                for row in rows
            ]
    return trimmed


def _analytics_items(data: Any) -> tuple[list | None, dict]:
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get(schema.WEBSITES), list):
        return data[schema.WEBSITES], {k: v for k, v in data.items() if k != schema.WEBSITES}
    return None, {}


def _analytics_all_views(data: Any) -> list[View]:
    items, rest = _analytics_items(data)
    if items is None:
        return _generic(data, "All websites")
    rows = []
    for record in map(_analytics_record, items):
        # The range, the website's id/name and old list fields repeat or clutter every row; the
        # records keep them.
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key not in _ALL_HIDDEN and not key.startswith(("date_range.", "website.")):
                row.setdefault(key.removeprefix("summary."), value)
        rows.append(row)
    ranges = {_range(i) for i in (*items, rest)} - {None}
    title = f"All websites ({ranges.pop()})" if len(ranges) == 1 else "All websites"
    view = _table_from_records(title, rows, _ALL_COLUMNS)
    if "error" in view.columns:  # last, so a failure reads as the end of its row
        i = view.columns.index("error")
        for values in (view.columns, *view.rows):
            values.append(values.pop(i))
    rest = {k: v for k, v in rest.items() if k not in _RANGE_KEYS}
    return [view, *(_generic(rest) if rest else [])]


def _keyed_views(title: str, data: Any, key_column: str) -> list[View]:
    """{name: {field: ...}} (e.g. settings with their sources) as one row per name."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        return _generic(data, title)
    return [_table_from_records(title, _keyed_records(data, key_column))]


def _keyed_records(data: Any, key_column: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        return _generic_records(data)
    return [{key_column: str(k), **flatten(v)} for k, v in data.items()]


_VIEW_BUILDERS: dict[str, Callable[[Any], list]] = {
    "usage": lambda d: _dict_views("Usage", d, _USAGE_ORDER) if isinstance(d, dict)
    else _generic(d, "Usage"),
    "website": lambda d: [_kv("Website", _website_flat(d), _WEBSITE_ORDER)]
    if isinstance(d, dict) else _generic(d, "Website"),
    "analytics": _analytics_views,
    "analytics_all": _analytics_all_views,
    "tech": _tech_views,
    "settings": lambda d: _keyed_views("Settings", d, "setting"),
    **{kind: partial(_list_views, spec) for kind, spec in _LIST_SPECS.items()},
}


def views_for(kind: str, data: Any) -> list[View]:
    """The views that show `data` (an endpoint's `data` object) as tables; never raises."""
    builder = _VIEW_BUILDERS.get(kind)
    return builder(data) if builder else _generic(data)


# ---------------------------------------------------------------------------- records


def _generic_records(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, list):
        return [flatten(item) for item in data]
    return [flatten(data)]


def _range(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    return next((item[k] for k in _RANGE_KEYS if isinstance(item.get(k), str)), None)


def _analytics_record(item: Any) -> dict[str, Any]:
    """One flat record for one website's analytics: website, range, then summary.* and the rest.

    The daily trend is left out (one record per website keeps csv rectangular); `--json` has it.
    """
    if not isinstance(item, dict):
        return flatten(item)
    skip = {*_DAILY_KEYS, *_RANGE_KEYS, *(("summary",) if item.get("summary") is None else ())}
    flat = flatten({k: v for k, v in item.items() if k not in skip})
    site_key = next((k for k in _SITE_KEYS if flat.get(k) not in (None, "")), None)
    record: dict[str, Any] = {
        "website": flat.pop(site_key) if site_key else None, "range": _range(item)}
    metrics: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _METRIC_ALIASES:
            metrics.setdefault(f"summary.{_METRIC_ALIASES[key]}", value)
        elif key.startswith("summary."):
            metrics[key] = value
        elif key != "error":
            others[key] = value
    for part in (metrics, others, {"error": flat["error"]} if "error" in flat else {}):
        for key, value in part.items():
            record.setdefault(key, value)
    return record


def _list_records(spec: _ListSpec, data: Any) -> list[dict[str, Any]]:
    key = _find_list(data, spec.list_keys) if isinstance(data, dict) else None
    return [flatten(i) for i in data[key]] if key else _generic_records(data)


def _tech_records(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return _generic_records(data)
    records = []
    for key, value in data.items():
        for item in _tech_items(value) or ():
            record = {"category": str(key)}
            for name, cell in flatten(item).items():
                record.setdefault(name, cell)
            records.append(record)
    return records


def _analytics_all_records(data: Any) -> list[dict[str, Any]]:
    items, _rest = _analytics_items(data)
    return [_analytics_record(i) for i in items] if items is not None else _generic_records(data)


_RECORD_BUILDERS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "website": lambda d: [_website_flat(d)] if isinstance(d, dict) else _generic_records(d),
    "analytics": lambda d: [_analytics_record(d)] if isinstance(d, dict)
    else _generic_records(d),
    "analytics_all": _analytics_all_records,
    "tech": _tech_records,
    "settings": lambda d: _keyed_records(d, "setting"),
    **{kind: partial(_list_records, spec) for kind, spec in _LIST_SPECS.items()},
}


_ALL_RECORD_COLUMNS = (
    "website", "range", "summary.total_visitors", "summary.total_page_views",
    "summary.unique_visitors", "summary.bounce_rate",
)
_RECORD_COLUMNS = {
    **{kind: spec.columns for kind, spec in _LIST_SPECS.items()},
    "analytics": _ALL_RECORD_COLUMNS,
    "analytics_all": _ALL_RECORD_COLUMNS,
    "tech": ("category", *_TECH_COLUMNS),
    "website": _WEBSITE_ORDER,
    "usage": _USAGE_ORDER,
}
_LAST_COLUMNS = ("error",)


def record_columns(kind: str, keys: Iterable[str] = ()) -> list[str]:
    """The csv/tsv header of `kind` for records holding `keys`: the known columns first in a fixed
    order, then the others in first-seen order, `error` last; with no keys at all (an empty
    result), the known columns, so that an empty answer still has its header row."""
    keys = list(dict.fromkeys(keys))
    preferred = _RECORD_COLUMNS.get(kind, ())
    if not keys:
        return list(preferred)
    ordered = _ordered(keys, preferred)
    return [k for k in ordered if k not in _LAST_COLUMNS] + [k for k in _LAST_COLUMNS if k in keys]


def csv_line(values: Iterable[Any]) -> str:
    """One RFC 4180 csv line ending in "\\n" (the one csv writer of stdout and export).

    The csv module quotes only fields holding the delimiter, the quote or a character of its line
    terminator; written with "\\r\\n", a field with a bare carriage return is quoted too (a
    "\\n" terminator would leave it bare, and readers would split the row there)."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(values))
    return buf.getvalue()[:-2] + "\n"


def records_for(kind: str, data: Any) -> list[dict[str, Any]]:
    """Flat records (dotted names, scalar values) for ndjson/csv/tsv; never raises."""
    builder = _RECORD_BUILDERS.get(kind)
    return builder(data) if builder else _generic_records(data)


# ---------------------------------------------------------------------------- paging


def items_key(kind: str, page: Any) -> str | None:
    """The key of `page` holding the items of a paged answer, or None when there is none."""
    spec = _LIST_SPECS.get(kind)
    keys = spec.list_keys if spec else ()
    if not isinstance(page, dict):
        return None
    return _find_list(page, keys) or next((k for k, v in page.items() if isinstance(v, list)), None)


def empty_document(kind: str) -> Any:
    """What a paged answer with no pages at all looks like."""
    spec = _LIST_SPECS.get(kind)
    return {spec.list_keys[0]: []} if spec else []


def page_tail(key: str, last_page: dict) -> dict[str, Any]:
    """Every field of the last page but its items; a merged answer has nothing more to fetch."""
    tail = {k: v for k, v in last_page.items() if k != key}
    pagination = tail.get("pagination")
    if isinstance(pagination, dict) and "has_more" in pagination:
        tail["pagination"] = {**pagination, "has_more": False}
    return tail


def merge_pages(kind: str, pages: Iterable[Any]) -> Any:
    """One document holding every item of a paged answer (the shape of one page)."""
    pages = list(pages)
    if not pages:
        return empty_document(kind)
    key = items_key(kind, pages[0])
    if key is None:
        return pages[0] if len(pages) == 1 else pages
    items: list[Any] = []
    for page in pages:
        value = page.get(key) if isinstance(page, dict) else None
        if isinstance(value, list):
            items.extend(value)
    last = next((p for p in reversed(pages) if isinstance(p, dict)), pages[0])
    return {key: items, **page_tail(key, last)}


# ---------------------------------------------------------------------------- 2026 endpoints
# Their views live in views_more.py (imported here, after everything it uses is defined).

from zenovay_cli import views_more as _more  # noqa: E402

KINDS = (*KINDS, *_more.KINDS)
_LIST_SPECS.update(_more.LIST_SPECS)
_VIEW_BUILDERS.update(_more.VIEW_BUILDERS)
_RECORD_BUILDERS.update(_more.RECORD_BUILDERS)
_RECORD_COLUMNS.update(_more.RECORD_COLUMNS)
