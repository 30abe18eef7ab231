"""Alert rules: parsing `--warn`/`--crit` expressions and rules files, and the numbers they print."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from zenovay_cli.errors import UsageError

METRICS = ("visitors", "page_views", "unique_visitors", "silence")
# Accepted spellings -> canonical metric. The API's own summary names are accepted too.
# `silence` is the seconds since the website's newest visitor (`--silent-for` makes such rules).
METRIC_ALIASES = {
    "visitors": "visitors",
    "page_views": "page_views",
    "unique_visitors": "unique_visitors",
    "total_visitors": "visitors",
    "total_page_views": "page_views",
    "silence": "silence",
}
SILENCE = "silence"
ANOMALY_SEVERITIES = ("warning", "critical")  # what --anomaly takes ("info" never alerts)
OPERATORS = ("<", "<=", ">", ">=")
SEVERITIES = ("warning", "critical")
DIRECTIONS = {"above": ">", "below": "<"}

_RULE_KEYS_REQUIRED = ("metric", "threshold", "direction", "severity")
_RULE_KEYS_OPTIONAL = ("website", "name")
_ANOMALY_KEYS = ("anomaly", "metric", "website", "name")
_SILENCE_KEYS = ("silent_for", "severity", "website", "name")
_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_EXPR = re.compile(r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>[<>=!]+)\s*(?P<num>.*?)\s*$")


def _valid_metrics_text() -> str:
    return ", ".join(METRIC_ALIASES)


@dataclass(frozen=True)
class Rule:
    """One threshold: fires when `<metric> <op> <threshold>` holds for a website.

    website: the website the rule is for (id or domain, as the user wrote it), or None for
        "every website this run checks" (the --warn/--crit flags, or a rules-file rule without
        `website`).
    metric: canonical name, one of METRICS (aliases are normalised on construction).
    op: one of OPERATORS. threshold: a finite number. severity: "warning" or "critical".
    name: optional label from a rules file; not part of the fingerprint.
    """

    website: str | None
    metric: str
    op: str
    threshold: float
    severity: str
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        metric = METRIC_ALIASES.get(self.metric)
        if metric is None:
            raise ValueError(f"unknown metric {self.metric!r}")
        if self.op not in OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        threshold = float(self.threshold)
        if not math.isfinite(threshold):
            raise ValueError("threshold must be finite")
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "threshold", threshold)

    @property
    def fingerprint(self) -> str:
        """Stable id (16 hex chars) of website + metric + operator + threshold + severity.

        Independent of the spelling used (`total_visitors<100.0` == `visitors<100`) and of `name`.
        """
        key = json.dumps(
            [self.website if self.website is not None else "*", self.metric, self.op,
             repr(self.threshold), self.severity]
        )
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    @property
    def expr(self) -> str:
        """The condition as text, e.g. `visitors<100`."""
        return f"{self.metric}{self.op}{format_number(self.threshold)}"

    @property
    def label(self) -> str:
        """Human label, e.g. `mysite.com visitors<100 (critical)` or `visitors<100 (warning)`."""
        prefix = f"{self.website} " if self.website is not None else ""
        name = f" [{self.name}]" if self.name else ""
        return f"{prefix}{self.expr} ({self.severity}){name}"

    def breached(self, value: float) -> bool:
        """True when `value` meets the rule's condition (the rule fires)."""
        if self.op == "<":
            return value < self.threshold
        if self.op == "<=":
            return value <= self.threshold
        if self.op == ">":
            return value > self.threshold
        return value >= self.threshold

    def alert_fingerprint(self, website: str, time_range: str | None = None) -> str:
        """Fingerprint of this rule's alert on one website over one range.

        A rule naming its website keeps its own fingerprint; a rule for every website gets the
        fingerprint the same rule would have if it named that website, so each website's alert
        has its own stable id. The range is part of the alert's identity (`visitors<100` over
        24h and over 7d are different conditions): two cron jobs checking the same rule over
        different ranges, sharing one state file, must not resolve each other's alerts.
        """
        rule = self if self.website is not None else Rule(
            website, self.metric, self.op, self.threshold, self.severity)
        if time_range is None:
            return rule.fingerprint
        key = json.dumps([rule.fingerprint, time_range])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AnomalyRule:
    """Alerts on Zenovay's own anomalies: each unresolved anomaly of at least `min_severity`
    (optionally only of one API metric, e.g. `bounce_rate`) is an alert of its own, with the
    anomaly's severity; it resolves when Zenovay marks the anomaly resolved.

    website: as for Rule (None: every website checked). name: an optional label.
    """

    website: str | None
    min_severity: str
    metric: str | None = None
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.min_severity not in ANOMALY_SEVERITIES:
            raise ValueError(f"unknown anomaly severity {self.min_severity!r}")

    @property
    def fingerprint(self) -> str:
        key = json.dumps(["anomaly", self.website if self.website is not None else "*",
                          self.min_severity, self.metric or "*"])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    @property
    def expr(self) -> str:
        what = f" {self.metric}" if self.metric else ""
        return f"anomaly{what}>={self.min_severity}"

    @property
    def label(self) -> str:
        prefix = f"{self.website} " if self.website is not None else ""
        name = f" [{self.name}]" if self.name else ""
        return f"{prefix}{self.expr}{name}"

    op = "anomaly"
    threshold = 0.0

    @property
    def severity(self) -> str:
        return self.min_severity

    def alert_fingerprint(self, website: str, time_range: str | None = None) -> str:
        """The id of "this rule could not be checked on this website" (never fires)."""
        key = json.dumps([self.fingerprint, website])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def matches(self, severity: Any, metric: Any) -> bool:
        """Whether an anomaly of this severity and metric is one this rule watches."""
        if severity not in ANOMALY_SEVERITIES:
            return False
        if ANOMALY_SEVERITIES.index(severity) < ANOMALY_SEVERITIES.index(self.min_severity):
            return False
        return self.metric is None or metric == self.metric


@dataclass(frozen=True)
class AnomalyAlert:
    """One anomaly as the rule-like object of a check (what output and state read)."""

    website: str | None
    metric: str
    threshold: float  # the expected value
    severity: str
    anomaly_id: str
    detected_at: str
    deviation: float | None
    name: str | None = None
    op: str = "anomaly"

    @property
    def expr(self) -> str:
        return f"anomaly {self.metric}"

    @property
    def label(self) -> str:
        name = f" [{self.name}]" if self.name else ""
        return f"anomaly {self.anomaly_id} {self.metric} ({self.severity}){name}"

    def fingerprint_on(self, website: str) -> str:
        """One alert per anomaly and website, whichever rules matched it."""
        key = json.dumps(["anomaly", website, self.anomaly_id])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def parse_duration(text: Any, where: str = "") -> float:
    """Seconds of a duration such as `90s`, `45m`, `2h`, `1d` or `1h30m` (> 0)."""
    if isinstance(text, str):
        compact = text.strip().lower().replace(" ", "")
        parts = list(_DURATION.finditer(compact))
        if parts and "".join(m.group(0) for m in parts) == compact:
            seconds = sum(float(m.group("n")) * _UNIT_SECONDS[m.group("unit")] for m in parts)
            if seconds > 0 and math.isfinite(seconds):
                return seconds
    raise UsageError(f"{where}bad duration {text!r}; use e.g. 30m, 2h, 1d or 1h30m")


def format_duration(seconds: float) -> str:
    """`7200` -> `2h`, `11520` -> `3h 12m`, `45` -> `45s`, `90000` -> `1d 1h`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts[:2])


def silence_rule(duration: Any, severity: str = "critical", website: str | None = None,
                 name: str | None = None, where: str = "") -> Rule:
    """The rule `--silent-for DURATION` makes: fires when the newest visitor is at least that old."""
    return Rule(website, SILENCE, ">=", parse_duration(duration, where), severity, name=name)


def parse_anomaly_option(value: str, metric: str | None = None) -> AnomalyRule:
    """`--anomaly warning|critical [--metric M]`."""
    severity = value.strip().lower() if isinstance(value, str) else value
    if severity not in ANOMALY_SEVERITIES:
        raise UsageError(f"bad --anomaly value {value!r}; use 'warning' or 'critical'")
    if metric is not None and not metric.strip():
        raise UsageError("--metric must not be empty")
    return AnomalyRule(None, severity, metric.strip() if metric else None)


def _check_severity(severity: Any, where: str) -> str:
    if not isinstance(severity, str) or severity.strip().lower() not in SEVERITIES:
        raise UsageError(f"{where}bad severity {severity!r}; use 'warning' or 'critical'")
    return severity.strip().lower()


def _check_metric(metric: Any, where: str) -> str:
    if isinstance(metric, str):
        canonical = METRIC_ALIASES.get(metric.strip().lower())
        if canonical is not None:
            return canonical
    raise UsageError(f"{where}unknown metric {metric!r}; valid metrics: {_valid_metrics_text()}")


def _check_website(website: Any, where: str) -> str | None:
    if website is None:
        return None
    if not isinstance(website, str) or not website.strip():
        raise UsageError(f"{where}'website' must be a non-empty string (a website id or domain)")
    website = website.strip()
    return None if website == "*" else website


def parse_rule_expr(expr: str, severity: str, website: str | None = None) -> Rule:
    """Parse a flag value like `visitors<200` (spaces allowed: `page_views >= 1e4`).

    severity: "warning" (for --warn) or "critical" (for --crit). website: None for "every
    website checked". Raises UsageError naming the problem: unknown metric (lists the valid
    ones), bad operator, or a threshold that is not a finite number.
    """
    where = f"rule {expr!r}: "
    severity = _check_severity(severity, where)
    website = _check_website(website, where)
    match = _EXPR.match(expr or "")
    if match is None or not match.group("num"):
        raise UsageError(
            f"{where}expected METRIC OPERATOR NUMBER, e.g. 'visitors<100'",
            hint=f"Metrics: {_valid_metrics_text()}; operators: {' '.join(OPERATORS)}.",
        )
    metric = _check_metric(match.group("metric"), where)
    op = match.group("op")
    if op not in OPERATORS:
        raise UsageError(f"{where}bad operator {op!r}; use one of {' '.join(OPERATORS)}")
    num = match.group("num")
    try:
        threshold = float(num)
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise UsageError(f"{where}threshold {num!r} is not a number")
    return Rule(website, metric, op, threshold, severity)


def load_rules_file(path: str | os.PathLike[str]) -> list[Rule | AnomalyRule]:
    """Read a TOML rules file of `[[rule]]` tables.

    Each table: `metric` (see METRIC_ALIASES), `threshold` (number), `direction` ("above" means
    `>`, "below" means `<`), `severity` ("warning"|"critical"), optional `website` (id or domain;
    omitted or "*" means every website checked) and optional `name`. Unknown keys are refused
    so a typo (`severty`) is not silently ignored. Raises UsageError naming the file and the
    1-based rule number for an unreadable file, invalid TOML, a missing key or a bad value.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # TOMLDecodeError and UnicodeDecodeError
        raise UsageError(f"rules file {path} is not valid TOML: {exc}") from exc

    tables = doc.get("rule")
    if not isinstance(tables, list) or not tables:
        raise UsageError(
            f"rules file {path} has no [[rule]] tables",
            hint='Each rule: [[rule]] website = "mysite.com" metric = "visitors" threshold = 100 '
            'direction = "below" severity = "critical"',
        )
    rules: list[Rule | AnomalyRule] = []
    for index, table in enumerate(tables, start=1):
        where = f"rules file {path}, rule {index}: "
        if not isinstance(table, dict):
            raise UsageError(f"{where}expected a [[rule]] table")
        if "anomaly" in table or "silent_for" in table:
            rules.append(_special_rule(table, where))
            continue
        unknown = sorted(set(table) - set(_RULE_KEYS_REQUIRED) - set(_RULE_KEYS_OPTIONAL))
        if unknown:
            allowed = ", ".join(_RULE_KEYS_REQUIRED + _RULE_KEYS_OPTIONAL)
            raise UsageError(f"{where}unknown key {unknown[0]!r}; allowed keys: {allowed}")
        for key in _RULE_KEYS_REQUIRED:
            if key not in table:
                raise UsageError(f"{where}missing key {key!r}")
        website = _check_website(table.get("website"), where)
        metric = _check_metric(table["metric"], where)
        threshold = table["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
            math.isfinite(threshold)
        ):
            raise UsageError(f"{where}threshold must be a number, not {threshold!r}")
        direction = table["direction"]
        op = DIRECTIONS.get(direction.strip().lower()) if isinstance(direction, str) else None
        if op is None:
            raise UsageError(f"{where}bad direction {direction!r}; use 'above' or 'below'")
        severity = _check_severity(table["severity"], where)
        name = table.get("name")
        if name is not None and not isinstance(name, str):
            raise UsageError(f"{where}'name' must be a string")
        rules.append(Rule(website, metric, op, float(threshold), severity, name=name or None))
    return rules


def _special_rule(table: dict, where: str) -> Rule | AnomalyRule:
    """A rules-file table with `anomaly = "warning"` or `silent_for = "2h"`."""
    kind, allowed = (("anomaly", _ANOMALY_KEYS) if "anomaly" in table
                     else ("silent_for", _SILENCE_KEYS))
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise UsageError(f"{where}unknown key {unknown[0]!r} in a {kind} rule; "
                         f"allowed keys: {', '.join(allowed)}")
    website = _check_website(table.get("website"), where)
    name = table.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"{where}'name' must be a string")
    if kind == "anomaly":
        severity = table["anomaly"]
        if not isinstance(severity, str) or severity.strip().lower() not in ANOMALY_SEVERITIES:
            raise UsageError(f"{where}bad anomaly severity {severity!r}; "
                             "use 'warning' or 'critical'")
        metric = table.get("metric")
        if metric is not None and (not isinstance(metric, str) or not metric.strip()):
            raise UsageError(f"{where}'metric' must be an API metric name such as 'visitors'")
        return AnomalyRule(website, severity.strip().lower(),
                           metric.strip() if metric else None, name=name or None)
    severity = _check_severity(table.get("severity", "critical"), where)
    return silence_rule(table["silent_for"], severity, website, name or None, where)


def format_number(value: float) -> str:
    """`87.0` -> `87`, `12.5` -> `12.5` (perfdata wants plain decimal numbers)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def json_number(value: float | None) -> int | float | None:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 1e15 else value

