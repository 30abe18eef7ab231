"""The rate budget end to end (#11): the installed `zenovay` against the sandbox in each limiter
shape, requests and 429s counted on the sandbox's side. A short test window
(ZENOVAY_TEST_WINDOW_SECONDS, honoured by the sandbox and the budget alike) replaces the minute."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.conftest import Sandbox, zenovay_executable

pytestmark = pytest.mark.e2e

WINDOW = 2.0  # seconds standing for the minute
RATE = 6  # requests per window


@pytest.fixture(scope="module")
def limited():
    server = Sandbox("--websites", "12", "--rate-limit", str(RATE))
    yield server
    server.stop()


def run(sandbox, *args, window=WINDOW, env=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    full.update({"ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_API_KEY": sandbox.api_key,
                 "ZENOVAY_TEST_WINDOW_SECONDS": str(window)})
    full.update(env or {})
    return subprocess.run([zenovay_executable(), *args], capture_output=True, text=True,
                          env=full, timeout=120)


@pytest.mark.parametrize("shape", ["sliding", "fixed", "cf"])
def test_a_run_over_the_budget_gets_no_429_under_any_limiter_shape(limited, isolated_dirs, shape):
    limited.configure(limiter=shape, window=WINDOW, rate_limit=RATE, send_remaining=True)
    limited.reset()
    result = run(limited, "analytics", "--all", "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    stats = limited.stats()
    assert stats["status_counts"].get("429", 0) == 0, (stats, result.stderr)
    assert stats["status_counts"]["200"] == 13  # /websites and the 12 websites, none lost
    assert '"error"' not in result.stdout


def test_a_run_within_the_budget_is_not_paced(limited, isolated_dirs):
    limited.configure(limiter="cf", window=60, rate_limit=30, send_remaining=True)
    limited.reset()
    result = run(limited, "analytics", "--all", "--json", "--no-cache", window=60)
    assert result.returncode == 0, result.stderr
    assert "pacing" not in result.stderr  # 13 requests fit the minute's 30: no wait at all
    assert limited.stats()["status_counts"] == {"200": 13}
