"""Judging metrics against rules: the API's analytics -> metrics, and the worst-of status.

Worst-of order (documented choice): CRITICAL > WARNING > UNKNOWN > OK, the monitoring-plugins
`max_state_alt` order. A real breach on one website outranks another website that could not be
fetched, but a failed fetch never lets the run report OK; and the tool's own failures only ever
produce UNKNOWN, never CRITICAL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from zenovay_cli.alert.rules import AnomalyAlert, AnomalyRule, Rule
from zenovay_cli.schema import METRIC_KEYS, parse_time


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def metrics_from_analytics(data: Any) -> dict[str, float]:
    """Canonical metrics from GET /analytics/{id}'s `data` (untrusted input).

    Reads `summary.{total_visitors,total_page_views,unique_visitors}` (newest shape) or the old
    top-level camelCase `totalVisitors`/`totalPageViews`/`uniqueVisitors`; an unwrapped
    `{success, data}` envelope is tolerated. A metric that is absent or not a finite number is
    simply missing from the result (a rule on it then evaluates to UNKNOWN). Never raises.
    """
    if isinstance(data, Mapping) and "success" in data and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if not isinstance(data, Mapping):
        return {}
    places = [p for p in (data.get("summary"), data) if isinstance(p, Mapping)]
    metrics: dict[str, float] = {}
    for metric, keys in METRIC_KEYS.items():
        for place in places:
            found = next((as_number(place[k]) for k in keys if k in place), None)
            if found is not None:
                metrics[metric] = found
                break
    return metrics




# Visitor ranges of the API and their spans, shortest first: a silence check asks for the
# shortest one longer than its duration.
_VISITOR_RANGES = (("24h", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0),
                   ("90d", 90 * 86400.0), ("1y", 365 * 86400.0))


def silence_range(seconds: float) -> tuple[str, float]:
    """(range, its span in seconds) to ask /visitors for, to judge a silence of `seconds`."""
    return next(((r, span) for r, span in _VISITOR_RANGES if span > seconds), _VISITOR_RANGES[-1])


def silence_seconds(newest_visit: Any, now: datetime, span: float) -> float | None:
    """Seconds since the newest visitor's `visited_at` (schema.newest_visit of a /visitors
    answer), at least 0; `span` (the whole range asked for) when the range held no visitor
    (None); None when the time cannot be read."""
    if newest_visit is None:
        return span
    newest = parse_time(newest_visit)
    if newest is None:
        return None
    return float(max(0, round((now - newest).total_seconds())))


class Status(IntEnum):
    """Monitoring-plugin states; the value is the exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def exit_code(self) -> int:
        return int(self)


# Worst-of ranking (see module docstring): CRITICAL > WARNING > UNKNOWN > OK.
_RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}
_SEVERITY_STATUS = {"warning": Status.WARNING, "critical": Status.CRITICAL}


def worst(states: Sequence[Status] | Iterator[Status], default: Status = Status.OK) -> Status:
    """The worst of several states, CRITICAL > WARNING > UNKNOWN > OK."""
    return max(states, key=_RANK.__getitem__, default=default)


@dataclass(frozen=True)
class RuleResult:
    """One rule checked against one website.

    firing: True (breached), False (not breached) or None (could not tell: the fetch failed or
    the metric is missing; status is then UNKNOWN and `reason` says why).
    fingerprint: the alert's stable id (Rule.alert_fingerprint(website, time_range)).
    """

    rule: Rule | AnomalyRule | AnomalyAlert  # a threshold rule, or an anomaly's alert
    website: str
    fingerprint: str
    value: float | None
    firing: bool | None
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class WebsiteResult:
    """Every rule result of one website; `error` is set when its analytics could not be fetched."""

    website: str
    status: Status
    metrics: dict[str, float]
    checks: list[RuleResult]
    error: str | None = None
    open_anomalies: int | None = None  # None: no anomaly rule applies to this website


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one run: overall status, one WebsiteResult per website, the range used."""

    status: Status
    websites: list[WebsiteResult]
    time_range: str | None = None
    problem: str | None = None  # set when there was nothing to evaluate

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    @property
    def checks(self) -> list[RuleResult]:
        return [check for site in self.websites for check in site.checks]


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text


def evaluate(
    rules: Sequence[Rule | AnomalyRule],
    results: Mapping[str, Mapping[str, float] | BaseException],
    *,
    time_range: str | None = None,
    aliases: Mapping[str, str] | None = None,
    anomalies: Mapping[str, Sequence[Any] | BaseException] | None = None,
) -> Evaluation:
    """Check every rule against the fetched metrics.

    results: website key -> its metrics (from metrics_from_analytics) or the Exception its fetch
        raised. The key is what the output shows (use the domain). A rule with `website=None`
        applies to every key; a rule naming a website applies to the key equal to its website or
        to `aliases[rule.website]` (so a rule naming a website id can match a result keyed by
        domain). A rule naming a website absent from `results` is reported UNKNOWN.
    anomalies: website key -> the items of GET /anomalies (or the Exception its fetch raised),
        for AnomalyRules. Each matching anomaly is one check: firing while unresolved, with the
        anomaly's own severity; an anomaly matched by several rules is checked once.
    A failed fetch makes its website's rules UNKNOWN; a missing metric makes that rule UNKNOWN.
    Duplicate rules (same fingerprint) are checked once. No rules, or no websites, is UNKNOWN.
    """
    aliases = aliases or {}
    anomalies = anomalies or {}
    unique: dict[str, Rule | AnomalyRule] = {}
    for rule in rules:
        unique.setdefault(rule.fingerprint, rule)
    rules = list(unique.values())

    if not rules:
        return Evaluation(Status.UNKNOWN, [], time_range, problem="no rules to check")

    def applies(rule: Rule | AnomalyRule, key: str) -> bool:
        return rule.website is None or rule.website == key or aliases.get(rule.website) == key

    keys = list(results)
    for rule in rules:
        if rule.website is not None and not any(applies(rule, k) for k in keys):
            keys.append(aliases.get(rule.website, rule.website))
    if not keys:
        return Evaluation(Status.UNKNOWN, [], time_range, problem="no websites to check")

    sites = []
    for key in keys:
        fetched = results.get(key)
        error: str | None = None
        metrics: dict[str, float] = {}
        if key not in results:
            error = "this website's analytics were not fetched"
        elif isinstance(fetched, BaseException):
            error = _error_text(fetched)
        else:
            metrics = dict(fetched or {})
        checks = []
        for rule in rules:
            if not applies(rule, key) or not isinstance(rule, Rule):
                continue
            fingerprint = rule.alert_fingerprint(key, time_range)
            value = metrics.get(rule.metric)
            if error is not None:
                check = RuleResult(rule, key, fingerprint, None, None, Status.UNKNOWN,
                                   f"could not fetch analytics: {error}")
            elif value is None:
                check = RuleResult(rule, key, fingerprint, None, None, Status.UNKNOWN,
                                   "not in the API response")
            elif rule.breached(value):
                check = RuleResult(rule, key, fingerprint, value, True,
                                   _SEVERITY_STATUS[rule.severity])
            else:
                check = RuleResult(rule, key, fingerprint, value, False, Status.OK)
            checks.append(check)
        anomaly_rules = [r for r in rules if isinstance(r, AnomalyRule) and applies(r, key)]
        open_count = None
        if anomaly_rules:
            anomaly_checks, open_count = _anomaly_checks(anomaly_rules, key, anomalies.get(key))
            checks.extend(anomaly_checks)
        status = Status.UNKNOWN if error else worst(c.status for c in checks)
        sites.append(WebsiteResult(key, status, metrics, checks, error, open_count))
    return Evaluation(worst(s.status for s in sites), sites, time_range)


def _anomaly_checks(
    rules: Sequence[AnomalyRule], key: str, fetched: Sequence[Any] | BaseException | None
) -> tuple[list[RuleResult], int | None]:
    """The checks of one website's anomalies (untrusted items: odd ones are skipped)."""
    if fetched is None or isinstance(fetched, BaseException):
        reason = ("could not fetch anomalies: " + _error_text(fetched)
                  if isinstance(fetched, BaseException) else "anomalies were not fetched")
        return [RuleResult(rule, key, rule.alert_fingerprint(key), None, None, Status.UNKNOWN,
                           reason) for rule in rules], None
    checks: dict[str, RuleResult] = {}
    for item in fetched:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        severity, metric = item.get("severity"), item.get("metric_name")
        rule = next((r for r in rules if r.matches(severity, metric)), None)
        resolved = item.get("is_resolved")
        if rule is None or not isinstance(resolved, bool):
            continue
        alert = AnomalyAlert(
            rule.website, str(metric), as_number(item.get("expected_value")) or 0.0,
            str(severity), item["id"], str(item.get("detected_at") or ""),
            as_number(item.get("deviation_percentage")), rule.name)
        fingerprint = alert.fingerprint_on(key)
        if fingerprint in checks:
            continue
        firing = not resolved
        checks[fingerprint] = RuleResult(
            alert, key, fingerprint, as_number(item.get("actual_value")), firing,
            _SEVERITY_STATUS[alert.severity] if firing else Status.OK)
    found = list(checks.values())
    return found, sum(1 for c in found if c.firing)
