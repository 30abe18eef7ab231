"""Pure alert logic: rules, evaluation, plugin output, notification state and payloads.

Nothing here talks to the network or the terminal. The only I/O is reading a rules file
(`load_rules_file`) and reading/writing the state file (`load_state`, `save_state`), kept in the
"State file" section at the end so the rest stays pure.

Flow for `zenovay alert` (the command module owns the fetching and printing)::

    rules = [parse_rule_expr(e, "warning") for e in warn] + load_rules_file(path) ...
    results = {site: metrics_from_analytics(client.get_analytics(id, "24h")) or the Exception}
    evaluation = evaluate(rules, results, time_range="24h")
    print(format_plugin_output(evaluation)); exit(evaluation.exit_code)
    previous, warning = load_state(state_path)
    events, new_state = transitions(previous, evaluation, now)
    ... deliver build_payload(event, url) for each event and url (zenovay_cli.notify) ...
    save_state(state_path, revert_undelivered(new_state, previous, failed_fingerprints))

Worst-of order (documented choice): CRITICAL > WARNING > UNKNOWN > OK, the monitoring-plugins
`max_state_alt` order. A real breach on one website outranks another website that could not be
fetched, but a failed fetch never lets the run report OK; and the tool's own failures only ever
produce UNKNOWN, never CRITICAL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zenovay_cli.errors import UsageError

# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

METRICS = ("visitors", "page_views", "unique_visitors")
# Accepted spellings -> canonical metric. The API's own summary names are accepted too.
METRIC_ALIASES = {
    "visitors": "visitors",
    "page_views": "page_views",
    "unique_visitors": "unique_visitors",
    "total_visitors": "visitors",
    "total_page_views": "page_views",
}
OPERATORS = ("<", "<=", ">", ">=")
SEVERITIES = ("warning", "critical")
DIRECTIONS = {"above": ">", "below": "<"}

_RULE_KEYS_REQUIRED = ("metric", "threshold", "direction", "severity")
_RULE_KEYS_OPTIONAL = ("website", "name")

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


def load_rules_file(path: str | os.PathLike[str]) -> list[Rule]:
    """Read a TOML rules file of `[[rule]]` tables.

    Each table: `metric` (see METRIC_ALIASES), `threshold` (number), `direction` ("above" means
    `>`, "below" means `<`), `severity` ("warning"|"critical"), optional `website` (id or domain;
    omitted or "*" means every website checked) and optional `name`. Unknown keys are refused
    so a typo (`severty`) is not silently ignored. Raises UsageError naming the file and the
    1-based rule number for an unreadable file, invalid TOML, a missing key or a bad value.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

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
    rules = []
    for index, table in enumerate(tables, start=1):
        where = f"rules file {path}, rule {index}: "
        if not isinstance(table, dict):
            raise UsageError(f"{where}expected a [[rule]] table")
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


# ---------------------------------------------------------------------------------------------
# Metrics from the API
# ---------------------------------------------------------------------------------------------

# Where each canonical metric may be found: newest snake_case first, then the old camelCase.
_METRIC_KEYS = {
    "visitors": ("total_visitors", "totalVisitors", "visitors"),
    "page_views": ("total_page_views", "totalPageViews", "page_views", "pageViews", "pageviews"),
    "unique_visitors": ("unique_visitors", "uniqueVisitors"),
}


def _as_number(value: Any) -> float | None:
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
    for metric, keys in _METRIC_KEYS.items():
        for place in places:
            found = next((_as_number(place[k]) for k in keys if k in place), None)
            if found is not None:
                metrics[metric] = found
                break
    return metrics


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


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

    rule: Rule
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
    rules: Sequence[Rule],
    results: Mapping[str, Mapping[str, float] | BaseException],
    *,
    time_range: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Evaluation:
    """Check every rule against the fetched metrics.

    results: website key -> its metrics (from metrics_from_analytics) or the Exception its fetch
        raised. The key is what the output shows (use the domain). A rule with `website=None`
        applies to every key; a rule naming a website applies to the key equal to its website or
        to `aliases[rule.website]` (so a rule naming a website id can match a result keyed by
        domain). A rule naming a website absent from `results` is reported UNKNOWN.
    A failed fetch makes its website's rules UNKNOWN; a missing metric makes that rule UNKNOWN.
    Duplicate rules (same fingerprint) are checked once. No rules, or no websites, is UNKNOWN.
    """
    aliases = aliases or {}
    unique: dict[str, Rule] = {}
    for rule in rules:
        unique.setdefault(rule.fingerprint, rule)
    rules = list(unique.values())

    if not rules:
        return Evaluation(Status.UNKNOWN, [], time_range, problem="no rules to check")

    def applies(rule: Rule, key: str) -> bool:
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
            if not applies(rule, key):
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
        status = Status.UNKNOWN if error else worst(c.status for c in checks)
        sites.append(WebsiteResult(key, status, metrics, checks, error))
    return Evaluation(worst(s.status for s in sites), sites, time_range)


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def format_number(value: float) -> str:
    """`87.0` -> `87`, `12.5` -> `12.5` (perfdata wants plain decimal numbers)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _json_number(value: float | None) -> int | float | None:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _clean(text: str) -> str:
    """One line of safe text: control/format characters become spaces, `|` (the perfdata
    separator) becomes `/`. Website names and error messages come from untrusted input."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(" ")
        elif ch == "|":
            out.append("/")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def perf_label(website: str, metric: str) -> str:
    """A quoted perfdata label, e.g. `'mysite.com visitors'`.

    The plugin guidelines forbid `'` and `=` inside labels and `;` would break parsing: these
    become `_`. `|` becomes `/` and control characters spaces, as everywhere in the output.
    """
    label = re.sub(r"['=;]", "_", _clean(f"{website} {metric}"))
    return f"'{label}'"


def perf_range(op: str, threshold: float) -> str:
    """The plugin-guidelines range that alerts exactly when `value op threshold`.

    `<100` -> `100:` (alert below 100), `<=100` -> `@~:100`, `>100` -> `~:100`, `>=100` -> `@100:`.
    """
    number = format_number(threshold)
    return {"<": f"{number}:", "<=": f"@~:{number}", ">": f"~:{number}", ">=": f"@{number}:"}[op]


def _perfdata(site: WebsiteResult) -> list[str]:
    items = []
    for metric in METRICS:
        checks = [c for c in site.checks if c.rule.metric == metric]
        if not checks:
            continue
        fields = []
        for severity in SEVERITIES:
            ranges = {perf_range(c.rule.op, c.rule.threshold)
                      for c in checks if c.rule.severity == severity}
            # Perfdata holds one threshold per level; with several it would mislead, so omit.
            fields.append(ranges.pop() if len(ranges) == 1 else "")
        value = site.metrics.get(metric)
        shown = "U" if value is None else format_number(value)
        items.append(f"{perf_label(site.website, metric)}={shown};{fields[0]};{fields[1]};0")
    return items


def _describe(check: RuleResult) -> str:
    rule = check.rule
    condition = f"{rule.op} {format_number(rule.threshold)}"
    if check.firing is None:
        return f"{rule.metric} unknown ({check.reason})"
    value = format_number(check.value)  # type: ignore[arg-type]
    if check.firing:
        return f"{rule.metric} {value} {condition} ({rule.severity})"
    return f"{rule.metric} {value} ok ({rule.severity} if {condition})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _summary(evaluation: Evaluation) -> str:
    if evaluation.problem:
        return evaluation.problem
    checks = evaluation.checks
    if evaluation.status is Status.OK:
        return (f"{_plural(len(checks), 'check')} OK on "
                f"{_plural(len(evaluation.websites), 'website')}")
    parts: list[str] = []
    for status in (Status.CRITICAL, Status.WARNING, Status.UNKNOWN):
        for site in evaluation.websites:
            if site.error is not None:
                if status is Status.UNKNOWN:
                    parts.append(f"{site.website} unknown: {site.error}")
                continue
            for check in site.checks:
                if check.status is not status:
                    continue
                if status is Status.WARNING and any(
                    c.status is Status.CRITICAL and c.rule.metric == check.rule.metric
                    for c in site.checks
                ):
                    continue  # the critical breach of the same metric already says it
                parts.append(f"{site.website} {_describe(check)}")
    return ", ".join(parts)


def format_plugin_output(evaluation: Evaluation) -> str:
    """Monitoring-plugin output (no trailing newline).

    Line 1: `ZENOVAY <STATUS> - <summary> | <perfdata>` where perfdata is one
    `'<website> <metric>'=<value>;<warn>;<crit>;0` per website and metric with a rule (value `U`
    when unknown; warn/crit in the guidelines' range syntax, empty when not exactly one rule).
    Then one line per website: `<website>: <STATUS> - <each rule's result>`.
    """
    perf = [item for site in evaluation.websites for item in _perfdata(site)]
    first = f"ZENOVAY {evaluation.status.name} - {_clean(_summary(evaluation))}"
    if perf:
        first += " | " + " ".join(perf)
    lines = [first]
    for site in evaluation.websites:
        if site.error is not None:
            detail = f"could not fetch analytics: {site.error}"
        elif not site.checks:
            detail = "no rules apply"
        else:
            detail = "; ".join(_describe(c) for c in site.checks)
        lines.append(_clean(f"{site.website}: {site.status.name} - {detail}"))
    return "\n".join(lines)


def format_unknown(message: str) -> str:
    """The one-line UNKNOWN output for a run that could not evaluate at all (bad arguments,
    unreadable rules file, auth error, API unreachable). Exit with Status.UNKNOWN (3)."""
    return f"ZENOVAY UNKNOWN - {_clean(message)}"


def evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as plain data for `--json` (json.dumps-able)::

        {"status": "CRITICAL", "exit_code": 2, "range": "24h", "summary": "...",
         "websites": [{"website", "status", "error", "metrics": {...},
                       "checks": [{"fingerprint", "rule", "metric", "operator", "threshold",
                                   "severity", "value", "firing", "status", "reason"}]}]}
    """
    return {
        "status": evaluation.status.name,
        "exit_code": evaluation.exit_code,
        "range": evaluation.time_range,
        "summary": _clean(_summary(evaluation)),
        "websites": [
            {
                "website": site.website,
                "status": site.status.name,
                "error": site.error,
                "metrics": {k: _json_number(v) for k, v in site.metrics.items()},
                "checks": [
                    {
                        "fingerprint": c.fingerprint,
                        "rule": c.rule.label,
                        "metric": c.rule.metric,
                        "operator": c.rule.op,
                        "threshold": _json_number(c.rule.threshold),
                        "severity": c.rule.severity,
                        "value": _json_number(c.value),
                        "firing": c.firing,
                        "status": c.status.name,
                        "reason": c.reason,
                    }
                    for c in site.checks
                ],
            }
            for site in evaluation.websites
        ],
    }


# ---------------------------------------------------------------------------------------------
# State changes and notification payloads
# ---------------------------------------------------------------------------------------------

STATE_VERSION = 1
# An alert that no run has evaluated for this long (rule deleted, website gone) is forgotten.
STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class Event:
    """A rule's alert changed state on one website: kind "firing" (started) or "resolved"."""

    kind: str
    fingerprint: str
    website: str
    metric: str
    op: str
    threshold: float
    severity: str
    value: float | None
    time_range: str | None
    timestamp: str
    text: str
    since: str | None = None  # when the alert started firing


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "alerts": {}}


def _iso(now: datetime) -> str:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _event_text(kind: str, check: RuleResult, time_range: str | None) -> str:
    rule = check.rule
    condition = f"{rule.op} {format_number(rule.threshold)}"
    value = "unknown" if check.value is None else format_number(check.value)
    over = f" over {time_range}" if time_range else ""
    name = f" [{rule.name}]" if rule.name else ""
    if kind == "firing":
        return (f"{rule.severity.upper()}: {check.website} {rule.metric} is {value}{over} "
                f"({condition}){name}")
    return (f"RESOLVED: {check.website} {rule.metric} is {value}{over}, no longer {condition} "
            f"({rule.severity}){name}")


def transitions(
    previous_state: Mapping[str, Any], evaluation: Evaluation, now: datetime
) -> tuple[list[Event], dict[str, Any]]:
    """Events to send and the state to save after this run.

    An alert (rule fingerprint on a website) not recorded as firing that now fires -> a "firing"
    event; one recorded as firing that no longer fires -> a "resolved" event; still firing -> no
    event. UNKNOWN (failed fetch, missing metric) neither fires nor resolves: the recorded state
    is kept. Alerts this run did not evaluate (another invocation's websites or rules sharing the
    state file) are kept untouched, and forgotten after STALE_AFTER without being evaluated.

    One exception: editing a firing rule's threshold makes a new rule (a new fingerprint), and
    the old alert would then stay open at the receiver for ever. So a firing alert this run did
    not evaluate is resolved as "replaced" when this run evaluated a rule with the same website,
    metric, direction (< and <= are "below", > and >= "above"), severity and range.
    The new state assumes every event is delivered; see revert_undelivered.
    """
    previous_alerts = previous_state.get("alerts") if isinstance(previous_state, Mapping) else None
    previous_alerts = previous_alerts if isinstance(previous_alerts, Mapping) else {}
    stamp = _iso(now)
    alerts: dict[str, Any] = {}
    for fingerprint, record in previous_alerts.items():
        seen = _parse_iso(record.get("last_seen") if isinstance(record, Mapping) else None)
        if seen is None or now.astimezone(timezone.utc) - seen <= STALE_AFTER:
            alerts[fingerprint] = dict(record) if isinstance(record, Mapping) else {}

    events: list[Event] = []
    for check in evaluation.checks:
        fp = check.fingerprint
        rule = check.rule
        was_firing = fp in previous_alerts
        if check.firing is None:
            if fp in alerts:
                alerts[fp]["last_seen"] = stamp
            continue
        if check.firing:
            since = alerts.get(fp, {}).get("since") if was_firing else stamp
            alerts[fp] = {
                "website": check.website, "metric": rule.metric, "operator": rule.op,
                "threshold": _json_number(rule.threshold), "severity": rule.severity,
                "range": evaluation.time_range,
                "value": _json_number(check.value), "since": since or stamp, "last_seen": stamp,
            }
            if not was_firing:
                events.append(_event("firing", check, evaluation.time_range, stamp, stamp))
        elif was_firing:
            record = alerts.pop(fp, {})
            events.append(_event("resolved", check, evaluation.time_range, stamp,
                                 record.get("since") if isinstance(record, Mapping) else None))

    replaced: list[Event] = []
    evaluated = {check.fingerprint for check in evaluation.checks}
    successors: dict[tuple, RuleResult] = {}
    for check in evaluation.checks:
        if check.firing is not None:
            rule = check.rule
            key = _lineage(check.website, rule.metric, rule.op, rule.severity,
                           evaluation.time_range)
            successors.setdefault(key, check)
    for fp in list(alerts):
        record = alerts[fp]
        if fp in evaluated or fp not in previous_alerts:
            continue
        successor = successors.get(_lineage(
            record.get("website"), record.get("metric"), record.get("operator"),
            record.get("severity"), record.get("range")))
        threshold = _as_number(record.get("threshold"))
        if successor is None or threshold is None:
            continue
        del alerts[fp]
        replaced.append(_replaced_event(fp, record, threshold, successor, evaluation.time_range,
                                        stamp))
    # The old alert's resolution reads better before the new rule's first message.
    return replaced + events, {"version": STATE_VERSION, "alerts": alerts}


def _lineage(website: Any, metric: Any, op: Any, severity: Any, time_range: Any) -> tuple | None:
    """What a rule watches, whatever its threshold: (website, metric, direction, severity, range)."""
    direction = {"<": "below", "<=": "below", ">": "above", ">=": "above"}.get(op)
    if direction is None or not isinstance(website, str):
        return None
    return (website, metric, direction, severity, time_range)


def _replaced_event(fingerprint: str, record: Mapping[str, Any], threshold: float,
                    successor: RuleResult, time_range: str | None, stamp: str) -> Event:
    rule = successor.rule
    value = "unknown" if successor.value is None else format_number(successor.value)
    over = f" over {time_range}" if time_range else ""
    text = (f"RESOLVED: {successor.website} {rule.metric} {record['operator']} "
            f"{format_number(threshold)} ({rule.severity}) was replaced by {rule.op} "
            f"{format_number(rule.threshold)}; {rule.metric} is {value}{over}")
    since = record.get("since") if isinstance(record.get("since"), str) else None
    return Event("resolved", fingerprint, successor.website, rule.metric, record["operator"],
                 threshold, rule.severity, successor.value, time_range, stamp, text, since)


def _event(kind: str, check: RuleResult, time_range: str | None, stamp: str,
           since: str | None) -> Event:
    rule = check.rule
    return Event(kind, check.fingerprint, check.website, rule.metric, rule.op, rule.threshold,
                 rule.severity, check.value, time_range, stamp,
                 _event_text(kind, check, time_range), since)


def revert_undelivered(
    new_state: Mapping[str, Any], previous_state: Mapping[str, Any], fingerprints: Sequence[str]
) -> dict[str, Any]:
    """The state to save when the events with these fingerprints were not delivered everywhere.

    Their alerts go back to the previous record, so the next run sends them again (a missed
    "firing" fires again, a missed "resolved" resolves again). Delivery is at-least-once: an
    endpoint that did receive the event may receive it again.
    """
    alerts = dict(new_state.get("alerts", {}))
    previous = previous_state.get("alerts", {}) if isinstance(previous_state, Mapping) else {}
    for fp in fingerprints:
        if fp in previous:
            alerts[fp] = previous[fp]
        else:
            alerts.pop(fp, None)
    return {"version": STATE_VERSION, "alerts": alerts}


def event_to_dict(event: Event) -> dict[str, Any]:
    """The generic JSON notification body (also handy for --json / --dry-run output)."""
    return {
        "event": event.kind,
        "fingerprint": event.fingerprint,
        "severity": event.severity,
        "website": event.website,
        "metric": event.metric,
        "value": _json_number(event.value),
        "threshold": _json_number(event.threshold),
        "operator": event.op,
        "range": event.time_range,
        "text": event.text,
        "timestamp": event.timestamp,
        "since": event.since,
    }


SIGNATURE_HEADER = "X-Zenovay-Signature"
TIMESTAMP_HEADER = "X-Zenovay-Timestamp"
# `slack+https://chat.example.com/hooks/…`: Slack's shape for a Slack-compatible webhook on
# another host (Mattermost, Rocket.Chat, a relay). The prefix is removed before posting.
SLACK_PREFIX = "slack+"


def webhook_target(url: str) -> str:
    """The URL to POST to: `url` without a `slack+` prefix."""
    if url[:len(SLACK_PREFIX)].lower() == SLACK_PREFIX:
        return url[len(SLACK_PREFIX):]
    return url


def is_slack_webhook(url: str) -> bool:
    """True for Slack incoming-webhook URLs (https://hooks.slack.com/services/…) and for any
    URL written with the `slack+` prefix (`slack+https://…`)."""
    if webhook_target(url) != url:
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and (parts.hostname or "") in ("hooks.slack.com", "hooks.slack-gov.com")
        and parts.path.startswith("/services/")
    )


def _slack_escape(text: str) -> str:
    # Slack treats <, > and & as markup (links, mentions); its docs ask for these three escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Signature header value: `sha256=` + hex HMAC-SHA256(secret, f"{timestamp}." + body).

    The receiver recomputes it from the raw body and the X-Zenovay-Timestamp header, compares
    with hmac.compare_digest, and rejects old timestamps (e.g. > 5 minutes) to stop replays.
    """
    if not secret:
        raise UsageError("the notification secret must not be empty")
    mac = hmac.new(secret.encode("utf-8"), str(int(timestamp)).encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def build_payload(
    event: Event, url: str, *, secret: str | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The POST body and headers for one event and one URL.

    Slack incoming webhooks get `{"text": …}`; any other URL gets event_to_dict(event) as JSON.
    With a secret, adds `X-Zenovay-Timestamp: <unix seconds>` (timestamp, default now) and
    `X-Zenovay-Signature: sha256=<hex>` (see sign).
    """
    from zenovay_cli import __version__

    if is_slack_webhook(url):
        document: dict[str, Any] = {"text": _slack_escape(event.text)}
    else:
        document = event_to_dict(event)
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"zenovay-cli/{__version__}",
    }
    if secret is not None:
        if timestamp is None:
            import time

            timestamp = int(time.time())
        headers[TIMESTAMP_HEADER] = str(int(timestamp))
        headers[SIGNATURE_HEADER] = sign(body, secret, timestamp)
    return body, headers


# ---------------------------------------------------------------------------------------------
# State file (the only file I/O besides load_rules_file)
# ---------------------------------------------------------------------------------------------


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str | None]:
    """Read the state file: returns (state, warning).

    A missing file is a normal first run: (empty state, None). A file that cannot be read, is
    not JSON or has the wrong shape is treated as empty and a warning is returned for stderr
    (documented choice: the check must still run; the cost is that alerts already firing are
    announced again, and resolutions of alerts recorded only there are not sent). Individual
    malformed alert records are dropped with a warning. Never raises.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty_state(), None
    except OSError as exc:
        return empty_state(), (f"cannot read alert state file {path} ({exc.strerror or exc}); "
                               "treating it as empty, so firing alerts may be notified again")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    alerts = doc.get("alerts") if isinstance(doc, dict) else None
    if (not isinstance(doc, dict) or doc.get("version") != STATE_VERSION
            or not isinstance(alerts, dict)):
        return empty_state(), (f"alert state file {path} is corrupt or from another version; "
                               "treating it as empty, so firing alerts may be notified again")
    kept = {fp: rec for fp, rec in alerts.items() if isinstance(fp, str) and isinstance(rec, dict)}
    warning = None
    if len(kept) != len(alerts):
        warning = (f"alert state file {path}: ignored {len(alerts) - len(kept)} malformed "
                   "record(s)")
    return {"version": STATE_VERSION, "alerts": kept}, warning


def save_state(path: str | os.PathLike[str], state: Mapping[str, Any]) -> None:
    """Write the state file atomically: temp file in the same folder, fsync, os.replace.

    The file is 0600 and a created folder 0700. Raises OSError if it cannot be written (the
    caller reports it as a warning; the check's result stands).
    """
    from zenovay_cli.fsutil import write_private

    write_private(path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8") + b"\n")
