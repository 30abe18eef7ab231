"""Pure alert logic: rules, evaluation, plugin output and notification state.

Nothing here talks to the network or the terminal. The only I/O is reading a rules file
(`rules.load_rules_file`) and reading/writing the state file (`state.load_state`,
`state.save_state`). Delivery, with the webhook wire formats (Slack's shape, the HMAC signature),
is `zenovay_cli.notify`, which knows nothing about alerts.

    rules.py       Rule, parse_rule_expr, load_rules_file
    evaluation.py  metrics_from_analytics, evaluate, Status (worst-of order)
    output.py      format_plugin_output (monitoring-plugin lines + perfdata), evaluation_to_json
    state.py       transitions -> Events, revert_undelivered, load_state, save_state

Flow for `zenovay alert` (the command module owns the fetching and printing)::

    rules = [parse_rule_expr(e, "warning") for e in warn] + load_rules_file(path) ...
    results = {site: metrics_from_analytics(client.get_analytics(id, "24h")) or the Exception}
    evaluation = evaluate(rules, results, time_range="24h")
    print(format_plugin_output(evaluation)); exit(evaluation.exit_code)
    previous, warning = load_state(state_path)
    events, new_state = transitions(previous, evaluation, now)
    ... notify.send_events(events, urls) ...
    save_state(state_path, revert_undelivered(new_state, previous, failed_fingerprints))

The names below are re-exported so `from zenovay_cli import alert; alert.evaluate(...)` keeps working.
"""

from __future__ import annotations

from zenovay_cli.alert.evaluation import (
    Evaluation,
    RuleResult,
    Status,
    WebsiteResult,
    evaluate,
    metrics_from_analytics,
    worst,
)
from zenovay_cli.alert.output import (
    evaluation_to_json,
    format_plugin_output,
    format_unknown,
    perf_label,
    perf_range,
)
from zenovay_cli.alert.rules import (
    DIRECTIONS,
    METRIC_ALIASES,
    METRICS,
    OPERATORS,
    SEVERITIES,
    Rule,
    format_number,
    load_rules_file,
    parse_rule_expr,
)
from zenovay_cli.alert.state import (
    STALE_AFTER,
    STATE_VERSION,
    Event,
    empty_state,
    event_to_dict,
    load_state,
    revert_undelivered,
    save_state,
    transitions,
)

__all__ = [
    "DIRECTIONS", "METRICS", "METRIC_ALIASES", "OPERATORS", "SEVERITIES", "STALE_AFTER",
    "STATE_VERSION", "Evaluation", "Event", "Rule", "RuleResult", "Status", "WebsiteResult",
    "empty_state", "evaluate", "evaluation_to_json", "event_to_dict", "format_number",
    "format_plugin_output", "format_unknown", "load_rules_file", "load_state",
    "metrics_from_analytics", "parse_rule_expr", "perf_label", "perf_range", "revert_undelivered",
    "save_state", "transitions", "worst",
]
