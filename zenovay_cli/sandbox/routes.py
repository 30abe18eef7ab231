"""The sandbox API's routes, parameter checks and response bodies (no sockets, no locks)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zenovay_cli.sandbox.data import DEFAULT_RANGE, ERROR_STATUSES, RANGES, SandboxData, iso_ms

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


def _range(query: Mapping[str, list[str]]) -> str:
    value = _first(query, "range")
    if value is None:
        return DEFAULT_RANGE
    if value not in RANGES:
        raise ApiProblem(
            400, "VALIDATION_ERROR",
            f"Invalid range {value[:40]!r}. Must be one of: {', '.join(RANGES)}",
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


def _status(query: Mapping[str, list[str]]) -> str | None:
    value = _first(query, "status")
    if value is None:
        return None
    if value not in ERROR_STATUSES:
        raise ApiProblem(
            400, "VALIDATION_ERROR",
            f"Invalid status {value[:40]!r}. Must be one of: {', '.join(ERROR_STATUSES)}",
        )
    return value


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
]


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


def route(
    data: SandboxData,
    path: str,
    query: Mapping[str, list[str]],
    *,
    scope: str | None,
    usage: Callable[[], dict[str, Any]],
) -> Response:
    """Answer one authenticated, admitted GET request. `scope` is the only website id a
    site-scoped key may see (None: every website); `usage` builds the `/usage` data."""
    found = match(path)
    if found is None:
        return failure(404, "NOT_FOUND", f"Route not found: GET {path[:100]}")
    name, website_id = found
    try:
        if website_id is not None:
            _check_website(data, website_id, scope)
        return success(_DATA[name](data, website_id, query, scope, usage))
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
