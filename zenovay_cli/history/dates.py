"""Dates of the history store: parsing ISO and relative dates, buckets, comparison windows (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from zenovay_cli.errors import UsageError

BY = ("day", "week", "month")
COMPARE = ("previous", "yoy", "same-weekday")

_RELATIVE = re.compile(r"^-(\d{1,5})([dwmy])$")


def parse_date(text: str, today: date, *, option: str = "date") -> date:
    """`2026-03-01`, `today`, `yesterday`, or `-N` days/weeks/months/years (`-4w`, `-1y`).

    Months and years back keep the day of the month, clipped to the month's last day
    (`-1m` from 2026-03-31 is 2026-02-28). UsageError names the option for anything else.
    """
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    match = _RELATIVE.match(value)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        try:
            if unit == "d":
                return today - timedelta(days=n)
            if unit == "w":
                return today - timedelta(weeks=n)
            if unit == "m":
                return add_months(today, -n)
            return add_months(today, -12 * n)
        except (OverflowError, ValueError):
            raise UsageError(f"{option} {text!r} reaches before year 1") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(
        f"{option} {text!r} is not a date",
        hint="Use YYYY-MM-DD (2026-03-01), today, yesterday, or a relative date such as -7d, -4w, -3m, -1y.",
    )


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clipped to the last day of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if year < 1:
        raise ValueError("before year 1")
    last = days_in_month(year, month0 + 1)
    return date(year, month0 + 1, min(day.day, last))


def days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


@dataclass(frozen=True)
class Window:
    """The days from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise UsageError(
                f"--from {self.start.isoformat()} is after --to {self.end.isoformat()}",
                hint="Give the earlier date with --from.",
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> Iterator[date]:
        for n in range(self.days):
            yield self.start + timedelta(days=n)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Bucket:
    """One row of `history show`: a period label and the window's days that fall into it."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def buckets(window: Window, by: str) -> list[Bucket]:
    """The window cut into days, ISO weeks (Monday first) or calendar months.

    The first and last week or month are cut to the window: their `days` says how many days
    they hold, so a partial month is never mistaken for a whole one.
    """
    if by not in BY:
        raise UsageError(f"--by {by!r}: use one of {', '.join(BY)}")
    out: list[Bucket] = []
    day = window.start
    while day <= window.end:
        if by == "day":
            end = day
            label = day.isoformat()
        elif by == "week":
            end = day + timedelta(days=6 - day.weekday())
            year, week, _ = day.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            end = date(day.year, day.month, days_in_month(day.year, day.month))
            label = f"{day.year:04d}-{day.month:02d}"
        end = min(end, window.end)
        out.append(Bucket(label, day, end))
        day = end + timedelta(days=1)
    return out


def shift_year(day: date, years: int) -> date:
    """The same calendar date `years` later (negative: earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def compare_window(window: Window, how: str) -> Window:
    """The window a comparison sets against `window`.

    previous: the same number of days immediately before the first day.
    yoy: the same calendar dates one year earlier (a window touching 29 February maps it to
    the 28th, so the earlier window can be one day shorter or longer).
    same-weekday: 52 weeks (364 days) earlier, so every day is compared with the same weekday.
    """
    if how == "previous":
        return Window(window.start - timedelta(days=window.days), window.start - timedelta(days=1))
    if how == "yoy":
        return Window(shift_year(window.start, -1), shift_year(window.end, -1))
    if how == "same-weekday":
        return Window(window.start - timedelta(weeks=52), window.end - timedelta(weeks=52))
    raise UsageError(f"--compare {how!r}: use one of {', '.join(COMPARE)}")


def missing_days(window: Window, present: Iterable[date]) -> list[date]:
    """The window's days not in `present`, in order."""
    have = set(present)
    return [day for day in window.each_day() if day not in have]


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into runs of consecutive days: [(first, last), ...]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def describe_runs(days: Iterable[date], limit: int = 6) -> str:
    """`2026-01-03..2026-01-05, 2026-02-10` (the first `limit` runs, then `and N more`)."""
    runs = day_runs(days)
    parts = [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"and {len(runs) - limit} more")
    return ", ".join(parts)
