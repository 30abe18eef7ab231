"""The query commands: usage, websites, analytics, visitors, pages, countries, tech, errors."""

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
    "analytics": "Examples: zenovay analytics mysite.com --range 30d  ·  zenovay analytics --all --format csv",
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


@data_command
def analytics(
    website: WebsiteArg = None,
    range_: RangeOpt = Range.d7,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="One row per website, for every website the key can see.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=32, help="With --all: websites fetched at once (all share one rate budget).")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Show visitors, page views and unique visitors with the daily trend."""
    st = state()
    if all_:
        if website is not None:
            st.out.warn("--all given: ignoring the website argument")
        st.out.emit("analytics_all", analytics_all(range_.value, concurrency), st.fmt)
        return
    st.out.emit("analytics", st.client().get_analytics(resolve_website(website), range_.value), st.fmt)


def analytics_all(range_value: str, concurrency: int) -> dict:
    """Every website's summary, fetched in parallel within one shared rate budget."""
    from zenovay_cli.errors import PartialFailure, ZenovayError
    from zenovay_cli.fanout import run_all
    from zenovay_cli.ratelimit import RateBudget

    st = state()
    budget = RateBudget(max_wait=st.settings.max_wait, on_wait=lambda s, why: st.out.status(f"pacing: waiting {s:.1f} s ({why})"))
    client = st.client(budget=budget)
    sites = website_list(client.list_websites())
    outcomes = run_all(
        sites,
        lambda w: client.get_analytics(str(w.get("id")), range_value),
        concurrency=concurrency,
    )
    rows, failures = [], []
    for o in outcomes:
        w = o.item
        row = {"website": {"id": w.get("id"), "domain": w.get("domain"), "name": w.get("name")}}
        if o.ok:
            data = o.value if isinstance(o.value, dict) else {}
            row.update({"time_range": data.get("time_range", range_value), "summary": data.get("summary")})
        else:
            message = redact(o.error.message if isinstance(o.error, ZenovayError) else str(o.error))
            row["error"] = message
            request_id = redact(getattr(o.error, "request_id", None))
            # The one stderr line names each failure's request id: that is what support asks for.
            failures.append(f"{w.get('domain')} ({message}" + (f"; request id: {request_id})" if request_id else ")"))
        rows.append(row)
    result = {"time_range": range_value, "websites": rows}
    if failures and len(failures) == len(rows):
        first = next(o.error for o in outcomes if not o.ok)
        raise first
    if failures:
        st.out.emit("analytics_all", result, st.fmt)
        raise PartialFailure(f"{len(failures)} of {len(rows)} websites failed: " + ", ".join(failures))
    return result


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
    """Show the most visited pages."""
    st = state()
    st.out.emit("pages", st.client().get_pages(resolve_website(website), range_.value, limit), st.fmt)


@data_command
def countries(website: WebsiteArg = None, range_: RangeOpt = Range.d7, limit: LimitOpt = None) -> None:
    """Show visitors by country."""
    st = state()
    data = st.client().get_countries(resolve_website(website), range_.value, limit)
    st.out.emit("countries", data, st.fmt)


@data_command
def tech(website: WebsiteArg = None, range_: RangeOpt = Range.d7) -> None:
    """Show browsers, operating systems and device types."""
    st = state()
    st.out.emit("tech", st.client().get_technology(resolve_website(website), range_.value), st.fmt)


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
