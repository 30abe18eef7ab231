"""The retry policy as pure functions: what to do after a failed attempt, and how long to wait."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# 5xx answers that a retry can fix (a gateway or an overloaded origin). 501 and others are final.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

BACKOFF_BASE = 1.0  # seconds before the first retry (before jitter)
BACKOFF_CAP = 30.0  # no single backoff wait is longer than this


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay: float = 0.0
    reason: str = ""
    # True when the command should fail because the wait would exceed --max-wait.
    too_long: bool = False


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # only for HTTP dates: it pulls in socket, ~8 ms on every cache hit

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so waits never collapse to 0.

    attempt is the number of the attempt that just failed (1 for the first request).
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return ceiling / 2 + rand() * ceiling / 2


def decide(
    attempt: int,
    retries: int,
    *,
    max_wait: float,
    rand: Callable[[], float],
    status: int | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    network_error: str | None = None,
) -> Decision:
    """Decide whether a failed attempt is retried, and after how long.

    attempt: 1-based number of the attempt that failed; retries: how many retries are allowed
    after the first attempt. network_error names a connection error or timeout (status is None then).
    """
    if network_error is not None:
        reason = network_error
    elif status == 429:
        if (code or "").upper() == "MONTHLY_LIMIT_EXCEEDED":
            # The monthly quota is a hard cap: retrying only burns time.
            return Decision(False, reason="monthly quota exhausted")
        reason = "rate limited (429)"
    elif status in RETRYABLE_STATUSES:
        reason = f"server error ({status})"
    else:
        return Decision(False, reason=f"HTTP {status} is not retryable")

    if attempt > retries:
        return Decision(False, reason=f"{reason}; gave up after {attempt} attempts")

    delay = retry_after if retry_after is not None else backoff_delay(attempt, rand)
    if delay > max_wait:
        return Decision(False, delay=delay, reason=reason, too_long=True)
    return Decision(True, delay=delay, reason=reason)
