"""The one "every website, one budget, partial failure" workflow, and website lookup.

`analytics --all`, `export` and `alert` (and the views built on them) all do the same thing: list
the websites the key can see, pick some by id or domain (a clear not-found when one is unknown),
drop duplicates, fetch each in parallel under one shared per-minute budget, and turn the outcomes
into an exit code: every website failed -> the first error (its own exit code); some failed ->
PartialFailure (exit 3) naming each with its request id. Commands describe what to fetch and how to
show it; this module does the rest.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from zenovay_cli.errors import NotFoundError, PartialFailure, UsageError, ZenovayError
from zenovay_cli.schema import (
    website_domain,
    website_id,
    website_label,
    website_list,
    website_ref,
)

if TYPE_CHECKING:  # pragma: no cover
    from zenovay_cli.client import ZenovayClient
    from zenovay_cli.context import Context
    from zenovay_cli.fanout import Outcome

# Ten websites at a time, for every command that fans out (analytics --all, export, alert --all).
# The shared RateBudget, not this number, keeps a run under the per-minute limit, so this only
# matters when the API is fast to allow: then ten in flight (what a browser opens to one host, and
# what one requests connection pool holds) make a 40-website run over a 100 ms link >= 6x faster
# than one request after another, where eight measured 5.4x for analytics --all.
DEFAULT_CONCURRENCY = 10

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# --- finding websites by name (pure) ----------------------------------------------------------


def normalise_domain(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    return value.split("/", 1)[0].rstrip(".")


def find(sites: list, name: str) -> dict | None:
    """The website whose id is `name`, or whose domain is `name` (scheme, path, case and a
    leading www. ignored); None when there is none."""
    name = name.strip()
    for w in sites:
        if website_id(w) == name:
            return w
    wanted = normalise_domain(name)
    for w in sites:
        domain = website_domain(w)
        if domain and normalise_domain(domain) in (wanted, "www." + wanted):
            return w
    return None


def not_found(name: str, sites: list) -> NotFoundError:
    return NotFoundError(f"no website {name!r} among the {len(sites)} your key can see")


def require_id(site: dict) -> str:
    """The id to ask the API about `site`; a website listed without one fails on its own."""
    wid = website_id(site)
    if not wid:
        from zenovay_cli.errors import InvalidResponseError

        raise InvalidResponseError("the API listed this website without an id")
    return wid


def unique(sites: Iterable[dict]) -> list[dict]:
    """`sites` without repeats (same id), first one kept, order kept."""
    seen: dict[str, dict] = {}
    for site in sites:
        seen.setdefault(website_id(site) or f"#{len(seen)}", site)
    return list(seen.values())


def select(sites: list, names: Iterable[str]) -> list[dict]:
    """The websites named by id or domain, in the order given, each once; all of them when none
    is named. An unknown name raises NotFoundError (exit 5)."""
    names = list(dict.fromkeys(names))
    if not names:
        return unique(sites)
    found, missing = match(sites, names)
    if missing:
        raise next(iter(missing.values()))
    return unique(found.values())


def match(sites: list, names: Iterable[str]) -> tuple[dict[str, dict], dict[str, NotFoundError]]:
    """Each name (id or domain, each once, in order) with its website, and the names that match
    none with their NotFoundError: for a run that reports an unknown name and goes on (alert)."""
    found: dict[str, dict] = {}
    missing: dict[str, NotFoundError] = {}
    for name in dict.fromkeys(names):
        site = find(sites, name)
        if site is None:
            missing[name] = not_found(name, sites)
        else:
            found[name] = site
    return found, missing


def resolve_id(ctx: Context, value: str | None) -> str:
    """A website id from an id or a domain (or the profile's default website)."""
    if value is None or not value.strip():
        value = ctx.settings.website
        if not value:
            raise UsageError(
                "no website given",
                hint="Pass a website id or domain, or set one: `zenovay config set website DOMAIN`.",
            )
    value = value.strip()
    if _UUID_RE.match(value):
        return value
    websites = website_list(ctx.client().list_websites())
    match = find(websites, value)
    wid = match.get("id") if match is not None else None
    if not isinstance(wid, str) or not wid:
        raise not_found(value, websites)
    return wid


# --- the fan-out ------------------------------------------------------------------------------


class SiteRun:
    """One fan-out: clients sharing one rate budget, one client (one HTTP session) per thread.

    Use as a context manager; the clients are closed at the end. `quiet` drops the pacing and
    retry status lines (cron); retry lines name the website they are about.
    """

    def __init__(self, ctx: Context, *, quiet: bool = False, announce_pacing: bool = True) -> None:
        self.ctx = ctx
        self.quiet = quiet
        self.budget = ctx.new_budget(announce=announce_pacing and not quiet)
        self._local = threading.local()
        self._clients: list = []
        self._lock = threading.Lock()

    def __enter__(self) -> SiteRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def client(self) -> ZenovayClient:
        # One client per worker thread: requests.Session is not documented as thread-safe, and
        # one shared connection pool of 10 would drop connections above -j 10.
        client = getattr(self._local, "client", None)
        if client is None:
            out, quiet, local = self.ctx.out, self.quiet, self._local

            def on_wait(delay: float, reason: str, attempt: int, attempts: int) -> None:
                if quiet:
                    return
                # Several websites retry at once: name the website, so cron mail is readable.
                site = getattr(local, "site", "")
                prefix = f"{site}: " if site else ""
                out.status(f"{prefix}{reason}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})")

            client = self.ctx.new_client(budget=self.budget, on_wait=on_wait)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def websites(self) -> list[dict]:
        """Every website the key can see (through this run's budget)."""
        return website_list(self.client().list_websites())

    def check_cost(self, websites: int, per_website: int, max_requests: int | None, *,
                   what: str, dry_run: bool = False) -> int:
        """The run's request cost: said up front on a terminal (on stdout with dry_run), and a
        run costing more than --max-requests (default: max_requests in the profile) or than the
        month has left refused with exit 6 before it starts. The month's figures are the last
        X-Usage-* snapshot (this run's website list, or an earlier run's, from the ledger)."""
        from zenovay_cli import quota
        from zenovay_cli.errors import BudgetRefused

        named = "--max-requests"
        if max_requests is None:
            max_requests = self.ctx.settings.max_requests
            named = self.ctx.settings.source("max_requests")  # ZENOVAY_MAX_REQUESTS, a profile
        client = self.client()
        to_send = websites * per_website
        cost = quota.run_cost(websites, per_website, already_sent=client.requests_sent)
        usage = self.budget.snapshot().usage if to_send else None
        used = usage.get("monthly") if usage else None
        limit = usage.get("limit") if usage else None
        month = f"; {used:,} of {limit:,} used this month" if used is not None and limit else ""
        line = (f"{what} costs up to {cost} requests ({client.requests_sent} for the website list, "
                f"{websites} websites x {per_website}){month}")
        out = self.ctx.out
        if dry_run:
            out.text(line)
        elif out.err_is_tty and not self.quiet:
            out.info(line)
        problem = quota.cost_problem(cost, to_send, max_requests, used, limit, named=named)
        if problem is not None:
            hint = "Raise --max-requests (or max_requests in the profile), or choose fewer websites."
            if "quota" in problem and usage and usage.get("reset"):
                hint = f"The monthly quota resets at {usage['reset']}; see `zenovay usage`."
            raise BudgetRefused(f"not started: {problem}", hint=hint)
        return cost

    def learn_limit(self) -> None:
        """Without X-RateLimit-* headers on the listing, pace from the plan's limit in /usage."""
        client = self.client()
        if self.budget.limit is not None or not client.requests_sent:
            return  # known already, or the list came from the cache (the next answers will say)
        try:
            usage = client.get_usage()
            per_minute = ((usage or {}).get("rate_limits") or {}).get("requests_per_minute")
            if per_minute:
                self.budget.set_limit(per_minute)
        except Exception:  # noqa: BLE001 - pacing is best effort; the run itself decides success
            pass

    def fetch_each(
        self,
        sites: list[Any],
        task: Callable[[ZenovayClient, Any], Any],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_done: Callable[[Outcome], None] | None = None,
        site_of: Callable[[Any], dict] | None = None,
    ) -> list[Outcome]:
        """task(client, site) for every site, `concurrency` at once; outcomes in input order.

        A failing website never stops the others (its error is kept in its Outcome); `on_done`
        runs in the calling thread as each website finishes. Items may be other than websites
        (e.g. (website, range) pairs): `site_of(item)` then names the website for messages.
        """
        from zenovay_cli.fanout import run_all

        def run(item: Any) -> Any:
            self._local.site = website_label(site_of(item) if site_of else item)
            return task(self.client(), item)

        return run_all(sites, run, concurrency=concurrency, on_done=on_done)

    def fetch_parts(
        self,
        jobs: list[tuple[dict, Mapping[str, Callable[[ZenovayClient], Any]]]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> list[Outcome]:
        """Several independent requests per website (`jobs`: (website, {name: request})), all of
        them side by side, `concurrency` at once. One outcome per website, in `jobs` order: its
        value {name: answer}, or the error of its first part that failed.
        """
        from zenovay_cli.fanout import Outcome

        tasks = [(n, name) for n, (_, parts) in enumerate(jobs) for name in parts]
        done = self.fetch_each(
            tasks,
            lambda client, t: jobs[t[0]][1][t[1]](client),
            concurrency=concurrency,
            site_of=lambda t: jobs[t[0]][0],
        )
        by_task = {o.item: o for o in done}
        outcomes = []
        for n, (site, parts) in enumerate(jobs):
            failed = next((by_task[(n, p)] for p in parts if not by_task[(n, p)].ok), None)
            if failed is not None:
                outcomes.append(Outcome(site, error=failed.error))
            else:
                outcomes.append(Outcome(site, value={p: by_task[(n, p)].value for p in parts}))
        return outcomes

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()


def fetch_each(
    ctx: Context,
    sites: list[dict],
    task: Callable[[ZenovayClient, dict], Any],
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """A one-off SiteRun: fetch each website with its own budget-sharing clients."""
    with SiteRun(ctx) as run:
        return run.fetch_each(sites, task, concurrency=concurrency, on_done=on_done)


def fetch_one(ctx: Context, site: dict, parts: Mapping[str, Callable[[ZenovayClient], Any]]) -> dict[str, Any]:
    """One website's independent requests at once (report, analytics --compare), one client per
    request sharing one budget; {name: answer}, or the first failure raised."""
    with SiteRun(ctx) as run:
        [outcome] = run.fetch_parts([(site, parts)], concurrency=max(1, len(parts)))
    if not outcome.ok:
        raise outcome.error  # type: ignore[misc]
    return dict(outcome.value)


def fetch_analytics(ctx: Context, ranges: tuple[str, ...], concurrency: int,
                    max_requests: int | None = None) -> list[Outcome]:
    """analytics --all: every website's overview for each of `ranges`, under one budget.

    One outcome per website, in the API's order: its value the answers in `ranges` order, or the
    error of its first range that failed. One task per request (not per website), so a website's
    two ranges (--compare) are fetched side by side.
    """
    from zenovay_cli.fanout import Outcome

    def parts(site: dict) -> dict[str, Callable[[ZenovayClient], Any]]:
        # An unusable website (no id) fails as its own outcome, not the whole run.
        def one(r: str) -> Callable[[ZenovayClient], Any]:
            return lambda client: client.get_analytics(require_id(site), r)

        return {r: one(r) for r in ranges}

    with SiteRun(ctx) as run:
        listed = run.websites()
        run.check_cost(len(listed), len(ranges), max_requests, what="analytics --all")
        outcomes = run.fetch_parts([(site, parts(site)) for site in listed], concurrency=concurrency)
    return [o if not o.ok else Outcome(o.item, value=tuple(o.value[r] for r in ranges)) for o in outcomes]


def error_row(ctx: Context, site: dict, error: BaseException | None, time_range: str | None = None) -> dict:
    """A failed website's row in a per-website answer: which website, the range asked for (a
    failed row keeps it, so csv's `range` column is never blank), and the error's words."""
    row: dict = {"website": website_ref(site)}
    if time_range is not None:
        row["time_range"] = time_range
    row["error"] = error_text(ctx, error)
    return row


# --- outcomes -> exit code --------------------------------------------------------------------


def error_text(ctx: Context, error: BaseException | None) -> str:
    message = error.message if isinstance(error, ZenovayError) else str(error)
    return ctx.redact(message)


def failure_line(ctx: Context, site: dict, error: BaseException | None) -> str:
    """`domain (message; request id: …)`: what support asks for, per failed website."""
    request_id = ctx.redact(getattr(error, "request_id", None))
    tail = f"; request id: {request_id})" if request_id else ")"
    return f"{site.get('domain')} ({error_text(ctx, error)}" + tail


def raise_if_all_failed(results: list[Any], total: int) -> None:
    """Every website failed (each result an exception): the run failed as the first one did,
    with that error's own exit code."""
    failed = [e for e in results if isinstance(e, BaseException)]
    if total and len(failed) == total:
        raise failed[0]


def settle(
    ctx: Context, outcomes: list[Outcome], *, hint: str | None = None, name_each: bool = True, note: str = ""
) -> None:
    """The outcome rule: all failed -> the first error; some failed -> PartialFailure (exit 3)
    naming each failed website with its request id (or only counting them, `name_each=False`,
    when the caller printed one line per website itself). `note` follows "N of M websites failed"."""
    raise_if_all_failed([o.error for o in outcomes], len(outcomes))
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return
    message = f"{len(failed)} of {len(outcomes)} websites failed{note}"
    if name_each:
        message += ": " + ", ".join(failure_line(ctx, o.item, o.error) for o in failed)
    raise PartialFailure(message, hint=hint)
