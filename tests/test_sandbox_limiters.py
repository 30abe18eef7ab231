"""The sandbox's limiter shapes (sliding, fixed, Cloudflare-weighted), the Remaining switch and
the test window, over real HTTP with an injected server clock."""

from __future__ import annotations

import math
from collections import deque
from datetime import date

import pytest
import requests

from zenovay_cli.sandbox import DEMO_API_KEY, SandboxConfig, SandboxServer
from zenovay_cli.sandbox.state import judge


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_server():
    servers = []

    def make(**config) -> SandboxServer:
        config.setdefault("today", date(2026, 6, 13))
        server = SandboxServer(SandboxConfig(**config)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def get(server):
    return requests.get(server.base_url + "/websites", headers={"X-API-Key": DEMO_API_KEY}, timeout=10)


def statuses(server, n):
    return [get(server).status_code for _ in range(n)]


def cf_estimate(times, now, window):
    """Cloudflare's estimate, computed here independently of the sandbox's code."""
    start = math.floor(now / window) * window
    current = len([t for t in times if start <= t <= now])
    previous = len([t for t in times if start - window <= t < start])
    return previous * (start + window - now) / window + current


def test_sliding_refuses_within_any_minute_and_frees_one_slot_at_a_time(make_server):
    clock = FakeClock(1030.0)  # mid-way through a fixed minute: fixed windows would not matter
    server = make_server(rate_limit=2, limiter="sliding", clock=clock)
    assert statuses(server, 3) == [200, 200, 429]
    clock.now += 31  # a fixed window would have reset at 1080; the sliding one has not
    refused = get(server)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "29"
    clock.now += 29
    assert statuses(server, 3) == [200, 200, 429]


def test_fixed_windows_reset_at_the_minute_boundary(make_server):
    clock = FakeClock(1050.0)  # 30 s before the boundary at 1080
    server = make_server(rate_limit=2, limiter="fixed", clock=clock)
    assert statuses(server, 3) == [200, 200, 429]
    assert get(server).headers["Retry-After"] == "30"
    clock.now = 1080.0  # a new fixed window: a full second burst right after the first
    assert statuses(server, 3) == [200, 200, 429]


def test_cf_weighs_the_previous_window_by_its_overlap(make_server):
    clock = FakeClock(1020.0)  # the window [1020, 1080)
    server = make_server(rate_limit=4, limiter="cf", clock=clock)
    assert statuses(server, 5) == [200, 200, 200, 200, 429]
    # At 1080 + 15 the previous window's 4 weigh 4 x 0.75 = 3: exactly one more fits.
    clock.now = 1095.0
    response = get(server)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "0"
    refused = get(server)
    assert refused.status_code == 429
    # 4 x (1 - e/60) + 1 + 1 <= 4 from e = 30 on: 15 s from now.
    assert refused.headers["Retry-After"] == "15"
    clock.now = 1110.0
    assert statuses(server, 2) == [200, 429]


def test_cf_never_admits_what_its_own_estimate_forbids():
    times: deque[float] = deque()
    window, rate = 60.0, 10
    for step in range(2000):
        now = step * 0.37
        verdict = judge("cf", times, now, rate, window)
        assert verdict.admitted == (cf_estimate(times, now, window) + 1 <= rate)
        if verdict.admitted:
            times.append(now)
        else:  # Retry-After is never too early: nothing is admitted before it
            later = now + verdict.retry_after - 1
            assert later <= now or not judge("cf", times, later - 1e-6, rate, window).admitted


@pytest.mark.parametrize("kind", ["sliding", "fixed", "cf"])
def test_retry_after_leads_to_an_admission(kind):
    times: deque[float] = deque()
    rate, window = 5, 60.0
    now = 7.0
    for _ in range(200):
        verdict = judge(kind, times, now, rate, window)
        if verdict.admitted:
            times.append(now)
        else:
            now += verdict.retry_after
            assert judge(kind, times, now, rate, window).admitted
    assert len(times) > rate


def test_remaining_can_be_omitted(make_server):
    server = make_server(rate_limit=3, send_remaining=False)
    response = get(server)
    assert "X-RateLimit-Remaining" not in response.headers
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert statuses(server, 3) == [200, 200, 429]  # still enforced


def test_the_window_length_comes_from_the_test_variable(monkeypatch, make_server):
    monkeypatch.setenv("ZENOVAY_TEST_WINDOW_SECONDS", "5")
    clock = FakeClock(1000.0)
    server = make_server(rate_limit=1, clock=clock)
    assert server.config.window == 5
    assert statuses(server, 2) == [200, 429]
    clock.now += 5
    assert statuses(server, 1) == [200]


@pytest.mark.parametrize("value", ["0", "-3", "120", "nan", "soon", ""])
def test_a_bad_test_window_means_the_real_minute(monkeypatch, value):
    monkeypatch.setenv("ZENOVAY_TEST_WINDOW_SECONDS", value)
    assert SandboxConfig().window == 60


def test_limiter_and_remaining_can_be_changed_at_runtime(make_server):
    server = make_server(rate_limit=5)
    url = f"{server.url}/__sandbox__/config"
    assert requests.post(url, json={"limiter": "cf", "send_remaining": False}, timeout=10).ok
    assert "X-RateLimit-Remaining" not in get(server).headers
    bad = requests.post(url, json={"limiter": "leaky"}, timeout=10)
    assert bad.status_code == 400 and "limiter" in bad.json()["error"]["message"]


def test_stats_count_the_429s(make_server):
    server = make_server(rate_limit=2, limiter="fixed")
    statuses(server, 5)
    stats = server.stats()
    assert stats["requests"] == 5
    assert stats["status_counts"] == {"200": 2, "429": 3}


def test_serve_refuses_an_unknown_limiter_shape(capsys):
    from tests.harness import invoker

    result = invoker(capsys, [])("sandbox", "serve", "--limiter", "leaky")
    assert result.code == 2, result
    assert "leaky" in result.err
