"""The sandbox API's routes, parameter checks and response bodies (no sockets, no locks)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from zenovay_cli.sandbox import advanced as adv
from zenovay_cli.sandbox.data import (
    DEFAULT_RANGE,
    ERROR_STATUSES,
    RANGE_DAYS,
    RANGES,
    SandboxData,
    iso_ms,
)

JSON_TYPE = "application/json; charset=utf-8"
PAID_PLAN_MESSAGE = (
    "The Zenovay API requires a paid plan. Upgrade to Pro or higher to use API keys."
)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # drop the connection without answering


class ApiProblem(Exception):
    """An error answer: HTTP status, upper-case code and a message, as the API sends them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def now_iso() -> str:
    return iso_ms(datetime.now(timezone.utc))


def to_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def success(data: Any) -> Response:
    return Response(200, to_json({"success": True, "data": data, "timestamp": now_iso()}))


def failure(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"success": False, "error": {"message": message, "code": code, "timestamp": now_iso()}}
    return Response(status, to_json(body), headers=dict(headers or {}))


def paid_plan_required() -> Response:
    # The newest help page shows this one error flat, without the success/error envelope.
    return Response(403, to_json({"error": PAID_PLAN_MESSAGE, "code": "API_PAID_PLAN_REQUIRED"}))


def proxy_error_page(status: int) -> Response:
    """What a CDN in front of the API answers when the origin is down: HTML, not JSON."""
    titles = {502: "Bad gateway", 503: "Service unavailable", 504: "Gateway time-out"}
    title = titles.get(status, "Error")
    page = (
        "<!DOCTYPE html>\n<html><head><title>"
        f"api.zenovay.com | {status}: {title}</title></head>\n"
        f"<body><h1>Error {status}</h1><p>{title}. The web server reported an error.</p>"
        "<p>Ray ID: 8f3a2b1c4d5e6f7a</p></body></html>\n"
    )
    return Response(status, page.encode("utf-8"), content_type="text/html; charset=UTF-8")


# -- parameters -------------------------------------------------------------------------------


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _range(query: Mapping[str, list[str]], default: str = DEFAULT_RANGE,
           allowed: tuple[str, ...] = RANGES) -> str:
    value = _first(query, "range")
    if value is None:
        return default
    if value not in allowed:
        raise ApiProblem(
            400, "VALIDATION_ERROR",
            f"Invalid range {value[:40]!r}. Must be one of: {', '.join(allowed)}",
        )
    return value


def _integer(query: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    value = _first(query, name)
    if value is None:
        return default
    # ASCII digits only: int() would also take "+5", " 5", "5_0" and other scripts' digits.
    if re.fullmatch(r"[0-9]{1,15}", value) and low <= int(value) <= high:
        return int(value)
    if high >= 10**15:
        raise ApiProblem(400, "VALIDATION_ERROR", f"{name} must be an integer >= {low}")
    raise ApiProblem(
        400, "VALIDATION_ERROR", f"{name} must be an integer between {low} and {high}"
    )


def _choice(query: Mapping[str, list[str]], name: str, allowed: tuple[str, ...],
            default: str | None = None) -> str | None:
    value = _first(query, name)
    if value is None:
        return default
    if value not in allowed:
        raise ApiProblem(
            400, "VALIDATION_ERROR",
            f"Invalid {name} {value[:40]!r}. Must be one of: {', '.join(allowed)}",
        )
    return value


def _status(query: Mapping[str, list[str]]) -> str | None:
    return _choice(query, "status", ERROR_STATUSES)


# -- routes -----------------------------------------------------------------------------------

_ROUTES = [
    (re.compile(r"/usage"), "usage"),
    (re.compile(r"/websites"), "websites"),
    (re.compile(r"/websites/(?P<id>[^/]+)"), "website"),
    (re.compile(r"/analytics/(?P<id>[^/]+)"), "overview"),
    (re.compile(r"/analytics/(?P<id>[^/]+)/visitors"), "visitors"),
    (re.compile(r"/analytics/(?P<id>[^/]+)/pages"), "pages"),
    (re.compile(r"/analytics/(?P<id>[^/]+)/countries"), "countries"),
    (re.compile(r"/analytics/(?P<id>[^/]+)/technology"), "technology"),
    (re.compile(r"/errors/(?P<id>[^/]+)/groups"), "error_groups"),
    (re.compile(r"/anomalies/(?P<id>[^/]+)"), "anomalies"),
    (re.compile(r"/insights/(?P<id>[^/]+)"), "insights"),
    (re.compile(r"/retention/(?P<id>[^/]+)"), "retention"),
    (re.compile(r"/revenue/(?P<id>[^/]+)/ltv"), "revenue_ltv"),
    (re.compile(r"/heatmaps/(?P<id>[^/]+)/pages"), "heatmap_pages"),
    (re.compile(r"/replays/(?P<id>[^/]+)/sessions"), "replay_sessions"),
    (re.compile(r"/query/(?P<id>[^/]+)"), "query"),
]

# The one route that is not a GET.
METHODS = {"query": "POST"}

# Plans in ascending order, and the lowest plan each route needs (every other route: any paid
# plan). Free keys never get this far: they get the flat API_PAID_PLAN_REQUIRED first.
PLANS = ("free", "pro", "scale", "enterprise")
PLAN_REQUIRED = {"anomalies": "pro", "insights": "pro", "retention": "pro",
                 "revenue_ltv": "pro", "query": "scale"}

# API credits per request (POST /query costs three, every other call one).
CREDITS = {"query": 3}


def match(path: str) -> tuple[str, str | None] | None:
    """(route name, website id or None) for an API path (after the prefix), or None."""
    path = path.rstrip("/") or "/"
    for pattern, name in _ROUTES:
        found = pattern.fullmatch(path)
        if found:
            return name, found.groupdict().get("id")
    return None


def _check_website(data: SandboxData, website_id: str, scope: str | None) -> None:
    if not data.has_website(website_id):
        raise ApiProblem(404, "NOT_FOUND", "Website not found")
    if scope is not None and website_id != scope:
        raise ApiProblem(403, "FORBIDDEN", "Access denied to this website")


def method_problem(path: str, method: str) -> Response | None:
    """A 405 when `method` is not the one of the route at `path` (None: go on)."""
    found = match(path)
    allowed = METHODS.get(found[0], "GET") if found else "GET"
    if method == allowed:
        return None
    return failure(405, "METHOD_NOT_ALLOWED",
                   f"Method {method} is not allowed here; use {allowed}", {"Allow": allowed})


def plan_problem(path: str, tier: str) -> Response | None:
    """403 FORBIDDEN when the key's plan is below what the route needs (the docs show only
    "403 Forbidden" for /query on Pro; the code string is an ASSUMPTION)."""
    found = match(path)
    needed = PLAN_REQUIRED.get(found[0]) if found else None
    if needed is None or PLANS.index(tier) >= PLANS.index(needed):
        return None
    what = "Natural-language queries" if found and found[0] == "query" else "This endpoint"
    return failure(403, "FORBIDDEN",
                   f"{what} require the {needed.capitalize()} plan or higher "
                   f"(this key's plan: {tier.capitalize()})")


def credits(path: str) -> int:
    found = match(path)
    return CREDITS.get(found[0], 1) if found else 1


@dataclass
class Request:
    """What a route handler may look at besides the data set."""

    query: Mapping[str, list[str]]
    scope: str | None = None
    usage: Callable[[], dict[str, Any]] = dict
    tier: str = "pro"
    body: bytes = b""
    resolved: Mapping[str, bool] = field(default_factory=dict)


def route(
    data: SandboxData,
    path: str,
    query: Mapping[str, list[str]],
    *,
    scope: str | None,
    usage: Callable[[], dict[str, Any]],
    tier: str = "pro",
    body: bytes = b"",
    resolved: Mapping[str, bool] | None = None,
) -> Response:
    """Answer one authenticated, admitted request. `scope` is the only website id a
    site-scoped key may see (None: every website); `usage` builds the `/usage` data; `tier` is
    the key's plan; `resolved` holds anomaly resolutions set through the control endpoint."""
    found = match(path)
    if found is None:
        return failure(404, "NOT_FOUND", f"Route not found: GET {path[:100]}")
    name, website_id = found
    request = Request(query, scope, usage, tier, body, resolved or {})
    try:
        if website_id is not None:
            _check_website(data, website_id, scope)
        if name in _DATA:
            return success(_DATA[name](data, website_id, query, scope, usage))
        assert website_id is not None  # every advanced route has {id} in its path (_ROUTES)
        return success(_ADVANCED[name](adv.Advanced(data, request.resolved), website_id, request))
    except ApiProblem as problem:
        return failure(problem.status, problem.code, problem.message)


def _usage(data, website_id, query, scope, usage):
    return usage()


def _websites(data, website_id, query, scope, usage):
    items = data.websites(only=scope)
    return {"websites": items, "total": len(items)}


def _website(data, website_id, query, scope, usage):
    return {"website": data.website(website_id)}


def _overview(data, website_id, query, scope, usage):
    return data.overview(website_id, _range(query))


def _visitors(data, website_id, query, scope, usage):
    range_ = _range(query)
    limit = _integer(query, "limit", 100, 1, 1000)
    offset = _integer(query, "offset", 0, 0, 10**15)
    items = data.visitors(website_id, range_, offset=offset, limit=limit)
    has_more = offset + len(items) < data.visitor_count(website_id, range_)
    return {
        "visitors": items,
        "pagination": {"limit": limit, "offset": offset, "has_more": has_more},
    }


def _pages(data, website_id, query, scope, usage):
    range_ = _range(query)
    return {"pages": data.pages(website_id, range_, limit=_integer(query, "limit", 20, 1, 100))}


def _countries(data, website_id, query, scope, usage):
    range_ = _range(query)
    limit = _integer(query, "limit", 20, 1, 100)
    return {"countries": data.countries(website_id, range_, limit=limit)}


def _technology(data, website_id, query, scope, usage):
    return data.technology(website_id, _range(query))


def _error_groups(data, website_id, query, scope, usage):
    limit = _integer(query, "limit", 50, 1, 200)
    status = _status(query)
    return {"error_groups": data.error_groups(website_id, status=status, limit=limit)}


_DATA = {
    "usage": _usage,
    "websites": _websites,
    "website": _website,
    "overview": _overview,
    "visitors": _visitors,
    "pages": _pages,
    "countries": _countries,
    "technology": _technology,
    "error_groups": _error_groups,
}


# -- endpoints added in 2026 ------------------------------------------------------------------


def _page(items: list[Any], query: Mapping[str, list[str]], default: int, high: int
          ) -> tuple[list[Any], dict[str, Any]]:
    limit = _integer(query, "limit", default, 1, high)
    offset = _integer(query, "offset", 0, 0, 10**15)
    page = items[offset:offset + limit]
    return page, {"limit": limit, "offset": offset, "has_more": offset + len(page) < len(items)}


def _within(items: list[dict[str, Any]], field_name: str, data: SandboxData, range_: str
            ) -> list[dict[str, Any]]:
    start = iso_ms(data.now() - timedelta(days=RANGE_DAYS[range_]))
    return [item for item in items if item[field_name] >= start]


def _bool(query: Mapping[str, list[str]], name: str) -> bool | None:
    value = _choice(query, name, ("true", "false"))
    return None if value is None else value == "true"


def _anomalies(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    range_ = _range(req.query, allowed=("24h", "7d", "30d", "90d"))
    severity = _choice(req.query, "severity", adv.SEVERITIES)
    metric = _first(req.query, "metric")
    resolved = _bool(req.query, "resolved")
    items = _within(a.anomalies(website_id, req.tier), "detected_at", a.data, range_)
    items = [i for i in items if severity in (None, i["severity"])
             and metric in (None, i["metric_name"]) and resolved in (None, i["is_resolved"])]
    page, pagination = _page(items, req.query, 50, 200)
    return {"anomalies": page, "pagination": pagination}


def _insights(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    range_ = _range(req.query)
    kind = _choice(req.query, "type", adv.INSIGHT_TYPES)
    severity = _choice(req.query, "severity", adv.SEVERITIES)
    items = _within(a.insights(website_id), "created_at", a.data, range_)
    items = [i for i in items if kind in (None, i["type"]) and severity in (None, i["severity"])]
    page, pagination = _page(items, req.query, 50, 200)
    return {"insights": page, "pagination": pagination}


def _retention(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    range_ = _range(req.query, default="30d")
    granularity = _choice(req.query, "granularity", adv.GRANULARITIES, "weekly") or "weekly"
    periods = _integer(req.query, "periods", 6, 1, 12)
    return {"cohorts": a.retention(website_id, range_, granularity, periods)}


def _revenue_ltv(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    range_ = _range(req.query, default="90d")
    granularity = _choice(req.query, "granularity", adv.LTV_GRANULARITIES, "monthly") or "monthly"
    return a.revenue_ltv(website_id, range_, granularity)


def _heatmap_pages(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    return {"pages": a.heatmap_pages(website_id, _integer(req.query, "limit", 20, 1, 100))}


def _replay_sessions(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    limit = _integer(req.query, "limit", 50, 1, 200)
    offset = _integer(req.query, "offset", 0, 0, 10**15)
    items = a.replay_sessions(website_id, offset, limit)
    has_more = offset + len(items) < a.replay_count(website_id)
    return {"sessions": items,
            "pagination": {"limit": limit, "offset": offset, "has_more": has_more}}


def _query(a: adv.Advanced, website_id: str, req: Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "VALIDATION_ERROR", "The request body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiProblem(400, "VALIDATION_ERROR", 'Expected a JSON object like {"question": "..."}')
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ApiProblem(400, "VALIDATION_ERROR", "question is required")
    if len(question) > adv.MAX_QUESTION:
        raise ApiProblem(400, "VALIDATION_ERROR",
                         f"question must be at most {adv.MAX_QUESTION} characters")
    context = body.get("context") or {}
    if not isinstance(context, dict):
        raise ApiProblem(400, "VALIDATION_ERROR", "context must be an object")
    time_range = context.get("time_range", "7d")
    if time_range not in adv.QUERY_RANGES:
        raise ApiProblem(400, "VALIDATION_ERROR",
                         f"context.time_range must be one of: {', '.join(adv.QUERY_RANGES)}")
    compare_to = context.get("compare_to")
    if compare_to is not None and compare_to not in adv.COMPARE_TO:
        raise ApiProblem(400, "VALIDATION_ERROR",
                         f"context.compare_to must be one of: {', '.join(adv.COMPARE_TO)}")
    return a.query(website_id, question, time_range, compare_to)


_ADVANCED = {
    "anomalies": _anomalies,
    "insights": _insights,
    "retention": _retention,
    "revenue_ltv": _revenue_ltv,
    "heatmap_pages": _heatmap_pages,
    "replay_sessions": _replay_sessions,
    "query": _query,
}
