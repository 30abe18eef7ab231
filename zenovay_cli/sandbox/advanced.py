"""Deterministic data of the endpoints added in 2026 ("AI & Advanced"): anomalies, insights,
retention cohorts, revenue LTV, heatmap pages, replay sessions and POST /query answers.

Built on SandboxData: every number is drawn from a generator seeded by (seed, website, item), and
the traffic-based figures (cohort sizes, LTV customers) come from the same daily numbers the
overview shows. Shapes follow zenovay-api.md, "Endpoints added in 2026"; where the docs leave a
detail open the choice is marked ASSUMPTION.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from zenovay_cli.sandbox._draw import below, iso_ms, lognormal, rng_for, uniform, uuid_from
from zenovay_cli.sandbox.data import RANGE_DAYS, SandboxData

SEVERITIES = ("info", "warning", "critical")
ANOMALY_METRICS = ("visitors", "page_views", "bounce_rate", "error_rate", "session_duration")
INSIGHT_TYPES = ("anomaly", "trend", "recommendation", "prediction")
GRANULARITIES = ("daily", "weekly", "monthly")
LTV_GRANULARITIES = ("weekly", "monthly")
# Hours between two anomaly scans per plan (help article "insight-frequency").
SCAN_HOURS = {"free": 24, "pro": 6, "scale": 1, "enterprise": 1}
# Below this many visitors a day Zenovay is still "collecting baseline data": no anomalies.
BASELINE_VISITORS = 100
# Kinds of website that have revenue tracking set up; the others have no LTV cohorts.
REVENUE_KINDS = {"shop": (0.02, 58.0), "saas": (0.012, 49.0), "travel": (0.008, 420.0)}
MAX_QUESTION = 500
QUERY_RANGES = ("24h", "7d", "30d", "90d")
COMPARE_TO = ("previous_period", "previous_year")

_METRIC_LABEL = {
    "visitors": "Visitors", "page_views": "Page views", "bounce_rate": "Bounce rate",
    "error_rate": "Error rate", "session_duration": "Session duration",
}


def _severity(deviation: float) -> str:
    size = abs(deviation)
    return "info" if size < 35 else "warning" if size < 60 else "critical"


def _expected(metric: str, daily: float, rng: Any) -> float:
    if metric == "visitors":
        return round(daily * uniform(rng, 0.9, 1.1))
    if metric == "page_views":
        return round(daily * uniform(rng, 2.0, 3.0))
    if metric == "bounce_rate":
        return round(uniform(rng, 35, 62), 1)
    if metric == "error_rate":
        return round(uniform(rng, 0.6, 3.0), 2)
    return round(uniform(rng, 60, 240))  # session_duration, seconds


class Advanced:
    """The 2026 endpoints of one sandbox data set. `resolved` maps anomaly ids to a resolution
    set at runtime (the control endpoint), overriding the drawn one."""

    def __init__(self, data: SandboxData, resolved: Mapping[str, bool] | None = None) -> None:
        self.data = data
        self.resolved = resolved if resolved is not None else {}

    def _daily_mean(self, website_id: str) -> float:
        today = self.data.today
        days = self.data.day_numbers(website_id, today - timedelta(days=29), today)
        return sum(d[1] for d in days) / len(days)

    # -- anomalies ----------------------------------------------------------------------------

    def anomalies(self, website_id: str, tier: str = "pro") -> list[dict[str, Any]]:
        """Every anomaly of the last year, newest first. Detection times fall on the plan's scan
        schedule (every 6 h on Pro, hourly on Scale); a website under BASELINE_VISITORS a day
        has none."""
        daily = self._daily_mean(website_id)
        if daily < BASELINE_VISITORS:
            return []
        rng = rng_for(self.data.seed, website_id, "anomalies")
        count = 24 + below(rng, 24)
        scan = SCAN_HOURS.get(tier, 6)
        # The latest scan at or before now: detection times stay put between two scans (a
        # sandbox on the wall clock) and are never later than now.
        last_scan = _scan_floor(self.data.now(), scan)
        out = []
        for _ in range(count):
            # Ages bunch up towards now, so a 7d window usually holds a few.
            age_hours = 365 * 24 * rng.random() ** 2.2
            moment = _scan_floor(last_scan - timedelta(hours=age_hours), scan)
            metric = ANOMALY_METRICS[below(rng, len(ANOMALY_METRICS))]
            expected = _expected(metric, daily, rng)
            size = 20 + lognormal(rng, 2.9, 0.6)
            sign = 1 if rng.random() < 0.55 else -1
            deviation = max(-95.0, sign * size)
            digits = 2 if metric == "error_rate" else 1 if metric == "bounce_rate" else 0
            actual = round(expected * (1 + deviation / 100), digits)
            if digits == 0:
                expected, actual = int(expected), int(actual)
            deviation_pct = round((actual - expected) / expected * 100, 2) if expected else 0.0
            anomaly_id = "anom_" + uuid_from(rng)
            resolved_p = 0.9 if age_hours > 72 else 0.3
            is_resolved = rng.random() < resolved_p
            out.append({
                "id": anomaly_id,
                "metric_name": metric,
                "expected_value": expected,
                "actual_value": actual,
                "deviation_percentage": deviation_pct,
                "severity": _severity(deviation_pct),
                "detected_at": iso_ms(moment),
                "is_resolved": self.resolved.get(anomaly_id, is_resolved),
            })
        out.sort(key=lambda a: (a["detected_at"], a["id"]), reverse=True)
        return out

    # -- insights -----------------------------------------------------------------------------

    def insights(self, website_id: str) -> list[dict[str, Any]]:
        """AI insights of the last year, newest first, made hourly (never later than now); a
        website without traffic has none."""
        if not self.data.has_traffic(website_id):
            return []
        rng = rng_for(self.data.seed, website_id, "insights")
        daily = max(1.0, self._daily_mean(website_id))
        pages = [url for url, _ in self.data.page_weights(website_id) if url != "/"]
        now = _scan_floor(self.data.now(), 1)
        out = []
        for _ in range(18 + below(rng, 18)):
            created = now - timedelta(hours=365 * 24 * rng.random() ** 2.0)
            created = created.replace(microsecond=0)
            kind = INSIGHT_TYPES[below(rng, len(INSIGHT_TYPES))]
            metric = ANOMALY_METRICS[below(rng, len(ANOMALY_METRICS))]
            label = _METRIC_LABEL[metric]
            change = round((1 if rng.random() < 0.5 else -1) * uniform(rng, 4, 80), 1)
            value = _expected(metric, daily, rng)
            page = pages[below(rng, len(pages))] if pages else "/"
            up = change > 0
            if kind == "anomaly":
                title = f"Unusual {label.lower()} {'spike' if up else 'drop'}"
                description = (f"{label} was {abs(change):g}% {'above' if up else 'below'} the "
                               f"expected level on {created.date().isoformat()}.")
                advice = "Check recent deploys and campaigns around that time."
            elif kind == "trend":
                weeks = 2 + below(rng, 6)
                title = f"{label} {'rising' if up else 'falling'} for {weeks} weeks"
                description = f"{label} changed {change:+g}% over the last {weeks} weeks."
                advice = ("Keep doing what drives it." if up
                          else f"Review {page}: it lost the most traffic.")
            elif kind == "recommendation":
                title = f"Improve {page}"
                description = (f"Visitors landing on {page} leave {abs(change):g}% more often "
                               "than on the rest of the site.")
                advice = f"Shorten the load time of {page} and make its call to action clearer."
            else:
                title = f"{label} forecast for next week"
                description = f"{label} is expected to change {change:+g}% next week."
                advice = "Plan capacity and campaigns for the forecast."
            severity = _severity(change) if kind != "recommendation" else "info"
            out.append({
                "id": "ins_" + uuid_from(rng),
                "type": kind,
                "severity": severity,
                "title": title,
                "description": description,
                "metric_name": metric,
                "metric_value": value,
                "metric_change": change,
                "recommendation": advice,
                "created_at": iso_ms(created),
            })
        out.sort(key=lambda i: (i["created_at"], i["id"]), reverse=True)
        return out

    # -- cohorts --------------------------------------------------------------------------------

    def _period_starts(self, range_: str, granularity: str) -> list[date]:
        """Starts of the calendar periods (day, ISO week from Monday, month) that overlap the
        range's days, oldest first."""
        today = self.data.today
        first = today - timedelta(days=RANGE_DAYS[range_] - 1)
        start = _period_start(first, granularity)
        out = []
        while start <= today:
            out.append(start)
            start = _add_periods(start, granularity, 1)
        return out

    def retention(self, website_id: str, range_: str, granularity: str, periods: int
                  ) -> list[dict[str, Any]]:
        """`cohorts` rows: one per (cohort, period_number) with period_number 0..periods, each
        period observed only once it has begun (so recent cohorts have fewer rows: a triangle).
        ASSUMPTIONS: period 0 is the cohort's own period (rate 100); retention_rate is a
        percentage with two decimals; a cohort's users are the new visitors of its period, and a
        period without any (a website with no visitors) has no cohort."""
        today = self.data.today
        rng_base = rng_for(self.data.seed, website_id, "retention", granularity)
        first_rate = {"daily": 0.22, "weekly": 0.16, "monthly": 0.11}[granularity]
        first_rate *= uniform(rng_base, 0.8, 1.25)
        rows = []
        for start in self._period_starts(range_, granularity):
            end = min(_add_periods(start, granularity, 1) - timedelta(days=1), today)
            unique = sum(d[2] for d in self.data.day_numbers(website_id, start, end))
            rng = rng_for(self.data.seed, website_id, "retention", granularity, start.isoformat())
            total = round(unique * uniform(rng, 0.5, 0.65))
            if not total:
                continue
            retained = total
            for k in range(periods + 1):
                if _add_periods(start, granularity, k) > today:
                    break
                if k > 0:
                    rate = first_rate * k ** -0.45 * uniform(rng, 0.9, 1.1)
                    retained = min(retained, round(total * rate))
                rows.append({
                    "cohort_date": start.isoformat(),
                    "period_number": k,
                    "total_users": total,
                    "retained_users": retained,
                    "retention_rate": round(retained / total * 100, 2),
                })
        return rows

    def revenue_ltv(self, website_id: str, range_: str, granularity: str) -> dict[str, Any]:
        """`data` of GET /revenue/{id}/ltv. Only shops, SaaS and travel sites track revenue; the
        others get empty cohorts and a null summary. ASSUMPTIONS: `periods[]` items are
        `{period_number, cumulative_revenue_per_customer}`; the summary's average_ltv_30d/90d is
        the customer-weighted mean of the cumulative revenue at period 30 // L and 90 // L
        (L = 7 days weekly, 30 days monthly) over the cohorts that have reached that period."""
        kind = self.data.site_kind(website_id)
        if kind not in REVENUE_KINDS:
            return {"cohorts": [], "summary": {"average_ltv_30d": None, "average_ltv_90d": None}}
        conversion, first_order = REVENUE_KINDS[kind]
        today = self.data.today
        rng_base = rng_for(self.data.seed, website_id, "ltv")
        repeat = uniform(rng_base, 0.15, 0.45)
        cohorts = []
        for start in self._period_starts(range_, granularity):
            end = min(_add_periods(start, granularity, 1) - timedelta(days=1), today)
            unique = sum(d[2] for d in self.data.day_numbers(website_id, start, end))
            rng = rng_for(self.data.seed, website_id, "ltv", granularity, start.isoformat())
            customers = round(unique * conversion * uniform(rng, 0.8, 1.2))
            base = first_order * uniform(rng, 0.85, 1.15) if customers else 0.0
            values = []
            value = 0.0
            for k in range(13):
                if _add_periods(start, granularity, k) > today:
                    break
                value = max(value, round(base * (1 + repeat * k ** 0.7), 2))
                values.append({"period_number": k, "cumulative_revenue_per_customer": value})
            cohorts.append({"cohort_date": start.isoformat(), "customers": customers,
                            "periods": values})
        length = 7 if granularity == "weekly" else 30
        return {"cohorts": cohorts, "summary": {
            "average_ltv_30d": ltv_at(cohorts, 30 // length),
            "average_ltv_90d": ltv_at(cohorts, 90 // length),
        }}

    # -- heatmaps and replays -------------------------------------------------------------------

    def heatmap_pages(self, website_id: str, limit: int) -> list[dict[str, Any]]:
        """All-time heatmap pages by total_interactions, descending; none when the website has
        heatmaps switched off in its settings or without traffic."""
        if not self.data.site_settings(website_id).get("heatmaps") \
                or not self.data.has_traffic(website_id):
            return []
        rng = rng_for(self.data.seed, website_id, "heatmaps")
        daily = max(1.0, self._daily_mean(website_id))
        now = self.data.now()
        rows: list[dict[str, Any]] = []
        for url, weight in self.data.page_weights(website_id):
            interactions = round(daily * weight * uniform(rng, 2, 9))
            updated = now - timedelta(minutes=uniform(rng, 1, 600))
            rows.append({"url": url, "total_interactions": interactions,
                         "last_updated": iso_ms(updated.replace(microsecond=0))})
        rows.sort(key=lambda r: (-int(r["total_interactions"]), str(r["url"])))
        return rows[:limit]

    def replay_count(self, website_id: str) -> int:
        """Sessions recorded in the last 7 days: none with replays off or without visitors."""
        if not self.data.site_settings(website_id).get("session_replay") \
                or not self.data.has_traffic(website_id, days=7):
            return 0
        return 240 + below(rng_for(self.data.seed, website_id, "replay-count"), 300)

    def replay_sessions(self, website_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Sessions [offset, offset+limit) of the last 7 days, newest first; each one computed
        from its index alone. A session still running at now ends at now (never later)."""
        count = self.replay_count(website_id)
        now = self.data.now()
        slot = 7 * 86400 / max(count, 1)
        out = []
        for i in range(offset, min(count, offset + limit)):
            rng = rng_for(self.data.seed, website_id, "replay", i)
            started = now - timedelta(seconds=round(slot * (i + rng.random())))
            duration = min(5 + int(lognormal(rng, 4.6, 0.9)),
                           int((now - started).total_seconds()))
            out.append({
                "id": "sr_" + uuid_from(rng),
                "session_id": f"sess_{rng.getrandbits(48):012x}",
                **self.data.visit_profile(website_id, rng),
                "duration_seconds": duration,
                "event_count": 3 + int(duration * uniform(rng, 0.1, 0.6)),
                "started_at": iso_ms(started),
                "ended_at": iso_ms(started + timedelta(seconds=duration)),
            })
        return out

    # -- POST /query ----------------------------------------------------------------------------

    def query(self, website_id: str, question: str, time_range: str,
              compare_to: str | None) -> dict[str, Any]:
        """A canned answer chosen by keywords in the question; its figures are the sandbox's own
        (countries, pages, technology, overview), so a test can check them."""
        words = set(re.findall(r"[a-z]+", question.lower()))
        data = self.data
        if words & {"country", "countries", "where", "geography"}:
            intent, columns = "country_breakdown", ["country", "visitors"]
            rows = [[r["country_name"], r["visitors"]]
                    for r in data.countries(website_id, time_range, limit=10)]
        elif words & {"page", "pages", "url", "urls", "content"}:
            intent, columns = "top_pages", ["page", "visitors", "views"]
            rows = [[r["url"], r["visitors"], r["views"]]
                    for r in data.pages(website_id, time_range, limit=10)]
        elif words & {"browser", "browsers", "device", "devices", "os", "technology"}:
            intent, columns = "technology_breakdown", ["browser", "visitors"]
            rows = [[r["name"], r["visitors"]]
                    for r in data.technology(website_id, time_range)["browsers"]]
        else:
            intent = "traffic_overview"
            summary = data.overview(website_id, time_range)["summary"]
            columns = ["metric", "value"]
            rows = [[name, summary[name]]
                    for name in ("total_visitors", "unique_visitors", "total_page_views")]
            if compare_to is not None:
                columns = ["metric", "value", "previous", "change"]
                before = self._previous_summary(website_id, time_range, compare_to)
                rows = [[name, value, before[name],
                         round((value - before[name]) / before[name] * 100, 1)
                         if before[name] else None]
                        for name, value in rows]
        confidence = round(0.6 + 0.39 * rng_for(data.seed, question).random(), 2)
        top = rows[0] if rows else None
        summary_text = (f"{len(rows)} rows for the last {time_range}"
                        + (f"; first: {top[0]} ({top[1]})" if top else "") + ".")
        return {
            "question": question,
            "intent": intent,
            "confidence": confidence,
            "time_range": time_range,
            "results": {"type": "table", "columns": columns, "rows": rows},
            "summary": summary_text,
        }

    def _previous_summary(self, website_id: str, time_range: str, compare_to: str
                          ) -> dict[str, int]:
        days = RANGE_DAYS[time_range]
        today = self.data.today
        if compare_to == "previous_year":
            last = _shift_year(today, -1)
        else:
            last = today - timedelta(days=days)
        numbers = self.data.day_numbers(website_id, last - timedelta(days=days - 1), last)
        return {
            "total_visitors": sum(n[1] for n in numbers),
            "unique_visitors": sum(n[2] for n in numbers),
            "total_page_views": sum(n[3] for n in numbers),
        }


def _scan_floor(moment: datetime, hours: int) -> datetime:
    """The start of the `hours`-long scan slot of the day that holds `moment`."""
    return moment.replace(minute=0, second=0, microsecond=0, hour=moment.hour - moment.hour % hours)


def ltv_at(cohorts: list[dict[str, Any]], period: int) -> float | None:
    """Customer-weighted mean cumulative revenue per customer at `period`, over the cohorts
    that have reached it; None when none has."""
    weight = total = 0.0
    for cohort in cohorts:
        if len(cohort["periods"]) > period and cohort["customers"]:
            weight += cohort["customers"]
            total += cohort["customers"] * cohort["periods"][period][
                "cumulative_revenue_per_customer"]
    return round(total / weight, 2) if weight else None


def _period_start(day: date, granularity: str) -> date:
    if granularity == "daily":
        return day
    if granularity == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _add_periods(start: date, granularity: str, n: int) -> date:
    if granularity == "daily":
        return start + timedelta(days=n)
    if granularity == "weekly":
        return start + timedelta(days=7 * n)
    month = start.month - 1 + n
    return date(start.year + month // 12, month % 12 + 1, 1)


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)

