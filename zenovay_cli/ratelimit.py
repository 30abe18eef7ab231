"""The one request budget shared by concurrent requests: paces sends under the per-minute limit."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zenovay_cli.errors import RateLimitError

# How it works, and why:
# - Two mechanisms, both over the budget's own clock:
#   1. Pacing (GCRA, a token bucket kept as one "theoretical arrival time"): one send every
#      60 / (safety * limit) s after a small burst. This gives an even flow that sits under the
#      limit for any limiter the edge might use: a true 60 s sliding window, fixed minutes, or
#      Cloudflare's weighted "previous + current window" estimate (even pacing is the case where
#      that estimate equals the real count).
#   2. A log of send times over the last 60 s with a hard cap of `limit` sends in any 60 s
#      window (closed at both ends, plus a margin for latency jitter). Pacing alone keeps to it;
#      the log makes the guarantee exact after a limit change or when the server says it counted
#      more than we sent (X-RateLimit-Remaining, below).
# - safety = 0.9: pacing at 90 % costs ~11 % wall time in a rate-bound run (the goal allows 25 %),
#   and the 10 % left over holds the initial burst (burst <= 10 % of the limit, so burst + paced
#   sends never exceed the limit in a window) and absorbs jitter between our send times and the
#   server's arrival times.
# - X-RateLimit-Remaining: the server counted `limit - remaining` requests in its window. Our own
#   sends (in flight ones too) are in the log; any counted requests beyond those were sent by
#   someone else (an earlier run, another tool) at times we do not know, and the window's end is
#   not sent either (the newest docs have no X-RateLimit-Reset). So they go into the log as
#   "phantom" sends. Stamping them all "now" (the worst case: their slots free a full minute
#   later) would make every run that starts right after another one stall for a minute, though
#   the earlier run, paced like this one, frees its slots steadily. So the phantoms' slots free
#   one by one, evenly over the next 60 s: at most `remaining` sends go out at once, and more
#   only at the pace a paced client would have freed them. If the unknown requests were in fact
#   a recent burst, later Remaining headers add phantoms and a 429 stops everyone: a 429 or two
#   at worst, against a minute surely lost. A 429 counts as Remaining 0 whose first slot frees
#   at its Retry-After (the client passes that to pause() as well, which holds every worker).
# - Unknown limit (none given, no header seen): no pacing, but only UNKNOWN_BURST sends go out
#   before the first response arrives; the rest wait for it (at most FIRST_RESPONSE_WAIT s), so
#   a first wave of N workers cannot overrun a small limit. A server that never sends
#   X-RateLimit-Limit is then not paced at all.
# - pause() (a 429's Retry-After) sets a shared "not before" time that only ever moves later.
#   With max_wait, a pause longer than that fails acquire() at once instead of sleeping.

# At most this many unseen sends (other clients' requests) are modelled after one response.
MAX_PHANTOMS = 2000
WINDOW = 60.0
DEFAULT_SAFETY = 0.9
MAX_BURST = 10
UNKNOWN_BURST = 3
FIRST_RESPONSE_WAIT = 5.0
POLL = 0.05
# A sent request frees its slot this long after it leaves the 60 s window: our send time is not
# the server's arrival time, and two requests' latencies differ.
EXPIRY_MARGIN = 0.25
ANNOUNCE_AFTER = 1.0
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class BudgetStats:
    acquires: int
    waits: int  # acquires that had to wait
    waited: float  # seconds spent waiting, summed over all threads
    longest_wait: float
    pauses: int
    limit: int | None


TEST_WINDOW_ENV = "ZENOVAY_TEST_WINDOW_SECONDS"


def window_seconds() -> float:
    """The rate window's length: 60 s, or ZENOVAY_TEST_WINDOW_SECONDS (1 to 60) for tests.

    Tests only: the sandbox and the budget both honour it, so an end-to-end test of "a minute's
    worth" of work runs in a few seconds instead of sleeping through real minutes.
    """
    import os

    raw = os.environ.get(TEST_WINDOW_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return WINDOW
    return value if 1 <= value <= WINDOW else WINDOW


def _header_int(value: object) -> int | None:
    """The smallest whole number in a header value ("30", "30, 30", "30;w=60"), or None."""
    if value is None:
        return None
    found = None
    for part in str(value).split(","):
        token = part.split(";", 1)[0].strip()
        # isascii: int() would accept other scripts' digits; len: int() of a huge string is slow.
        if token.isascii() and token.isdigit() and len(token) <= 9:
            number = int(token)
            found = number if found is None else min(found, number)
    return found


def _as_limit(value: object) -> int | None:
    """A usable per-minute limit from untrusted input (header text, JSON number), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        number = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, int):
        number = value
    else:
        number = _header_int(value)
    return number if number is not None and 1 <= number <= MAX_LIMIT else None


class RateBudget:
    """A thread-safe send budget: call acquire() before every request, observe() after it."""

    def __init__(
        self,
        per_minute: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        safety: float = DEFAULT_SAFETY,
        on_wait: Callable[[float, str], None] | None = None,
        max_wait: float | None = None,
    ) -> None:
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        limit = None
        if per_minute is not None:
            limit = _as_limit(per_minute)
            if limit is None:
                raise ValueError(f"per_minute must be a whole number from 1 to {MAX_LIMIT}")
        self._clock = clock
        self._sleep = sleep
        self._safety = safety
        self._on_wait = on_wait
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._interval = 0.0
        self._tolerance = 0.0
        self._tat = -math.inf  # GCRA: sends are allowed from _tat - _tolerance on
        self._sent: deque[float] = deque()
        self._not_before = -math.inf
        self._told = False  # a response or set_limit() has told us about the limit
        self._first_send: float | None = None
        self._announced_pause = -math.inf
        self._announced_window = -math.inf
        self._announced_pacing: int | None = None
        self._acquires = self._waits = self._pauses = 0
        self._waited = self._longest = 0.0
        if limit is not None:
            self._told = True
            self._apply_limit(limit)

    @property
    def limit(self) -> int | None:
        return self._limit

    def stats(self) -> BudgetStats:
        with self._lock:
            return BudgetStats(
                self._acquires, self._waits, self._waited, self._longest, self._pauses, self._limit
            )

    def set_limit(self, per_minute: object) -> None:
        """Use this per-minute limit (e.g. /usage rate_limits.requests_per_minute); junk is ignored."""
        limit = _as_limit(per_minute)
        if limit is None:
            return
        with self._lock:
            self._told = True
            self._apply_limit(limit)

    def pause(self, seconds: float) -> None:
        """Hold every sender until `seconds` from now; a shorter pause never shortens a longer one."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            return
        if not math.isfinite(seconds) or seconds <= 0:
            return
        with self._lock:
            self._pauses += 1
            self._not_before = max(self._not_before, self._clock() + seconds)

    def observe(self, headers: Mapping[str, str] | None, status: int) -> None:
        """Learn from a response's X-RateLimit-Limit / -Remaining (any letter case) and a 429."""
        lower = {str(k).lower(): v for k, v in (headers or {}).items()}
        limit = _as_limit(lower.get("x-ratelimit-limit"))
        remaining = _header_int(lower.get("x-ratelimit-remaining"))
        free_in = 0.0
        if status == 429:
            remaining = 0
            free_in = min(float(_header_int(lower.get("retry-after")) or 0), WINDOW)
        with self._lock:
            self._told = True
            if limit is not None:
                self._apply_limit(limit)
            if remaining is None or self._limit is None:
                return
            now = self._clock()
            self._prune(now)
            unknown = self._limit - min(remaining, self._limit) - len(self._sent)
            # The header is untrusted: never let it make us track more than a bounded number.
            unknown = min(unknown, MAX_PHANTOMS)
            if unknown > 0:
                # Their slots free one by one from `free_in` on, the last a full window from now.
                step = (WINDOW - free_in) / unknown
                phantoms = [now + free_in + step * (k + 1) - WINDOW for k in range(unknown)]
                self._sent = deque(sorted([*self._sent, *phantoms]))

    def acquire(self) -> float:
        """Block until one request may be sent now and reserve it; returns the send time.

        Raises RateLimitError at once when a pause() would hold it longer than max_wait.
        """
        start = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                ready, reason = self._ready_at(now)
                if ready <= now:
                    self._commit(now, now - start)
                    return now
                paused = self._not_before - now
                if self._max_wait is not None and paused > self._max_wait:
                    raise RateLimitError(
                        f"rate limited: the API asks to wait {paused:.0f} s, "
                        f"more than --max-wait {self._max_wait:g} s",
                        hint=f"Retry in {math.ceil(paused)} s, or raise --max-wait.",
                        retry_after=paused,
                        status=429,
                    )
                wait = ready - now
                note = self._announcement(reason, now, ready)
            if note is not None and self._on_wait is not None:
                self._on_wait(wait, note)
            self._sleep(wait)

    # -- internals, called with the lock held ------------------------------------------------------

    def _apply_limit(self, limit: int) -> None:
        if limit == self._limit:
            return
        self._limit = limit
        self._interval = WINDOW / (self._safety * limit)
        burst = math.floor(round(limit * (1 - self._safety), 6))
        self._tolerance = (max(1, min(MAX_BURST, burst)) - 1) * self._interval
        # Sends made before (or under another limit) still use up the bucket.
        self._tat = -math.inf
        for sent in self._sent:
            self._tat = max(self._tat, sent) + self._interval

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] + WINDOW + EXPIRY_MARGIN <= now:
            self._sent.popleft()

    def _ready_at(self, now: float) -> tuple[float, str]:
        """The earliest time a send is allowed, and what holds it back."""
        ready, reason = now, ""
        if self._not_before > ready:
            ready, reason = self._not_before, "pause"
        if self._limit is None:
            if not self._told and self._first_send is not None and self._acquires >= UNKNOWN_BURST:
                deadline = self._first_send + FIRST_RESPONSE_WAIT
                if deadline > now and now + POLL > ready:
                    ready, reason = min(now + POLL, deadline), "first"
            return ready, reason
        self._prune(now)
        over = len(self._sent) - self._limit
        if over >= 0:
            free = self._sent[over] + WINDOW + EXPIRY_MARGIN
            if free > ready:
                ready, reason = free, "window"
        paced = self._tat - self._tolerance
        if paced > ready:
            ready, reason = paced, "pacing"
        return ready, reason

    def _commit(self, now: float, waited: float) -> None:
        self._prune(now)
        self._sent.append(now)
        if self._limit is not None:
            self._tat = max(self._tat, now) + self._interval
        if self._first_send is None:
            self._first_send = now
        self._acquires += 1
        if waited > 0:
            self._waits += 1
            self._waited += waited
            self._longest = max(self._longest, waited)

    def _announcement(self, reason: str, now: float, ready: float) -> str | None:
        """What to announce about this wait, or None; throttled so N workers print one line."""
        if ready - now < ANNOUNCE_AFTER:
            return None
        if reason == "pause" and ready > self._announced_pause + ANNOUNCE_AFTER:
            self._announced_pause = ready
            return "the API answered 429 with Retry-After"
        if reason == "window" and now >= self._announced_window + WINDOW:
            self._announced_window = now
            return f"the per-minute limit of {self._limit} requests is used up"
        if reason == "pacing" and self._announced_pacing != self._limit:
            self._announced_pacing = self._limit
            return f"staying under {self._limit} requests/minute"
        return None
