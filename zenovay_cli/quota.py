"""The month: burn rate and forecast of the monthly quota, and the request cost of a run. Pure.

Inputs are what the API says (untrusted numbers from /usage or the X-Usage-* headers) and the
ledger's snapshots (ratelimit.BudgetState.usage / usage_first); nothing here does I/O.

Forecast: the burn rate is the month's average (requests used / time since the month began). When
the ledger holds an earlier snapshot of the same month at least an hour old, the recent rate
between the two snapshots is computed too, and the forecast uses the higher of the two (a busy
week is not hidden by a quiet start of the month). The quota runs out at
now + (limit - used) / rate; if that is after the reset, it lasts the month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from zenovay_cli.schema import parse_time

DAY = 86_400.0
MIN_SPAN = 3_600.0  # seconds: a rate over less time than this says little


def month_start(reset: datetime) -> datetime:
    """The start of the quota month that ends at `reset` (one calendar month earlier)."""
    year, month = (reset.year, reset.month - 1) if reset.month > 1 else (reset.year - 1, 12)
    day = min(reset.day, 28)
    return reset.replace(year=year, month=month, day=day)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 10**15 else None


def short_date(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}"


@dataclass(frozen=True)
class Forecast:
    used: int
    limit: int
    reset: datetime
    per_day: float  # the month's average burn rate
    recent_per_day: float | None  # between the ledger's snapshots, when they span an hour or more
    runs_out: datetime | None  # None: the quota lasts until the reset
    left_at_reset: int | None  # requests left at the reset at this pace (when it lasts)

    @property
    def rate(self) -> float:
        """The rate the forecast uses: the higher of the month's and the recent one."""
        return max(self.per_day, self.recent_per_day or 0.0)

    def summary(self) -> str:
        if self.used >= self.limit:
            return f"the quota is used up; it resets on {short_date(self.reset)}"
        if self.runs_out is not None:
            return f"at this pace the quota runs out on {short_date(self.runs_out)}"
        return (f"at this pace the quota lasts the month (about {self.left_at_reset:,} left at the "
                f"reset on {short_date(self.reset)})")

    def to_json(self) -> dict[str, Any]:
        return {
            "burn_rate_per_day": round(self.rate, 1),
            "month_average_per_day": round(self.per_day, 1),
            "recent_per_day": None if self.recent_per_day is None else round(self.recent_per_day, 1),
            "runs_out_on": self.runs_out.date().isoformat() if self.runs_out else None,
            "summary": self.summary(),
        }


def forecast(
    used: Any,
    limit: Any,
    reset: Any,
    now: datetime,
    first: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
) -> Forecast | None:
    """The month's forecast from the used/limit/reset figures and optionally two ledger snapshots
    ({"at": epoch seconds, "monthly": n, "reset": iso}); None when the figures are unusable."""
    used, limit, reset_at = _count(used), _count(limit), parse_time(reset)
    if used is None or not limit or reset_at is None:
        return None
    start = month_start(reset_at)
    elapsed = (now - start).total_seconds()
    if elapsed <= 0 or now >= reset_at:
        return None
    per_day = used / max(elapsed, MIN_SPAN) * DAY
    recent = None
    if first and last and first.get("reset") == last.get("reset") and parse_time(last.get("reset")) == reset_at:
        m0, m1 = _count(first.get("monthly")), _count(last.get("monthly"))
        t0, t1 = first.get("at"), last.get("at")
        if m0 is not None and m1 is not None and isinstance(t0, (int, float)) \
                and isinstance(t1, (int, float)) and t1 - t0 >= MIN_SPAN and m1 >= m0:
            recent = (m1 - m0) / (t1 - t0) * DAY
    rate = max(per_day, recent or 0.0)
    left = limit - used
    runs_out, left_at_reset = None, None
    if left <= 0:
        runs_out = now
    elif rate > 0 and now + timedelta(days=left / rate) < reset_at:
        runs_out = now + timedelta(days=left / rate)
    else:
        to_reset = (reset_at - now).total_seconds() / DAY
        left_at_reset = max(0, int(left - rate * to_reset))
    return Forecast(used, limit, reset_at, per_day, recent, runs_out, left_at_reset)


def run_cost(websites: int, per_website: int, already_sent: int = 1) -> int:
    """Requests a fan-out run costs: what it already sent (the website list) + per website."""
    return already_sent + websites * per_website


def cost_problem(cost: int, to_send: int, max_requests: int | None, used: Any, limit: Any,
                 *, named: str = "--max-requests") -> str | None:
    """Why a run costing `cost` requests (`to_send` of them still to be sent) must not go on, or
    None when it may. `used`/`limit`: the month's figures as the API last reported them; `named`:
    where the max_requests came from (the option, ZENOVAY_MAX_REQUESTS, a profile)."""
    if max_requests is not None and cost > max_requests:
        limit_text = (f"--max-requests {max_requests}" if named == "--max-requests"
                      else f"max_requests {max_requests} from {named}")
        return f"this run costs {cost} requests, more than {limit_text}"
    used, limit = _count(used), _count(limit)
    if used is not None and limit:
        left = max(0, limit - used)
        if to_send > left:
            return (f"this run needs {to_send} more requests, more than the {left} left of this "
                    f"month's quota ({used:,} of {limit:,} used)")
    return None


def usage_with_forecast(data: Any, first: dict[str, Any] | None = None,
                        last: dict[str, Any] | None = None, now: datetime | None = None) -> Any:
    """/usage's answer with a "forecast" added (burn rate, the day the quota runs out), when its
    figures allow one; anything else is returned as it is."""
    if not isinstance(data, dict) or not isinstance(data.get("usage"), dict):
        return data
    usage = data["usage"]
    now = now or datetime.now(timezone.utc)
    result = forecast(usage.get("monthly_requests"), usage.get("monthly_limit"),
                      usage.get("monthly_reset_at"), now, first, last)
    if result is None:
        return data
    return {**data, "forecast": result.to_json()}
