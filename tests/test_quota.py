"""The month (#11): burn rate, forecast and the cost check, computed here from the inputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zenovay_cli.quota import cost_problem, forecast, month_start, parse_time, run_cost

UTC = timezone.utc
RESET = "2027-01-01T00:00:00.000Z"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_month_average_gives_the_day_the_quota_runs_out():
    now = at(2026, 12, 11)  # 10 days into December
    f = forecast(4000, 10_000, RESET, now)
    assert f.per_day == pytest.approx(400)
    # 6,000 left at 400 a day: 15 days from Dec 11.
    assert f.runs_out == now + timedelta(days=15)
    assert f.summary() == "at this pace the quota runs out on Dec 26"
    assert f.to_json()["runs_out_on"] == "2026-12-26"


def test_a_slow_month_lasts_and_says_what_is_left_at_the_reset():
    now = at(2026, 12, 21)  # 20 days in, 11 to go
    f = forecast(2000, 10_000, RESET, now)  # 100 a day
    assert f.runs_out is None
    assert f.left_at_reset == 10_000 - 2000 - 100 * 11
    assert "lasts the month" in f.summary() and "6,900" in f.summary() and "Jan 1" in f.summary()


def test_a_recent_rate_from_the_ledger_wins_when_higher():
    now = at(2026, 12, 11)
    t1 = now.timestamp()
    first = {"at": t1 - 2 * 86400, "monthly": 1000, "reset": RESET}
    last = {"at": t1, "monthly": 4000, "reset": RESET}  # 1,500 a day lately
    f = forecast(4000, 10_000, RESET, now, first, last)
    assert f.recent_per_day == pytest.approx(1500)
    assert f.runs_out == now + timedelta(days=6000 / 1500)
    assert f.summary() == "at this pace the quota runs out on Dec 15"


def test_snapshots_of_another_month_or_too_close_together_are_ignored():
    now = at(2026, 12, 11)
    t = now.timestamp()
    other = {"at": t - 86400 * 20, "monthly": 9000, "reset": "2026-12-01T00:00:00.000Z"}
    assert forecast(4000, 10_000, RESET, now, other, {"at": t, "monthly": 4000, "reset": RESET}).recent_per_day is None
    close = {"at": t - 60, "monthly": 3990, "reset": RESET}
    assert forecast(4000, 10_000, RESET, now, close, {"at": t, "monthly": 4000, "reset": RESET}).recent_per_day is None


def test_used_up_and_year_boundaries():
    f = forecast(10_000, 10_000, RESET, at(2026, 12, 30))
    assert f.summary() == "the quota is used up; it resets on Jan 1"
    assert month_start(parse_time(RESET)) == at(2026, 12, 1)
    assert month_start(parse_time("2026-03-01T00:00:00Z")) == at(2026, 2, 1)


def test_zero_use_lasts_the_month():
    f = forecast(0, 10_000, RESET, at(2026, 12, 2))
    assert f.per_day == 0 and f.runs_out is None and f.left_at_reset == 10_000


@pytest.mark.parametrize("used, limit, reset", [
    (None, 10_000, RESET), ("many", 10_000, RESET), (5, 0, RESET), (5, 10_000, "soon"),
    (-1, 10_000, RESET), (True, 10_000, RESET), (5, 10_000, None),
])
def test_unusable_figures_give_no_forecast(used, limit, reset):
    assert forecast(used, limit, reset, at(2026, 12, 11)) is None


def test_the_cost_check_names_the_reason():
    assert run_cost(20, 2) == 41
    assert cost_problem(41, 40, None, 100, 10_000) is None
    assert "--max-requests 40" in cost_problem(41, 40, 40, 100, 10_000)
    assert cost_problem(41, 40, 41, 100, 10_000) is None
    problem = cost_problem(41, 40, None, 9_970, 10_000)
    assert "30 left" in problem and "9,970 of 10,000" in problem
    assert cost_problem(41, 40, None, None, None) is None  # nothing known: no refusal
