"""Alert rules, evaluation, plugin output, state transitions, payloads and the state file."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from zenovay_cli.alert import (
    Rule,
    Status,
    evaluate,
    evaluation_to_json,
    format_plugin_output,
    format_unknown,
    load_rules_file,
    load_state,
    metrics_from_analytics,
    parse_rule_expr,
    perf_range,
    revert_undelivered,
    save_state,
    transitions,
)
from zenovay_cli.errors import UsageError
from zenovay_cli.notify import build_payload, is_slack_webhook, sign, webhook_target

NOW = datetime(2026, 6, 13, 12, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=1)

WARN = parse_rule_expr("visitors<200", "warning")
CRIT = parse_rule_expr("visitors<100", "critical")


def run(results, rules=(WARN, CRIT), **kw):
    return evaluate(list(rules), results, time_range="24h", **kw)


# --- rule expressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, metric, op, threshold",
    [
        ("visitors<200", "visitors", "<", 200.0),
        ("  page_views >= 1e4 ", "page_views", ">=", 10000.0),
        ("unique_visitors<=12.5", "unique_visitors", "<=", 12.5),
        ("total_visitors>-3", "visitors", ">", -3.0),
        ("total_page_views>5", "page_views", ">", 5.0),
        ("Visitors<1", "visitors", "<", 1.0),
    ],
)
def test_rule_expressions_parse_to_canonical_rules(expr, metric, op, threshold):
    rule = parse_rule_expr(expr, "critical")
    assert (rule.website, rule.metric, rule.op, rule.threshold, rule.severity) == (
        None, metric, op, threshold, "critical")


def test_unknown_metric_lists_the_valid_metrics():
    with pytest.raises(UsageError) as err:
        parse_rule_expr("visits<100", "warning")
    message = str(err.value)
    assert "unknown metric 'visits'" in message
    for name in ("visitors", "page_views", "unique_visitors", "total_visitors", "total_page_views"):
        assert name in message


@pytest.mark.parametrize("expr", ["visitors=100", "visitors==100", "visitors=<100", "visitors!=1",
                                  "visitors<<1"])
def test_bad_operator_is_a_usage_error_naming_the_operators(expr):
    with pytest.raises(UsageError, match=r"bad operator .*use one of < <= > >="):
        parse_rule_expr(expr, "warning")


@pytest.mark.parametrize("expr", ["visitors<abc", "visitors<nan", "visitors<inf", "visitors<1,000"])
def test_threshold_that_is_not_a_finite_number_is_refused(expr):
    with pytest.raises(UsageError, match="is not a number"):
        parse_rule_expr(expr, "warning")


@pytest.mark.parametrize("expr", ["", "visitors", "visitors<", "<100", "visitors 100"])
def test_incomplete_expression_says_what_is_expected(expr):
    with pytest.raises(UsageError, match="expected METRIC OPERATOR NUMBER"):
        parse_rule_expr(expr, "warning")


def test_unknown_severity_is_refused():
    with pytest.raises(UsageError, match="bad severity"):
        parse_rule_expr("visitors<1", "info")


def test_fingerprint_ignores_spelling_but_not_meaning():
    base = parse_rule_expr("visitors<100", "critical")
    assert parse_rule_expr("total_visitors < 100.0", "critical").fingerprint == base.fingerprint
    others = [
        parse_rule_expr("visitors<101", "critical"),
        parse_rule_expr("visitors<=100", "critical"),
        parse_rule_expr("visitors<100", "warning"),
        parse_rule_expr("page_views<100", "critical"),
        parse_rule_expr("visitors<100", "critical", website="mysite.com"),
    ]
    assert len({base.fingerprint, *(r.fingerprint for r in others)}) == 6


def test_fingerprint_is_stable_across_versions():
    # State files written by earlier versions must keep matching: changing this re-fires alerts.
    assert Rule("mysite.com", "visitors", "<", 100, "critical").fingerprint == "04a06fa3d7606e7b"


def test_rule_label_names_website_condition_and_severity():
    rule = parse_rule_expr("visitors<100", "critical", website="mysite.com")
    assert rule.label == "mysite.com visitors<100 (critical)"


# --- rules file -----------------------------------------------------------------------------

EXAMPLE_RULES = """
[[rule]]
website = "mysite.com"
metric = "total_visitors"
threshold = 100
direction = "below"
severity = "critical"

[[rule]]
website = "shop.example"
metric = "page_views"
threshold = 5000.5
direction = "above"
severity = "warning"
name = "traffic surge"

[[rule]]
metric = "unique_visitors"
threshold = 10
direction = "below"
severity = "warning"
"""


def write(tmp_path, text, name="rules.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_file_in_zenovays_shape_loads(tmp_path):
    rules = load_rules_file(write(tmp_path, EXAMPLE_RULES))
    assert [(r.website, r.metric, r.op, r.threshold, r.severity) for r in rules] == [
        ("mysite.com", "visitors", "<", 100.0, "critical"),
        ("shop.example", "page_views", ">", 5000.5, "warning"),
        (None, "unique_visitors", "<", 10.0, "warning"),
    ]
    assert rules[1].name == "traffic surge"


BASE = 'metric = "visitors"\nthreshold = 1\ndirection = "below"\nseverity = "warning"\n'


@pytest.mark.parametrize(
    "second_rule, message",
    [
        ('metric = "visitors"\nthreshold = 1\ndirection = "below"\n', "missing key 'severity'"),
        (BASE.replace('"below"', '"under"'), "bad direction 'under'"),
        (BASE.replace("threshold = 1", 'threshold = "1"'), "threshold must be a number"),
        (BASE.replace("threshold = 1", "threshold = true"), "threshold must be a number"),
        (BASE.replace('"visitors"', '"bounce_rate"'), "unknown metric 'bounce_rate'"),
        (BASE.replace('"warning"', '"page"'), "bad severity 'page'"),
        (BASE + "severty = 'critical'\n", "unknown key 'severty'"),
        (BASE + 'website = ""\n', "'website' must be a non-empty string"),
    ],
)
def test_bad_rule_in_file_names_file_and_rule_number(tmp_path, second_rule, message):
    path = write(tmp_path, f"[[rule]]\n{BASE}\n[[rule]]\n{second_rule}")
    with pytest.raises(UsageError) as err:
        load_rules_file(path)
    assert f"rules file {path}, rule 2: " in str(err.value)
    assert message in str(err.value)


def test_rules_file_that_is_not_toml_is_a_usage_error(tmp_path):
    path = write(tmp_path, "[[rule]\nmetric = ")
    with pytest.raises(UsageError, match=f"rules file {path} is not valid TOML"):
        load_rules_file(path)


def test_missing_rules_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read rules file .*nope.toml"):
        load_rules_file(tmp_path / "nope.toml")


def test_rules_file_without_rules_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"has no \[\[rule\]\] tables"):
        load_rules_file(write(tmp_path, "title = 'x'\n"))


# --- metrics --------------------------------------------------------------------------------


def test_metrics_come_from_the_newest_summary_shape():
    data = {"website": {"id": "a1", "domain": "mysite.com", "name": "My"}, "time_range": "24h",
            "summary": {"total_visitors": 1247, "total_page_views": 3891, "unique_visitors": 982},
            "daily_stats": []}
    assert metrics_from_analytics(data) == {"visitors": 1247, "page_views": 3891,
                                            "unique_visitors": 982}


def test_metrics_come_from_the_old_camelcase_shape():
    data = {"timeRange": "24h", "totalVisitors": 12, "totalPageViews": 40, "bounceRate": 0.4}
    assert metrics_from_analytics(data) == {"visitors": 12, "page_views": 40}


def test_metrics_tolerate_the_envelope_and_bad_values():
    data = {"success": True, "data": {"summary": {"total_visitors": "15", "total_page_views": None,
                                                  "unique_visitors": True}}}
    assert metrics_from_analytics(data) == {"visitors": 15.0}
    assert metrics_from_analytics(None) == {}
    assert metrics_from_analytics({"summary": "oops"}) == {}


# --- evaluation -----------------------------------------------------------------------------


def test_no_rule_breached_is_ok_exit_0():
    ev = run({"mysite.com": {"visitors": 250}})
    assert ev.status is Status.OK and ev.exit_code == 0
    assert [c.firing for c in ev.checks] == [False, False]


def test_warning_threshold_breached_is_warning_exit_1():
    ev = run({"mysite.com": {"visitors": 150}})
    assert ev.status is Status.WARNING and ev.exit_code == 1
    assert [c.firing for c in ev.checks] == [True, False]


def test_critical_threshold_breached_is_critical_exit_2():
    ev = run({"mysite.com": {"visitors": 87}})
    assert ev.status is Status.CRITICAL and ev.exit_code == 2
    assert [c.firing for c in ev.checks] == [True, True]


def test_failed_fetch_is_unknown_exit_3_never_critical():
    ev = run({"mysite.com": ConnectionError("API unreachable")})
    assert ev.status is Status.UNKNOWN and ev.exit_code == 3
    assert [c.firing for c in ev.checks] == [None, None]
    assert ev.websites[0].error == "API unreachable"


def test_missing_metric_makes_that_rule_unknown():
    ev = run({"mysite.com": {"visitors": 500}},
             rules=[WARN, parse_rule_expr("unique_visitors<5", "critical")])
    assert ev.status is Status.UNKNOWN
    assert [c.status for c in ev.checks] == [Status.OK, Status.UNKNOWN]


@pytest.mark.parametrize(
    "other, expected",
    [({"visitors": 87}, Status.CRITICAL), ({"visitors": 150}, Status.WARNING),
     ({"visitors": 500}, Status.UNKNOWN)],
)
def test_worst_of_is_critical_then_warning_then_unknown_then_ok(other, expected):
    ev = run({"down.com": TimeoutError("timed out"), "mysite.com": other})
    assert ev.status is expected


def test_rule_for_a_website_that_was_not_fetched_is_unknown():
    rule = parse_rule_expr("visitors<1", "warning", website="gone.com")
    ev = evaluate([rule], {"mysite.com": {"visitors": 5}})
    assert ev.status is Status.UNKNOWN
    assert [s.website for s in ev.websites] == ["mysite.com", "gone.com"]


def test_alias_lets_a_rule_naming_an_id_match_a_result_keyed_by_domain():
    rule = parse_rule_expr("visitors<100", "critical", website="a1b2")
    ev = evaluate([rule], {"mysite.com": {"visitors": 5}}, aliases={"a1b2": "mysite.com"})
    assert ev.status is Status.CRITICAL
    assert [s.website for s in ev.websites] == ["mysite.com"]


def test_nothing_to_check_is_unknown():
    assert evaluate([], {"mysite.com": {"visitors": 1}}).status is Status.UNKNOWN
    assert evaluate([WARN], {}).status is Status.UNKNOWN


# --- plugin output --------------------------------------------------------------------------


def test_plugin_output_exact_for_a_critical_run():
    ev = run({"mysite.com": {"visitors": 87}, "shop.example": {"visitors": 250}})
    assert format_plugin_output(ev) == (
        "ZENOVAY CRITICAL - mysite.com visitors 87 < 100 (critical)"
        " | 'mysite.com visitors'=87;200:;100:;0 'shop.example visitors'=250;200:;100:;0\n"
        "mysite.com: CRITICAL - visitors 87 < 200 (warning); visitors 87 < 100 (critical)\n"
        "shop.example: OK - visitors 250 ok (warning if < 200); visitors 250 ok (critical if < 100)"
    )


def test_plugin_output_exact_for_an_ok_run():
    ev = run({"mysite.com": {"visitors": 250}})
    assert format_plugin_output(ev).splitlines()[0] == (
        "ZENOVAY OK - 2 checks OK on 1 website | 'mysite.com visitors'=250;200:;100:;0")


def test_plugin_output_for_unknown_website_uses_u_and_one_line():
    ev = run({"mysite.com": RuntimeError("boom\nsecond line | not perfdata")})
    lines = format_plugin_output(ev).splitlines()
    assert lines == [
        ("ZENOVAY UNKNOWN - mysite.com unknown: boom second line / not perfdata"
         " | 'mysite.com visitors'=U;200:;100:;0"),
        "mysite.com: UNKNOWN - could not fetch analytics: boom second line / not perfdata",
    ]


def test_perfdata_labels_never_contain_quote_equals_semicolon_or_pipe():
    ev = run({"it's=bad;site|x\n": {"visitors": 300}})
    first = format_plugin_output(ev).splitlines()[0]
    perf = first.split(" | ", 1)[1]
    assert perf == "'it_s_bad_site/x visitors'=300;200:;100:;0"


def test_warning_is_not_repeated_in_the_summary_when_the_metric_is_critical():
    ev = run({"mysite.com": {"visitors": 87}})
    assert "warning" not in format_plugin_output(ev).splitlines()[0]


@pytest.mark.parametrize("op, expected", [("<", "100:"), ("<=", "@~:100"), (">", "~:100"),
                                          (">=", "@100:")])
def test_perf_ranges_follow_the_plugin_guidelines(op, expected):
    assert perf_range(op, 100.0) == expected


def test_two_rules_of_one_severity_on_a_metric_leave_that_perf_threshold_empty():
    rules = [parse_rule_expr("visitors<10", "critical"), parse_rule_expr("visitors>9000", "critical")]
    ev = evaluate(rules, {"s.com": {"visitors": 50}})
    assert format_plugin_output(ev).splitlines()[0].endswith("'s.com visitors'=50;;;0")


def test_format_unknown_is_one_safe_line():
    assert format_unknown("invalid API key\n| x") == "ZENOVAY UNKNOWN - invalid API key / x"


def test_json_evaluation_carries_status_checks_and_values():
    ev = run({"mysite.com": {"visitors": 150}, "down.com": TimeoutError("timed out")})
    doc = json.loads(json.dumps(evaluation_to_json(ev)))
    assert doc["status"] == "WARNING" and doc["exit_code"] == 1 and doc["range"] == "24h"
    site = doc["websites"][0]
    assert site["website"] == "mysite.com" and site["metrics"] == {"visitors": 150}
    assert [(c["severity"], c["firing"], c["value"], c["threshold"]) for c in site["checks"]] == [
        ("warning", True, 150, 200), ("critical", False, 150, 100)]
    assert doc["websites"][1]["error"] == "timed out"
    assert doc["websites"][1]["checks"][0]["firing"] is None


# --- transitions ----------------------------------------------------------------------------


def empty():
    return {"version": 1, "alerts": {}}


def test_rule_fires_once_then_stays_quiet_then_resolves_once():
    events, state = transitions(empty(), run({"mysite.com": {"visitors": 150}}), NOW)
    assert [(e.kind, e.severity, e.value) for e in events] == [("firing", "warning", 150)]
    assert events[0].text == "WARNING: mysite.com visitors is 150 over 24h (< 200)"

    events, state = transitions(state, run({"mysite.com": {"visitors": 140}}), LATER)
    assert events == []

    events, state = transitions(state, run({"mysite.com": {"visitors": 300}}), LATER)
    assert [(e.kind, e.severity, e.since) for e in events] == [
        ("resolved", "warning", "2026-06-13T12:00:00Z")]
    assert events[0].text == "RESOLVED: mysite.com visitors is 300 over 24h, no longer < 200 (warning)"

    events, state = transitions(state, run({"mysite.com": {"visitors": 300}}), LATER)
    assert events == [] and state["alerts"] == {}


def test_escalation_fires_the_critical_rule_only():
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 150}}), NOW)
    events, state = transitions(state, run({"mysite.com": {"visitors": 50}}), LATER)
    assert [(e.kind, e.severity) for e in events] == [("firing", "critical")]
    assert len(state["alerts"]) == 2


def test_unknown_neither_fires_nor_resolves():
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 150}}), NOW)
    events, held = transitions(state, run({"mysite.com": ConnectionError("down")}), LATER)
    assert events == []
    assert held["alerts"].keys() == state["alerts"].keys()
    events, _ = transitions(held, run({"mysite.com": {"visitors": 300}}), LATER)
    assert [e.kind for e in events] == ["resolved"]


def test_unknown_on_first_run_records_nothing():
    events, state = transitions(empty(), run({"mysite.com": ConnectionError("down")}), NOW)
    assert events == [] and state["alerts"] == {}


def test_rule_for_every_website_has_one_alert_per_website():
    events, _ = transitions(empty(), run({"a.com": {"visitors": 1}, "b.com": {"visitors": 2}},
                                         rules=[CRIT]), NOW)
    assert [e.website for e in events] == ["a.com", "b.com"]
    assert events[0].fingerprint != events[1].fingerprint
    named = parse_rule_expr("visitors<100", "critical", website="a.com")
    assert events[0].fingerprint == named.alert_fingerprint("a.com", "24h")


def test_the_range_is_part_of_an_alerts_identity():
    # Two cron jobs checking one rule over 24h and 7d must not resolve each other's alerts.
    day = evaluate([CRIT], {"a.com": {"visitors": 1}}, time_range="24h").checks[0]
    week = evaluate([CRIT], {"a.com": {"visitors": 1}}, time_range="7d").checks[0]
    assert day.fingerprint != week.fingerprint
    assert CRIT.alert_fingerprint("a.com", "24h") == day.fingerprint


def test_changing_a_firing_rules_threshold_resolves_the_old_alert_as_replaced():
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 87}}, rules=[CRIT]), NOW)
    [old] = state["alerts"]
    lowered = parse_rule_expr("visitors<=50", "critical")
    events, state = transitions(state, run({"mysite.com": {"visitors": 87}}, rules=[lowered]), LATER)
    assert [(e.kind, e.fingerprint, e.threshold, e.op, e.since) for e in events] == [
        ("resolved", old, 100, "<", "2026-06-13T12:00:00Z")]
    assert events[0].text == ("RESOLVED: mysite.com visitors < 100 (critical) was replaced by "
                              "<= 50; visitors is 87 over 24h")
    assert state["alerts"] == {}


def test_replaced_rule_that_still_fires_resolves_the_old_alert_and_fires_the_new_one():
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 87}}, rules=[CRIT]), NOW)
    raised = parse_rule_expr("visitors<150", "critical")
    events, state = transitions(state, run({"mysite.com": {"visitors": 87}}, rules=[raised]), LATER)
    assert [e.kind for e in events] == ["resolved", "firing"]
    assert list(state["alerts"]) == [events[1].fingerprint]


@pytest.mark.parametrize("other", [
    parse_rule_expr("visitors<150", "warning"),         # another severity
    parse_rule_expr("visitors>150", "critical"),        # another direction
    parse_rule_expr("page_views<150", "critical"),      # another metric
    parse_rule_expr("visitors<150", "critical", website="other.com"),
])
def test_only_a_rule_watching_the_same_thing_replaces_a_firing_alert(other):
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 87, "page_views": 300},
                                         "other.com": {"visitors": 500}}, rules=[CRIT]), NOW)
    results = {"mysite.com": {"visitors": 87, "page_views": 300}, "other.com": {"visitors": 500}}
    events, kept = transitions(state, run(results, rules=[other]), LATER)
    assert "resolved" not in [e.kind for e in events]
    assert set(state["alerts"]) <= set(kept["alerts"])


def test_a_rule_over_another_range_does_not_replace_a_firing_alert():
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 87}}, rules=[CRIT]), NOW)
    week = evaluate([parse_rule_expr("visitors<50", "critical")], {"mysite.com": {"visitors": 400}},
                    time_range="7d")
    events, kept = transitions(state, week, LATER)
    assert events == [] and set(state["alerts"]) == set(kept["alerts"])


def test_alerts_of_other_runs_are_kept_and_stale_ones_forgotten():
    _, state = transitions(empty(), run({"other.com": {"visitors": 1}}), NOW)
    events, kept = transitions(state, run({"mysite.com": {"visitors": 500}}), LATER)
    assert events == [] and kept["alerts"] == state["alerts"]
    _, pruned = transitions(state, run({"mysite.com": {"visitors": 500}}), NOW + timedelta(days=31))
    assert pruned["alerts"] == {}


def test_undelivered_events_are_sent_again_next_run():
    previous = empty()
    events, state = transitions(previous, run({"mysite.com": {"visitors": 150}}), NOW)
    saved = revert_undelivered(state, previous, [events[0].fingerprint])
    again, _ = transitions(saved, run({"mysite.com": {"visitors": 150}}), LATER)
    assert [e.kind for e in again] == ["firing"]

    events, resolved_state = transitions(state, run({"mysite.com": {"visitors": 300}}), LATER)
    saved = revert_undelivered(resolved_state, state, [events[0].fingerprint])
    again, _ = transitions(saved, run({"mysite.com": {"visitors": 300}}), LATER)
    assert [e.kind for e in again] == ["resolved"]


# --- payloads -------------------------------------------------------------------------------

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"


def firing_event():
    events, _ = transitions(empty(), run({"mysite.com": {"visitors": 87}}, rules=[CRIT]), NOW)
    return events[0]


def test_slack_webhook_gets_slacks_text_shape_with_markup_escaped():
    body, headers = build_payload(firing_event(), SLACK)
    assert json.loads(body) == {"text": "CRITICAL: mysite.com visitors is 87 over 24h (&lt; 100)"}
    assert headers["Content-Type"] == "application/json"


def test_other_urls_get_the_generic_json_event():
    event = firing_event()
    body, _ = build_payload(event, "https://example.test/hook")
    assert json.loads(body) == {
        "event": "firing", "fingerprint": event.fingerprint, "severity": "critical",
        "website": "mysite.com", "metric": "visitors", "value": 87, "threshold": 100,
        "operator": "<", "range": "24h", "text": "CRITICAL: mysite.com visitors is 87 over 24h (< 100)",
        "timestamp": "2026-06-13T12:00:00Z", "since": "2026-06-13T12:00:00Z",
    }


@pytest.mark.parametrize("url, slack", [
    (SLACK, True), ("https://hooks.slack.com/workflows/x", False),
    ("http://hooks.slack.com/services/x", False), ("https://hooks.slack.com.evil.test/services/x", False),
])
def test_slack_detection_needs_the_incoming_webhook_url(url, slack):
    assert is_slack_webhook(url) is slack


def test_slack_prefix_asks_for_slacks_shape_on_any_host():
    url = "slack+https://chat.example.test/hooks/abc"
    assert is_slack_webhook(url) and webhook_target(url) == "https://chat.example.test/hooks/abc"
    assert webhook_target(SLACK) == SLACK
    body, _ = build_payload(firing_event(), url)
    assert list(json.loads(body)) == ["text"]


def test_signature_is_verifiable_with_hmac_and_covers_the_timestamp():
    body, headers = build_payload(firing_event(), "https://example.test/hook", secret="s3cret",
                                  timestamp=1781352000)
    assert headers["X-Zenovay-Timestamp"] == "1781352000"
    expected = hmac.new(b"s3cret", b"1781352000." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Zenovay-Signature"], "sha256=" + expected)
    assert sign(body, "s3cret", 1781352001) != headers["X-Zenovay-Signature"]
    assert "s3cret" not in json.dumps(headers) + body.decode()


def test_no_secret_means_no_signature_headers():
    _, headers = build_payload(firing_event(), "https://example.test/hook")
    assert "X-Zenovay-Signature" not in headers and "X-Zenovay-Timestamp" not in headers


def test_empty_secret_is_refused():
    with pytest.raises(UsageError):
        build_payload(firing_event(), "https://example.test/hook", secret="")


# --- state file -----------------------------------------------------------------------------


def test_missing_state_file_is_an_empty_state_without_warning(tmp_path):
    assert load_state(tmp_path / "state.json") == (empty(), None)


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"version": 99, "alerts": {}}',
                                     b'{"version": 1, "alerts": []}', b"\xff\xfe"])
def test_corrupt_state_file_is_empty_with_a_warning(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    state, warning = load_state(path)
    assert state == empty()
    assert warning is not None and str(path) in warning and "treating it as empty" in warning


def test_malformed_alert_records_are_dropped_with_a_warning(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "alerts": {"abc": {"website": "a"}, "def": 3}}')
    state, warning = load_state(path)
    assert state["alerts"] == {"abc": {"website": "a"}}
    assert "ignored 1 malformed" in warning


def test_state_round_trips_and_is_written_privately_and_atomically(tmp_path):
    path = tmp_path / "sub" / "state.json"
    _, state = transitions(empty(), run({"mysite.com": {"visitors": 87}}), NOW)
    save_state(path, state)
    path.write_text("old")  # an existing file is replaced whole
    path.chmod(0o644)  # ... by a new file: writing in place would keep this mode and inode
    inode = path.stat().st_ino
    save_state(path, state)
    assert load_state(path) == (state, None)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.stat().st_ino != inode
    assert os.listdir(path.parent) == ["state.json"]  # no temp file left behind
