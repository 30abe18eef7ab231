"""Notification state: which alerts are firing, the events a run sends, and the state file.

The only I/O is reading and writing the state file (`load_state`, `save_state`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from zenovay_cli.alert.evaluation import Evaluation, RuleResult, as_number
from zenovay_cli.alert.rules import SILENCE, format_duration, format_number, json_number
from zenovay_cli.schema import parse_time  # the state file's stamps are written as the API's

STATE_VERSION = 1
# An alert that no run has evaluated for this long (rule deleted, website gone) is forgotten.
STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class Event:
    """A rule's alert changed state on one website: kind "firing" (started) or "resolved"."""

    kind: str
    fingerprint: str
    website: str
    metric: str | None  # None: an anomaly alert on every metric
    op: str
    threshold: float
    severity: str
    value: float | None
    time_range: str | None
    timestamp: str
    text: str
    since: str | None = None  # when the alert started firing

    def to_dict(self) -> dict[str, Any]:
        """The generic JSON notification body (what `zenovay_cli.notify` posts)."""
        return event_to_dict(self)


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "alerts": {}}


def _iso(now: datetime) -> str:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_text(kind: str, check: RuleResult, time_range: str | None) -> str:
    rule = check.rule
    name = f" [{rule.name}]" if rule.name else ""
    if rule.op == "anomaly":
        from zenovay_cli.alert.output import describe_anomaly

        if kind == "firing":
            return f"{rule.severity.upper()}: {check.website} {describe_anomaly(check)}{name}"
        return f"RESOLVED: {check.website} {describe_anomaly(check)} by Zenovay{name}"
    if rule.metric == SILENCE:
        limit = format_duration(rule.threshold)
        if check.value is None:
            return f"{rule.severity.upper()}: {check.website} silence unknown (limit {limit}){name}"
        ago = format_duration(check.value)
        if kind == "firing":
            return (f"{rule.severity.upper()}: {check.website} has had no visitor for {ago} "
                    f"(limit {limit}); is the tracker still installed?{name}")
        return (f"RESOLVED: {check.website} has visitors again: the newest came {ago} ago "
                f"(limit {limit}) ({rule.severity}){name}")
    condition = f"{rule.op} {format_number(rule.threshold)}"
    value = "unknown" if check.value is None else format_number(check.value)
    over = f" over {time_range}" if time_range else ""
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
        seen = parse_time(record.get("last_seen") if isinstance(record, Mapping) else None)
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
                "threshold": json_number(rule.threshold), "severity": rule.severity,
                "range": evaluation.time_range,
                "value": json_number(check.value), "since": since or stamp, "last_seen": stamp,
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
            if key is not None:
                successors.setdefault(key, check)
    for fp in list(alerts):
        record = alerts[fp]
        if fp in evaluated or fp not in previous_alerts:
            continue
        lineage = _lineage(record.get("website"), record.get("metric"), record.get("operator"),
                           record.get("severity"), record.get("range"))
        successor = successors.get(lineage) if lineage is not None else None
        threshold = as_number(record.get("threshold"))
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
        "value": json_number(event.value),
        "threshold": json_number(event.threshold),
        "operator": event.op,
        "range": event.time_range,
        "text": event.text,
        "timestamp": event.timestamp,
        "since": event.since,
    }


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str | None]:
    """Read the state file: returns (state, warning). Never raises; see parse_state."""
    path = Path(path)
    where = f"state file {path}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty_state(), None
    except OSError as exc:
        return parse_state(None, where, f"{exc.strerror or exc}")
    return parse_state(raw, where)


def parse_state(raw: bytes | None, where: str, problem: str | None = None) -> tuple[dict[str, Any], str | None]:
    """The state in a stored document (a file's bytes, a Redis value): returns (state, warning).

    Nothing stored (b"" or None without a problem) is a normal first run: (empty state, None). A
    document that cannot be read (`problem`), is not JSON or has the wrong shape is treated as
    empty and a warning is returned for stderr (documented choice: the check must still run; the
    cost is that alerts already firing are announced again, and resolutions of alerts recorded
    only there are not sent). Individual malformed alert records are dropped with a warning.
    `where` names the document in warnings ("state file PATH", "state in Redis at URL").
    """
    if problem is not None:
        return empty_state(), (f"cannot read alert {where} ({problem}); "
                               "treating it as empty, so firing alerts may be notified again")
    if not raw:
        return empty_state(), None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    alerts = doc.get("alerts") if isinstance(doc, dict) else None
    if (not isinstance(doc, dict) or doc.get("version") != STATE_VERSION
            or not isinstance(alerts, dict)):
        return empty_state(), (f"alert {where} is corrupt or from another version; "
                               "treating it as empty, so firing alerts may be notified again")
    kept = {fp: rec for fp, rec in alerts.items() if isinstance(fp, str) and isinstance(rec, dict)}
    warning = None
    if len(kept) != len(alerts):
        warning = (f"alert {where}: ignored {len(alerts) - len(kept)} malformed "
                   "record(s)")
    return {"version": STATE_VERSION, "alerts": kept}, warning


def save_state(path: str | os.PathLike[str], state: Mapping[str, Any]) -> None:
    """Write the state file atomically: temp file in the same folder, fsync, os.replace.

    The file is 0600 and a created folder 0700. Raises OSError if it cannot be written (the
    caller reports it as a warning; the check's result stands).
    """
    from zenovay_cli.fsutil import atomic_write

    atomic_write(path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8") + b"\n",
                 private=True, create_dir=True)
