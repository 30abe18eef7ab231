"""The request budget shared by concurrent requests and processes: use the whole minute, never more.

The policy
----------
Every send is checked against the sends of the last two windows (W = 60 s): this process's, other
local processes' (through the per-host ledger, see ledger.py) and "phantoms" standing for requests
the server reports but nobody here made (X-RateLimit-Remaining, a 429). A send may go at time t
only when, counting it, every limiter shape an edge may use stays within the limit L:

- a true sliding window: at most L sends in any W seconds;
- fixed windows: at most L sends in any [kW, (k+1)W), at any phase k*W of the edge's clock;
- Cloudflare's weighted estimate at any phase: previous window's count x the share of it still
  inside the last W seconds + the current window's count <= L.

The third implies the other two at every phase, so one check covers all three: for every window
start s in (t - W, t], P(s) x (1 - (t - s) / W) + C(s) + 1 <= L, where P(s) counts the sends in
[s - W, s) and C(s) those in [s, t]. Between sends the left side grows with s, so it is enough to
test s just before each send u and each u + W (and s -> t, which is the sliding window). The
earliest allowed t is found by raising t to the largest bound these give until none is violated
(earliest_send below; pure, no clock).

What that means in practice:
1. Burst: while the window leaves room, sends go out at once, limited only by --concurrency.
2. When the window's budget is spent, nothing is sent until its first sends are a full window old,
   then sends continue evenly paced, one every W / L: the burst's sends still weigh on the
   weighted estimate for a whole window after they leave the sliding window, so a second burst
   inside the next window is never allowed.
3. One send of headroom (L - 1 for limits of 4 and more) and a margin of EXPIRY_MARGIN on the
   sliding window absorb the difference between our send times and the edge's arrival times.

Worked example, L = 30/min (Pro), 41 requests with 10 workers, nothing sent in the last two minutes:
- t = 0 s: 29 requests go out at once (30 - 1 headroom); a 30th would fill the estimate.
- until t = 60.25 s nothing may go: the burst is inside every window ending before then.
- just after t = 60 s a window starting at 60 sees the burst as its previous window with weight
  ~1 (29 x 1 + 1 > 29), so the 30th waits until that weight is 28/29: t = 60 + 60/29 = 62.07 s;
  each further 60/29 = 2.07 s frees one more: the remaining 12 go out at 62.1, 64.1 ... 84.8 s.
- total ~ 85 s, against 60 + (41 - 30) x 2 = 82 s at the theoretical best; "burst again when the
  sliding window frees" would be refused by a Cloudflare-style edge at t = 60 s.

What the server says
--------------------
- X-RateLimit-Limit sets L (learned). A configured limit (rate_limit / ZENOVAY_RATE_LIMIT) is an
  upper bound: the learned one wins only when lower.
- X-RateLimit-Remaining R: the server counted L - R requests in its window. Any beyond the sends we
  know of were made by someone else at unknown times; they become phantoms whose slots free one by
  one over the next window (stamping them all "now" would stall a run that starts right after
  another for a whole minute, though that run freed its slots steadily). A 429 counts as R = 0
  whose first slot frees at its Retry-After, and pauses every sender until then ("nobody sends
  before T"), across processes when a ledger is shared.
- Unknown limit (none configured, none learned): only UNKNOWN_BURST sends go out before the first
  response arrives (at most FIRST_RESPONSE_WAIT s); a server that never sends a limit is not paced.
- X-Usage-*: the monthly snapshot is kept for `zenovay usage`'s burn rate and forecast (quota.py).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from zenovay_cli.errors import RateLimitError

# At most this many unseen sends (other clients' requests) are modelled after one response.
MAX_PHANTOMS = 2000
WINDOW = 60.0
UNKNOWN_BURST = 3
FIRST_RESPONSE_WAIT = 5.0
POLL = 0.05
# A send frees its sliding-window slot this long after it leaves the window: our send time is not
# the server's arrival time, and two requests' latencies differ.
EXPIRY_MARGIN = 0.25
ANNOUNCE_AFTER = 1.0
MAX_LIMIT = 1_000_000
# Sends kept in the state: two windows' worth at most, and never more than this many.
MAX_KEPT = 20_000
EPSILON = 1e-6

T = TypeVar("T")

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




def headroom_limit(limit: int) -> int:
    """The limit the policy plans for: one send of headroom from 4 on (see the module docstring)."""
    return limit - 1 if limit >= 4 else limit


def earliest_send(
    sends: Sequence[float],
    now: float,
    limit: int,
    window: float = WINDOW,
    margin: float = EXPIRY_MARGIN,
) -> tuple[float, str]:
    """The earliest time >= now at which one more send keeps every limiter shape within `limit`.

    `sends` are the send times known so far, sorted. Returns (time, reason), reason "" when the send
    may go now, "window" when the last window's budget is spent, "pacing" when the weighted
    estimate of a recent burst holds it. Pure: no clock, no state.
    """
    n = len(sends)
    first = bisect.bisect_left(sends, now - 2 * window - margin)
    if n - first + 1 <= limit:  # every estimate counts at most these: room at every phase
        return now, ""
    t, reason = now, ""
    for _ in range(100):
        bound, why = t, reason
        # Sliding window (s -> t): the sends in [t - W - margin, t] plus this one.
        if n - bisect.bisect_right(sends, t - window - margin) + 1 > limit:
            candidate = sends[n - limit] + window + margin
            if candidate > bound:
                bound, why = candidate, "window"
        # Weighted estimate with a window starting just before b, for b = u and b = u + W.
        low = bisect.bisect_right(sends, t - 2 * window)
        high = bisect.bisect_right(sends, t)
        for u in sends[low:high]:
            for b in (u, u + window):
                if not t - window < b <= t:
                    continue
                at_b = bisect.bisect_left(sends, b)
                current = n - at_b
                # A send exactly at b - W is inside (the limit s -> b-); EPSILON keeps float
                # rounding of u + W - W from moving it out.
                previous = at_b - bisect.bisect_left(sends, b - window - EPSILON)
                if current + 1 > limit:
                    candidate, kind = b + window + margin, "window"
                elif previous and previous * (1 - (t - b) / window) + current + 1 > limit + 1e-9:
                    candidate, kind = b + window * (1 - (limit - 1 - current) / previous), "pacing"
                else:
                    continue
                if candidate > bound:
                    bound, why = candidate, kind
        if bound <= t:
            return t, reason
        # "window" once the window's budget was found spent, even if pacing then holds it longer.
        t, reason = bound, ("window" if "window" in (reason, why) else why)
    return t, reason  # pragma: no cover - the bounds converge in a few rounds


@dataclass(frozen=True)
class BudgetStats:
    acquires: int
    waits: int  # acquires that had to wait
    waited: float  # seconds spent waiting, summed over all threads
    longest_wait: float
    pauses: int
    limit: int | None


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15 else None


@dataclass
class BudgetState:
    """What every process of one user and one API key shares (the ledger's whole content).

    sends       sorted send times (wall clock), the last two windows: ours, other processes',
                and phantoms for requests the server counted that nobody here made
    limit       the per-minute limit the server advertised last (learned), or None
    not_before  a 429's pause: nobody sends before this time
    usage       the last X-Usage-* snapshot: {"at", "monthly", "limit", "reset", "total"}
    usage_first the first snapshot of the same month (same "reset"), for the burn rate
    """

    sends: list[float] = field(default_factory=list)
    limit: int | None = None
    not_before: float = 0.0
    usage: dict[str, Any] | None = None
    usage_first: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "sends": self.sends, "limit": self.limit, "not_before": self.not_before,
                "usage": self.usage, "usage_first": self.usage_first}

    @classmethod
    def from_json(cls, data: Any) -> BudgetState:
        """A state from stored JSON; anything malformed is dropped (the store is not trusted)."""
        state = cls()
        if not isinstance(data, dict):
            return state
        sends = data.get("sends")
        if isinstance(sends, list):
            state.sends = sorted(t for t in map(_finite, sends[-MAX_KEPT:]) if t is not None)
        state.limit = _as_limit(data.get("limit"))
        state.not_before = _finite(data.get("not_before")) or 0.0
        state.usage = _usage_snapshot(data.get("usage"))
        state.usage_first = _usage_snapshot(data.get("usage_first"))
        return state


def _usage_snapshot(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    at, monthly = _finite(data.get("at")), _count(data.get("monthly"))
    if at is None or monthly is None:
        return None
    reset = data.get("reset")
    return {"at": at, "monthly": monthly, "limit": _count(data.get("limit")),
            "reset": reset if isinstance(reset, str) and len(reset) <= 40 else None,
            "total": _count(data.get("total"))}


class LedgerUnavailable(Exception):
    """A shared store cannot be used (corrupt, locked for too long, unwritable); the message says why."""


class BudgetStore(Protocol):
    """Where a RateBudget keeps its BudgetState. The whole interface a shared backend implements.

    transact(change) runs `change` on the current state, atomically with respect to every other
    process using the same store, saves the state as `change` left it, and returns its result.
    `change` may be called again on a fresh state if the store retries. A store that cannot do
    this raises LedgerUnavailable; the budget then warns once and continues in-process.
    """

    def transact(self, change: Callable[[BudgetState], T]) -> T: ...

    def close(self) -> None: ...


class MemoryStore:
    """The in-process store: one state, guarded by the budget's own lock."""

    def __init__(self, state: BudgetState | None = None) -> None:
        self.state = state if state is not None else BudgetState()

    def transact(self, change: Callable[[BudgetState], T]) -> T:
        return change(self.state)

    def close(self) -> None:
        pass


class RateBudget:
    """A thread-safe send budget: call acquire() before every request, observe() after it.

    per_minute: a configured limit (rate_limit / ZENOVAY_RATE_LIMIT); a lower learned one wins.
    ledger: a BudgetStore shared with other processes (ledger.py); None keeps it in-process.
    """

    def __init__(
        self,
        per_minute: int | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float, str], None] | None = None,
        max_wait: float | None = None,
        window: float | None = None,
        ledger: BudgetStore | None = None,
        on_warning: Callable[[str], None] | None = None,
        strict_wait: bool = False,
    ) -> None:
        override = None
        if per_minute is not None:
            override = _as_limit(per_minute)
            if override is None:
                raise ValueError(f"per_minute must be a whole number from 1 to {MAX_LIMIT}")
        self._override = override
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._max_wait = max_wait
        # max_wait bounds every wait (an interactive command), not only a 429's pause (a fan-out,
        # whose pacing waits are its normal work).
        self._strict_wait = strict_wait
        self._window = float(window) if window is not None else window_seconds()
        self._store: BudgetStore = ledger if ledger is not None else MemoryStore()
        self._shared = ledger is not None
        self._on_warning = on_warning
        self._lock = threading.Lock()
        self._learned: int | None = None  # the store's learned limit, as last seen
        self._last_state = BudgetState()
        self._told = override is not None  # a response or set_limit() has told us about the limit
        self._first_send: float | None = None
        self._announced_pause = -math.inf
        self._announced_window = -math.inf
        self._announced_pacing: int | None = None
        self._acquires = self._waits = self._pauses = 0
        self._waited = self._longest = 0.0

    # -- public ------------------------------------------------------------------------------------

    @property
    def limit(self) -> int | None:
        """The limit in force: the configured one, or the learned one when that is lower."""
        return self._effective(self._learned)

    @property
    def window(self) -> float:
        return self._window

    @property
    def shared(self) -> bool:
        """True while a ledger shared with other processes is in use."""
        return self._shared

    def stats(self) -> BudgetStats:
        with self._lock:
            return BudgetStats(self._acquires, self._waits, self._waited, self._longest,
                               self._pauses, self.limit)

    def snapshot(self) -> BudgetState:
        """A copy of the current state (sends, limits, pause, usage snapshots)."""
        def read(state: BudgetState) -> BudgetState:
            return BudgetState.from_json(state.to_json())

        with self._lock:
            return self._transact(read)

    def set_limit(self, per_minute: object) -> None:
        """Learn this per-minute limit (e.g. /usage rate_limits.requests_per_minute); junk is ignored."""
        limit = _as_limit(per_minute)
        if limit is None:
            return

        def learn(state: BudgetState) -> None:
            state.limit = limit

        with self._lock:
            self._told = True
            self._transact(learn)

    def pause(self, seconds: float) -> None:
        """Hold every sender until `seconds` from now; a shorter pause never shortens a longer one."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            return
        if not math.isfinite(seconds) or seconds <= 0:
            return

        def hold(state: BudgetState) -> None:
            state.not_before = max(state.not_before, self._clock() + seconds)

        with self._lock:
            self._pauses += 1
            self._transact(hold)

    def observe(self, headers: Mapping[str, str] | None, status: int) -> None:
        """Learn from a response's X-RateLimit-*, X-Usage-* (any letter case) and a 429."""
        lower = {str(k).lower(): v for k, v in (headers or {}).items()}
        limit = _as_limit(lower.get("x-ratelimit-limit"))
        remaining = _header_int(lower.get("x-ratelimit-remaining"))
        free_in = pause = 0.0
        if status == 429:
            remaining = 0
            pause = float(_header_int(lower.get("retry-after")) or 0)
            free_in = min(pause, self._window)
        monthly = _header_int(lower.get("x-usage-monthly"))
        usage = None
        if monthly is not None:
            reset = lower.get("x-usage-reset")
            usage = {"monthly": monthly, "limit": _header_int(lower.get("x-usage-limit")),
                     "reset": str(reset).strip()[:40] if reset else None,
                     "total": _header_int(lower.get("x-usage-total"))}

        def learn(state: BudgetState) -> None:
            now = self._clock()
            if pause > 0:  # nobody (no worker, no other process, no next run) sends before then
                state.not_before = max(state.not_before, now + pause)
            if limit is not None:
                state.limit = limit
            if usage is not None:
                snapshot = {"at": now, **usage}
                state.usage = snapshot
                first = state.usage_first
                if first is None or first.get("reset") != usage["reset"] \
                        or first["monthly"] > usage["monthly"]:
                    state.usage_first = snapshot
            server_limit = limit or self._effective(state.limit)
            if remaining is None or server_limit is None:
                return
            self._prune(state, now)
            counted = self._server_view(state.sends, now)
            unknown = min(math.floor(server_limit - min(remaining, server_limit) - counted + 1e-9),
                          MAX_PHANTOMS)
            if unknown > 0:
                # Their slots free one by one from `free_in` on, the last a full window from now.
                step = (self._window - free_in) / unknown
                phantoms = [now + free_in + step * (k + 1) - self._window for k in range(unknown)]
                state.sends = sorted([*state.sends, *phantoms])

        with self._lock:
            self._told = True
            self._transact(learn)

    def acquire(self) -> float:
        """Block until one request may be sent now and reserve it; returns the send time.

        Raises RateLimitError at once when a pause would hold it longer than max_wait.
        """
        start = self._clock()
        while True:
            with self._lock:
                now, ready, reason, paused = self._transact(self._try_send)
                if ready <= now:
                    self._count(now, now - start)
                    return now
                if self._max_wait is not None and paused > self._max_wait:
                    raise RateLimitError(
                        f"rate limited: the API asks to wait {paused:.0f} s, "
                        f"more than --max-wait {self._max_wait:g} s",
                        hint=f"Retry in {math.ceil(paused)} s, or raise --max-wait.",
                        retry_after=paused,
                        status=429,
                    )
                held = ready - now
                if self._strict_wait and self._max_wait is not None and held > self._max_wait:
                    limit = self.limit or 0
                    budget = headroom_limit(limit)
                    reserve = ", one kept in reserve" if budget < limit else ""
                    raise RateLimitError(
                        f"rate limited: this minute's budget of {budget} requests (the limit is "
                        f"{limit} a minute{reserve}) is spent for {held:.0f} s more, more than "
                        f"--max-wait {self._max_wait:g} s",
                        hint=f"Retry in {math.ceil(held)} s, or raise --max-wait.",
                        retry_after=held,
                    )
                wait = ready - now
                note = self._announcement(reason, now, ready)
            if note is not None and self._on_wait is not None:
                self._on_wait(wait, note)
            self._sleep(wait)

    def close(self) -> None:
        self._store.close()

    # -- internals ---------------------------------------------------------------------------------

    def _effective(self, learned: int | None) -> int | None:
        if self._override is None:
            return learned
        return self._override if learned is None else min(self._override, learned)

    def _transact(self, change: Callable[[BudgetState], T]) -> T:
        """Run `change` in the store; a failing shared store: one warning, then in-process."""
        def tracked(state: BudgetState) -> T:
            result = change(state)
            self._learned = state.limit
            self._last_state = state
            return result

        try:
            return self._store.transact(tracked)
        except LedgerUnavailable as exc:
            if self._on_warning is not None:
                self._on_warning(f"the shared rate ledger is unavailable ({exc}); "
                                 "this run keeps its own budget")
            with_last = BudgetState.from_json(self._last_state.to_json())
            self._store, self._shared = MemoryStore(with_last), False
            return self._store.transact(tracked)

    def _prune(self, state: BudgetState, now: float) -> None:
        keep_from = now - 2 * self._window - EXPIRY_MARGIN
        sends = state.sends
        if sends and (sends[0] < keep_from or sends[-1] > now + self._window):
            # Older sends no longer count; "future" ones mean the wall clock went back: drop them.
            state.sends = [t for t in sends if keep_from <= t <= now + self._window]
        if len(state.sends) > MAX_KEPT:
            del state.sends[: len(state.sends) - MAX_KEPT]

    def _server_view(self, sends: list[float], now: float) -> float:
        """How many of the known sends an edge may still count now: those of the last window, and
        the window before it weighted as Cloudflare's estimate may still weigh them (1 falling
        to 0 over a window). Remaining below what this explains was spent by someone else; a
        weighted edge's low Remaining right after our own burst is not mistaken for strangers."""
        edge = now - self._window - EXPIRY_MARGIN
        start = bisect.bisect_right(sends, edge - self._window)
        split = bisect.bisect_right(sends, edge)
        older = sum((u - (edge - self._window)) / self._window for u in sends[start:split])
        return len(sends) - split + older

    def _try_send(self, state: BudgetState) -> tuple[float, float, str, float]:
        """Send now if allowed (recorded in the state): (now, ready, reason, paused seconds)."""
        now = self._clock()
        self._prune(state, now)
        ready, reason = now, ""
        if state.not_before > ready:
            ready, reason = state.not_before, "pause"
        limit = self._effective(state.limit)
        if limit is None:
            if not self._told and self._first_send is not None and self._acquires >= UNKNOWN_BURST:
                deadline = self._first_send + FIRST_RESPONSE_WAIT
                if deadline > now and now + POLL > ready:
                    ready, reason = min(now + POLL, deadline), "first"
        else:
            free, why = earliest_send(state.sends, now, headroom_limit(limit), self._window)
            if free > ready:
                ready, reason = free, why
        if ready <= now:
            bisect.insort(state.sends, now)
        return now, ready, reason, state.not_before - now

    def _count(self, now: float, waited: float) -> None:
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
        limit = self.limit
        if reason == "pause" and ready > self._announced_pause + ANNOUNCE_AFTER:
            self._announced_pause = ready
            return "the API answered 429 with Retry-After"
        if reason == "window" and now >= self._announced_window + self._window:
            self._announced_window = now
            return f"the per-minute limit of {limit} requests is used up"
        if reason == "pacing" and self._announced_pacing != limit:
            self._announced_pacing = limit
            return f"staying under {limit} requests/minute"
        return None
