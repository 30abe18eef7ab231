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


def test_back_to_back_runs_share_the_window_through_the_ledger(limited, isolated_dirs):
    limited.configure(limiter="cf", window=WINDOW, rate_limit=RATE, send_remaining=False)
    limited.reset()
    for _ in range(2):  # the second starts right after the first: the ledger says what it spent
        result = run(limited, "analytics", "--all", "--json", "--no-cache")
        assert result.returncode == 0, result.stderr
    stats = limited.stats()
    assert stats["status_counts"] == {"200": 26}, stats  # no 429 at all, nothing lost
    ledger = isolated_dirs / "state" / "zenovay" / "ratelimit.sqlite3"
    assert ledger.exists() and oct(ledger.stat().st_mode & 0o777) == "0o600"
    assert limited.api_key.encode() not in ledger.read_bytes()


def test_four_processes_started_together_share_one_budget(limited, isolated_dirs):
    rate = 10
    limited.configure(limiter="cf", window=WINDOW, rate_limit=rate, send_remaining=False)
    limited.reset()
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    full.update({"ZENOVAY_BASE_URL": limited.base_url, "ZENOVAY_API_KEY": limited.api_key,
                 "ZENOVAY_TEST_WINDOW_SECONDS": str(WINDOW)})
    argv = [zenovay_executable(), "analytics", "--all", "--json", "--no-cache"]
    procs = [subprocess.Popen(argv, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    stats = limited.stats()
    assert stats["status_counts"].get("200") == 52, stats
    assert stats["status_counts"].get("429", 0) <= 2, stats


def test_a_429_pause_is_honoured_by_the_next_run(limited, isolated_dirs):
    limited.configure(limiter="sliding", window=60, rate_limit=100000, send_remaining=True)
    limited.reset()
    limited.faults({"status": 429, "retry_after": 3, "count": 1, "path": "/websites"})
    # --max-wait 0: this run refuses to wait and exits 6, but the ledger keeps the pause ...
    first = run(limited, "websites", "--no-cache", "--max-wait", "0", window=60)
    assert first.returncode == 6, first.stderr
    # ... so the next run, at once, does not send before it ends either.
    second = run(limited, "websites", "--no-cache", "--max-wait", "0", window=60)
    assert second.returncode == 6, second.stderr
    assert "wait" in second.stderr
    assert limited.stats()["requests"] == 1  # the second run sent nothing


def test_a_configured_limit_paces_below_what_the_api_advertises(limited, isolated_dirs):
    limited.configure(limiter="sliding", window=WINDOW, rate_limit=100000, send_remaining=True)
    limited.reset()
    plain = run(limited, "analytics", "--all", "--json", "--no-cache")
    assert plain.returncode == 0 and "pacing" not in plain.stderr, plain.stderr
    slow = run(limited, "analytics", "--all", "--json", "--no-cache",
               env={"ZENOVAY_RATE_LIMIT": "6"})
    assert slow.returncode == 0, slow.stderr
    assert "pacing: waiting" in slow.stderr and "6 requests" in slow.stderr
    bad = run(limited, "analytics", "--all", env={"ZENOVAY_RATE_LIMIT": "fast"})
    assert bad.returncode == 2 and "ZENOVAY_RATE_LIMIT" in bad.stderr
    assert limited.stats()["status_counts"] == {"200": 26}  # the bad run sent nothing


def test_a_cache_hit_does_not_touch_the_ledger(limited, isolated_dirs):
    limited.configure(limiter="sliding", window=60, rate_limit=100000, send_remaining=True)
    limited.reset()
    assert run(limited, "websites", window=60).returncode == 0
    ledger = isolated_dirs / "state" / "zenovay" / "ratelimit.sqlite3"
    assert ledger.exists()
    for path in ledger.parent.glob("ratelimit.sqlite3*"):
        path.unlink()
    hit = run(limited, "websites", window=60)
    assert hit.returncode == 0, hit.stderr
    assert limited.stats()["requests"] == 1  # answered from the cache
    assert not ledger.exists()


def test_an_unusable_ledger_warns_once_and_the_run_completes(limited, isolated_dirs):
    limited.configure(limiter="sliding", window=WINDOW, rate_limit=RATE, send_remaining=True)
    limited.reset()
    folder = isolated_dirs / "state" / "zenovay"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratelimit.sqlite3").write_bytes(b"garbage, not SQLite " * 200)
    result = run(limited, "analytics", "--all", "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "ledger" in line]
    assert len(warnings) == 1, result.stderr
    assert limited.stats()["status_counts"] == {"200": 13}


# -- the month -----------------------------------------------------------------------------------


def test_export_refuses_work_costing_more_than_max_requests_before_sending_it(cli, sb, tmp_path):
    out = tmp_path / "out"
    result = cli("export", "--out", str(out), "--max-requests", "8")  # 1 + 4 websites x 2 = 9
    assert result.returncode == 6, result.stderr
    assert "costs 9 requests, more than --max-requests 8" in result.stderr
    assert sb.stats()["requests"] == 1  # only the website list
    assert not list(out.glob("*.json"))
    assert cli("export", "--out", str(out), "--max-requests", "9", "--quiet").returncode == 0


def test_max_requests_from_the_profile_applies_to_analytics_all(cli, sb):
    assert cli("config", "set", "max_requests", "4").returncode == 0
    result = cli("analytics", "--all", "--json", "--no-cache")  # 1 + 4 websites = 5
    assert result.returncode == 6, result.stderr
    assert "more than max_requests 4 from config file (profile default)" in result.stderr
    assert sb.stats()["requests"] == 1
    assert cli("analytics", "--all", "--json", "--no-cache", "--max-requests", "5").returncode == 0
    # The environment variable is named as the source when it is one.
    result = cli("analytics", "--all", "--json", "--no-cache", env={"ZENOVAY_MAX_REQUESTS": "3"})
    assert result.returncode == 6 and "more than max_requests 3 from ZENOVAY_MAX_REQUESTS" in result.stderr


def test_a_run_costing_more_than_the_month_has_left_is_refused(cli, sb, tmp_path):
    sb.configure(monthly_quota=6)
    try:
        result = cli("export", "--out", str(tmp_path / "out"))
    finally:
        sb.configure(monthly_quota=None)
    assert result.returncode == 6, result.stderr
    # The website list used 1 of 6: 5 left, 8 more needed.
    assert "needs 8 more requests, more than the 5 left" in result.stderr
    assert sb.stats()["requests"] == 1


def test_export_dry_run_prints_the_cost_and_sends_nothing_else(cli, sb, tmp_path):
    out = tmp_path / "never"
    result = cli("export", "--out", str(out), "--dry-run", "--include", "pages")
    assert result.returncode == 0, result.stderr
    assert "costs up to 13 requests (1 for the website list, 4 websites x 3)" in result.stdout
    assert sb.stats()["requests"] == 1 and not out.exists()


def test_usage_shows_the_burn_rate_and_the_forecast(cli, sb):
    from datetime import datetime, timezone

    for _ in range(3):
        assert cli("websites", "--no-cache").returncode == 0
    before = datetime.now(timezone.utc)
    result = cli("usage", "--no-cache")  # the table; --json stays the API's own object
    after = datetime.now(timezone.utc)
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines()[1:]:
        name, _, value = line.partition(" ")
        rows[name] = value.strip()
    assert rows["usage.monthly_requests"] == "4"  # three website lists and this /usage
    reset = datetime.fromisoformat(rows["usage.monthly_reset_at"].replace("Z", "+00:00"))
    start = reset.replace(year=reset.year - (reset.month == 1), month=(reset.month - 2) % 12 + 1)
    rates = [4 / max((t - start).total_seconds(), 3600) * 86400 for t in (after, before)]
    assert round(rates[0], 1) <= float(rows["forecast.burn_rate_per_day"]) <= round(rates[1], 1)
    assert rows["forecast.runs_out_on"] == ""  # 4 requests do not exhaust 10,000 this month
    assert rows["forecast.summary"].startswith("at this pace the quota lasts the month")
