"""Anomaly and silence rules: parsing, evaluation, plugin output, once-only transitions."""

from datetime import datetime, timedelta, timezone

import pytest

from zenovay_cli import alert
from zenovay_cli.alert.evaluation import silence_range, silence_seconds
from zenovay_cli.alert.rules import (
    AnomalyRule,
    format_duration,
    load_rules_file,
    parse_anomaly_option,
    parse_duration,
    silence_rule,
)
from zenovay_cli.errors import UsageError
from zenovay_cli.schema import newest_visit

NOW = datetime(2026, 6, 13, 12, tzinfo=timezone.utc)


def anomaly(id_, severity="warning", metric="visitors", resolved=False, expected=100, actual=160):
    return {"id": id_, "metric_name": metric, "expected_value": expected, "actual_value": actual,
            "deviation_percentage": round((actual - expected) / expected * 100, 2),
            "severity": severity, "detected_at": "2026-06-13T06:00:00.000Z",
            "is_resolved": resolved}


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("45m", 2700), ("2h", 7200),
                                          ("1d", 86400), ("1h30m", 5400), ("1.5h", 5400),
                                          (" 2H ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "h", "0h", "2 hours", "-1h", "2h foo", None, 7200])
def test_bad_durations_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (45, 7200, 11520, 90000, 0)] == [
        "45s", "2h", "3h 12m", "1d 1h", "0s"]


def test_anomaly_option_and_matching():
    rule = parse_anomaly_option("Warning")
    assert rule.matches("warning", "x") and rule.matches("critical", "x")
    assert not rule.matches("info", "x")
    only = parse_anomaly_option("critical", "bounce_rate")
    assert only.matches("critical", "bounce_rate") and not only.matches("critical", "visitors")
    assert not only.matches("warning", "bounce_rate")
    with pytest.raises(UsageError):
        parse_anomaly_option("info")


def test_rules_file_reads_anomaly_and_silence_rules(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nanomaly = "critical"\nmetric = "bounce_rate"\nwebsite = "a.io"\n'
                    '[[rule]]\nsilent_for = "2h"\n'
                    '[[rule]]\nsilent_for = "30m"\nseverity = "warning"\nname = "tracker"\n')
    first, second, third = load_rules_file(path)
    assert first == AnomalyRule("a.io", "critical", "bounce_rate")
    assert (second.metric, second.op, second.threshold, second.severity) == (
        "silence", ">=", 7200, "critical")
    assert (third.threshold, third.severity, third.name) == (1800, "warning", "tracker")


@pytest.mark.parametrize("body,word", [
    ('anomaly = "info"', "severity"), ('anomaly = "warning"\nthreshold = 3', "threshold"),
    ('silent_for = "soon"', "duration"), ('silent_for = "2h"\nmetric = "visitors"', "metric"),
])
def test_bad_special_rules_name_the_rule(tmp_path, body, word):
    path = tmp_path / "rules.toml"
    path.write_text("[[rule]]\n" + body + "\n")
    with pytest.raises(UsageError) as info:
        load_rules_file(path)
    assert "rule 1" in info.value.message and word in info.value.message


def test_open_anomalies_fire_with_their_own_severity_and_resolved_ones_do_not():
    items = [anomaly("anom_1", "warning"), anomaly("anom_2", "critical", "bounce_rate"),
             anomaly("anom_3", "critical", resolved=True), anomaly("anom_4", "info")]
    evaluation = alert.evaluate([parse_anomaly_option("warning")], {"a.io": {}},
                                anomalies={"a.io": items})
    assert evaluation.status is alert.Status.CRITICAL
    checks = {c.rule.anomaly_id: c for c in evaluation.checks}
    assert set(checks) == {"anom_1", "anom_2", "anom_3"}  # info is below the rule
    assert checks["anom_1"].status is alert.Status.WARNING and checks["anom_1"].firing
    assert checks["anom_3"].firing is False and checks["anom_3"].status is alert.Status.OK
    out = alert.format_plugin_output(evaluation)
    assert out.startswith("ZENOVAY CRITICAL - ")
    assert "'a.io open_anomalies'=2;;;0" in out
    site_line = out.split("\n")[1]
    assert "anom_" not in site_line  # ids are not shown; metric and figures are
    assert "anomaly in bounce_rate: 160 vs expected 100 (+60%)" in site_line
    assert site_line.count("anomaly in") == 2  # the resolved one is not listed


def test_no_open_anomalies_is_ok_and_says_so():
    evaluation = alert.evaluate([parse_anomaly_option("warning")], {"a.io": {}},
                                anomalies={"a.io": [anomaly("anom_1", resolved=True)]})
    assert evaluation.status is alert.Status.OK
    out = alert.format_plugin_output(evaluation)
    assert "a.io: OK - no open anomalies" in out and "'a.io open_anomalies'=0;;;0" in out


def test_an_anomaly_fetch_failure_is_unknown_never_ok():
    evaluation = alert.evaluate([parse_anomaly_option("warning")], {"a.io": {}},
                                anomalies={"a.io": RuntimeError("403 plan")})
    assert evaluation.status is alert.Status.UNKNOWN
    assert "could not fetch anomalies: 403 plan" in alert.format_plugin_output(evaluation)


def test_one_anomaly_matched_by_two_rules_is_one_alert():
    rules = [parse_anomaly_option("warning"), parse_anomaly_option("critical")]
    evaluation = alert.evaluate(rules, {"a.io": {}},
                                anomalies={"a.io": [anomaly("anom_1", "critical")]})
    assert len(evaluation.checks) == 1


def test_odd_anomaly_items_are_skipped():
    items = ["x", {"id": 3}, {**anomaly("anom_1"), "is_resolved": "no"}, anomaly("anom_2")]
    evaluation = alert.evaluate([parse_anomaly_option("warning")], {"a.io": {}},
                                anomalies={"a.io": items})
    assert [c.rule.anomaly_id for c in evaluation.checks] == ["anom_2"]


def _run(previous, rules, metrics=None, anomalies=None, when=NOW):
    evaluation = alert.evaluate(rules, {"a.io": metrics or {}}, time_range="24h",
                                anomalies=anomalies)
    return alert.transitions(previous, evaluation, when)


def test_an_anomaly_fires_once_and_resolves_once():
    rules = [parse_anomaly_option("warning")]
    events, state = _run(alert.empty_state(), rules, anomalies={"a.io": [anomaly("anom_1")]})
    assert [e.kind for e in events] == ["firing"]
    assert events[0].text.startswith("WARNING: a.io anomaly in visitors: 160 vs expected 100")
    events, state = _run(state, rules, anomalies={"a.io": [anomaly("anom_1")]})
    assert events == []
    events, state = _run(state, rules,
                         anomalies={"a.io": [anomaly("anom_1", resolved=True)]})
    assert [e.kind for e in events] == ["resolved"]
    assert events[0].text.startswith("RESOLVED: a.io anomaly in visitors")
    assert events[0].text.endswith("by Zenovay")
    events, state = _run(state, rules,
                         anomalies={"a.io": [anomaly("anom_1", resolved=True)]})
    assert events == [] and state["alerts"] == {}


def test_a_failed_anomaly_fetch_neither_fires_nor_resolves():
    rules = [parse_anomaly_option("warning")]
    _, state = _run(alert.empty_state(), rules, anomalies={"a.io": [anomaly("anom_1")]})
    events, after = _run(state, rules, anomalies={"a.io": RuntimeError("down")})
    assert events == [] and after["alerts"].keys() == state["alerts"].keys()


def test_silence_fires_once_and_resolves_once_with_readable_text():
    rules = [silence_rule("2h")]
    events, state = _run(alert.empty_state(), rules, metrics={"silence": 11520})
    assert [e.kind for e in events] == ["firing"]
    assert events[0].text == ("CRITICAL: a.io has had no visitor for 3h 12m (limit 2h); "
                              "is the tracker still installed?")
    assert _run(state, rules, metrics={"silence": 20000})[0] == []
    events, state = _run(state, rules, metrics={"silence": 300})
    assert [e.kind for e in events] == ["resolved"]
    assert "has visitors again: the newest came 5m ago" in events[0].text
    assert _run(state, rules, metrics={"silence": 300})[0] == []


def test_silence_plugin_output_and_perfdata_in_seconds():
    evaluation = alert.evaluate([silence_rule("2h")], {"a.io": {"silence": 11520}})
    out = alert.format_plugin_output(evaluation)
    assert out.startswith("ZENOVAY CRITICAL - a.io silence 3h 12m >= 2h (critical)")
    assert "'a.io silence'=11520s;;@7200:;0" in out


def test_silence_is_measured_from_the_newest_visitor():
    visitors = {"visitors": [{"visited_at": "2026-06-13T10:30:00Z"},
                             {"visited_at": "2026-06-13T09:00:00.000Z"}]}
    assert silence_seconds(newest_visit(visitors), NOW, 86400) == 5400
    assert silence_seconds(newest_visit({"visitors": []}), NOW, 86400) == 86400
    future = (NOW + timedelta(hours=1)).isoformat()
    assert silence_seconds(future, NOW, 86400) == 0
    assert silence_seconds("junk", NOW, 86400) is None
    assert newest_visit({"visitors": [{"x": 1}, {"visited_at": "t"}]}) == "t"
    assert silence_range(7200) == ("24h", 86400) and silence_range(86400)[0] == "7d"
