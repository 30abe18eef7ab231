"""alert: threshold checks in the monitoring-plugin convention, with notifications on change."""

from pathlib import Path
from typing import Annotated

import typer

from zenovay_cli.commands._options import request_command
from zenovay_cli.commands.common import Range
from zenovay_cli.context import Context

EPILOG = (
    "Examples: zenovay alert mysite.com --warn 'visitors<200' --crit 'visitors<100'  ·  "
    "zenovay alert --all --crit 'page_views<50' --notify \"$SLACK_WEBHOOK_URL\"  ·  "
    "zenovay alert --rules alerts.toml --json  ·  "
    "zenovay alert --all --anomaly critical --silent-for 2h --notify \"$SLACK_WEBHOOK_URL\""
)


def register(app: typer.Typer) -> None:
    app.command("alert", epilog=EPILOG)(alert)


@request_command
def alert(
    ctx: Context,
    websites: Annotated[list[str] | None, typer.Argument(help="Website ids or domains to check.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Check every website the key can see.")] = False,
    warn: Annotated[list[str] | None, typer.Option("--warn", "-w", help="Warning rule, e.g. 'visitors<200' (repeatable).", show_default=False)] = None,
    crit: Annotated[list[str] | None, typer.Option("--crit", "-c", help="Critical rule, e.g. 'visitors<100' (repeatable).", show_default=False)] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="TOML file of [[rule]] tables.", show_default=False)] = None,
    anomaly: Annotated[str | None, typer.Option("--anomaly", help="Alert on each unresolved Zenovay anomaly of at least this severity: warning or critical (Pro and up).", show_default=False)] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="With --anomaly: only anomalies of this metric (e.g. visitors, bounce_rate).", show_default=False)] = None,
    silent_for: Annotated[str | None, typer.Option("--silent-for", help="CRITICAL when a website has had no visitor for this long, e.g. 2h (a removed tracker).", show_default=False)] = None,
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = Range.h24,
    notify: Annotated[list[str] | None, typer.Option("--notify", help="POST JSON here when a rule fires or resolves (repeatable; Slack webhooks, or any URL written slack+https://…, get Slack's shape).", show_default=False)] = None,
    notify_secret: Annotated[str | None, typer.Option("--notify-secret", envvar="ZENOVAY_NOTIFY_SECRET", show_envvar=False, help="Sign notification bodies with HMAC-SHA256 (X-Zenovay-Signature); prefer the env var: options show up in `ps` [env: ZENOVAY_NOTIFY_SECRET].", show_default=False)] = None,
    state_file: Annotated[Path | None, typer.Option("--state", help="State file remembering what was sent [default: user state dir].", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the notifications that would be sent; send and save nothing.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON.")] = False,
    watch: Annotated[float | None, typer.Option("--watch", min=1, help="Repeat the check every this many seconds until interrupted.", show_default=False)] = None,
) -> None:
    """Check thresholds, Zenovay's anomalies or silent trackers (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""
    # A check judges the current numbers: always ask the API (answers are still stored in the
    # cache for other commands). Otherwise a re-run or --watch within the analytics TTL (5 min)
    # would evaluate the same old answer again.
    ctx.request.refresh = True
    ctx.forget_settings()
    while True:
        code = _check_once(
            ctx, websites or [], all_, warn or [], crit or [], rules, range_.value, notify or [],
            notify_secret, state_file, dry_run, json_, (anomaly, metric, silent_for),
        )
        if watch is None:
            raise typer.Exit(code)
        ctx.sleep(watch)


def report_usage_error(ctx: Context, message: str, args: list[str]) -> int:
    """The UNKNOWN result for a command line Click refused (called by main.run): monitoring
    systems read stdout, so the reason must be there too, not only in Click's stderr message."""
    from zenovay_cli.alert import Status

    _print_unknown(ctx, message, "--json" in args)
    return int(Status.UNKNOWN)


def _print_unknown(st: Context, message: str, json_: bool, hint: str | None = None) -> None:
    from zenovay_cli import alert as logic

    if json_:
        st.out.emit("raw", {"status": "UNKNOWN", "exit_code": 3, "summary": message,
                            "error": message, "websites": []}, "json")
    else:
        st.out.text(logic.format_unknown(message))
    if hint:
        st.out.info("Hint: " + hint)


def _check_once(st: Context, websites, all_, warn, crit, rules_path, range_value, notify, secret, state_file, dry_run, json_, special=(None, None, None)) -> int:
    from zenovay_cli import alert as logic
    from zenovay_cli.errors import ZenovayError

    try:
        rules = _rules(warn, crit, rules_path, *special)
        _check_notify_options(notify, secret)
        results, aliases, anomalies = _fetch(st, websites, all_, rules, range_value)
        evaluation = logic.evaluate(rules, results, time_range=range_value, aliases=aliases,
                                    anomalies=anomalies)
    except ZenovayError as exc:
        # Never report the tool's own failure as OK or CRITICAL: it is UNKNOWN (exit 3).
        hint = exc.hint
        if exc.request_id:
            hint = f"{hint or ''} (request id: {exc.request_id})".strip()
        _print_unknown(st, exc.message, json_, hint)
        return 3
    except Exception as exc:  # noqa: BLE001 - a bug must not look like WARNING (exit 1)
        if st.debug:
            import traceback

            traceback.print_exc()
        _print_unknown(st, f"unexpected error: {type(exc).__name__}: {exc}", json_,
                       "Run again with --debug for the traceback, and report it if it persists.")
        return 3
    if json_:
        st.out.emit("raw", logic.evaluation_to_json(evaluation), "json")
    else:
        # One text() per line: text() escapes control characters, newlines included.
        for line in logic.format_plugin_output(evaluation).split("\n"):
            st.out.text(line)
    if notify or dry_run:
        try:
            _notify(st, evaluation, notify, secret, state_file, dry_run)
        except Exception as exc:  # noqa: BLE001 - notifying never changes the check's result
            if st.debug:
                import traceback

                traceback.print_exc()
            st.out.warn(f"notifications failed: {type(exc).__name__}: {exc}")
    return evaluation.exit_code


def _check_notify_options(urls, secret) -> None:
    import os

    from zenovay_cli.errors import UsageError
    from zenovay_cli.notify import check_url

    for url in urls:
        check_url(url)
    if urls and (secret == "" or (secret is None and "ZENOVAY_NOTIFY_SECRET" in os.environ)):
        # Click treats an empty variable as unset; sending unsigned bodies to a receiver that
        # expects signatures would fail silently there, so refuse it here.
        raise UsageError("the notification secret is empty",
                         hint="Set ZENOVAY_NOTIFY_SECRET to the receiver's secret, or unset it.")


def _rules(warn, crit, rules_path, anomaly=None, metric=None, silent_for=None):
    from zenovay_cli import alert as logic
    from zenovay_cli.alert.rules import parse_anomaly_option, silence_rule
    from zenovay_cli.errors import UsageError

    rules: list = [logic.parse_rule_expr(e, "warning") for e in warn]
    rules += [logic.parse_rule_expr(e, "critical") for e in crit]
    if metric is not None and anomaly is None:
        raise UsageError("--metric goes with --anomaly", hint="e.g. --anomaly warning --metric bounce_rate")
    if anomaly is not None:
        rules.append(parse_anomaly_option(anomaly, metric))
    if silent_for is not None:
        rules.append(silence_rule(silent_for, where="--silent-for: "))
    if rules_path is not None:
        rules += logic.load_rules_file(rules_path)
    if not rules:
        raise UsageError("no rules given", hint="Use --warn/--crit 'visitors<100', --anomaly warning, "
                         "--silent-for 2h, or --rules FILE.")
    return rules


def _fetch(st: Context, websites, all_, rules, range_value):
    """Fetch what the rules need of each website in parallel: the analytics (threshold rules),
    the newest visitor (silence rules), the anomalies of the last 90 days (anomaly rules).
    Failures (an unknown website too) stay per website, so one stale rule cannot hide a real
    breach on another website; a failed anomaly fetch makes only the anomaly rules UNKNOWN."""
    from datetime import datetime, timezone

    from zenovay_cli import alert as logic
    from zenovay_cli import schema, sites
    from zenovay_cli.alert.evaluation import silence_range, silence_seconds
    from zenovay_cli.alert.rules import SILENCE, AnomalyRule
    from zenovay_cli.errors import UsageError, ZenovayError
    from zenovay_cli.schema import website_id, website_label

    named = list(websites) + [r.website for r in rules if r.website]
    if not named and not all_:
        default = st.settings.website
        if not default:
            raise UsageError("no website to check", hint="Name websites, use --all, or set a default website.")
        named = [default]
    silences = [r.threshold for r in rules if not isinstance(r, AnomalyRule) and r.metric == SILENCE]
    wants_analytics = any(not isinstance(r, AnomalyRule) and r.metric != SILENCE for r in rules)
    wants_anomalies = any(isinstance(r, AnomalyRule) for r in rules)
    visitors_range, span = silence_range(max(silences)) if silences else (None, 0.0)

    def task(client, w):
        wid = sites.require_id(w)
        metrics: dict = {}
        if wants_analytics:
            metrics.update(logic.metrics_from_analytics(client.get_analytics(wid, range_value)))
        if silences:
            newest = schema.newest_visit(client.get_visitors(wid, visitors_range, limit=1))
            now = datetime.fromtimestamp(st.clock(), timezone.utc)
            value = silence_seconds(newest, now, span)
            if value is not None:
                metrics[SILENCE] = value
        found: list[dict] | ZenovayError | None = None
        if wants_anomalies:
            try:
                found = [a for page in client.iter_anomaly_pages(wid, "90d")
                         for a in schema.anomalies(page)]
            except ZenovayError as exc:
                found = exc
        return metrics, found

    with sites.SiteRun(st, announce_pacing=False) as run:
        listed = run.websites()
        found, missing = sites.match(listed, named)
        aliases = {name: website_label(site) for name, site in found.items()}
        chosen = listed if all_ else list(found.values())
        outcomes = run.fetch_each(sites.unique(chosen), task)
    results, anomalies = {}, {}
    for o in outcomes:
        key = website_label(o.item)
        aliases.setdefault(website_id(o.item), key)
        if o.ok:
            results[key], found = o.value
            if found is not None:
                anomalies[key] = found
        else:
            results[key] = o.error
            anomalies[key] = o.error
    results.update(missing)
    sites.raise_if_all_failed(list(results.values()), len(results))
    return results, aliases, anomalies


def _state_store(st: Context, state_file):
    """The alert state this run reads and writes: the state file, or Redis when configured."""
    from zenovay_cli.alert.store import FileStateStore
    from zenovay_cli.config import state_dir

    # A --demo run (synthetic data) keeps its own state: it must not mark the user's real alerts
    # as sent or resolved (#12 item 12).
    path = state_file or state_dir() / ("alert-state-demo.json" if st.demo else "alert-state.json")
    store = FileStateStore(path, sleep=st.sleep, clock=st.monotonic)
    link = st.redis_link()
    if link is None:
        return store
    from zenovay_cli.alert.store import RedisStateStore
    from zenovay_cli.cache import key_fingerprint
    from zenovay_cli.redis_shared import RedisAlertState

    # Jobs sharing a state file's name share the state across hosts ("default" without --state).
    name = Path(state_file).name if state_file else "default"
    shared = RedisAlertState(link, key_fingerprint(st.settings.api_key or ""), name)
    return RedisStateStore(shared, store)


def _notify(st: Context, evaluation, urls, secret, state_file, dry_run) -> None:
    import json
    from datetime import datetime, timezone

    from zenovay_cli import alert as logic
    from zenovay_cli.notify import redact_url

    store = _state_store(st, state_file)
    if st.demo and urls and not dry_run:
        st.out.info(f"--demo: the synthetic alerts are really sent to the --notify URL(s); state in {store.where}")
    if dry_run:
        previous, warning = store.load()
        if warning:
            st.out.warn(warning)
        events, _ = logic.transitions(previous, evaluation, datetime.now(timezone.utc))
        targets = ", ".join(redact_url(u) for u in urls) or "no --notify URL given"
        for event in events:
            st.out.info(f"would send ({targets}): "
                        + json.dumps(logic.event_to_dict(event), ensure_ascii=False))
        if not events:
            st.out.info("would send nothing: no rule changed state")
        st.out.info(f"dry run: nothing sent, {store.where} not changed")
        return
    from zenovay_cli.notify import send_events, undelivered_fingerprints

    # Load → send → save under the state's lock: a second run sharing the state (another cron
    # job, another host through Redis) waits, then sees what this one sent (#12 item 1, #15).
    with store.locked(on_wait=st.out.status):
        previous, warning = store.load()
        if warning:
            st.out.warn(warning)
        events, new_state = logic.transitions(previous, evaluation, datetime.now(timezone.utc))
        results = send_events(events, urls, secret=secret)
        for _event, result in results:
            if not result.ok:
                st.out.warn(str(result))
        failed = undelivered_fingerprints(results)
        if failed:
            new_state = logic.revert_undelivered(new_state, previous, failed)
            st.out.warn(f"{len(failed)} notification(s) not delivered everywhere; "
                        "the next run sends them again")
        try:
            store.save(new_state)
        except OSError as exc:
            st.out.warn(f"could not save the alert {store.where}: {exc.strerror or exc}")
