"""The shared request budget: pacing under the per-minute limit, headers, pauses, unknown limits."""

from __future__ import annotations

import bisect
import threading
import time

import pytest

from zenovay_cli.errors import ExitCode, RateLimitError
from zenovay_cli.ratelimit import FIRST_RESPONSE_WAIT, UNKNOWN_BURST, RateBudget


class FakeTime:
    """A clock that moves only when someone sleeps; `at` schedules actions (a response arriving)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._events: list[tuple[float, object]] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the budget must never sleep for nothing"
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
            due = [action for when, action in self._events if when <= self.now]
            self._events = [(w, a) for w, a in self._events if w > self.now]
        for action in due:
            action()

    def at(self, when: float, action) -> None:
        self._events.append((when, action))

    def budget(self, per_minute=None, **kw) -> RateBudget:
        return RateBudget(per_minute, clock=self.clock, sleep=self.sleep, **kw)


def most_in_any_minute(times: list[float]) -> int:
    """The largest number of sends inside any closed 60 s window."""
    times = sorted(times)
    return max((bisect.bisect_right(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


def send(budget: RateBudget, n: int) -> list[float]:
    return [budget.acquire() for _ in range(n)]


@pytest.mark.parametrize("limit", [1, 2, 7, 30, 60, 120, 1000])
def test_no_minute_ever_holds_more_sends_than_the_limit(limit):
    ft = FakeTime()
    times = send(ft.budget(limit), 3 * limit + 5)
    assert most_in_any_minute(times) <= limit


@pytest.mark.parametrize("limit", [30, 60, 120])
def test_rate_bound_run_takes_close_to_requests_divided_by_rate(limit):
    ft = FakeTime()
    n = 10 * limit
    send(ft.budget(limit), n)
    ideal = n / limit * 60
    assert ideal * 0.9 <= ft.now <= ideal * 1.15, ft.now


def test_a_burst_uses_the_window_then_sends_are_evenly_paced_after_it():
    ft = FakeTime()
    times = send(ft.budget(30), 41)
    step = 60 / 29  # one send of headroom: 29 planned per minute
    assert times[:29] == [0.0] * 29  # the whole window's budget at once
    # Nothing until the burst is a window old, then no second burst: one send every step.
    assert times[29:] == pytest.approx([60 + step * (k + 1) for k in range(12)])
    assert times[-1] <= 1.15 * (60 + (41 - 30) * 60 / 30)


def test_a_run_within_the_budget_never_waits():
    ft = FakeTime()
    budget = ft.budget(30)
    for _ in range(3):  # 13 requests of an `analytics --all` over 12 websites: 10 workers, 3 waves
        send(budget, 5)
        ft.sleep(0.1)
    assert budget.stats().waits == 0


def test_high_limit_does_not_slow_a_latency_bound_run():
    ft = FakeTime()
    budget = ft.budget(100_000)
    for _ in range(200):  # 8 workers at 50 ms latency: 160 requests/s, far below the limit
        send(budget, 8)
        ft.sleep(0.05)
    assert len(ft.sleeps) == 200  # only the simulated latency: the budget never waited
    assert budget.stats().waits == 0


def test_limit_is_learned_from_the_header_and_pacing_starts():
    ft = FakeTime()
    budget = ft.budget()
    budget.observe({"X-RateLimit-Limit": "30"}, 200)
    assert budget.limit == 30
    times = send(budget, 40)
    assert most_in_any_minute(times) <= 30
    assert ft.now > 0


def test_sends_made_before_the_limit_was_known_count_against_it():
    ft = FakeTime()
    budget = ft.budget()
    early = send(budget, UNKNOWN_BURST)
    budget.observe({"X-RateLimit-Limit": "30"}, 200)
    later = send(budget, 40)
    assert most_in_any_minute(early + later) <= 30
    assert later[:26] == [0.0] * 26  # 29 planned per window, 3 already spent
    assert later[26] > 60


@pytest.mark.parametrize(
    "name", ["x-ratelimit-limit", "X-RATELIMIT-LIMIT", "X-Ratelimit-Limit", "x-RateLimit-limit"]
)
def test_header_names_are_case_insensitive(name):
    ft = FakeTime()
    budget = ft.budget()
    budget.observe({name: "45", "x-ratelimit-REMAINING": "0"}, 200)
    assert budget.limit == 45
    assert budget.acquire() > 0  # Remaining was read too


def test_a_changed_limit_header_adjusts_the_pace():
    ft = FakeTime()
    budget = ft.budget(120)
    send(budget, 60)
    budget.observe({"X-RateLimit-Limit": "30"}, 200)
    change = ft.now
    times = send(budget, 60)
    assert budget.limit == 30
    # Every send after the change has at most 30 sends (itself included) in the minute before it.
    everything = sorted(times)
    for t in times:
        if t > change:
            assert sum(1 for u in everything if t - 60 <= u <= t) <= 30


def test_usage_limit_can_be_set_and_junk_is_ignored():
    budget = FakeTime().budget()
    budget.set_limit(60)
    assert budget.limit == 60
    for junk in (True, -1, 0, "x", float("nan"), 1.5, 10**12, None, [30]):
        budget.set_limit(junk)
        assert budget.limit == 60


def test_constructor_rejects_a_bad_limit():
    with pytest.raises(ValueError):
        RateBudget(0)
    with pytest.raises(ValueError):
        RateBudget(10**7)


def test_remaining_zero_makes_the_next_acquire_wait():
    ft = FakeTime()
    budget = ft.budget(30)
    budget.observe({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0"}, 200)
    # Nothing of ours is in the window: the unknown requests' slots free one by one over it.
    assert 60 / 30 < budget.acquire() < 4 * 60 / 30


def test_when_the_server_counted_only_our_sends_a_slot_frees_as_our_oldest_leaves_the_window():
    ft = FakeTime()
    budget = ft.budget()
    ours = send(budget, UNKNOWN_BURST)
    budget.observe({"X-RateLimit-Limit": str(UNKNOWN_BURST), "X-RateLimit-Remaining": "0"}, 200)
    # Out of the sliding window at 60 s (+ margin), but a window starting at 60 still weighs the
    # burst: the estimate 3 x (1 - e/60) + 1 <= 3 from e = 20 s on.
    assert budget.acquire() == pytest.approx(ours[0] + 60 + 60 / 3)


def test_remaining_lets_out_only_that_many_at_once():
    ft = FakeTime()
    budget = ft.budget(120)
    budget.observe({"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "2"}, 200)
    times = send(budget, 3)
    assert times[0] == 0.0
    assert times[2] > 0.0  # at most `remaining` at once (one less: the headroom)


def test_a_run_right_after_a_paced_run_neither_overruns_nor_stalls():
    ft = FakeTime()
    budget = ft.budget(30)
    earlier = [-60 + 60 / 27 * (k + 1) for k in range(27)]  # the last minute of a paced run
    budget.observe({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "3"}, 200)
    times = send(budget, 60)
    assert most_in_any_minute(earlier + times) <= 30
    assert times[-1] < 60 / 27 * 62  # about the pace of a fresh run: no minute lost


def test_our_own_in_flight_sends_are_not_counted_twice_against_remaining():
    ft = FakeTime()
    budget = ft.budget(120)
    send(budget, 5)
    budget.observe({"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "115"}, 200)
    assert budget.acquire() == 0.0  # still inside the initial burst


def test_after_a_429_nobody_sends_before_retry_after_and_there_is_no_burst_after_it():
    ft = FakeTime()
    budget = ft.budget(30)
    headers = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "7", "Retry-After": "20"}
    budget.observe(headers, 429)
    budget.pause(20)
    times = send(budget, 4)
    assert times[0] >= 20
    assert times == sorted(set(times))  # one at a time, no burst when the pause ends
    assert most_in_any_minute(times) <= 30


@pytest.mark.parametrize(
    "value", ["abc", "-5", "", "  ", "1e3", "3.5", "99999999999999999999999", "²", "0x10", "NaN", None]
)
def test_garbage_header_values_are_ignored(value):
    ft = FakeTime()
    budget = ft.budget()
    budget.observe({"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value}, 200)
    assert budget.limit is None
    send(budget, 20)
    assert ft.now == 0.0
    budget = ft.budget(30)
    budget.observe({"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value}, 200)
    assert budget.limit == 30
    assert send(budget, 3) == [0.0, 0.0, 0.0]


def test_a_zero_limit_header_is_ignored_rather_than_stopping_everything():
    budget = FakeTime().budget(30)
    budget.observe({"X-RateLimit-Limit": "0"}, 200)
    assert budget.limit == 30


def test_a_header_repeated_by_a_proxy_uses_the_smaller_value():
    budget = FakeTime().budget()
    budget.observe({"X-RateLimit-Limit": "60, 30"}, 200)
    assert budget.limit == 30


def test_remaining_above_the_limit_does_not_block():
    ft = FakeTime()
    budget = ft.budget(30)
    budget.observe({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "500"}, 200)
    assert budget.acquire() == 0.0


def test_unknown_limit_never_blocks_once_a_response_had_no_limit_header():
    ft = FakeTime()
    budget = ft.budget()
    budget.observe({"Content-Type": "application/json"}, 200)
    send(budget, 100)
    assert ft.now == 0.0
    assert budget.limit is None


def test_unknown_limit_first_wave_is_a_small_burst_until_the_first_response():
    ft = FakeTime()
    budget = ft.budget()
    ft.at(0.3, lambda: budget.observe({"X-RateLimit-Limit": "1000"}, 200))
    times = send(budget, UNKNOWN_BURST + 2)
    assert times[:UNKNOWN_BURST] == [0.0] * UNKNOWN_BURST
    assert all(0.3 <= t < 0.5 for t in times[UNKNOWN_BURST:]), times


def test_unknown_limit_stops_waiting_for_a_response_that_never_comes():
    ft = FakeTime()
    budget = ft.budget()
    times = send(budget, UNKNOWN_BURST + 5)
    assert times[UNKNOWN_BURST] == pytest.approx(FIRST_RESPONSE_WAIT)
    assert times[-1] == times[UNKNOWN_BURST]


def test_pause_holds_the_next_acquire():
    ft = FakeTime()
    budget = ft.budget()
    budget.pause(12)
    assert budget.acquire() == 12.0


def test_a_shorter_pause_does_not_shorten_a_longer_one():
    ft = FakeTime()
    budget = ft.budget(1000)
    budget.pause(30)
    budget.pause(5)
    assert budget.acquire() == 30.0


@pytest.mark.parametrize("junk", [-3, 0, float("nan"), float("inf"), "soon", None])
def test_a_junk_pause_is_ignored(junk):
    ft = FakeTime()
    budget = ft.budget()
    budget.pause(junk)
    assert budget.acquire() == 0.0


def test_pause_holds_every_worker():
    ft = FakeTime()
    budget = ft.budget()
    budget.set_limit(100_000)
    budget.pause(30)
    times: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            t = budget.acquire()
            with lock:
                times.append(t)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(times) == 30
    assert min(times) >= 30.0


def test_many_threads_together_stay_under_the_limit():
    ft = FakeTime()
    budget = ft.budget(30)
    times: list[float] = []
    lock = threading.Lock()

    def worker(i):
        for n in range(25):
            t = budget.acquire()
            with lock:
                times.append(t)
            if n == 3 and i == 0:
                budget.observe({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "10"}, 200)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(times) == 200
    assert most_in_any_minute(times) <= 30


def test_real_threads_all_get_through_and_respect_a_pause():
    budget = RateBudget(6000)  # real clock and sleep, short times; checks order, not speed
    budget.pause(0.05)
    paused_until = time.time() + 0.05 - 0.01
    times: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            t = budget.acquire()
            with lock:
                times.append(t)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(times) == 20
    assert min(times) >= paused_until
    assert budget.stats().acquires == 20


def test_a_pause_longer_than_max_wait_fails_at_once():
    ft = FakeTime()
    budget = ft.budget(30, max_wait=60)
    budget.pause(120)
    with pytest.raises(RateLimitError) as info:
        budget.acquire()
    assert info.value.exit_code == ExitCode.RATE_LIMITED
    assert info.value.retry_after == pytest.approx(120)
    assert "120" in info.value.hint
    assert ft.sleeps == []


def test_a_pause_is_announced_once_for_all_waiting_workers():
    ft = FakeTime()
    all_waiting = threading.Barrier(5, timeout=5)

    def sleep(seconds):  # the clock moves on only once every worker is waiting
        all_waiting.wait()
        ft.sleep(seconds)

    said: list[tuple[float, str]] = []
    budget = RateBudget(
        100_000, clock=ft.clock, sleep=sleep, on_wait=lambda s, why: said.append((s, why))
    )
    budget.pause(20)
    threads = [threading.Thread(target=budget.acquire) for _ in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert budget.stats().acquires == 5
    assert len(said) == 1
    assert said[0][0] == pytest.approx(20)
    assert "Retry-After" in said[0][1]


def test_pacing_is_announced_once_per_limit_not_per_request():
    ft = FakeTime()
    said: list[str] = []
    budget = ft.budget(30, on_wait=lambda s, why: said.append(why))
    send(budget, 60)
    assert said == ["the per-minute limit of 30 requests is used up",
                    "staying under 30 requests/minute"]


def test_short_waits_are_not_announced():
    said: list[str] = []
    budget = FakeTime().budget(6000, on_wait=lambda s, why: said.append(why))
    send(budget, 50)
    assert said == []


def test_stats_count_acquires_and_time_waited():
    ft = FakeTime()
    budget = ft.budget(30)
    send(budget, 31)
    stats = budget.stats()
    assert stats.acquires == 31
    assert stats.waits == 2  # the 30th waits for the window, the 31st for its pace
    assert stats.waited == pytest.approx(ft.now)
    assert stats.longest_wait == pytest.approx(60 + 60 / 29)
    assert stats.limit == 30
