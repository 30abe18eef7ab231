"""The budget's policy (#11): burst within the window, then evenly paced, safe under every limiter
shape at every phase; shared state between budgets; the configured limit as an upper bound."""

from __future__ import annotations

import bisect
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_ratelimit import FakeTime, most_in_any_minute, send
from zenovay_cli.ratelimit import (
    BudgetState,
    LedgerUnavailable,
    MemoryStore,
    RateBudget,
    earliest_send,
)

W = 60.0


def most_in_a_fixed_window(times, phase, window=W):
    counts: dict[int, int] = {}
    for t in times:
        k = math.floor((t - phase) / window)
        counts[k] = counts.get(k, 0) + 1
    return max(counts.values(), default=0)


def highest_cf_estimate(times, phase, window=W):
    """Cloudflare's estimate just after each send, windows starting at phase + k * window."""
    times = sorted(times)
    worst = 0.0
    for t in times:
        start = phase + math.floor((t - phase) / window) * window
        current = bisect.bisect_right(times, t) - bisect.bisect_left(times, start)
        previous = bisect.bisect_left(times, start) - bisect.bisect_left(times, start - window)
        worst = max(worst, previous * (1 - (t - start) / window) + current)
    return worst


def run_workers(budget, ft, schedule):
    """Requests asked for at the scheduled times (seconds), each answered 0.1 s later."""
    times = []
    for at in sorted(schedule):
        if at > ft.now:
            ft.sleep(at - ft.now)
        times.append(budget.acquire())
    return times


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 130),
    asks=st.lists(st.floats(0, 400, allow_nan=False), min_size=1, max_size=260),
    phases=st.lists(st.floats(0, W, allow_nan=False, exclude_max=True), min_size=1, max_size=4),
    remaining=st.one_of(st.none(), st.integers(0, 130)),
)
def test_no_window_of_any_shape_or_phase_exceeds_the_limit(limit, asks, phases, remaining):
    ft = FakeTime()
    budget = ft.budget(limit)
    if remaining is not None:  # what the server said about other clients, before we started
        budget.observe({"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}, 200)
    times = run_workers(budget, ft, asks)
    assert len(times) == len(asks)  # nothing lost
    assert most_in_any_minute(times) <= limit
    for phase in phases:
        assert most_in_a_fixed_window(times, phase) <= limit
        assert highest_cf_estimate(times, phase) <= limit + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(4, 60),
    first=st.integers(1, 120),
    gap=st.floats(0, 90, allow_nan=False),
    second=st.integers(1, 120),
    phase=st.floats(0, W, allow_nan=False, exclude_max=True),
)
def test_two_budgets_sharing_one_store_stay_under_the_limit_together(limit, first, gap, second, phase):
    ft = FakeTime()
    store = MemoryStore()
    a = RateBudget(limit, clock=ft.clock, sleep=ft.sleep, ledger=store)
    times = send(a, first)
    ft.sleep(gap + 0.01)
    b = RateBudget(limit, clock=ft.clock, sleep=ft.sleep, ledger=store)  # a later process
    times += send(b, second)
    assert most_in_any_minute(times) <= limit
    assert highest_cf_estimate(times, phase) <= limit + 1e-9


def test_a_fresh_budget_on_the_same_store_sees_what_the_first_spent():
    ft = FakeTime()
    store = MemoryStore()
    send(RateBudget(30, clock=ft.clock, sleep=ft.sleep, ledger=store), 29)
    later = RateBudget(30, clock=ft.clock, sleep=ft.sleep, ledger=store)
    assert later.acquire() > 60  # the window is spent: no second burst


def test_a_429_pause_holds_every_budget_on_the_store():
    ft = FakeTime()
    store = MemoryStore()
    a = RateBudget(clock=ft.clock, sleep=ft.sleep, ledger=store)
    a.pause(25)
    b = RateBudget(clock=ft.clock, sleep=ft.sleep, ledger=store)
    assert b.acquire() == pytest.approx(25)


def test_the_learned_limit_is_shared_and_wins_only_when_lower():
    ft = FakeTime()
    store = MemoryStore()
    a = RateBudget(clock=ft.clock, sleep=ft.sleep, ledger=store)
    a.observe({"X-RateLimit-Limit": "30"}, 200)
    assert RateBudget(clock=ft.clock, sleep=ft.sleep, ledger=store).limit is None  # not read yet
    b = RateBudget(clock=ft.clock, sleep=ft.sleep, ledger=store)
    b.acquire()
    assert b.limit == 30
    assert RateBudget(20, clock=ft.clock, sleep=ft.sleep, ledger=store).snapshot().limit == 30
    lower = RateBudget(20, clock=ft.clock, sleep=ft.sleep, ledger=store)
    lower.acquire()
    assert lower.limit == 20  # the configured limit is lower: it is used
    higher = RateBudget(100, clock=ft.clock, sleep=ft.sleep, ledger=store)
    higher.acquire()
    assert higher.limit == 30  # the learned one is lower: it wins


def test_a_lower_override_paces_below_the_advertised_limit():
    ft = FakeTime()
    budget = ft.budget(10)
    budget.observe({"X-RateLimit-Limit": "120"}, 200)
    times = send(budget, 25)
    assert most_in_any_minute(times) <= 10
    assert times[8] == 0.0 and times[9] > 60  # 10 - 1 headroom at once


def test_usage_headers_are_kept_with_the_first_snapshot_of_the_month():
    ft = FakeTime()
    budget = ft.budget()
    reset = "2026-12-01T00:00:00.000Z"
    budget.observe({"X-Usage-Monthly": "100", "X-Usage-Limit": "10000", "X-Usage-Reset": reset}, 200)
    ft.sleep(3600)
    budget.observe({"X-Usage-Monthly": "160", "X-Usage-Limit": "10000", "X-Usage-Reset": reset,
                    "X-Usage-Total": "999"}, 200)
    state = budget.snapshot()
    assert state.usage == {"at": 3600.0, "monthly": 160, "limit": 10000, "reset": reset, "total": 999}
    assert state.usage_first["monthly"] == 100 and state.usage_first["at"] == 0.0
    # A new month (another reset time) starts over.
    budget.observe({"X-Usage-Monthly": "3", "X-Usage-Reset": "2027-01-01T00:00:00.000Z"}, 200)
    assert budget.snapshot().usage_first["monthly"] == 3


class BrokenStore:
    def __init__(self) -> None:
        self.calls = 0

    def transact(self, change):
        self.calls += 1
        raise LedgerUnavailable("disk on fire")

    def close(self) -> None:
        pass


def test_a_failing_store_warns_once_and_the_budget_carries_on_in_process():
    ft = FakeTime()
    warnings: list[str] = []
    budget = RateBudget(30, clock=ft.clock, sleep=ft.sleep, ledger=BrokenStore(),
                        on_warning=warnings.append)
    times = send(budget, 40)
    assert len(warnings) == 1 and "disk on fire" in warnings[0]
    assert not budget.shared
    assert most_in_any_minute(times) <= 30


def test_state_from_junk_json_is_empty_not_an_error():
    for junk in (None, [], "x", {"sends": "no", "limit": -3, "not_before": "soon", "usage": [1]},
                 {"sends": [1.0, "x", float("nan"), 3.0], "limit": 10**9}):
        state = BudgetState.from_json(junk)
        assert all(math.isfinite(t) for t in state.sends)
        assert state.limit is None and state.usage is None


def test_earliest_send_is_now_while_the_window_has_room():
    assert earliest_send([0.0] * 28, 1.0, 29) == (1.0, "")
    t, why = earliest_send([0.0] * 29, 1.0, 29)
    assert why == "window" and t == pytest.approx(60 + 60 / 29)


def test_rate_limit_and_max_requests_settings_come_from_the_environment_or_the_profile():
    from zenovay_cli.config import resolve
    from zenovay_cli.errors import UsageError

    profile = {"profiles": {"default": {"rate_limit": 20, "max_requests": 500}}}
    settings = resolve({}, {}, profile)
    assert (settings.rate_limit, settings.max_requests) == (20, 500)
    settings = resolve({}, {"ZENOVAY_RATE_LIMIT": "12"}, profile)
    assert settings.rate_limit == 12 and settings.source("rate_limit") == "ZENOVAY_RATE_LIMIT"
    assert resolve({}, {}, {}).rate_limit is None
    for bad in ("0", "fast", "-3", "2000000"):
        with pytest.raises(UsageError) as info:
            resolve({}, {"ZENOVAY_RATE_LIMIT": bad}, {})
        assert "ZENOVAY_RATE_LIMIT" in str(info.value)


def test_an_interactive_budget_fails_fast_instead_of_waiting_longer_than_max_wait():
    from zenovay_cli.errors import ExitCode, RateLimitError

    ft = FakeTime()
    strict = RateBudget(3, clock=ft.clock, sleep=ft.sleep, max_wait=10, strict_wait=True)
    send(strict, 3)
    with pytest.raises(RateLimitError) as info:
        strict.acquire()  # the window is spent for ~60 s more
    assert info.value.exit_code == ExitCode.RATE_LIMITED and "--max-wait 10" in info.value.message
    assert "budget of 3 requests (the limit is 3 a minute)" in info.value.message
    assert ft.sleeps == []
    # From a limit of 4 one send is kept in reserve, and the message says so (not "used up").
    reserved = RateBudget(5, clock=ft.clock, sleep=ft.sleep, max_wait=10, strict_wait=True)
    send(reserved, 4)
    with pytest.raises(RateLimitError) as info:
        reserved.acquire()
    assert "budget of 4 requests (the limit is 5 a minute, one kept in reserve) is spent" in info.value.message
    paced = RateBudget(3, clock=ft.clock, sleep=ft.sleep, max_wait=10)  # a fan-out: it paces
    assert len(send(paced, 4)) == 4 and ft.now > 60
