"""ZenovayClient: one session, auth header, timeouts, the retry loop, error mapping and paging."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from zenovay_cli._version import __version__
from zenovay_cli.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    InvalidResponseError,
    NetworkError,
    NotFoundError,
    PaidPlanRequiredError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UsageError,
)
from zenovay_cli.retry import decide, parse_retry_after

if TYPE_CHECKING:  # pragma: no cover
    from zenovay_cli.cache import CacheStore
    from zenovay_cli.ratelimit import RateBudget

DEFAULT_BASE_URL = "https://api.zenovay.com/api/external/v1"
USER_AGENT = f"zenovay-cli/{__version__}"
RANGES = ("24h", "7d", "30d", "90d", "1y")
ANOMALY_RANGES = ("24h", "7d", "30d", "90d")
ERROR_STATUSES = ("unresolved", "resolved", "ignored")
SEVERITIES = ("info", "warning", "critical")
INSIGHT_TYPES = ("anomaly", "trend", "recommendation", "prediction")
GRANULARITIES = ("daily", "weekly", "monthly")
LTV_GRANULARITIES = ("weekly", "monthly")
COMPARE_TO = ("previous_period", "previous_year")
MAX_VISITORS_PAGE = 1000
MAX_AI_PAGE = 200  # anomalies, insights and replay sessions: limit at most 200
MAX_QUESTION = 500

# The lowest plan each endpoint needs (docs: "Endpoints added in 2026"); every other endpoint
# works on any paid plan. Heatmaps and replays: the docs do not say, so no plan is named.
PLAN_FOR_PATH = {"anomalies": "Pro", "insights": "Pro", "retention": "Pro", "revenue": "Pro",
                 "query": "Scale"}


def plan_needed(path: str) -> str | None:
    """The plan an API path needs beyond "any paid plan", or None."""
    head = path.strip("/").split("/", 1)[0]
    return PLAN_FOR_PATH.get(head)


def plan_hint(path: str, method: str = "GET") -> str | None:
    plan = plan_needed(path)
    if plan is None:
        return None
    what = f"{method} /{path.strip('/').split('/', 1)[0]}"
    return (f"{what} needs the {plan} plan or higher; `zenovay usage` shows this key's plan. "
            "If the plan is right, check the key's website scope in Zenovay's API key settings.")

# on_wait(delay_seconds, reason, attempt_that_failed, max_attempts)
WaitCallback = Callable[[float, str, int, int], None]


def _random() -> float:
    """random.random(), importing `random` only when a retry needs jitter (not at every start)."""
    import random

    return random.random()


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


def validate_base_url(base_url: str) -> str:
    """The key goes only to an https origin (or plain http on this machine, for the sandbox)."""
    parts = urlsplit(base_url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port out of range or not a number: http://127.0.0.1:99999/api
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise UsageError(
            f"invalid base URL {base_url!r}",
            hint="Use a URL like https://api.zenovay.com/api/external/v1.",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the API key over plain http to {parts.hostname}",
            hint="Use an https:// base URL (plain http is allowed only for 127.0.0.1/localhost).",
        )
    return base_url.rstrip("/")


def check_range(value: str, allowed: tuple[str, ...] = RANGES) -> str:
    if value not in allowed:
        raise UsageError(
            f"invalid range {value!r}", hint=f"Use one of: {', '.join(allowed)}."
        )
    return value


def check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(f"invalid {name} {value!r}", hint=f"Use one of: {', '.join(allowed)}.")
    return value


def check_int(name: str, value: int | None, low: int, high: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
        high is not None and value > high
    ):
        span = f"between {low} and {high}" if high is not None else f">= {low}"
        raise UsageError(f"invalid {name} {value!r}", hint=f"Use an integer {span}.")
    return value


def _origin(url: str) -> tuple[str, str, int | None]:
    p = urlsplit(url)
    port = p.port or (443 if p.scheme == "https" else 80)
    return (p.scheme, (p.hostname or "").lower(), port)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
    except Exception:  # pragma: no cover - odd mapping
        value = None
    if value is None:
        lname = name.lower()
        for k, v in headers.items():
            if k.lower() == lname:
                return v
    return value


def parse_error_body(body: bytes | str | None) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) from any documented error body; Nones when it is not one."""
    if body is None:
        return None, None, None
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None, None, None
    if not isinstance(payload, dict):
        return None, None, None
    err = payload.get("error")
    code = message = request_id = None
    if isinstance(err, dict):  # newest {success:false,error:{code,message}} and old nested bodies
        code, message = err.get("code"), err.get("message")
        request_id = err.get("request_id")
    elif isinstance(err, str):  # the flat {"error": "...", "code": "..."} paid-plan body
        message, code = err, payload.get("code")
    else:
        message, code = payload.get("message"), payload.get("code")
    request_id = request_id or payload.get("request_id")

    def text(v: Any) -> str | None:
        return v if isinstance(v, str) and v else None

    code = text(code)
    return (code.upper() if code else None), text(message), text(request_id)


def error_for(
    status: int,
    body: bytes | str | None,
    headers: Mapping[str, str] | None = None,
    *,
    retry_after: float | None = None,
) -> ApiError:
    """Map an HTTP status plus the API's error code to one typed exception."""
    code, message, body_request_id = parse_error_body(body)
    request_id = _header(headers, "x-request-id") or body_request_id
    if message is None:
        ctype = (_header(headers, "content-type") or "").split(";")[0].strip()
        kind = f"a non-JSON ({ctype or 'unknown'}) body" if ctype != "application/json" else "no message"
        message = f"HTTP {status} from the API with {kind}"
    kw: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
    if status == 401:
        return AuthError(
            f"authentication failed: {message}",
            hint="Check the key (it starts with zv_) with `zenovay auth status`, or run `zenovay auth login`.",
            **kw,
        )
    if status == 403:
        if code == "API_PAID_PLAN_REQUIRED":
            return PaidPlanRequiredError(f"paid plan required: {message}", **kw)
        return AuthError(
            f"permission denied: {message}",
            hint="The key cannot access this resource; check its scope in Zenovay's API key settings.",
            **kw,
        )
    if status == 404:
        return NotFoundError(f"not found: {message}", **kw)
    if status == 429:
        if code == "MONTHLY_LIMIT_EXCEEDED":
            reset = _header(headers, "x-usage-reset")
            hint = f"The monthly quota resets at {reset}." if reset else "Wait for the monthly reset."
            return QuotaExceededError(
                f"monthly API quota exhausted: {message}", hint=hint + " See `zenovay usage`.", **kw
            )
        return RateLimitError(f"rate limited: {message}", retry_after=retry_after, **kw)
    if status in (400, 422):
        return BadRequestError(f"the API rejected the request: {message}", **kw)
    if status >= 500:
        return ServerError(
            f"Zenovay API server error: {message}",
            hint="This is on Zenovay's side; try again later.",
            **kw,
        )
    return ApiError(f"unexpected answer: {message}", **kw)


def unwrap(payload: Any, request_id: str | None = None) -> Any:
    """The `data` of the newest envelope; older unwrapped bodies are returned as they are."""
    if isinstance(payload, dict) and "success" in payload:
        if payload.get("success") is True and "data" in payload:
            return payload["data"]
        if payload.get("success") is False:
            code, message, rid = parse_error_body(json.dumps(payload))
            raise InvalidResponseError(
                f"the API reported a failure: {message or 'no message'}",
                code=code,
                request_id=request_id or rid,
            )
        raise InvalidResponseError("the API's answer has no data", request_id=request_id)
    return payload


class ZenovayClient:
    """A thin client for the Zenovay External API.

    >>> client = ZenovayClient(api_key="zv_...")
    >>> client.get_analytics("a1b2c3d4-...", range="30d")["summary"]["total_visitors"]
    """

    def __init__(
        self,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        max_wait: float = 60.0,
        on_wait: WaitCallback | None = None,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = _random,
        cache: CacheStore | None = None,
        cache_mode: str = "use",
        ttl_overrides: Mapping[str, float] | None = None,
        stale_ok: bool = False,
        on_cache_warning: Callable[[str], None] | None = None,
        budget: RateBudget | None = None,
        user_agent: str = USER_AGENT,
        on_debug: Callable[[str], None] | None = None,
    ) -> None:
        if not api_key:
            raise AuthError(
                "no API key",
                hint="Set ZENOVAY_API_KEY, pass --api-key, or run `zenovay auth login`.",
            )
        self.api_key = api_key
        self.base_url = validate_base_url(base_url)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.max_wait = max_wait
        self.on_wait = on_wait
        self._session = session
        self.sleep = sleep
        self.clock = clock
        self.rand = rand
        self.cache = cache
        self.cache_mode = cache_mode  # "use" | "refresh" | "off"
        self.ttl_overrides = dict(ttl_overrides or {})
        self.stale_ok = stale_ok
        self.on_cache_warning = on_cache_warning
        self.budget = budget
        self.user_agent = user_agent
        # The last answer's headers: `zenovay doctor` reads the Date and X-RateLimit-*/X-Usage-*
        # headers of its /usage answer from here.
        self.last_headers: dict[str, str] = {}
        self.requests_sent = 0
        # --debug: one line per request (method, URL without the key, status, time) and per cache
        # lookup; the key travels in a header, so nothing here can show it.
        self.on_debug = on_debug

    def __repr__(self) -> str:  # never show the key
        return f"ZenovayClient(base_url={self.base_url!r})"

    # -- transport -------------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests  # imported here so that cache hits never pay for it

            self._session = requests.Session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> ZenovayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        return {
            "X-API-Key": self.api_key,
            "User-Agent": self.user_agent,
            "Accept": "application/json",
        }

    def _send_once(
        self, url: str, params: Mapping[str, Any] | None, method: str = "GET", body: Any = None
    ) -> Any:
        """One HTTP exchange; redirects are followed only within the API's own origin."""
        origin = _origin(self.base_url)
        if _origin(url) != origin:  # never reached by the endpoint methods; a guard for callers
            raise UsageError(
                f"refusing to send the API key to {urlsplit(url).hostname}: not the API's origin"
            )
        for _ in range(5):
            if self.budget is not None:
                self.budget.acquire()
            self.requests_sent += 1
            headers = self._headers()
            kwargs: dict[str, Any] = {}
            if body is not None:
                kwargs["data"] = json.dumps(body).encode("utf-8")
                headers["Content-Type"] = "application/json"
            if method != "GET":
                kwargs["method"] = method
            send = self.session.get if method == "GET" else self.session.request
            started = time.monotonic()
            resp = send(
                url=url,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                **kwargs,
            )
            if self.on_debug is not None:
                shown = getattr(resp, "url", None) or url
                self.on_debug(f"{method} {shown} -> {resp.status_code} in "
                              f"{time.monotonic() - started:.2f} s")
            if self.budget is not None:
                self.budget.observe(resp.headers, resp.status_code)
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                target = urljoin(url, resp.headers["location"])
                if _origin(target) != origin:
                    # requests would forward X-API-Key to any host; we never do.
                    scheme, host, port = _origin(target)
                    raise InvalidResponseError(
                        f"the API redirected to another origin ({scheme}://{host}:{port}); "
                        "not following it with your key",
                        status=resp.status_code,
                        request_id=resp.headers.get("x-request-id"),
                    )
                url, params = target, None
                if resp.status_code in (301, 302, 303) and method != "GET":
                    method, body = "GET", None  # what browsers and requests do
                continue
            return resp
        raise InvalidResponseError("too many redirects from the API")

    def request(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        body: Any = None,
        ttl_override: float | None = None,
    ) -> Any:
        """`method` path with the retry policy; returns the unwrapped `data`. GETs use the cache
        if set (`ttl_override`: seconds instead of the endpoint's TTL); a POST never does."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        key = ttl = None
        entry = None
        if method != "GET":
            return self._request_network(path, params, method, body)
        if self.cache is not None and self.cache_mode != "off":
            from zenovay_cli.cache import make_key, ttl_for_path

            ttl = ttl_for_path(path, self.ttl_overrides) if ttl_override is None else ttl_override
            if ttl > 0:
                key = make_key(self.base_url, path, params, self.api_key)
                entry = self.cache.get(key)
                if entry is not None and entry.fresh and self.cache_mode == "use":
                    if self.on_debug is not None:
                        self.on_debug(f"cache hit: GET {path} (stored {entry.age:.0f} s ago)")
                    return entry.value
                if self.on_debug is not None:
                    why = "refresh" if self.cache_mode == "refresh" else "expired" if entry else "miss"
                    self.on_debug(f"cache {why}: GET {path}")
        try:
            data = self._request_network(path, params)
        except NotFoundError as exc:
            if urlsplit(self.base_url).path in ("", "/"):  # not the website: the base URL is wrong
                exc.hint = (f"The base URL {self.base_url} has no path; Zenovay's API lives under "
                            "/api/external/v1 (e.g. https://api.zenovay.com/api/external/v1): "
                            "check ZENOVAY_BASE_URL, --base-url or `zenovay auth status`.")
            raise
        except (ServerError, NetworkError, RateLimitError) as exc:
            if entry is not None:
                from zenovay_cli.cache import describe_age

                age = describe_age(entry.age)
                if self.stale_ok:
                    if self.on_cache_warning:
                        self.on_cache_warning(
                            f"{exc.message}; serving the cached answer stored {age} ago "
                            "instead (--stale-ok)"
                        )
                    return entry.value
                # Only offered when there is an entry: --stale-ok cannot help otherwise.
                exc.hint = (exc.hint + " " if exc.hint else "") + (
                    f"A cached answer from {age} ago exists: --stale-ok would serve it."
                )
            raise
        if key is not None and ttl and self.cache is not None:
            # The path (never the key) lets `cache info` and TAB completion see what an entry is.
            self.cache.set(key, data, ttl, meta={"path": path})
        return data

    def _request_network(
        self, path: str, params: Mapping[str, Any], method: str = "GET", body: Any = None
    ) -> Any:
        import requests

        url = self.base_url + path
        attempt = 0
        # A POST is retried only when the API refused it unprocessed (429 RATE_LIMIT_EXCEEDED):
        # after a 5xx or a timeout it may have run and cost its credits already.
        retries = self.retries
        while True:
            attempt += 1
            retry_after = None
            try:
                resp = self._send_once(url, params, method, body)
            except requests.Timeout:
                if method != "GET":
                    retries = 0
                failure: Exception = NetworkError(
                    f"the API did not answer within {self.timeout:g} s",
                    hint="Try again, or raise --timeout.",
                )
                decision = decide(
                    attempt, retries, max_wait=self.max_wait, rand=self.rand,
                    network_error=f"timed out after {self.timeout:g} s",
                )
            except requests.ConnectionError as exc:
                if method != "GET":
                    retries = 0
                host = urlsplit(self.base_url).hostname
                failure = NetworkError(
                    f"cannot connect to {host}: {type(exc).__name__}",
                    hint="Check your network connection and the base URL (`zenovay auth status`).",
                )
                decision = decide(
                    attempt, retries, max_wait=self.max_wait, rand=self.rand,
                    network_error="connection failed",
                )
            except requests.RequestException as exc:
                raise NetworkError(f"request failed: {type(exc).__name__}") from None
            else:
                self.last_headers = dict(resp.headers)
                if 200 <= resp.status_code < 300:
                    return self._decode(resp)
                retry_after = parse_retry_after(resp.headers.get("retry-after"), self.clock())
                failure = error_for(
                    resp.status_code, resp.content, resp.headers, retry_after=retry_after
                )
                if resp.status_code == 403 and not isinstance(failure, PaidPlanRequiredError):
                    failure.hint = plan_hint(path, method) or failure.hint
                if method != "GET" and not isinstance(failure, RateLimitError):
                    retries = 0
                decision = decide(
                    attempt, retries, max_wait=self.max_wait, rand=self.rand,
                    status=resp.status_code, code=getattr(failure, "code", None),
                    retry_after=retry_after,
                )
            if not decision.retry:
                if decision.too_long and isinstance(failure, RateLimitError):
                    when = time.strftime(
                        "%H:%M:%S", time.localtime(self.clock() + decision.delay)
                    )
                    raise RateLimitError(
                        f"{decision.reason}: the API asks to wait {decision.delay:.0f} s, "
                        f"more than --max-wait {self.max_wait:g} s",
                        hint=f"Retry after {when}, or raise --max-wait.",
                        retry_after=decision.delay,
                        status=getattr(failure, "status", None),
                        code=getattr(failure, "code", None),
                        request_id=getattr(failure, "request_id", None),
                    )
                if isinstance(failure, ApiError):
                    if attempt > 1:
                        failure.message += f" (after {attempt} attempts)"
                    if decision.too_long:  # a 5xx/network backoff longer than --max-wait: exit 1
                        failure.message += (
                            f"; not retried: the next wait ({decision.delay:.1f} s) is over"
                            f" --max-wait {self.max_wait:g} s"
                        )
                    failure.args = (failure.message,)
                raise failure
            if retry_after and self.budget is not None:
                # Every worker sharing the budget waits out a 429, not just this one.
                self.budget.pause(retry_after)
            if self.on_wait is not None:
                self.on_wait(decision.delay, decision.reason, attempt, retries + 1)
            self.sleep(decision.delay)

    def _decode(self, resp: Any) -> Any:
        request_id = resp.headers.get("x-request-id")
        try:
            payload = json.loads(resp.content)
        except (ValueError, UnicodeDecodeError):
            ctype = resp.headers.get("content-type", "unknown")
            raise InvalidResponseError(
                f"the API answered HTTP {resp.status_code} with a body that is not JSON ({ctype})",
                hint="A proxy or captive portal may be in the way; check the base URL.",
                status=resp.status_code,
                request_id=request_id,
            ) from None
        return unwrap(payload, request_id)

    # -- endpoints -------------------------------------------------------------------------------

    @staticmethod
    def _id(website_id: str) -> str:
        if not isinstance(website_id, str) or not website_id.strip():
            raise UsageError("a website id is required")
        return quote(website_id.strip(), safe="")

    def get_usage(self) -> dict:
        return self.request("/usage")

    def list_websites(self) -> dict:
        return self.request("/websites")

    def get_website(self, website_id: str) -> dict:
        return self.request(f"/websites/{self._id(website_id)}")

    def get_analytics(self, website_id: str, range: str = "7d") -> dict:
        return self.request(f"/analytics/{self._id(website_id)}", {"range": check_range(range)})

    def get_visitors(
        self, website_id: str, range: str = "7d", limit: int | None = None, offset: int | None = None
    ) -> dict:
        return self.request(
            f"/analytics/{self._id(website_id)}/visitors",
            {"range": check_range(range), "limit": limit, "offset": offset},
        )

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        items_key: str | None,
        page_size: int,
        offset: int = 0,
        *,
        ttl_override: float | None = None,
    ) -> Iterator[Any]:
        """Yield each page's `data` of a limit/offset endpoint until `pagination.has_more` is
        false. `items_key` names the page's list (None: the first list in the page)."""
        while True:
            page = self.request(
                path, {**(params or {}), "limit": page_size, "offset": offset},
                ttl_override=ttl_override,
            )
            yield page
            if not isinstance(page, dict):
                return
            items = page.get(items_key) if items_key else next(
                (v for v in page.values() if isinstance(v, list)), None
            )
            pagination = page.get("pagination")
            has_more = isinstance(pagination, dict) and pagination.get("has_more") is True
            # An empty page that claims more would loop forever: the API's word is not enough.
            if not has_more or not isinstance(items, list) or not items:
                return
            offset += len(items)

    def iter_visitor_pages(
        self, website_id: str, range: str = "7d", page_size: int = MAX_VISITORS_PAGE, offset: int = 0
    ) -> Iterator[dict]:
        """Yield each page's `data` until `pagination.has_more` is false."""
        # Not cached: a walk of 200,000 visitors would leave 200 entries (57 MiB) behind for an
        # answer that changes by the minute; one page (`visitors` without --all) still is.
        yield from self.iter_pages(
            f"/analytics/{self._id(website_id)}/visitors", {"range": check_range(range)},
            "visitors", page_size, offset, ttl_override=0,
        )

    def iter_visitors(self, website_id: str, range: str = "7d", **kw: Any) -> Iterator[dict]:
        for page in self.iter_visitor_pages(website_id, range, **kw):
            yield from page.get("visitors") or []

    def get_pages(self, website_id: str, range: str = "7d", limit: int | None = None) -> dict:
        return self.request(
            f"/analytics/{self._id(website_id)}/pages", {"range": check_range(range), "limit": limit}
        )

    def get_countries(self, website_id: str, range: str = "7d", limit: int | None = None) -> dict:
        return self.request(
            f"/analytics/{self._id(website_id)}/countries",
            {"range": check_range(range), "limit": limit},
        )

    def get_technology(self, website_id: str, range: str = "7d") -> dict:
        return self.request(
            f"/analytics/{self._id(website_id)}/technology", {"range": check_range(range)}
        )

    def get_error_groups(
        self, website_id: str, status: str | None = None, limit: int | None = None
    ) -> dict:
        if status is not None and status not in ERROR_STATUSES:
            raise UsageError(
                f"invalid status {status!r}", hint=f"Use one of: {', '.join(ERROR_STATUSES)}."
            )
        return self.request(
            f"/errors/{self._id(website_id)}/groups", {"status": status, "limit": limit}
        )

    # -- endpoints added in 2026 ----------------------------------------------------------------

    @staticmethod
    def _anomaly_params(
        range: str | None, severity: str | None, metric: str | None, resolved: bool | None
    ) -> dict[str, Any]:
        return {
            "range": check_range(range, ANOMALY_RANGES) if range is not None else None,
            "severity": check_choice("severity", severity, SEVERITIES),
            "metric": metric,
            "resolved": None if resolved is None else ("true" if resolved else "false"),
        }

    def get_anomalies(
        self, website_id: str, range: str | None = None, severity: str | None = None,
        metric: str | None = None, resolved: bool | None = None, limit: int | None = None,
        offset: int | None = None,
    ) -> dict:
        """GET /anomalies/{id} (Pro and up)."""
        params = self._anomaly_params(range, severity, metric, resolved)
        params["limit"] = check_int("limit", limit, 1, MAX_AI_PAGE)
        params["offset"] = check_int("offset", offset, 0)
        return self.request(f"/anomalies/{self._id(website_id)}", params)

    def iter_anomaly_pages(
        self, website_id: str, range: str | None = None, severity: str | None = None,
        metric: str | None = None, resolved: bool | None = None,
        page_size: int = MAX_AI_PAGE, offset: int = 0,
    ) -> Iterator[dict]:
        params = self._anomaly_params(range, severity, metric, resolved)
        yield from self.iter_pages(f"/anomalies/{self._id(website_id)}", params, "anomalies",
                                   check_int("limit", page_size, 1, MAX_AI_PAGE) or MAX_AI_PAGE,
                                   offset)

    def get_insights(
        self, website_id: str, range: str | None = None, type: str | None = None,
        severity: str | None = None, limit: int | None = None, offset: int | None = None,
    ) -> dict:
        """GET /insights/{id} (Pro and up)."""
        return self.request(f"/insights/{self._id(website_id)}", {
            **self._insight_params(range, type, severity),
            "limit": check_int("limit", limit, 1, MAX_AI_PAGE),
            "offset": check_int("offset", offset, 0),
        })

    @staticmethod
    def _insight_params(range: str | None, type: str | None, severity: str | None) -> dict:
        return {
            "range": check_range(range) if range is not None else None,
            "type": check_choice("type", type, INSIGHT_TYPES),
            "severity": check_choice("severity", severity, SEVERITIES),
        }

    def iter_insight_pages(
        self, website_id: str, range: str | None = None, type: str | None = None,
        severity: str | None = None, page_size: int = MAX_AI_PAGE, offset: int = 0,
    ) -> Iterator[dict]:
        yield from self.iter_pages(f"/insights/{self._id(website_id)}",
                                   self._insight_params(range, type, severity), "insights",
                                   check_int("limit", page_size, 1, MAX_AI_PAGE) or MAX_AI_PAGE,
                                   offset)

    def get_retention(
        self, website_id: str, range: str | None = None, granularity: str | None = None,
        periods: int | None = None,
    ) -> dict:
        """GET /retention/{id} (Pro and up): `cohorts` rows."""
        return self.request(f"/retention/{self._id(website_id)}", {
            "range": check_range(range) if range is not None else None,
            "granularity": check_choice("granularity", granularity, GRANULARITIES),
            "periods": check_int("periods", periods, 1, 12),
        })

    def get_revenue_ltv(
        self, website_id: str, range: str | None = None, granularity: str | None = None
    ) -> dict:
        """GET /revenue/{id}/ltv (Pro and up): LTV cohorts and summary."""
        return self.request(f"/revenue/{self._id(website_id)}/ltv", {
            "range": check_range(range) if range is not None else None,
            "granularity": check_choice("granularity", granularity, LTV_GRANULARITIES),
        })

    def get_heatmap_pages(self, website_id: str, limit: int | None = None) -> dict:
        """GET /heatmaps/{id}/pages: all-time, no paging, limit at most 100."""
        return self.request(f"/heatmaps/{self._id(website_id)}/pages",
                            {"limit": check_int("limit", limit, 1, 100)})

    def get_replay_sessions(
        self, website_id: str, limit: int | None = None, offset: int | None = None
    ) -> dict:
        """GET /replays/{id}/sessions: newest first."""
        return self.request(f"/replays/{self._id(website_id)}/sessions", {
            "limit": check_int("limit", limit, 1, MAX_AI_PAGE),
            "offset": check_int("offset", offset, 0),
        })

    def iter_replay_pages(
        self, website_id: str, page_size: int = MAX_AI_PAGE, offset: int = 0
    ) -> Iterator[dict]:
        yield from self.iter_pages(f"/replays/{self._id(website_id)}/sessions", {}, "sessions",
                                   check_int("limit", page_size, 1, MAX_AI_PAGE) or MAX_AI_PAGE,
                                   offset)

    def query(
        self, website_id: str, question: str, time_range: str | None = None,
        compare_to: str | None = None,
    ) -> dict:
        """POST /query/{id} (Scale and up, three credits): a natural-language question. Never
        cached; retried only after a 429 that refused it."""
        if not isinstance(question, str) or not question.strip():
            raise UsageError("a question is required")
        if len(question) > MAX_QUESTION:
            raise UsageError(f"the question is {len(question)} characters long",
                             hint=f"The API takes at most {MAX_QUESTION}.")
        context = {
            "time_range": check_range(time_range, ANOMALY_RANGES) if time_range else None,
            "compare_to": check_choice("compare_to", compare_to, COMPARE_TO),
        }
        body: dict[str, Any] = {"question": question}
        context = {k: v for k, v in context.items() if v is not None}
        if context:
            body["context"] = context
        return self.request(f"/query/{self._id(website_id)}", method="POST", body=body)
