"""What a check prints: monitoring-plugin lines with perfdata, and the `--json` document."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from zenovay_cli.alert.evaluation import Evaluation, RuleResult, Status, WebsiteResult
from zenovay_cli.alert.rules import (
    METRICS,
    SEVERITIES,
    SILENCE,
    AnomalyAlert,
    format_duration,
    format_number,
    json_number,
)


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
        checks = [c for c in site.checks if c.rule.metric == metric and c.rule.op != "anomaly"]
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
        unit = "s" if metric == SILENCE else ""
        items.append(f"{perf_label(site.website, metric)}={shown}{unit};{fields[0]};{fields[1]};0")
    if site.open_anomalies is not None:
        items.append(f"{perf_label(site.website, 'open_anomalies')}={site.open_anomalies};;;0")
    elif any(c.rule.op == "anomaly" for c in site.checks):
        items.append(f"{perf_label(site.website, 'open_anomalies')}=U;;;0")
    return items


def show_value(metric: str, value: float) -> str:
    """A metric's value as people read it: the silence as a duration, the rest as numbers."""
    return format_duration(value) if metric == SILENCE else format_number(value)


def describe_anomaly(check: RuleResult) -> str:
    rule = check.rule
    deviation = getattr(rule, "deviation", None)
    change = f" ({deviation:+g}%)" if deviation is not None else ""
    value = "?" if check.value is None else format_number(check.value)
    text = (f"anomaly in {rule.metric}: {value} vs expected {format_number(rule.threshold)}"
            f"{change}, detected {getattr(rule, 'detected_at', '') or 'at an unknown time'}")
    return text + (f" ({rule.severity})" if check.firing else f" resolved ({rule.severity})")


def _describe(check: RuleResult) -> str:
    rule = check.rule
    if rule.op == "anomaly":
        if check.firing is None:
            return f"{rule.expr} unknown ({check.reason})"
        return describe_anomaly(check)
    condition = f"{rule.op} {show_value(rule.metric or '', rule.threshold)}"  # a threshold rule
    if check.firing is None:
        return f"{rule.metric} unknown ({check.reason})"
    value = show_value(rule.metric, check.value)  # type: ignore[arg-type]
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
        elif not site.checks and site.open_anomalies is None:
            detail = "no rules apply"
        else:
            # Resolved anomalies are not news: only open ones are listed, with their count.
            shown = [c for c in site.checks if not (c.rule.op == "anomaly" and c.firing is False)]
            parts = [_describe(c) for c in shown]
            if site.open_anomalies == 0:
                parts.append("no open anomalies")
            detail = "; ".join(parts)
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
                "metrics": {k: json_number(v) for k, v in site.metrics.items()},
                "open_anomalies": site.open_anomalies,
                "checks": [
                    {
                        "fingerprint": c.fingerprint,
                        "rule": c.rule.label,
                        "metric": c.rule.metric,
                        "operator": c.rule.op,
                        "threshold": json_number(c.rule.threshold),
                        "severity": c.rule.severity,
                        "value": json_number(c.value),
                        "firing": c.firing,
                        "status": c.status.name,
                        "reason": c.reason,
                        **({"anomaly_id": c.rule.anomaly_id, "detected_at": c.rule.detected_at,
                            "deviation_percentage": c.rule.deviation}
                           if isinstance(c.rule, AnomalyAlert) else {}),
                    }
                    for c in site.checks
                ],
            }
            for site in evaluation.websites
        ],
    }
