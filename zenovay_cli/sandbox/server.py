"""A local imitation of the Zenovay External API over HTTP on a loopback address.

Stdlib only. API requests go through: statistics -> latency -> injected fault -> method check ->
authentication -> monthly quota and per-minute limit -> route.

Keys (X-API-Key or Authorization: Bearer): any `zv_...` key has full access and its own counters;
`zv_revoked...` and keys without the prefix get 401 (not counted), `zv_free...` the flat 403
API_PAID_PLAN_REQUIRED, `zv_site...` sees only the first website. A key's plan is the configured
`tier` (default pro) unless the key names one: `zv_pro_...`, `zv_scale_...`, `zv_enterprise_...`
(so one sandbox serves Pro and Scale keys side by side; POST /query needs Scale and costs three
requests of the monthly quota, as documented).

Control endpoints (no key, never counted): GET /__sandbox__/stats; GET, POST {"faults": [...]} and
DELETE /__sandbox__/faults; POST /__sandbox__/reset; GET and POST {field: value} /__sandbox__/config;
GET and POST {"resolve": [ids], "unresolve": [ids]} /__sandbox__/anomalies (Zenovay resolving an
anomaly, for alert tests).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from datetime import time as dtime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from zenovay_cli.ratelimit import window_seconds
from zenovay_cli.sandbox import routes
from zenovay_cli.sandbox._http import HTTPServer, loopback_address
from zenovay_cli.sandbox.data import SandboxData, iso_ms
from zenovay_cli.sandbox.routes import Response, failure, to_json
from zenovay_cli.sandbox.state import (
    API_PREFIX,
    LIMITERS,
    TIER_LIMITS,
    Accounts,
    Fault,
    FaultQueue,
    Stats,
    judge,
)

if TYPE_CHECKING:
    from email.message import Message

    # A plain mapping (tests) or the HTTP handler's case-insensitive header Message.
    Headers = Mapping[str, str] | Message

DEMO_API_KEY = "zv_sandbox_demo_key"
CONTROL_PREFIX = "/__sandbox__"

_FAULT_CODES = {
    400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    409: "CONFLICT", 429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
}
_FAULT_MESSAGES = {
    500: "Internal server error", 502: "Bad gateway", 503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class SandboxConfig:
    """How the sandbox behaves; may be changed while it runs (see SandboxServer.configure)."""

    websites: int = 3
    visitors_per_site: int = 250
    latency: float = 0.0  # seconds added to every API response
    rate_limit: int | None = None  # requests/minute per key, enforced only when set
    limiter: str = "sliding"  # how rate_limit is enforced: sliding, fixed or cf (see state.judge)
    send_remaining: bool = True  # send X-RateLimit-Remaining (the docs: only when exact)
    # The rate window's length: 60 s, or ZENOVAY_TEST_WINDOW_SECONDS (tests only; see ratelimit).
    window: float = field(default_factory=window_seconds)
    monthly_quota: int | None = None  # requests per key, enforced only when set
    tier: str = "pro"
    seed: int = 0
    today: date | None = None  # the data's "today" (now: its 23:59:59 UTC); None: the clock's
    now: datetime | None = None  # with today unset: a fixed "now" instead of the wall clock
    clock_offset: float = 0.0  # seconds added to the Date header (an API whose clock is off)
    quiet_websites: int = 0  # the last N websites have zero visitors
    undated_websites: int = 0  # N websites before those answer daily_stats: []
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    SETTABLE = ("websites", "visitors_per_site", "latency", "rate_limit", "limiter",
                "send_remaining", "window", "monthly_quota", "tier", "seed", "today",
                "now", "quiet_websites", "undated_websites", "clock_offset")

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not _is_int(self.websites) or not 1 <= self.websites <= 100_000:
            raise ValueError("websites must be an integer between 1 and 100000")
        if not _is_int(self.visitors_per_site) or not 0 <= self.visitors_per_site <= 10**9:
            raise ValueError("visitors_per_site must be an integer between 0 and 1000000000")
        if isinstance(self.latency, bool) or not isinstance(self.latency, (int, float)) \
                or not 0 <= self.latency <= 600:
            raise ValueError("latency must be a number of seconds between 0 and 600")
        if self.rate_limit is not None and (not _is_int(self.rate_limit) or self.rate_limit < 1):
            raise ValueError("rate_limit must be a positive integer or null")
        if self.limiter not in LIMITERS:
            raise ValueError(f"limiter must be one of: {', '.join(LIMITERS)}")
        if not isinstance(self.send_remaining, bool):
            raise ValueError("send_remaining must be true or false")
        if isinstance(self.window, bool) or not isinstance(self.window, (int, float)) \
                or not 0.1 <= self.window <= 3600:
            raise ValueError("window must be a number of seconds between 0.1 and 3600")
        if self.monthly_quota is not None and (
            not _is_int(self.monthly_quota) or self.monthly_quota < 0
        ):
            raise ValueError("monthly_quota must be a non-negative integer or null")
        if self.tier not in TIER_LIMITS:
            raise ValueError(f"tier must be one of: {', '.join(TIER_LIMITS)}")
        for name in ("quiet_websites", "undated_websites"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not _is_int(self.seed):
            raise ValueError("seed must be an integer")
        if isinstance(self.clock_offset, bool) or not isinstance(self.clock_offset, (int, float)) \
                or not -10**7 <= self.clock_offset <= 10**7:
            raise ValueError("clock_offset must be a number of seconds (at most 10000000 either way)")
        if self.today is not None and not isinstance(self.today, date):
            raise ValueError("today must be a date or null")
        if self.now is not None and (not isinstance(self.now, datetime) or self.now.tzinfo is None):
            raise ValueError("now must be a date-time with a time zone or null")

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.SETTABLE}
        out["today"] = self.today.isoformat() if self.today else None
        out["now"] = self.now.isoformat() if self.now else None
        return out

    def updated(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A validated copy with `changes` (JSON values) applied; ValueError if any is bad."""
        unknown = sorted(set(changes) - set(self.SETTABLE))
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(map(str, unknown))}")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        if isinstance(values["today"], str):
            try:
                values["today"] = date.fromisoformat(values["today"])
            except ValueError:
                raise ValueError("today must be a YYYY-MM-DD date or null") from None
        if isinstance(values["now"], str):
            try:
                values["now"] = datetime.fromisoformat(values["now"].replace("Z", "+00:00"))
            except ValueError:
                raise ValueError("now must be an ISO date-time like 2026-03-03T04:21:00Z, "
                                 "or null") from None
        new = SandboxConfig(**values)
        new.validate()
        return new


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _api_key(headers: Headers) -> str | None:
    key = headers.get("X-API-Key")
    if key:
        return key.strip()
    authorization = headers.get("Authorization") or ""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def key_tier(key: str, default: str) -> str:
    """The plan of a key: named in its prefix (zv_scale_...) or else the configured tier."""
    for tier in ("pro", "scale", "enterprise"):
        if key.startswith(f"zv_{tier}_"):
            return tier
    return default


def _month_reset(today: date) -> str:
    first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return iso_ms(datetime.combine(first, dtime(0), tzinfo=timezone.utc))


class SandboxServer:
    """The sandbox API served from a daemon thread (start) or the calling thread (serve_forever)."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
    ) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.config.validate()
        self.verbose = verbose
        self._lock = threading.Lock()
        self._accounts = Accounts()
        self._faults = FaultQueue()
        self._stats = Stats()
        self._resolved: dict[str, bool] = {}
        self._data: SandboxData | None = None
        self._data_key: tuple[Any, ...] | None = None
        self._edits: list[dict[str, Any]] = []  # website edits, replayed when the data is rebuilt
        self._thread: threading.Thread | None = None
        self._serving = False
        self._httpd = HTTPServer(loopback_address(host), port, self)
        self._host = host

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Root URL of the server (the control endpoints live under it)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + API_PREFIX

    @property
    def api_key(self) -> str:
        return DEMO_API_KEY

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                name=f"zenovay-sandbox-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() is called from elsewhere (or Ctrl-C)."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def stop(self) -> None:
        if self._serving:
            self._httpd.shutdown()
            self._serving = False
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- in-process control ---------------------------------------------------------------

    def add_faults(self, faults: Iterable[Mapping[str, Any] | Fault]) -> None:
        """Queue faults (validated all together: on ValueError none is added)."""
        parsed = [f if isinstance(f, Fault) else Fault.from_dict(dict(f)) for f in faults]
        with self._lock:
            self._faults.add(parsed)

    def pending_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._faults.pending()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self._stats.snapshot()

    def reset(self) -> None:
        """Forget faults, statistics, rate windows, quota usage and website edits (not the
        configuration)."""
        with self._lock:
            self._faults.clear()
            self._stats = Stats()
            self._accounts.clear()
            self._resolved.clear()
            if self._edits:
                self._edits = []
                self._data = None

    def edit_websites(self, changes: dict[str, Any]) -> None:
        """Rename, remove or revise websites (see SandboxData.edit); undone by reset()."""
        with self._lock:
            data = self._dataset()
            data.edit(changes)
            self._edits.append(changes)

    def resolve_anomalies(self, ids: Iterable[str], resolved: bool = True) -> None:
        """Mark anomalies resolved (or open again), as Zenovay does when a metric recovers."""
        with self._lock:
            for anomaly_id in ids:
                self._resolved[str(anomaly_id)] = resolved

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change configuration fields at runtime (JSON-style values, `today` as YYYY-MM-DD)."""
        with self._lock:
            self.config = self.config.updated(changes)
            return self.config

    def data(self) -> SandboxData:
        """The data set for the current configuration (rebuilt when seed or sizes change)."""
        with self._lock:
            return self._dataset()

    def _dataset(self) -> SandboxData:
        cfg = self.config
        key = (cfg.seed, cfg.websites, cfg.visitors_per_site, cfg.today, cfg.now,
               cfg.quiet_websites, cfg.undated_websites)
        if self._data is None or key != self._data_key:
            self._data = SandboxData(
                seed=cfg.seed, websites=cfg.websites,
                visitors_per_site=cfg.visitors_per_site, today=cfg.today, now=cfg.now,
                quiet_websites=cfg.quiet_websites, undated_websites=cfg.undated_websites,
            )
            for changes in self._edits:
                self._data.edit(changes)
            self._data_key = key
        return self._data

    # -- request handling -----------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Headers, body: bytes) -> Response:
        """Answer one HTTP request (transport-independent; used by the handler and tests)."""
        split = urlsplit(target)
        path = unquote(split.path)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(method, path[len(CONTROL_PREFIX):].rstrip("/"), body)
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            return failure(404, "NOT_FOUND", "Not found. The API lives under " + API_PREFIX)
        api_path = path[len(API_PREFIX):] or "/"
        key = _api_key(headers)
        with self._lock:
            self._stats.record_request(api_path, _fingerprint(key) if key else None)
            fault = self._faults.take(api_path)
            sleep, latency = self.config.sleep, self.config.latency
        if latency:
            sleep(latency)
        response = None
        if fault is not None:
            if fault.delay:
                sleep(fault.delay)
            if fault.close:
                with self._lock:
                    self._stats.dropped += 1
                return Response(0, close=True)
            if fault.location is not None and fault.status is not None:  # a 3xx (state.py)
                response = Response(fault.status, b"", headers={"Location": fault.location})
            elif fault.status is not None:
                response = self._fault_response(fault, key)
        if response is None:
            response = self._api(method, api_path, parse_qs(split.query, keep_blank_values=True),
                                 key, body)
        with self._lock:
            self._stats.record_status(response.status)
        return response

    def _api(self, method: str, path: str, query: dict[str, list[str]], key: str | None,
             body: bytes = b""):
        wrong_method = routes.method_problem(path, method)
        if wrong_method is not None:
            return wrong_method
        if key is None:
            return failure(401, "UNAUTHORIZED", "API key not found. Send it in the X-API-Key "
                           "header or as 'Authorization: Bearer zv_...'")
        if not key.startswith("zv_"):
            return failure(401, "UNAUTHORIZED", "Invalid API key. Zenovay API keys start with zv_")
        if key.startswith("zv_revoked"):
            return failure(401, "UNAUTHORIZED", "This API key has been revoked")
        with self._lock:
            tier = key_tier(key, self.config.tier)
            if key.startswith("zv_free") or tier == "free":
                return routes.paid_plan_required()
            data = self._dataset()
            denied = routes.plan_problem(path, tier)
            if denied is not None:
                denied.headers.update(self._usage_headers(key, data))
                return denied
            refusal, headers = self._admit(key, data, routes.credits(path))
            usage = self._usage_data(key, data) if path.rstrip("/") == "/usage" else {}
            resolved = dict(self._resolved)
        if refusal is not None:
            refusal.headers.update(headers)
            return refusal
        scope = data.website_ids[0] if key.startswith("zv_site") else None
        response = routes.route(data, path, query, scope=scope, usage=lambda: usage, tier=tier,
                                body=body, resolved=resolved)
        response.headers.update(headers)
        return response

    def _limits(self, key: str | None = None) -> tuple[int, int]:
        per_minute, per_month = TIER_LIMITS[key_tier(key or "", self.config.tier)]
        rate = self.config.rate_limit if self.config.rate_limit is not None else per_minute
        quota = self.config.monthly_quota if self.config.monthly_quota is not None else per_month
        return rate, quota

    def _admit(self, key: str, data: SandboxData, credits: int = 1
               ) -> tuple[Response | None, dict[str, str]]:
        """Count the request (`credits` of the monthly quota) against the key, or refuse it with
        a 429 (lock held)."""
        cfg = self.config
        usage = self._accounts.get(key)
        now = cfg.clock()
        usage.prune(now, cfg.window)
        rate, quota = self._limits(key)
        refusal = None
        verdict = judge(cfg.limiter, usage.window, now, rate, cfg.window) \
            if cfg.rate_limit is not None else None
        if cfg.monthly_quota is not None and usage.monthly + credits > quota:
            refusal = failure(429, "MONTHLY_LIMIT_EXCEEDED",
                              f"Monthly API limit exceeded ({quota} requests). "
                              f"Resets at {_month_reset(data.today)}")
        elif verdict is not None and not verdict.admitted:
            wait = verdict.retry_after
            refusal = failure(429, "RATE_LIMIT_EXCEEDED",
                              f"Rate limit exceeded ({rate} requests/minute). "
                              f"Try again in {wait} seconds", {"Retry-After": str(wait)})
        else:
            usage.monthly += credits
            usage.total += credits
            if cfg.rate_limit is not None:
                usage.window.append(now)
        return refusal, self._usage_headers(key, data)

    def _usage_headers(self, key: str, data: SandboxData) -> dict[str, str]:
        usage = self._accounts.get(key)
        rate, quota = self._limits(key)
        cfg = self.config
        headers = {"X-RateLimit-Limit": str(rate)}
        # Only with an enforced limit is the remaining count exact; send_remaining=False imitates
        # an edge that never knows it exactly.
        if cfg.rate_limit is not None and cfg.send_remaining:
            now = cfg.clock()
            usage.prune(now, cfg.window)
            verdict = judge(cfg.limiter, usage.window, now, rate, cfg.window)
            headers["X-RateLimit-Remaining"] = str(verdict.remaining + 1 if verdict.admitted else 0)
        headers.update({
            "X-Usage-Monthly": str(usage.monthly),
            "X-Usage-Limit": str(quota),
            "X-Usage-Reset": _month_reset(data.today),
            "X-Usage-Total": str(usage.total),
        })
        return headers

    def _usage_data(self, key: str, data: SandboxData) -> dict[str, Any]:
        usage = self._accounts.get(key)
        rate, quota = self._limits(key)
        site_scoped = key.startswith("zv_site")
        digest = hashlib.sha256(b"api-key-id:" + key.encode("utf-8", "surrogateescape")).digest()
        return {
            "api_key": {
                "id": f"ak_{uuid.UUID(bytes=digest[:16], version=4)}",
                "name": "Sandbox demo key" if key == DEMO_API_KEY else "Sandbox key",
                "permission": "site_access" if site_scoped else "full_access",
                "website_id": data.website_ids[0] if site_scoped else None,
            },
            "usage": {
                "monthly_requests": usage.monthly,
                "monthly_limit": quota,
                "monthly_remaining": max(0, quota - usage.monthly),
                "monthly_reset_at": _month_reset(data.today),
                "total_requests": usage.total,
            },
            "rate_limits": {"requests_per_minute": rate},
            "subscription": {"tier": key_tier(key, self.config.tier)},
        }

    def _fault_response(self, fault: Fault, key: str | None) -> Response:
        status = fault.status
        assert status is not None
        headers: dict[str, str] = {}
        if isinstance(fault.retry_after, str):
            headers["Retry-After"] = fault.retry_after
        elif fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
        with self._lock:
            rate, quota = self._limits(key)
            data = self._dataset()
            if key is not None and key.startswith("zv_"):  # a known key: its headers, uncounted
                headers = {**self._usage_headers(key, data), **headers}
        if fault.html:
            response = routes.proxy_error_page(status)
        else:
            code = fault.code or _FAULT_CODES.get(status, "ERROR")
            if code == "API_PAID_PLAN_REQUIRED":
                response = routes.paid_plan_required()
                response.status = status
            else:
                message = fault.message or self._fault_message(status, code, fault, rate, quota, data)
                response = failure(status, code, message)
        response.headers.update(headers)
        return response

    @staticmethod
    def _fault_message(status, code, fault, rate, quota, data) -> str:
        if code == "RATE_LIMIT_EXCEEDED":
            if isinstance(fault.retry_after, (int, float)):
                wait = math.ceil(fault.retry_after)
                return f"Rate limit exceeded ({rate} requests/minute). Try again in {wait} seconds"
            return f"Rate limit exceeded ({rate} requests/minute). Try again later"
        if code == "MONTHLY_LIMIT_EXCEEDED":
            return (f"Monthly API limit exceeded ({quota} requests). "
                    f"Resets at {_month_reset(data.today)}")
        return _FAULT_MESSAGES.get(status, f"Injected error {status}")

    # -- control endpoints ----------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        allowed = {
            "/stats": ("GET",), "/faults": ("GET", "POST", "DELETE"), "/reset": ("POST",),
            "/config": ("GET", "POST"), "/anomalies": ("GET", "POST"), "/websites": ("POST",),
        }
        if path not in allowed:
            return failure(404, "NOT_FOUND", f"Unknown control endpoint. Try: {', '.join(allowed)}")
        if method not in allowed[path]:
            return failure(405, "METHOD_NOT_ALLOWED", f"Use {' or '.join(allowed[path])}",
                           {"Allow": ", ".join(allowed[path])})
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
            if path == "/stats":
                return _plain(self.stats())
            if path == "/websites":
                self.edit_websites(payload)
                return _plain({"ok": True})
            if path == "/reset":
                self.reset()
                return _plain({"ok": True})
            if path == "/faults":
                if method == "POST":
                    faults = payload.get("faults") if isinstance(payload, dict) else payload
                    if not isinstance(faults, list):
                        raise ValueError('expected {"faults": [...]}')
                    self.add_faults(faults)
                elif method == "DELETE":
                    with self._lock:
                        self._faults.clear()
                return _plain({"ok": True, "pending": self.pending_faults()})
            if path == "/anomalies":
                if method == "POST":
                    if not isinstance(payload, dict) or set(payload) - {"resolve", "unresolve"}:
                        raise ValueError('expected {"resolve": [ids], "unresolve": [ids]}')
                    for name, value in (("resolve", True), ("unresolve", False)):
                        ids = payload.get(name, [])
                        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                            raise ValueError(f"{name} must be a list of anomaly ids")
                        self.resolve_anomalies(ids, value)
                with self._lock:
                    return _plain({"resolved": dict(self._resolved)})
            if method == "POST":
                if not isinstance(payload, dict):
                    raise ValueError("expected a JSON object of config fields")
                self.configure(**payload)
            return _plain(self.config.to_dict())
        except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
            return failure(400, "VALIDATION_ERROR", str(exc))


def _plain(obj: Any) -> Response:
    return Response(200, to_json(obj))
