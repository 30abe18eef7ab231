"""Mutable sandbox state: per-key usage and rate windows, the fault queue, request statistics.

None of these classes locks; the server holds one lock around every use of them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/external/v1"

# Plan limits from the newest rate-limit help page: (requests per minute, requests per month).
TIER_LIMITS = {
    "pro": (30, 10_000),
    "scale": (60, 100_000),
    "enterprise": (120, 1_000_000),
    "free": (0, 0),  # no API access at all: every key gets 403 API_PAID_PLAN_REQUIRED
}

WINDOW_SECONDS = 60.0
LIMITERS = ("sliding", "fixed", "cf")


@dataclass
class Verdict:
    """A limiter's answer for one request: admitted or not, and what the headers say."""

    admitted: bool
    retry_after: int  # whole seconds until a request would be admitted (meaningful when refused)
    remaining: int  # requests left in the limiter's view after this one


def _count(times: deque[float], start: float, end: float) -> int:
    """Times t with start <= t < end."""
    return sum(1 for t in times if start <= t < end)


def judge(kind: str, times: deque[float], now: float, rate: int, window: float) -> Verdict:
    """Would a request at `now` pass the limiter `kind`, given the admitted request `times`?

    - sliding: at most `rate` requests in any `window` seconds ending now;
    - fixed: at most `rate` requests in the current fixed window [k*window, (k+1)*window);
    - cf: Cloudflare's weighted estimate, previous window's count x the share of it still
      overlapping the last `window` seconds + the current window's count, must stay <= rate.
    Fixed and cf windows start at multiples of `window` on the server's clock, so their phase is
    arbitrary from a client's point of view.
    """
    if kind == "sliding":
        inside = [t for t in times if t > now - window]
        if len(inside) < rate:
            return Verdict(True, 0, rate - len(inside) - 1)
        wait = inside[len(inside) - rate] + window - now
        return Verdict(False, max(1, math.ceil(wait)), 0)
    start = math.floor(now / window) * window
    current = _count(times, start, now + 1e-9)
    if kind == "fixed":
        if current < rate:
            return Verdict(True, 0, rate - current - 1)
        return Verdict(False, max(1, math.ceil(start + window - now)), 0)
    previous = _count(times, start - window, start)
    estimate = previous * (1 - (now - start) / window) + current
    if estimate + 1 <= rate:
        return Verdict(True, 0, max(0, math.floor(rate - estimate - 1)))
    # The first moment the estimate leaves room for one more request.
    if current + 1 <= rate:
        at = start + window * (1 - (rate - 1 - current) / previous)
    else:  # not in this window: in the next one, this window's count becomes the previous one
        at = start + window + window * max(0.0, 1 - (rate - 1) / current)
    return Verdict(False, max(1, math.ceil(at - now)), 0)


@dataclass
class KeyUsage:
    monthly: int = 0
    total: int = 0
    window: deque[float] = field(default_factory=deque)  # clock times of admitted requests

    def prune(self, now: float, window: float = WINDOW_SECONDS) -> None:
        """Forget requests no limiter can still count (older than two windows)."""
        while self.window and self.window[0] <= now - 2 * window:
            self.window.popleft()


class Accounts:
    """Usage per API key. Keys are held in memory only, never written anywhere."""

    def __init__(self) -> None:
        self._usage: dict[str, KeyUsage] = {}

    def get(self, key: str) -> KeyUsage:
        usage = self._usage.get(key)
        if usage is None:
            usage = self._usage[key] = KeyUsage()
        return usage

    def clear(self) -> None:
        self._usage.clear()


_FAULT_FIELDS = {"status", "code", "message", "retry_after", "delay", "html", "close", "count", "path",
                 "location"}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class FaultSpecError(ValueError):
    """A fault description that cannot be used; the message says why."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next `count` API requests under `path`."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    html: bool = False
    close: bool = False
    count: int = 1
    path: str = ""
    location: str | None = None  # with a 3xx status: a redirect to this URL

    @classmethod
    def from_dict(cls, spec: Any) -> Fault:
        """Build a fault from its JSON form; FaultSpecError says what is wrong with it."""
        if not isinstance(spec, dict):
            raise FaultSpecError("each fault must be a JSON object")
        unknown = sorted(set(spec) - _FAULT_FIELDS)
        if unknown:
            raise FaultSpecError(f"unknown fault field(s): {', '.join(map(str, unknown))}")
        fault = cls()
        status = spec.get("status")
        location = spec.get("location")
        if location is not None:
            if not isinstance(location, str) or not location:
                raise FaultSpecError("fault location must be a URL string")
            if status not in REDIRECT_STATUSES:
                raise FaultSpecError("a location fault needs a redirect status (301, 302, 303, 307 "
                                     "or 308)")
            fault.location = location
        if status is not None:
            if not isinstance(status, int) or isinstance(status, bool) or not (
                400 <= status <= 599 or (location is not None and status in REDIRECT_STATUSES)
            ):
                raise FaultSpecError("fault status must be an integer HTTP error status (400-599), "
                                     "or a redirect status with a location")
            fault.status = status
        for name in ("code", "message"):
            value = spec.get(name)
            if value is not None and not isinstance(value, str):
                raise FaultSpecError(f"fault {name} must be a string")
            setattr(fault, name, value)
        retry_after = spec.get("retry_after")
        if retry_after is not None:
            if not (isinstance(retry_after, str) or (_is_number(retry_after) and retry_after >= 0)):
                raise FaultSpecError("fault retry_after must be seconds (>= 0) or an HTTP-date string")
            fault.retry_after = retry_after
        delay = spec.get("delay", 0.0)
        if not _is_number(delay) or not 0 <= delay <= 3600:
            raise FaultSpecError("fault delay must be a number of seconds between 0 and 3600")
        fault.delay = float(delay)
        for name in ("html", "close"):
            value = spec.get(name, False)
            if not isinstance(value, bool):
                raise FaultSpecError(f"fault {name} must be true or false")
            setattr(fault, name, value)
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FaultSpecError("fault count must be a positive integer")
        fault.count = count
        path = spec.get("path", "")
        if not isinstance(path, str):
            raise FaultSpecError("fault path must be a string")
        path = path.removeprefix(API_PREFIX)
        fault.path = path if not path or path.startswith("/") else "/" + path
        if fault.close and fault.status is not None:
            raise FaultSpecError("a fault either closes the connection or answers with a status")
        if fault.html and fault.status is None:
            raise FaultSpecError("an html fault needs a status")
        if fault.status is None and not fault.close and not fault.delay:
            raise FaultSpecError("a fault needs a status, a delay or close: true")
        return fault

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "code": self.code, "message": self.message,
            "retry_after": self.retry_after, "delay": self.delay, "html": self.html,
            "close": self.close, "count": self.count, "path": self.path, "location": self.location,
        }


class FaultQueue:
    """FIFO of faults; a request takes the first fault whose path prefix matches it."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, faults: list[Fault]) -> None:
        self._faults.extend(faults)

    def take(self, path: str) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if path.startswith(fault.path):
                fault.count -= 1
                if fault.count <= 0:
                    del self._faults[i]
                return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self._faults]

    def clear(self) -> None:
        self._faults.clear()


@dataclass
class Stats:
    """What the API side of the sandbox has seen (control endpoints are never counted)."""

    requests: int = 0
    dropped: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    by_key_fingerprint: dict[str, int] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)

    def record_request(self, path: str, fingerprint: str | None) -> None:
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        if fingerprint is not None:
            self.by_key_fingerprint[fingerprint] = self.by_key_fingerprint.get(fingerprint, 0) + 1

    def record_status(self, status: int) -> None:
        self.status_counts[str(status)] = self.status_counts.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_path": dict(self.by_path),
            "by_key_fingerprint": dict(self.by_key_fingerprint),
            "status_counts": dict(self.status_counts),
            "dropped": self.dropped,
        }
