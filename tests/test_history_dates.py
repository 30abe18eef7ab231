"""Dates of `history show`: parsing, buckets, comparison windows, missing days."""

from datetime import date

import pytest

from zenovay_cli.errors import UsageError
from zenovay_cli.history import dates as d

TODAY = date(2026, 3, 31)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("today", TODAY),
        ("Yesterday", date(2026, 3, 30)),
        ("-7d", date(2026, 3, 24)),
        ("-4w", date(2026, 3, 3)),
        ("-1m", date(2026, 2, 28)),  # 31 March minus a month: clipped to February's last day
        ("-1y", date(2025, 3, 31)),
        ("-0d", TODAY),
    ],
)
def test_dates_parse(text, expected):
    assert d.parse_date(text, TODAY) == expected


def test_leap_day_minus_a_year_is_the_28th():
    assert d.parse_date("-1y", date(2024, 2, 29)) == date(2023, 2, 28)
    assert d.shift_year(date(2024, 2, 29), -1) == date(2023, 2, 28)


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "tomorrow", "-3x", "3d", "", "2026/03/01"])
def test_bad_dates_are_usage_errors_naming_the_option(text):
    with pytest.raises(UsageError) as info:
        d.parse_date(text, TODAY, option="--from")
    assert info.value.message.startswith("--from")
    assert info.value.exit_code == 2


def test_from_after_to_is_a_usage_error():
    with pytest.raises(UsageError, match="--from 2026-03-02 is after --to 2026-03-01"):
        d.Window(date(2026, 3, 2), date(2026, 3, 1))


def test_month_buckets_cross_a_year_boundary_and_cut_the_edges():
    window = d.Window(date(2025, 12, 15), date(2026, 2, 3))
    got = [(b.label, b.start, b.end, b.days) for b in d.buckets(window, "month")]
    assert got == [
        ("2025-12", date(2025, 12, 15), date(2025, 12, 31), 17),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31), 31),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 3), 3),
    ]
    assert sum(b.days for b in d.buckets(window, "month")) == window.days


def test_week_buckets_are_iso_weeks_starting_monday():
    # 2026-01-01 is a Thursday in ISO week 2026-W01, whose Monday is 2025-12-29.
    window = d.Window(date(2025, 12, 31), date(2026, 1, 12))
    got = [(b.label, b.start.isoformat(), b.end.isoformat()) for b in d.buckets(window, "week")]
    assert got == [
        ("2026-W01", "2025-12-31", "2026-01-04"),
        ("2026-W02", "2026-01-05", "2026-01-11"),
        ("2026-W03", "2026-01-12", "2026-01-12"),
    ]


def test_february_of_a_leap_year_has_29_day_buckets():
    window = d.Window(date(2024, 2, 1), date(2024, 3, 1))
    assert [b.days for b in d.buckets(window, "month")] == [29, 1]
    assert len(d.buckets(window, "day")) == 30


def test_compare_windows():
    window = d.Window(date(2026, 3, 1), date(2026, 3, 31))
    assert d.compare_window(window, "previous") == d.Window(date(2026, 1, 29), date(2026, 2, 28))
    assert d.compare_window(window, "yoy") == d.Window(date(2025, 3, 1), date(2025, 3, 31))
    same = d.compare_window(window, "same-weekday")
    assert same.start.weekday() == window.start.weekday() and same.days == window.days
    assert (window.start - same.start).days == 364
    leap = d.Window(date(2024, 2, 1), date(2024, 2, 29))
    assert d.compare_window(leap, "yoy") == d.Window(date(2023, 2, 1), date(2023, 2, 28))


def test_missing_days_are_described_as_runs():
    window = d.Window(date(2026, 1, 1), date(2026, 1, 10))
    present = [date(2026, 1, n) for n in (1, 2, 6, 7, 8, 10)]
    missing = d.missing_days(window, present)
    assert missing == [date(2026, 1, n) for n in (3, 4, 5, 9)]
    assert d.describe_runs(missing) == "2026-01-03..2026-01-05, 2026-01-09"
    assert d.describe_runs(missing, limit=1) == "2026-01-03..2026-01-05, and 1 more"
