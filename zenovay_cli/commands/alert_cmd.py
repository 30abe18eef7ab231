"""alert: threshold checks in the monitoring-plugin convention, with notifications on change."""

from pathlib import Path
from typing import Annotated

import typer

from zenovay_cli.commands.common import Range, request_options, state, website_list

EPILOG = (
    "Examples: zenovay alert mysite.com --warn 'visitors<200' --crit 'visitors<100'  ·  "
    "zenovay alert --all --crit 'page_views<50' --notify \"$SLACK_WEBHOOK_URL\"  ·  "
    "zenovay alert --rules alerts.toml --json"
)


def register(app: typer.Typer) -> None:
    app.command("alert", epilog=EPILOG)(alert)


@request_options
def alert(
    websites: Annotated[list[str] | None, typer.Argument(help="Website ids or domains to check.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Check every website the key can see.")] = False,
    warn: Annotated[list[str] | None, typer.Option("--warn", "-w", help="Warning rule, e.g. 'visitors<200' (repeatable).", show_default=False)] = None,
    crit: Annotated[list[str] | None, typer.Option("--crit", "-c", help="Critical rule, e.g. 'visitors<100' (repeatable).", show_default=False)] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="TOML file of [[rule]] tables.", show_default=False)] = None,
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = Range.h24,
    notify: Annotated[list[str] | None, typer.Option("--notify", help="POST JSON here when a rule fires or resolves (repeatable; Slack webhooks get Slack's shape).", show_default=False)] = None,
    notify_secret: Annotated[str | None, typer.Option("--notify-secret", envvar="ZENOVAY_NOTIFY_SECRET", help="Sign notification bodies with HMAC-SHA256 (X-Zenovay-Signature).", show_default=False)] = None,
    state_file: Annotated[Path | None, typer.Option("--state", help="State file remembering what was sent [default: user state dir].", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the notifications that would be sent; send and save nothing.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON.")] = False,
    watch: Annotated[float | None, typer.Option("--watch", min=1, help="Repeat the check every this many seconds until interrupted.", show_default=False)] = None,
) -> None:
    """Check visitors or page views against thresholds (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""
    import time

    while True:
        code = _check_once(
            websites or [], all_, warn or [], crit or [], rules, range_.value, notify or [],
            notify_secret, state_file, dry_run, json_,
        )
        if watch is None:
            raise typer.Exit(code)
        time.sleep(watch)


def _check_once(websites, all_, warn, crit, rules_path, range_value, notify, secret, state_file, dry_run, json_) -> int:
    from zenovay_cli import alert as logic
    from zenovay_cli.errors import ZenovayError

    st = state()
    try:
        rules = _rules(warn, crit, rules_path)
        for url in notify:
            from zenovay_cli.notify import check_url

            check_url(url)
        results, aliases = _fetch(websites, all_, rules, range_value)
    except ZenovayError as exc:
        # Never report the tool's own failure as OK or CRITICAL: it is UNKNOWN (exit 3).
        if json_:
            st.out.emit("raw", {"status": "UNKNOWN", "exit_code": 3, "error": exc.message}, "json")
        else:
            st.out.text(logic.format_unknown(exc.message))
        if exc.hint:
            st.out.info("Hint: " + exc.hint)
        return 3
    evaluation = logic.evaluate(rules, results, time_range=range_value, aliases=aliases)
    if json_:
        st.out.emit("raw", logic.evaluation_to_json(evaluation), "json")
    else:
        st.out.text(logic.format_plugin_output(evaluation))
    if notify or dry_run:
        _notify(evaluation, notify, secret, state_file, dry_run)
    return evaluation.exit_code


def _rules(warn, crit, rules_path):
    from zenovay_cli import alert as logic
    from zenovay_cli.errors import UsageError

    rules = [logic.parse_rule_expr(e, "warning") for e in warn]
    rules += [logic.parse_rule_expr(e, "critical") for e in crit]
    if rules_path is not None:
        rules += logic.load_rules_file(rules_path)
    if not rules:
        raise UsageError("no rules given", hint="Use --warn/--crit 'visitors<100' or --rules FILE.")
    return rules


def _fetch(websites, all_, rules, range_value):
    """Fetch each website's analytics in parallel; failures stay per website."""
    from zenovay_cli import alert as logic
    from zenovay_cli.commands.common import normalise_domain
    from zenovay_cli.errors import NotFoundError, UsageError
    from zenovay_cli.fanout import run_all
    from zenovay_cli.ratelimit import RateBudget

    st = state()
    named = list(websites) + [r.website for r in rules if r.website]
    if not named and not all_:
        default = st.settings.website
        if not default:
            raise UsageError("no website to check", hint="Name websites, use --all, or set a default website.")
        named = [default]
    budget = RateBudget(max_wait=st.settings.max_wait)
    client = st.client(budget=budget)
    sites = website_list(client.list_websites())
    chosen, aliases = [], {}
    for name in dict.fromkeys(named):
        match = next(
            (w for w in sites if str(w.get("id")) == name
             or normalise_domain(str(w.get("domain", ""))) == normalise_domain(name)),
            None,
        )
        if match is None:
            raise NotFoundError(f"no website {name!r} among the {len(sites)} your key can see")
        aliases[name] = str(match.get("domain") or match.get("id"))
        chosen.append(match)
    if all_:
        chosen = sites
    chosen = list({str(w.get("id")): w for w in chosen}.values())
    outcomes = run_all(chosen, lambda w: client.get_analytics(str(w.get("id")), range_value), concurrency=4)
    results = {}
    for o in outcomes:
        key = str(o.item.get("domain") or o.item.get("id"))
        aliases.setdefault(str(o.item.get("id")), key)
        results[key] = logic.metrics_from_analytics(o.value) if o.ok else o.error
    if results and all(isinstance(v, Exception) for v in results.values()):
        raise next(iter(results.values()))
    return results, aliases


def _notify(evaluation, urls, secret, state_file, dry_run) -> None:
    import json
    from datetime import datetime, timezone

    from zenovay_cli import alert as logic
    from zenovay_cli.config import state_dir

    st = state()
    path = state_file or state_dir() / "alert-state.json"
    previous, warning = logic.load_state(path)
    if warning:
        st.out.warn(warning)
    events, new_state = logic.transitions(previous, evaluation, datetime.now(timezone.utc))
    if dry_run:
        for event in events:
            st.out.info("would send: " + json.dumps(logic.event_to_dict(event), ensure_ascii=False))
        if not events:
            st.out.info("would send nothing: no rule changed state")
        return
    from zenovay_cli.notify import send_events, undelivered_fingerprints

    results = send_events(events, urls, secret=secret)
    for _event, result in results:
        if not result.ok:
            st.out.warn(str(result))
    failed = undelivered_fingerprints(results)
    if failed:
        new_state = logic.revert_undelivered(new_state, previous, failed)
    try:
        logic.save_state(path, new_state)
    except OSError as exc:
        st.out.warn(f"could not save the alert state file {path}: {exc.strerror or exc}")
