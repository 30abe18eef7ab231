"""report (the integration guide's dashboard on one screen) and digest (the week in a message)."""

from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands._options import data_command, request_command
from zenovay_cli.commands.common import Range, RangeOpt, WebsiteArg
from zenovay_cli.context import Context
from zenovay_cli.sites import DEFAULT_CONCURRENCY, resolve_id

EXAMPLES = {
    "report": "Examples: zenovay report mysite.com --compare  ·  zenovay report mysite.com --range 30d --watch 60  ·  zenovay report mysite.com --json | jq .pages",
    "digest": "Examples: zenovay digest | mail -s 'Weekly traffic' me@example.com  ·  zenovay digest --to \"$SLACK_WEBHOOK_URL\"  ·  zenovay digest --website shop.com --website blog.com --format json",
}


def register(app: typer.Typer) -> None:
    app.command("report", epilog=EXAMPLES["report"])(report)
    app.command("digest", epilog=EXAMPLES["digest"])(digest)


@data_command
def report(
    ctx: Context,
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    compare_: Annotated[bool, typer.Option("--compare", help="Show each headline figure's change against the previous period (7d, 30d, 90d: one more request; 24h and 1y: from the local history store, `zenovay history sync`).")] = False,
    watch: Annotated[float | None, typer.Option("--watch", min=5, help="Redraw every this many seconds until Ctrl-C; answers still fresh in the cache are not fetched again.", show_default=False)] = None,
) -> None:
    """Show the dashboard: figures, daily trend, top pages, countries, browsers, devices (4 requests).

    The four requests run in parallel inside the shared rate budget; --compare adds one (the
    next longer range). A domain costs one /websites lookup unless it is cached. On a terminal
    the screen fits 80x24; --watch redraws it in place.
    """
    from zenovay_cli.errors import UsageError

    if ctx.fmt not in ("table", "json"):
        raise UsageError(f"report draws a screen or prints --json, not --format {ctx.fmt}")
    if compare_:
        from zenovay_cli.compare import check_range

        check_range(range_.value, history=ctx.history_db())
    website_id = resolve_id(ctx, website)
    if watch is None:
        _draw_report(ctx, website_id, range_.value, compare_)
        return
    _watch(ctx, website_id, range_.value, compare_, watch)


def _draw_report(ctx: Context, website_id: str, range_value: str, with_compare: bool, footer: str | None = None) -> None:
    from zenovay_cli import answers, sites

    got = sites.fetch_one(ctx, {"id": website_id}, answers.report_parts(website_id, range_value, with_compare))
    document = answers.report(got, website_id, range_value, with_compare, ctx.history_db())
    if ctx.fmt == "json":
        ctx.out.emit("report", document, "json")
        return
    from zenovay_cli import glyphs, screens
    from zenovay_cli.commands.query import terminal_width

    lines = screens.report_lines(document, terminal_width(ctx) or 80, glyphs.mode_for(ctx.out.is_tty, ctx.out.color), ctx.out.color)
    if footer:
        lines += ["", footer]
    ctx.out.stdout.write("\n".join(lines) + "\n")
    ctx.out.stdout.flush()


def _watch(ctx: Context, website_id: str, range_value: str, with_compare: bool, every: float) -> None:
    """Redraw in place on a terminal (one screen after another when piped) until Ctrl-C; the
    terminal is restored however it ends (main turns Ctrl-C into exit 130)."""
    import time

    tty = ctx.out.is_tty and ctx.fmt == "table"
    out = ctx.out.stdout
    if tty:
        out.write("\x1b[?25l")  # hide the cursor while redrawing
    try:
        while True:
            if tty:
                out.write("\x1b[H\x1b[2J")
            footer = f"Updated {time.strftime('%H:%M:%S')} · every {every:g} s · Ctrl-C to stop" if tty else None
            _draw_report(ctx, website_id, range_value, with_compare, footer)
            ctx.sleep(every)
    finally:
        if tty:
            out.write("\x1b[?25h")
            out.flush()


class DigestFormat(str, Enum):
    markdown = "markdown"
    slack = "slack"
    json = "json"


class DigestRange(str, Enum):
    """The ranges a digest can compare (the next longer range holds their previous period)."""

    d7 = "7d"
    d30 = "30d"
    d90 = "90d"


@request_command
def digest(
    ctx: Context,
    website: Annotated[list[str] | None, typer.Option("--website", "-w", help="Only this website (id or domain; repeatable) [default: every website].", show_default=False)] = None,
    range_: Annotated[DigestRange, typer.Option("--range", "-r", help="Time range (a digest always compares it with the previous one: 24h and 1y have no longer range to take it from).", case_sensitive=False)] = DigestRange.d7,
    fmt: Annotated[DigestFormat, typer.Option("--format", "-f", help="markdown (readable in mail), slack (Slack's message JSON) or json.", case_sensitive=False)] = DigestFormat.markdown,
    to: Annotated[list[str] | None, typer.Option("--to", help="POST the digest here instead of printing it (repeatable): Slack webhooks (or slack+https://…) get Slack's message, other URLs signed JSON, as alert --notify.", show_default=False)] = None,
    notify_secret: Annotated[str | None, typer.Option("--notify-secret", envvar="ZENOVAY_NOTIFY_SECRET", show_envvar=False, help="Sign JSON bodies with HMAC-SHA256 (X-Zenovay-Signature); prefer the env var [env: ZENOVAY_NOTIFY_SECRET].", show_default=False)] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="Top pages per website.")] = 3,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", metavar="N", min=1, max=32, help="Requests in flight at once (all share one rate budget).")] = DEFAULT_CONCURRENCY,
) -> None:
    """Summarise the period against the previous one: figures, top movers, top pages per website.

    Costs 3 requests per website (the range, the next longer range, pages) plus 1 for the website
    list; on a terminal the cost is stated before fetching. Exit 3 if some websites failed (the
    digest still goes out and names them). Unique visitors are compared as sums of daily unique
    visitors (approximate).
    """
    from zenovay_cli import answers, screens, sites

    urls = list(to or [])
    if urls:
        from zenovay_cli.errors import UsageError
        from zenovay_cli.notify import check_url

        for url in urls:
            try:
                check_url(url)
            except UsageError as exc:  # the same rule as alert --notify, named after this option
                raise UsageError(exc.message.replace("--notify URL", "--to URL")) from None
    with sites.SiteRun(ctx) as run:
        chosen = sites.select(run.websites(), website or [])
        cost = answers.DIGEST_COST_PER_SITE * len(chosen)
        if ctx.out.err_is_tty:
            ctx.out.info(f"digest: {len(chosen)} website(s) × {answers.DIGEST_COST_PER_SITE} requests = {cost} requests (+1 for the website list, done)")
        outcomes = run.fetch_parts(
            [(w, answers.digest_parts(w, range_.value, top)) for w in chosen], concurrency=concurrency)
    rows = [answers.digest_site(o.value, o.item, range_.value, top) if o.ok
            else sites.error_row(ctx, o.item, o.error, range_.value) for o in outcomes]
    sites.raise_if_all_failed([o.error for o in outcomes], len(outcomes))
    document = answers.digest(rows, range_.value)
    if urls:
        _post(ctx, urls, document, notify_secret)
    elif fmt is DigestFormat.markdown:
        ctx.out.stdout.write(screens.digest_markdown(document))
        ctx.out.stdout.flush()
    elif fmt is DigestFormat.slack:
        ctx.out.emit("digest", {"text": screens.digest_slack_text(document)}, "json")
    else:
        ctx.out.emit("digest", document, "json")
    sites.settle(ctx, outcomes, note=" (named in the digest)")


class _Digest:
    """The digest as a notification (notify's wire formats: Slack's text, or the JSON document)."""

    fingerprint = "digest"

    def __init__(self, document: dict, text: str) -> None:
        self.document, self.text = document, text

    def to_dict(self) -> dict:
        return self.document


def _post(ctx: Context, urls: list, document: dict, secret) -> None:
    from zenovay_cli import screens
    from zenovay_cli.errors import ZenovayError
    from zenovay_cli.notify import send_events

    # notify escapes Slack's three special characters itself: give it the text unescaped.
    digest = _Digest(document, screens.digest_slack_text(document, escape=False))
    failed = []
    for _, result in send_events([digest], urls, secret=secret):
        ctx.out.info(f"digest: {result}")
        if not result.ok:
            failed.append(str(result))
    if failed:
        raise ZenovayError("; ".join(failed), hint="The digest was not delivered there; run again to retry.")
