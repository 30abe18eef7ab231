"""history sync | show | info | sql: the local SQLite history store."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from zenovay_cli.commands._options import command, data_command
from zenovay_cli.context import Context
from zenovay_cli.sites import DEFAULT_CONCURRENCY

app = typer.Typer(
    help="A local SQLite history of daily figures: any date window, year-over-year, SQL.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="The history store [env: ZENOVAY_HISTORY_DB; default: history.db in the user data dir, e.g. ~/.local/share/zenovay/].", show_default=False),
]


class Backfill(str, Enum):
    y1 = "1y"
    d90 = "90d"
    d30 = "30d"


class By(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class Compare(str, Enum):
    previous = "previous"
    yoy = "yoy"
    same_weekday = "same-weekday"


def db_path(path: Path | None, demo: bool = False, *, create: bool = True) -> Path:
    """--db, or the default store (its folder created 0700 when `create`: the writers; a reader
    of a store that is not there leaves nothing behind); under --demo the demo's own store."""
    import os

    from zenovay_cli.history.store import default_path, no_store

    if path is not None:
        return path.expanduser()
    default = default_path(demo)
    ours = demo or not os.environ.get("ZENOVAY_HISTORY_DB")  # the user data dir: ours to create
    if ours and create:
        default.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif ours and not default.parent.is_dir():
        raise no_store(default)  # nothing synced yet: not a wrong --db
    return default


@app.command(
    "sync",
    epilog="Examples: zenovay history sync --backfill 1y  ·  zenovay history sync --website mysite.com --breakdowns none  ·  "
    "(crontab -l; echo '30 2 * * * zenovay history sync --quiet') | crontab -",
)
@data_command
def sync(
    ctx: Context,
    db: DbOpt = None,
    backfill: Annotated[Backfill | None, typer.Option("--backfill", "-b", case_sensitive=False, show_default=False, help="Fetch this range for every website [default: a year for a website new to the store, else the shortest range since its last stored day, at least 7d].")] = None,
    website: Annotated[list[str] | None, typer.Option("--website", "-w", show_default=False, help="Only this website, id or domain (repeatable) [default: all].")] = None,
    breakdowns: Annotated[str, typer.Option("--breakdowns", help="Snapshots to keep besides the daily rows: a comma-separated subset of countries,pages,technology, or none. Each costs one request per website.")] = "countries,pages,technology",
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=32, help="Websites fetched at once (all share one rate budget).")] = DEFAULT_CONCURRENCY,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something goes wrong (for cron mail).")] = False,
) -> None:
    """Store every website's daily visitors, unique visitors and page views, and breakdown snapshots.

    Cost: the website list, then per website one analytics request (the daily rows) plus one per
    breakdown. Each website is one transaction: a failure or a kill keeps what was stored.
    """
    from zenovay_cli.history import store as st
    from zenovay_cli.history import sync as hs
    from zenovay_cli.sites import settle

    plan = hs.SyncPlan(backfill.value if backfill else None, hs.parse_breakdowns(breakdowns),
                       list(website or []), concurrency, quiet)
    path = db_path(db, ctx.demo)
    with st.Store(path) as store:  # checked (and created or migrated) before any request
        results, outcomes = hs.run_sync(ctx, store, plan)
    if not quiet:
        ctx.out.emit("history_sync", [r.record() for r in results], ctx.fmt)
        added = sum(r.changes.added for r in results)
        changed = sum(r.changes.changed for r in results)
        ctx.out.info(f"history: {len(results)} websites, {added} days added, {changed} changed, "
                     f"in {path}")
    settle(ctx, outcomes, hint="What succeeded is stored; run the sync again for the rest.")


@app.command(
    "show",
    epilog="Examples: zenovay history show mysite.com --from 2026-01-01 --to 2026-03-31 --by month --compare yoy  ·  "
    "zenovay history show mysite.com --from -4w --compare same-weekday  ·  zenovay history show --all --from -30d --compare previous",
)
@command("output")
def show(
    ctx: Context,
    website: Annotated[str | None, typer.Argument(show_default=False, help="Website id or domain, as stored (an earlier domain works too) [default: the profile's website, or the only one stored].")] = None,
    from_: Annotated[str, typer.Option("--from", help="First day: YYYY-MM-DD, today, yesterday, or relative (-7d, -4w, -3m, -1y).")] = "-29d",
    to: Annotated[str, typer.Option("--to", help="Last day (included), same forms as --from.")] = "today",
    by: Annotated[By, typer.Option("--by", case_sensitive=False, help="One row per day, ISO week or calendar month.")] = By.day,
    compare: Annotated[Compare | None, typer.Option("--compare", "-c", case_sensitive=False, show_default=False, help="Set against the same number of days before (previous), the same dates a year before (yoy), or 52 weeks before (same-weekday).")] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="One row per stored website over the window, with totals and shares.")] = False,
    db: DbOpt = None,
) -> None:
    """Sum the stored days of any date window per day, week or month, optionally compared. No request.

    Unique visitors summed over several days count a returning visitor once per day: they are
    marked approximate (≈ in tables, unique_visitors_approximate in json/csv).
    """
    from zenovay_cli.history import dates as d
    from zenovay_cli.history import query
    from zenovay_cli.history import store as st

    today = _today()
    window = d.Window(d.parse_date(from_, today, option="--from"), d.parse_date(to, today, option="--to"))
    how = compare.value if compare else None
    conn = st.connect_readonly(db_path(db, ctx.demo, create=False))
    try:
        if all_:
            if website is not None:
                ctx.out.warn("--all given: ignoring the website argument")
            doc = query.rollup(conn, window, how)
            _warn_rollup(ctx, doc, window)
            _emit(ctx, "history_all", doc, doc["websites"], query.rollup_table(doc))
            return
        site = _find(ctx, conn, website)
        doc = query.show(conn, site, window, by.value, how)
    finally:
        conn.close()
    _warn_missing(ctx, doc, window)
    _emit(ctx, "history", doc, doc["periods"], query.show_table(doc))


def _today():
    from zenovay_cli.history.sync import today_utc

    return today_utc()


def _emit(ctx: Context, kind: str, doc: Any, records: list, table: Any) -> None:
    if ctx.fmt == "json":
        ctx.out.emit(kind, doc, "json")
    elif ctx.fmt == "table":
        ctx.out.emit(kind, table, "table")
    else:
        ctx.out.emit(kind, records, ctx.fmt)


def _find(ctx: Context, conn, name: str | None):
    from zenovay_cli.errors import NotFoundError, UsageError
    from zenovay_cli.history import store as st

    if name is None or not name.strip():
        name = ctx.settings.website
    if not name:
        stored = st.websites(conn)
        if len(stored) == 1:
            return stored[0]
        raise UsageError(
            "no website given",
            hint=f"Name one of the {len(stored)} stored websites (`zenovay history info`), or use --all.",
        )
    site = st.find_website(conn, name)
    if site is None:
        raise NotFoundError(
            f"the history store holds no website {name!r}",
            hint="See the stored websites with `zenovay history info`; `zenovay history sync` adds new ones.",
        )
    return site


def _warn_missing(ctx: Context, doc: dict, window) -> None:
    from datetime import date

    from zenovay_cli.errors import NotFoundError
    from zenovay_cli.history import dates as d

    missing = [date.fromisoformat(x) for x in doc["missing_days"]]
    label = doc["website"]["domain"] or doc["website"]["id"]
    if len(missing) == window.days:
        raise NotFoundError(
            f"the history store holds none of the days {window} for {label}",
            hint="Fill it with `zenovay history sync --backfill 1y` (the API reaches a year back).",
        )
    if missing:
        ctx.out.warn(f"{label}: {len(missing)} of {window.days} days not in the store, left out of "
                     f"the sums: {d.describe_runs(missing)}")
    cmissing = [date.fromisoformat(x) for x in doc.get("compare_missing_days", [])]
    if cmissing:
        ctx.out.warn(f"{label}: {len(cmissing)} days of the comparison window "
                     f"{doc['compare_from']}..{doc['compare_to']} not in the store: "
                     f"{d.describe_runs(cmissing)}")


def _warn_rollup(ctx: Context, doc: dict, window) -> None:
    from zenovay_cli.errors import NotFoundError

    sites = doc["websites"]
    if not sites or all(s["days_missing"] == window.days for s in sites):
        raise NotFoundError(
            f"the history store holds none of the days {window}",
            hint="Fill it with `zenovay history sync --backfill 1y`.",
        )
    for label, n in doc["missing_days"].items():
        ctx.out.warn(f"{label}: {n} of {window.days} days not in the store")


@app.command("info", epilog="Examples: zenovay history info  ·  zenovay history info --json | jq .daily_rows")
@command("output")
def info(ctx: Context, db: DbOpt = None) -> None:
    """Show the store's file, size, schema version, and per website its first and last day."""
    from zenovay_cli.history import store as st

    path = db_path(db, ctx.demo, create=False)
    conn = st.connect_readonly(path)
    try:
        doc = st.info(conn, path)
    finally:
        conn.close()
    _emit(ctx, "history_info", doc, doc["sites"], doc)


@app.command(
    "sql",
    epilog="Examples: zenovay history sql \"SELECT date, total_visitors FROM daily_stats ORDER BY date DESC LIMIT 7\"  ·  "
    "zenovay history sql \"SELECT strftime('%Y', date) AS year, sum(page_views) FROM daily_stats GROUP BY 1\" --format csv",
)
@command("output")
def sql(
    ctx: Context,
    statement: Annotated[str, typer.Argument(help="One SELECT (or WITH ... SELECT) statement.", show_default=False)],
    db: DbOpt = None,
) -> None:
    """Run one read-only SELECT against the store.

    Tables: daily_stats, breakdowns, websites, website_domains, syncs, schema_version
    (described in docs/history.md). Anything but a single SELECT/WITH statement is refused.
    """
    from zenovay_cli.history import sqlguard
    from zenovay_cli.history import store as st

    sqlguard.check(statement)  # before the file is opened
    conn = st.connect_readonly(db_path(db, ctx.demo, create=False))
    try:
        rows = sqlguard.run(conn, statement)
    finally:
        conn.close()
    _emit(ctx, "history_sql", rows, rows, rows)
