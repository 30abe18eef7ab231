"""The query commands: usage, websites, analytics, visitors, pages, countries, tech, errors."""

from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands._options import data_command
from zenovay_cli.commands.common import ErrorStatus, LimitOpt, Range, RangeOpt, WebsiteArg
from zenovay_cli.context import Context
from zenovay_cli.sites import DEFAULT_CONCURRENCY, resolve_id


def register(app: typer.Typer) -> None:
    for command in (usage, websites, analytics, visitors, pages, countries, tech, errors):
        app.command(command.__name__, epilog=EXAMPLES[command.__name__])(command)


EXAMPLES = {
    "usage": "Example: zenovay usage --json | jq .usage.monthly_remaining",
    "websites": "Examples: zenovay websites  ·  zenovay websites mysite.com --json",
    "analytics": "Examples: zenovay analytics mysite.com --range 30d --compare  ·  zenovay analytics --all --compare --sort change  ·  zenovay analytics --all --format csv",
    "visitors": "Examples: zenovay visitors mysite.com --limit 20  ·  zenovay visitors mysite.com --all --format ndjson > visitors.ndjson",
    "pages": "Example: zenovay pages mysite.com --range 30d --limit 10",
    "countries": "Example: zenovay countries mysite.com --json | jq -r '.countries[0].country_name'",
    "tech": "Example: zenovay tech mysite.com --range 90d",
    "errors": "Example: zenovay errors mysite.com --status unresolved --limit 20",
}


@data_command
def usage(ctx: Context) -> None:
    """Show the plan, monthly requests used and left, rate limit, burn rate and quota forecast."""
    from zenovay_cli.quota import usage_with_forecast

    client = ctx.client()
    data = client.get_usage()
    if ctx.fmt == "json":  # --json stays the API's own data object
        ctx.out.emit("usage", data, ctx.fmt)
        return
    # The ledger's snapshots only when a request was sent anyway (a cache hit never opens it).
    shared = client.budget.snapshot() if client.budget is not None and client.requests_sent else None
    first, last = (shared.usage_first, shared.usage) if shared is not None else (None, None)
    ctx.out.emit("usage", usage_with_forecast(data, first, last), ctx.fmt)


@data_command
def websites(ctx: Context, website: WebsiteArg = None) -> None:
    """List the websites your key can see, or show one website's details."""
    if website is None:
        ctx.out.emit("websites", ctx.client().list_websites(), ctx.fmt)
    else:
        ctx.out.emit("website", ctx.client().get_website(resolve_id(ctx, website)), ctx.fmt)


class SortBy(str, Enum):
    visitors = "visitors"
    views = "views"
    change = "change"
    name = "name"


@data_command
def analytics(
    ctx: Context,
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="One row per website, for every website the key can see, with a totals row and each site's share of all visitors.")
    ] = False,
    compare_: Annotated[
        bool, typer.Option("--compare", help="Compare with the previous period: the same number of days before, summed from the daily rows of the next longer range (7d, 30d, 90d: 2 requests per website), or for 24h and 1y from the local history store (`zenovay history sync`; 1 request). Unique visitors are compared as sums of daily unique visitors: approximate.")
    ] = False,
    sort: Annotated[
        SortBy | None, typer.Option("--sort", help="With --all: order by visitors, views, name, or change (the biggest movers first; needs --compare).", case_sensitive=False, show_default=False)
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", metavar="N", min=1, max=32, help="With --all: websites fetched at once (all share one rate budget).")
    ] = DEFAULT_CONCURRENCY,
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", min=0, help="With --all: refuse (exit 6) a run costing more requests than this [default: max_requests in the profile].", show_default=False)
    ] = None,
) -> None:
    """Show visitors, page views and unique visitors with the daily trend (1 request; 2 with --compare)."""
    from zenovay_cli.errors import UsageError

    if compare_:
        from zenovay_cli.compare import check_range

        check_range(range_.value, history=ctx.history_db())
    if sort is not None and not all_:
        raise UsageError("--sort orders the rows of --all; add --all")
    if sort is SortBy.change and not compare_:
        raise UsageError("--sort change needs --compare (it orders by the change against the previous period)")
    if all_:
        if website is not None:
            ctx.out.warn("--all given: ignoring the website argument")
        analytics_all(ctx, range_.value, concurrency, compare_, sort.value if sort else None, max_requests)
        return
    website_id = resolve_id(ctx, website)
    if not compare_:
        ctx.out.emit("analytics", ctx.client().get_analytics(website_id, range_.value), ctx.fmt)
        return
    from zenovay_cli import answers, screens, sites

    got = sites.fetch_one(ctx, {"id": website_id}, answers.compared_parts(website_id, range_.value))
    document = answers.analytics_compared(got, website_id, range_.value, ctx.history_db())
    if ctx.fmt == "json":
        ctx.out.emit("analytics", document, "json")
    elif ctx.fmt == "table":
        plain = {k: v for k, v in document.items() if k != "comparison"}
        from zenovay_cli.views import views_for

        ctx.out.show([*views_for("analytics", plain), screens.compare_view(document["comparison"], ctx.out.is_tty)])
    else:
        ctx.out.records(screens.compare_records(document), ctx.fmt)


def analytics_all(ctx: Context, range_value: str, concurrency: int, with_compare: bool = False, sort: str | None = None,
                  max_requests: int | None = None) -> None:
    """Every website's summary (and the previous period's), fetched in parallel within one
    shared rate budget, drawn as the rollup: totals, shares, trend, changes."""
    from zenovay_cli import answers, sites
    from zenovay_cli.compare import FROM_HISTORY, LONGER

    from_history = with_compare and range_value in FROM_HISTORY  # the store has the previous days
    ranges = (range_value, LONGER[range_value]) if with_compare and not from_history else (range_value,)
    outcomes = sites.fetch_analytics(ctx, ranges, concurrency, max_requests)
    rows = [
        answers.site_row(o.item, o.value[0], o.value[1] if len(ranges) > 1 else None, range_value,
                         from_history=from_history, history_db=ctx.history_db())
        if o.ok else sites.error_row(ctx, o.item, o.error, range_value)
        for o in outcomes
    ]
    sites.raise_if_all_failed([o.error for o in outcomes], len(outcomes))
    _emit_rollup(ctx, answers.finish_rollup(rows, range_value, sort))
    sites.settle(ctx, outcomes)  # some failed: exit 3 naming each, after the rows that answered


def terminal_width(ctx: Context) -> int | None:
    """The terminal's width when stdout is one (COLUMNS wins), else None."""
    if not ctx.out.is_tty:
        return None
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _emit_rollup(ctx: Context, document: dict) -> None:
    from zenovay_cli import glyphs, screens

    if ctx.fmt == "json":
        ctx.out.emit("analytics_all", document, "json")
    elif ctx.fmt == "table":
        mode = glyphs.mode_for(ctx.out.is_tty, ctx.out.color)
        ctx.out.show(screens.rollup_views(document, mode, terminal_width(ctx)))
    else:
        ctx.out.records(screens.rollup_records(document), ctx.fmt)


@data_command
def visitors(
    ctx: Context,
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=1000, help="Visitors per page (API maximum 1000).")
    ] = None,
    offset: Annotated[int | None, typer.Option("--offset", metavar="N", min=0, help="Skip this many visitors.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Follow pagination to the end; rows stream as pages arrive.")
    ] = False,
) -> None:
    """List individual visitors (one page, or every page with --all)."""
    website_id = resolve_id(ctx, website)
    client = ctx.client()
    if all_:
        pages = client.iter_visitor_pages(website_id, range_.value, page_size=limit or 1000, offset=offset or 0)
        ctx.out.stream("visitors", pages, ctx.fmt)
    else:
        ctx.out.emit("visitors", client.get_visitors(website_id, range_.value, limit, offset), ctx.fmt)


@data_command
def pages(ctx: Context, website: WebsiteArg = None, range_: RangeOpt = Range.d7, limit: LimitOpt = None) -> None:
    """Show the most visited pages and each one's share of visitors (a table: +1 request)."""
    website_id = resolve_id(ctx, website)
    _breakdown(ctx, "pages", website_id, range_.value, lambda: ctx.client().get_pages(website_id, range_.value, limit))


@data_command
def countries(ctx: Context, website: WebsiteArg = None, range_: RangeOpt = Range.d7, limit: LimitOpt = None) -> None:
    """Show visitors by country and each one's share of visitors (a table: +1 request)."""
    website_id = resolve_id(ctx, website)
    _breakdown(ctx, "countries", website_id, range_.value, lambda: ctx.client().get_countries(website_id, range_.value, limit))


@data_command
def tech(ctx: Context, website: WebsiteArg = None, range_: RangeOpt = Range.d7) -> None:
    """Show browsers, operating systems and device types with shares (a table: +1 request)."""
    website_id = resolve_id(ctx, website)
    _breakdown(ctx, "tech", website_id, range_.value, lambda: ctx.client().get_technology(website_id, range_.value))


def _breakdown(ctx: Context, kind: str, website_id: str, range_value: str, fetch) -> None:
    """A breakdown answer; as a table, each row's share of the period's visitors too (one more
    request, for the analytics summary, made only when there are rows to share) and a bar on a
    terminal. json/csv/ndjson: the API's answer only."""
    data = fetch()
    if ctx.fmt != "table":
        ctx.out.emit(kind, data, ctx.fmt)
        return
    from zenovay_cli import glyphs, screens
    from zenovay_cli.compare import summary_value
    from zenovay_cli.errors import ZenovayError
    from zenovay_cli.views import views_for

    views = views_for(kind, data)
    total = None
    if any(v.kind == "table" and "visitors" in v.columns and v.rows for v in views):
        try:
            total = summary_value(ctx.client().get_analytics(website_id, range_value), "total_visitors")
        except ZenovayError as exc:  # the rows still show; only their shares need the total
            ctx.out.warn(f"shares left out: the visitors total could not be fetched ({ctx.redact(exc.message)})")
    mode = glyphs.mode_for(ctx.out.is_tty, ctx.out.color)
    width = terminal_width(ctx)
    ctx.out.show([screens.with_shares(v, total, mode, width) for v in views])


@data_command
def errors(
    ctx: Context,
    website: WebsiteArg = None,
    status: Annotated[
        ErrorStatus | None, typer.Option("--status", "-s", help="Only groups with this status.", case_sensitive=False)
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=200, help="Maximum number of groups.")] = None,
) -> None:
    """Show JavaScript error groups."""
    data = ctx.client().get_error_groups(resolve_id(ctx, website), status.value if status else None, limit)
    ctx.out.emit("errors", data, ctx.fmt)
