"""history sync: every website's daily rows (and breakdown snapshots) into the store, one
transaction per website as it arrives, under the shared budget (sites.SiteRun)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from zenovay_cli.errors import UsageError
from zenovay_cli.history import store as st

if TYPE_CHECKING:  # pragma: no cover
    from zenovay_cli.context import Context

RANGE_DAYS = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}
BACKFILL = ("1y", "90d", "30d")
BREAKDOWNS = ("countries", "pages", "technology")
DEFAULT_BREAKDOWNS = "countries,pages,technology"
BREAKDOWN_LIMIT = 100  # rows per countries/pages snapshot: the API's documented maximum


def parse_breakdowns(text: str | None) -> tuple[str, ...]:
    """`countries,pages,technology` (any subset, any order) or `none`."""
    value = (DEFAULT_BREAKDOWNS if text is None else text).strip().lower()
    if value in ("none", ""):
        return ()
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    bad = [part for part in chosen if part not in BREAKDOWNS]
    if bad:
        raise UsageError(
            f"--breakdowns {text!r}: unknown breakdown {bad[0]!r}",
            hint=f"Use a comma-separated subset of {', '.join(BREAKDOWNS)}, or none.",
        )
    return tuple(dict.fromkeys(chosen))


def auto_range(last_day: date | None, today: date) -> str:
    """The range a plain sync asks for: a year for a website with no history yet (the same one
    request as a week), else the shortest range reaching back to the day after its last stored
    day and at least a week, so days that were still growing get their final numbers."""
    if last_day is None:
        return "1y"
    gap = (today - last_day).days + 1
    for range_value, days in RANGE_DAYS.items():
        if days >= gap:
            return range_value
    return "1y"


def requests_per_website(breakdowns: Sequence[str]) -> int:
    return 1 + len(breakdowns)


@dataclass
class Fetched:
    site: st.SiteInfo
    time_range: str  # of the daily rows
    days: list[st.DayRow]
    breakdowns: dict[str, list[st.BreakdownRow]]
    fetched_at: str
    snapshot_range: str = ""  # of the breakdown snapshots (export --range 24h: 24h)

    def save(self, store: st.Store, sync_date: str) -> st.Changes:
        return store.save_website(self.site, self.days, self.breakdowns,
                                  fetched_at=self.fetched_at, sync_date=sync_date,
                                  time_range=self.snapshot_range or self.time_range)


def fetch_site(client: Any, site: st.SiteInfo, time_range: str, breakdowns: Sequence[str],
               answers: dict[str, Any] | None = None, snapshot_range: str | None = None) -> Fetched:
    """One website's answers (analytics for the daily rows, then each breakdown), as rows.

    `answers` holds what the caller (export) already fetched: "analytics" for `time_range`, and
    "countries", "pages", "technology" for `snapshot_range`; those are not asked for again.
    """
    from zenovay_cli import schema

    answers = answers or {}
    snap = snapshot_range or time_range
    analytics = answers.get("analytics")
    if analytics is None:
        analytics = client.get_analytics(site.website_id, time_range)
    # The time the answer came back: what "a newer answer wins" compares.
    fetched_at = st.now_stamp()
    days = [st.DayRow(*row) for row in schema.daily_rows(analytics)]
    found: dict[str, list[st.BreakdownRow]] = {}
    if "countries" in breakdowns:
        countries = answers.get("countries")
        if countries is None:
            countries = client.get_countries(site.website_id, snap, BREAKDOWN_LIMIT)
        found["country"] = [st.BreakdownRow(code, name, visitors)
                            for code, name, visitors in schema.country_rows(countries)]
    if "pages" in breakdowns:
        pages = answers.get("pages")
        if pages is None:
            pages = client.get_pages(site.website_id, snap, BREAKDOWN_LIMIT)
        found["page"] = [st.BreakdownRow(url, title, visitors, views)
                         for url, title, visitors, views in schema.page_rows(pages)]
    if "technology" in breakdowns:
        tech = answers.get("technology")
        if tech is None:
            tech = client.get_technology(site.website_id, snap)
        for dimension, rows in schema.tech_rows(tech).items():
            found[dimension] = [st.BreakdownRow(name, None, visitors) for name, visitors in rows]
    identity = analytics.get("website") if isinstance(analytics, dict) else None
    if isinstance(identity, dict):  # the answer's own domain/name are the newest we know
        site = st.SiteInfo(site.website_id,
                           schema.website_domain(identity) or site.domain,
                           identity.get("name") if isinstance(identity.get("name"), str) else site.name)
    return Fetched(site, time_range, days, found, fetched_at, snap)


def site_info(site: dict) -> st.SiteInfo:
    from zenovay_cli import schema
    from zenovay_cli.sites import require_id

    name = site.get("name")
    return st.SiteInfo(require_id(site), schema.website_domain(site) or None,
                       name if isinstance(name, str) else None)


@dataclass
class SiteResult:
    website_id: str
    domain: str | None
    time_range: str | None = None
    days: int = 0
    changes: st.Changes = field(default_factory=st.Changes)
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "website_id": self.website_id, "domain": self.domain, "time_range": self.time_range,
            "days": self.days, "added": self.changes.added, "changed": self.changes.changed,
            "unchanged": self.changes.unchanged, "kept_newer": self.changes.kept_newer,
            "snapshots": self.changes.snapshots, "error": self.error,
        }


@dataclass
class SyncPlan:
    backfill: str | None
    breakdowns: tuple[str, ...]
    websites: list[str]
    concurrency: int
    quiet: bool = False


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def last_days(store: st.Store) -> dict[str, date]:
    return {wid: date.fromisoformat(day) for wid, day in store.conn.execute(
        "SELECT website_id, max(date) FROM daily_stats GROUP BY website_id")}


def run_sync(ctx: Context, store: st.Store, plan: SyncPlan,
             on_site: Callable[[SiteResult], None] | None = None) -> tuple[list[SiteResult], list]:
    """Fetch and store every (or every named) website; (results, the fan-out's outcomes).

    Each website's rows are committed as soon as its answers are in, so a partial failure (or
    a kill) keeps what was done; the caller turns the outcomes into the exit code.
    """
    from zenovay_cli import schema
    from zenovay_cli.sites import SiteRun, select

    # The store wants the API's newest numbers, not a cached answer up to minutes old.
    ctx.set_request(replace(ctx.request, refresh=not ctx.request.no_cache or ctx.request.refresh))
    today = today_utc()
    sync_date = today.isoformat()
    known_last = last_days(store)
    sync_id = store.start_sync("history sync")
    results: list[SiteResult] = []
    totals = st.Changes()
    with SiteRun(ctx, quiet=plan.quiet) as run:
        listed = run.websites()
        sites = select(listed, plan.websites)
        run.learn_limit()

        def task(client: Any, site: dict) -> Fetched:
            info = site_info(site)
            time_range = plan.backfill or auto_range(known_last.get(info.website_id), today)
            return fetch_site(client, info, time_range, plan.breakdowns)

        def on_done(outcome: Any) -> None:
            site = outcome.item
            result = SiteResult(schema.website_id(site), schema.website_domain(site) or None)
            if outcome.ok:
                fetched: Fetched = outcome.value
                result.time_range, result.days = fetched.time_range, len(fetched.days)
                result.domain = fetched.site.domain
                result.changes = fetched.save(store, sync_date)
                totals.__iadd__(result.changes)
            else:
                result.error = ctx.redact(getattr(outcome.error, "message", str(outcome.error)))
            results.append(result)
            if on_site is not None:
                on_site(result)

        outcomes = run.fetch_each(sites, task, concurrency=plan.concurrency, on_done=on_done)
    if not plan.websites:
        store.mark_removed([schema.website_id(s) for s in listed if schema.website_id(s)])
    store.finish_sync(sync_id, websites=len(sites), failed=sum(1 for o in outcomes if not o.ok),
                      totals=totals)
    order = {schema.website_id(s): n for n, s in enumerate(sites)}
    results.sort(key=lambda r: order.get(r.website_id, len(order)))
    return results, outcomes
