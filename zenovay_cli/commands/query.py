"""The query commands: usage, websites, analytics, visitors, pages, countries, tech, errors."""

from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands.common import (
    DEFAULT_CONCURRENCY,
    ErrorStatus,
    LimitOpt,
    Range,
    RangeOpt,
    WebsiteArg,
    data_command,
    redact,
    resolve_website,
    state,
    website_list,
)


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
def usage() -> None:
    """Show the plan, monthly requests used and left, reset time and rate limit."""
    st = state()
    st.out.emit("usage", st.client().get_usage(), st.fmt)


@data_command
def websites(website: WebsiteArg = None) -> None:
    """List the websites your key can see, or show one website's details."""
    st = state()
    if website is None:
        st.out.emit("websites", st.client().list_websites(), st.fmt)
    else:
        st.out.emit("website", st.client().get_website(resolve_website(website)), st.fmt)


class SortBy(str, Enum):
    visitors = "visitors"
    views = "views"
    change = "change"
    name = "name"


@data_command
def analytics(
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="One row per website, for every website the key can see, with a totals row and each site's share of all visitors.")
    ] = False,
    compare_: Annotated[
        bool, typer.Option("--compare", help="Compare with the previous period (7d, 30d, 90d): the same number of days before, summed from the daily rows of the next longer range. Costs 2 requests per website. Unique visitors are compared as sums of daily unique visitors: approximate.")
    ] = False,
    sort: Annotated[
        SortBy | None, typer.Option("--sort", help="With --all: order by visitors, views, name, or change (the biggest movers first; needs --compare).", case_sensitive=False, show_default=False)
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=32, help="With --all: websites fetched at once (all share one rate budget).")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Show visitors, page views and unique visitors with the daily trend (1 request; 2 with --compare)."""
    from zenovay_cli.errors import UsageError

    st = state()
    if compare_:
        from zenovay_cli.compare import check_range

        check_range(range_.value)
    if sort is not None and not all_:
        raise UsageError("--sort orders the rows of --all; add --all")
    if sort is SortBy.change and not compare_:
        raise UsageError("--sort change needs --compare (it orders by the change against the previous period)")
    if all_:
        if website is not None:
            st.out.warn("--all given: ignoring the website argument")
        analytics_all(range_.value, concurrency, compare_, sort.value if sort else None)
        return
    website_id = resolve_website(website)
    if not compare_:
        st.out.emit("analytics", st.client().get_analytics(website_id, range_.value), st.fmt)
        return
    from zenovay_cli import answers, screens

    document = answers.analytics_compared(st.client(), website_id, range_.value)
    if st.fmt == "json":
        st.out.emit("analytics", document, "json")
    elif st.fmt == "table":
        plain = {k: v for k, v in document.items() if k != "comparison"}
        from zenovay_cli.views import views_for

        st.out.show([*views_for("analytics", plain), screens.compare_view(document["comparison"], st.out.is_tty)])
    else:
        st.out.records(screens.compare_records(document), st.fmt)


def analytics_all(range_value: str, concurrency: int, with_compare: bool = False, sort: str | None = None) -> None:
    """Every website's summary (and the previous period's), fetched in parallel within one
    shared rate budget, drawn as the rollup: totals, shares, trend, changes."""
    from zenovay_cli import answers
    from zenovay_cli.compare import LONGER
    from zenovay_cli.errors import PartialFailure, ZenovayError
    from zenovay_cli.fanout import run_all
    from zenovay_cli.ratelimit import RateBudget

    st = state()
    budget = RateBudget(max_wait=st.settings.max_wait, on_wait=lambda s, why: st.out.status(f"pacing: waiting {s:.1f} s ({why})"))
    client = st.client(budget=budget)
    sites = website_list(client.list_websites())
    ranges = (range_value, LONGER[range_value]) if with_compare else (range_value,)
    # One task per request (not per website), so a site's two requests run side by side.
    tasks = [(i, r) for i in range(len(sites)) for r in ranges]
    outcomes = run_all(
        tasks, lambda t: client.get_analytics(str(sites[t[0]].get("id")), t[1]), concurrency=concurrency,
    )
    answers_by = {o.item: o for o in outcomes}
    rows, failures, errors = [], [], []
    for i, w in enumerate(sites):
        failed = next((answers_by[(i, r)] for r in ranges if not answers_by[(i, r)].ok), None)
        if failed is None:
            longer = answers_by[(i, ranges[1])].value if with_compare else None
            rows.append(answers.site_row(w, answers_by[(i, range_value)].value, longer, range_value))
            continue
        error = failed.error
        errors.append(error)
        message = redact(error.message if isinstance(error, ZenovayError) else str(error))
        rows.append({"website": {"id": w.get("id"), "domain": w.get("domain"), "name": w.get("name")},
                     "error": message})
        request_id = redact(getattr(error, "request_id", None))
        # The one stderr line names each failure's request id: that is what support asks for.
        failures.append(f"{w.get('domain')} ({message}" + (f"; request id: {request_id})" if request_id else ")"))
    if failures and len(failures) == len(rows):
        raise errors[0]
    document = answers.finish_rollup(rows, range_value, sort)
    _emit_rollup(document)
    if failures:
        raise PartialFailure(f"{len(failures)} of {len(rows)} websites failed: " + ", ".join(failures))


def terminal_width() -> int | None:
    """The terminal's width when stdout is one (COLUMNS wins), else None."""
    st = state()
    if not st.out.is_tty:
        return None
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _emit_rollup(document: dict) -> None:
    from zenovay_cli import glyphs, screens

    st = state()
    if st.fmt == "json":
        st.out.emit("analytics_all", document, "json")
    elif st.fmt == "table":
        mode = glyphs.mode_for(st.out.is_tty, st.out.color)
        st.out.show(screens.rollup_views(document, mode, terminal_width()))
    else:
        st.out.records(screens.rollup_records(document), st.fmt)


@data_command
def visitors(
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, max=1000, help="Visitors per page (API maximum 1000).")
    ] = None,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Skip this many visitors.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Follow pagination to the end; rows stream as pages arrive.")
    ] = False,
) -> None:
    """List individual visitors (one page, or every page with --all)."""
    st = state()
    website_id = resolve_website(website)
    client = st.client()
    if all_:
        pages = client.iter_visitor_pages(website_id, range_.value, page_size=limit or 1000, offset=offset or 0)
        st.out.stream("visitors", pages, st.fmt)
    else:
        st.out.emit("visitors", client.get_visitors(website_id, range_.value, limit, offset), st.fmt)


@data_command
def pages(website: WebsiteArg = None, range_: RangeOpt = Range.d7, limit: LimitOpt = None) -> None:
    """Show the most visited pages and each one's share of visitors (a table: +1 request)."""
    st = state()
    website_id = resolve_website(website)
    _breakdown("pages", website_id, range_.value, lambda: st.client().get_pages(website_id, range_.value, limit))


@data_command
def countries(website: WebsiteArg = None, range_: RangeOpt = Range.d7, limit: LimitOpt = None) -> None:
    """Show visitors by country and each one's share of visitors (a table: +1 request)."""
    st = state()
    website_id = resolve_website(website)
    _breakdown("countries", website_id, range_.value, lambda: st.client().get_countries(website_id, range_.value, limit))


@data_command
def tech(website: WebsiteArg = None, range_: RangeOpt = Range.d7) -> None:
    """Show browsers, operating systems and device types with shares (a table: +1 request)."""
    st = state()
    website_id = resolve_website(website)
    _breakdown("tech", website_id, range_.value, lambda: st.client().get_technology(website_id, range_.value))


def _breakdown(kind: str, website_id: str, range_value: str, fetch) -> None:
    """A breakdown answer; as a table, each row's share of the period's visitors too (one more
    request, for the analytics summary, made only when there are rows to share) and a bar on a
    terminal. json/csv/ndjson: the API's answer only."""
    st = state()
    data = fetch()
    if st.fmt != "table":
        st.out.emit(kind, data, st.fmt)
        return
    from zenovay_cli import glyphs, screens
    from zenovay_cli.compare import summary_value
    from zenovay_cli.errors import ZenovayError
    from zenovay_cli.views import views_for

    views = views_for(kind, data)
    total = None
    if any(v.kind == "table" and "visitors" in v.columns and v.rows for v in views):
        try:
            total = summary_value(st.client().get_analytics(website_id, range_value), "total_visitors")
        except ZenovayError as exc:  # the rows still show; only their shares need the total
            st.out.warn(f"shares left out: the visitors total could not be fetched ({redact(exc.message)})")
    mode = glyphs.mode_for(st.out.is_tty, st.out.color)
    width = terminal_width()
    st.out.show([screens.with_shares(v, total, mode, width) for v in views])


@data_command
def errors(
    website: WebsiteArg = None,
    status: Annotated[
        ErrorStatus | None, typer.Option("--status", "-s", help="Only groups with this status.", case_sensitive=False)
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, max=200, help="Maximum number of groups.")] = None,
) -> None:
    """Show JavaScript error groups."""
    st = state()
    data = st.client().get_error_groups(resolve_website(website), status.value if status else None, limit)
    st.out.emit("errors", data, st.fmt)
