"""The fan-out: a few websites at a time, failures kept per item, Ctrl-C not held up, one budget."""

from __future__ import annotations

import json
import threading
import time

import pytest
from requests.structures import CaseInsensitiveDict

from zenovay_cli.client import ZenovayClient
from zenovay_cli.fanout import run_all
from zenovay_cli.ratelimit import RateBudget


def test_outcomes_come_back_in_input_order_with_failures_kept():
    def task(n):
        if n % 3 == 0:
            raise ValueError(f"bad {n}")
        time.sleep(0.001 * (10 - n))  # finish out of order
        return n * n

    outcomes = run_all(range(10), task, concurrency=4)
    assert [o.item for o in outcomes] == list(range(10))
    assert [o.value for o in outcomes if o.ok] == [n * n for n in range(10) if n % 3]
    failed = [o for o in outcomes if not o.ok]
    assert [str(o.error) for o in failed] == ["bad 0", "bad 3", "bad 6", "bad 9"]


def test_no_items_is_no_work():
    assert run_all([], lambda item: pytest.fail("called"), concurrency=4) == []


def test_exactly_concurrency_tasks_run_at_once():
    running = 0
    most = 0
    lock = threading.Lock()
    together = threading.Barrier(3, timeout=10)  # broken unless 3 tasks run at the same time

    def task(n):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if n < 3:
            together.wait()
        time.sleep(0.01)
        with lock:
            running -= 1
        return n

    outcomes = run_all(range(9), task, concurrency=3)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert most == 3


def test_on_done_runs_in_the_calling_thread_once_per_item():
    seen: list[tuple[int, threading.Thread]] = []
    outcomes = run_all(range(6), lambda n: n, concurrency=3,
                       on_done=lambda o: seen.append((o.item, threading.current_thread())))
    assert sorted(item for item, _ in seen) == list(range(6))
    assert {thread for _, thread in seen} == {threading.current_thread()}
    assert len(outcomes) == 6


def test_ctrl_c_starts_nothing_new_and_does_not_wait_for_running_tasks():
    release = threading.Event()
    started: list[int] = []

    def task(n):
        started.append(n)
        if n == 0:
            return n
        release.wait(10)  # a request hanging on a slow server
        return n

    def on_done(outcome):
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            run_all(range(10), task, concurrency=2, on_done=on_done)
        # run_all returned while task 1 still hangs: it did not wait for it.
        assert not release.is_set()
        assert sorted(started) in ([0, 1], [0, 1, 2])  # the worker freed by item 0 may take one more
    finally:
        release.set()


# --- the shared budget through the real client: a 429 pauses every worker ------------------------


class FakeResponse:
    def __init__(self, status: int, body: dict, headers: dict | None = None) -> None:
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})


class FirstWaveSession:
    """The first `wave` requests are all in flight together; the one for `limited` gets a 429
    (Retry-After 1 s) and the others answer only after every worker has been told to pause."""

    def __init__(self, wave: int, limited: str, budget: RateBudget) -> None:
        self.calls: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._first_wave = threading.Barrier(wave, timeout=10)
        self._wave = wave
        self._limited = limited
        self._paused = threading.Event()
        self.paused_at: float | None = None
        original = budget.pause

        def pause(seconds):
            self.paused_at = time.monotonic()  # the budget's own clock reads after this
            original(seconds)
            self._paused.set()

        budget.pause = pause

    def get(self, url, params=None, headers=None, timeout=None, allow_redirects=True):
        path = url.split("/v1", 1)[1]
        with self._lock:
            self.calls.append((time.monotonic(), path))
            n = len(self.calls)
        ok = FakeResponse(200, {"success": True, "data": {"summary": {"total_visitors": 1}}},
                          {"X-RateLimit-Limit": "100000"})
        if n > self._wave:
            return ok
        self._first_wave.wait()
        if path == self._limited:
            return FakeResponse(
                429, {"success": False, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}},
                {"Retry-After": "1", "X-RateLimit-Limit": "100000"},
            )
        assert self._paused.wait(10), "the 429 never paused the budget"
        return ok

    def close(self):
        pass


def test_a_429_for_one_website_pauses_every_worker_until_retry_after():
    budget = RateBudget(100_000)
    session = FirstWaveSession(wave=4, limited="/analytics/site0", budget=budget)
    client = ZenovayClient("zv_test", "http://127.0.0.1:9/api/external/v1", session=session,
                           budget=budget, retries=3)
    sites = [f"site{n}" for n in range(8)]

    outcomes = run_all(sites, lambda s: client.request(f"/analytics/{s}"), concurrency=4)

    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert len(session.calls) == 9  # 8 websites + 1 retry of the limited one
    assert session.paused_at is not None
    later = session.calls[4:]  # every request sent after the first wave, the retry included
    assert [path for _, path in later].count("/analytics/site0") == 1
    too_early = [(round(t - session.paused_at, 3), p) for t, p in later if t < session.paused_at + 1]
    assert too_early == [], "a worker sent before the Retry-After of another worker's 429 ran out"
