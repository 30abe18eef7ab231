"""The commands of the endpoints added in 2026: anomalies, insights, retention, revenue, heatmaps,
replays. Thin: options -> one client call (or its pages) -> ctx.out."""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands._options import data_command
from zenovay_cli.commands.common import Range, WebsiteArg
from zenovay_cli.context import Context
from zenovay_cli.sites import resolve_id

NAMES = ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays")

EXAMPLES = {
    "anomalies": "Examples: zenovay anomalies mysite.com --severity critical --unresolved  ·  "
    "zenovay anomalies mysite.com --range 90d --all --format csv > anomalies.csv",
    "insights": "Examples: zenovay insights mysite.com --type recommendation  ·  "
    "zenovay insights mysite.com --range 30d --all --json",
    "retention": "Examples: zenovay retention mysite.com  ·  "
    "zenovay retention mysite.com --range 90d --granularity monthly --periods 3",
    "revenue": "Examples: zenovay revenue mysite.com  ·  "
    "zenovay revenue mysite.com --granularity weekly --format csv",
    "heatmaps": "Example: zenovay heatmaps mysite.com --limit 10",
    "replays": "Examples: zenovay replays mysite.com --limit 20  ·  "
    "zenovay replays mysite.com --all --format ndjson > sessions.ndjson",
}


class AnomalyRange(str, Enum):
    h24 = "24h"
    d7 = "7d"
    d30 = "30d"
    d90 = "90d"


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"


class InsightType(str, Enum):
    anomaly = "anomaly"
    trend = "trend"
    recommendation = "recommendation"
    prediction = "prediction"


class Granularity(str, Enum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class LtvGranularity(str, Enum):
    weekly = "weekly"
    monthly = "monthly"


AllOpt = Annotated[bool, typer.Option(
    "--all", "-a", help="Follow pagination to the end; rows stream as pages arrive.")]
OffsetOpt = Annotated[int | None, typer.Option("--offset", metavar="N", min=0, help="Skip this many items.")]


def register(app: typer.Typer) -> None:
    for command in (anomalies, insights, retention, revenue, heatmaps, replays):
        app.command(command.__name__, epilog=EXAMPLES[command.__name__])(command)


def _value(option: Enum | None) -> str | None:
    return option.value if option is not None else None


@data_command
def anomalies(
    ctx: Context,
    website: WebsiteArg = None,
    range_: Annotated[AnomalyRange, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = AnomalyRange.d7,
    severity: Annotated[Severity | None, typer.Option("--severity", "-s", help="Only anomalies of this severity.", case_sensitive=False)] = None,
    metric: Annotated[str | None, typer.Option("--metric", "-m", help="Only this metric, e.g. visitors, bounce_rate, error_rate.", show_default=False)] = None,
    resolved: Annotated[bool | None, typer.Option("--resolved/--unresolved", help="Only resolved (or only unresolved) anomalies [default: both].", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=200, help="Anomalies per page (API maximum 200).")] = None,
    offset: OffsetOpt = None,
    all_: AllOpt = False,
) -> None:
    """List the anomalies Zenovay detected (spikes and drops against the baseline; Pro and up)."""
    website_id = resolve_id(ctx, website)
    client = ctx.client()
    if all_:
        pages = client.iter_anomaly_pages(website_id, range_.value, _value(severity), metric,
                                          resolved, page_size=limit or 200, offset=offset or 0)
        ctx.out.stream("anomalies", pages, ctx.fmt)
        return
    data = client.get_anomalies(website_id, range_.value, _value(severity), metric, resolved,
                                limit, offset)
    ctx.out.emit("anomalies", data, ctx.fmt)


@data_command
def insights(
    ctx: Context,
    website: WebsiteArg = None,
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = Range.d7,
    type_: Annotated[InsightType | None, typer.Option("--type", "-t", help="Only insights of this type.", case_sensitive=False)] = None,
    severity: Annotated[Severity | None, typer.Option("--severity", "-s", help="Only insights of this severity.", case_sensitive=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=200, help="Insights per page (API maximum 200).")] = None,
    all_: AllOpt = False,
) -> None:
    """List AI insights: anomalies, trends, recommendations and predictions (Pro and up)."""
    website_id = resolve_id(ctx, website)
    client = ctx.client()
    if all_:
        pages = client.iter_insight_pages(website_id, range_.value, _value(type_), _value(severity),
                                          page_size=limit or 200)
        ctx.out.stream("insights", pages, ctx.fmt)
        return
    data = client.get_insights(website_id, range_.value, _value(type_), _value(severity), limit)
    ctx.out.emit("insights", data, ctx.fmt)


@data_command
def retention(
    ctx: Context,
    website: WebsiteArg = None,
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range of the cohorts.", case_sensitive=False)] = Range.d30,
    granularity: Annotated[Granularity, typer.Option("--granularity", "-g", help="Cohort size.", case_sensitive=False)] = Granularity.weekly,
    periods: Annotated[int, typer.Option("--periods", min=1, max=12, help="Periods followed after the first (1-12).")] = 6,
) -> None:
    """Show retention cohorts: of each cohort's new visitors, the share back in later periods (Pro and up)."""
    data = ctx.client().get_retention(resolve_id(ctx, website), range_.value, granularity.value,
                                      periods)
    ctx.out.emit("retention", data, ctx.fmt)


@data_command
def revenue(
    ctx: Context,
    website: WebsiteArg = None,
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range of the cohorts.", case_sensitive=False)] = Range.d90,
    granularity: Annotated[LtvGranularity, typer.Option("--granularity", "-g", help="Cohort size.", case_sensitive=False)] = LtvGranularity.monthly,
) -> None:
    """Show customer lifetime value: LTV cohorts and the 30/90-day averages (Pro and up)."""
    data = ctx.client().get_revenue_ltv(resolve_id(ctx, website), range_.value, granularity.value)
    ctx.out.emit("revenue", data, ctx.fmt)


@data_command
def heatmaps(
    ctx: Context,
    website: WebsiteArg = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=100, help="Pages to show (API maximum 100).")] = None,
) -> None:
    """List the pages with heatmap data, most interactions first (all time)."""
    ctx.out.emit("heatmaps", ctx.client().get_heatmap_pages(resolve_id(ctx, website), limit),
                 ctx.fmt)


@data_command
def replays(
    ctx: Context,
    website: WebsiteArg = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=200, help="Sessions per page (API maximum 200).")] = None,
    offset: OffsetOpt = None,
    all_: AllOpt = False,
) -> None:
    """List session recordings, newest first."""
    website_id = resolve_id(ctx, website)
    client = ctx.client()
    if all_:
        pages = client.iter_replay_pages(website_id, page_size=limit or 200, offset=offset or 0)
        ctx.out.stream("replays", pages, ctx.fmt)
        return
    ctx.out.emit("replays", client.get_replay_sessions(website_id, limit, offset), ctx.fmt)
