"""export: the nightly cron job — every website, in parallel within one rate budget, atomic files."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from zenovay_cli.commands._options import request_command
from zenovay_cli.commands.common import Range
from zenovay_cli.context import Context
from zenovay_cli.sites import DEFAULT_CONCURRENCY

EPILOG = (
    "Examples: zenovay export --out /var/lib/zenovay  ·  "
    "zenovay export --website mysite.com --include pages --format csv  ·  "
    "(crontab -l; echo '0 2 * * * zenovay export --out /var/lib/zenovay --quiet') | crontab -  ·  "
    "zenovay export --out /var/lib/zenovay --to sqlite:///var/lib/zenovay/history.db   # and keep history"
)


class ExportFormat(str, Enum):
    json = "json"
    csv = "csv"
    ndjson = "ndjson"
    sqlite = "sqlite"


class Extra(str, Enum):
    pages = "pages"
    technology = "technology"


def register(app: typer.Typer) -> None:
    app.command("export", epilog=EPILOG)(export)


@request_command
def export(
    ctx: Context,
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Folder for the files (created if missing).")] = "exports",
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = Range.h24,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="json: one file per website; csv/ndjson: one file per run; sqlite: no files, only the history store (--to, or the default one).", case_sensitive=False)] = ExportFormat.json,
    to: Annotated[str | None, typer.Option("--to", help="Also keep the history in this SQLite store: sqlite:///abs/path.db or sqlite:rel/path.db (as `zenovay history sync`; with --range 24h one more request per website fetches 7d of daily rows).", show_default=False)] = None,
    website: Annotated[list[str] | None, typer.Option("--website", "-w", help="Only this website, id or domain (repeatable) [default: all].", show_default=False)] = None,
    include: Annotated[list[Extra] | None, typer.Option("--include", "-i", help="Also export pages and/or technology (repeatable).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", metavar="N", min=1, max=32, help="Websites fetched at once (all share one rate budget).")] = DEFAULT_CONCURRENCY,
    wait_lock: Annotated[bool, typer.Option("--wait-lock", help="Wait for another export into the same folder instead of failing.")] = False,
    redis_lock: Annotated[bool, typer.Option("--redis-lock", help="Also lock the --out name across hosts through Redis (needs --redis or redis_url): a second host skips a run in progress.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something goes wrong (for cron mail).")] = False,
    max_requests: Annotated[int | None, typer.Option("--max-requests", min=0, help="Refuse (exit 6) a run costing more requests than this [default: max_requests in the profile].", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the websites and print what the run would cost; nothing else is sent, no file written.")] = False,
) -> None:
    """Write analytics and countries for every website to files, for cron."""
    from zenovay_cli import export as files
    from zenovay_cli.errors import UsageError

    if not out.strip():  # an unset $DIR in a cron line must not export into the working directory
        raise UsageError("--out is empty", hint="Give the folder for the files, e.g. --out /var/lib/zenovay.")
    extras = list(dict.fromkeys(e.value for e in include or []))
    if dry_run:
        # With a history store at 24h, one more analytics request per website (as _Export counts).
        history_extra = 1 if (to is not None or fmt is ExportFormat.sqlite) and range_.value == "24h" else 0
        _dry_run(ctx, website or [], extras, max_requests, history_extra)
        return
    history_path = _history_path(to, fmt.value, ctx.demo)
    on_lock_wait = None if quiet else ctx.out.status
    fleet = _fleet_lock(ctx, out, redis_lock, wait_lock, on_lock_wait)  # checked before anything
    store = None
    if history_path is not None:
        from zenovay_cli.history.store import Store

        store = Store(history_path)  # checked (created or migrated) before any request
    try:
        run = _Export(ctx, Path(out), range_.value, extras, quiet, store, max_requests)
        with fleet:
            if fmt is ExportFormat.sqlite:  # no files: the store has its own writer lock
                run.fetch_and_write(website or [], fmt.value, concurrency)
            else:
                with files.ExportLock(out, wait=wait_lock, on_wait=on_lock_wait) as lock:
                    for name in lock.cleaned:
                        ctx.out.warn(f"removed a half-written file left by an interrupted run: {name}")
                    run.fetch_and_write(website or [], fmt.value, concurrency)
    finally:
        if store is not None:
            store.close()
    run.report()


def _history_path(to: str | None, fmt: str, demo: bool = False) -> Path | None:
    """The history store an export also fills: --to sqlite:..., or the default with --format sqlite."""
    from zenovay_cli.errors import UsageError

    if to is None:
        if fmt != "sqlite":
            return None
        from zenovay_cli.commands.history_cmd import db_path

        return db_path(None, demo)
    if not to.startswith("sqlite:"):
        raise UsageError(f"--to {to!r}: only sqlite: stores are supported",
                         hint="Use --to sqlite:///var/lib/zenovay/history.db (absolute) or sqlite:history.db.")
    rest = to[len("sqlite:"):]
    # sqlite:///abs/path.db is /abs/path.db (as in file:// URLs); sqlite:rel.db is relative.
    path = rest[2:] if rest.startswith("///") else rest
    if not path or path.startswith("//"):
        raise UsageError(f"--to {to!r} names no file", hint="Use --to sqlite:///var/lib/zenovay/history.db.")
    return Path(path).expanduser()


def _dry_run(ctx: Context, wanted: list, extras: list, max_requests: int | None, history_extra: int = 0) -> None:
    """What the run would cost, from the website list alone (one request, or none when cached)."""
    from zenovay_cli.sites import SiteRun, select

    with SiteRun(ctx) as run:
        chosen = select(run.websites(), wanted)
        run.check_cost(len(chosen), 2 + len(extras) + history_extra, max_requests, what="this export", dry_run=True)


def _fleet_lock(ctx: Context, out: str, wanted: bool, wait: bool, on_wait):
    """--redis-lock: the Redis lock named after --out as given (every host names it alike)."""
    import contextlib

    if not wanted:
        return contextlib.nullcontext(False)
    link = ctx.redis_link()
    if link is None:
        from zenovay_cli.errors import UsageError

        raise UsageError("--redis-lock needs a Redis URL", hint="Give --redis URL or set ZENOVAY_REDIS_URL (docs/fleets.md).")
    from zenovay_cli.redis_shared import fleet_lock

    return fleet_lock(link, f"export:{out}", out, wait=wait, on_wait=on_wait,
                      sleep=ctx.sleep, clock=ctx.monotonic)


class _Export:
    """One export run: the websites fetched under one budget (sites.SiteRun), each one's file
    written as soon as it is done."""

    def __init__(self, ctx: Context, out: Path, range_value: str, extras: list, quiet: bool,
                 store=None, max_requests: int | None = None) -> None:
        from zenovay_cli import export as files

        self.ctx, self.out, self.range, self.extras, self.quiet = ctx, out, range_value, extras, quiet
        self.store = store
        self.max_requests = max_requests
        self.history_changes: list = []
        if store is not None:
            from zenovay_cli.history import sync as hs

            self.today = hs.today_utc()
            self.known_last = hs.last_days(store)
        # The date of the run, taken once after the lock: a run that crosses midnight (or waited
        # for the lock past it) still writes one day's set of names.
        self.date = files.export_date()
        self.sites: list = []
        self.outcomes: list = []
        self.written: list[str] = []

    def _fetch(self, client, site: dict) -> tuple[dict, Any]:
        from zenovay_cli import export as files
        from zenovay_cli.sites import require_id

        wid = require_id(site)
        analytics = client.get_analytics(wid, self.range)
        countries = client.get_countries(wid, self.range)
        extra = {}
        if "pages" in self.extras:
            extra["pages"] = client.get_pages(wid, self.range)
        if "technology" in self.extras:
            extra["technology"] = client.get_technology(wid, self.range)
        record = files.build_record(site, analytics, countries, self.date, extra)
        return record, self._history(client, site, analytics, countries, extra)

    def _history(self, client, site: dict, analytics, countries, extra: dict):
        """The rows the history store keeps, from the answers above; a 24h answer holds only
        today's (still growing) row, so the daily rows then come from one more, longer answer."""
        if self.store is None:
            return None
        from zenovay_cli.history import sync as hs

        info = hs.site_info(site)
        answers = {"countries": countries, **extra}
        daily_range = self.range
        if self.range == "24h":
            daily_range = hs.auto_range(self.known_last.get(info.website_id), self.today)
        else:
            answers["analytics"] = analytics
        return hs.fetch_site(client, info, daily_range, ("countries", *self.extras), answers,
                             snapshot_range=self.range)

    def fetch_and_write(self, wanted: list, fmt: str, concurrency: int) -> None:
        from zenovay_cli import export as files
        from zenovay_cli.errors import ZenovayError
        from zenovay_cli.schema import website_domain, website_id
        from zenovay_cli.sites import SiteRun, select

        write_errors: dict[int, BaseException] = {}
        sync_id = self.store.start_sync("export") if self.store is not None else 0
        with SiteRun(self.ctx, quiet=self.quiet) as run:
            listed = run.websites()
            self.sites = select(listed, wanted)
            run.learn_limit()
            # With a history store and --range 24h, one more (longer) answer per website.
            per_site = 2 + len(self.extras) + (1 if self.store is not None and self.range == "24h" else 0)
            run.check_cost(len(self.sites), per_site, self.max_requests, what="this export")
            names = files.plan_filenames(self.sites, self.date, "json") if fmt == "json" else {}
            index_of = {id(site): n for n, site in enumerate(self.sites)}

            def on_done(outcome) -> None:
                # Runs in the main thread: files are written one at a time, each whole or not at
                # all, as soon as its website is done, so a run killed late keeps what it had.
                bar.advance(item=website_domain(outcome.item))
                if not outcome.ok:
                    return
                record, fetched = outcome.value
                if fetched is not None:  # one transaction per website, as `history sync`
                    self.history_changes.append(fetched.save(self.store, self.date))
                if fmt != "json":
                    return
                try:
                    path = files.write_record_file(
                        self.out, names[website_id(outcome.item)], record, sync_dir=False
                    )
                except ZenovayError as exc:
                    write_errors[index_of[id(outcome.item)]] = exc
                else:
                    self.written.append(path)

            progress = _NoProgress() if self.quiet else self.ctx.out.progress(len(self.sites), "Exporting")
            with progress as bar:  # a bar on a terminal only; nothing in cron, pipes and files
                self.outcomes = run.fetch_each(self.sites, self._fetch, concurrency=concurrency, on_done=on_done)
        if self.written:
            files.sync_directory(self.out)  # one fsync makes every rename above durable
        for n, exc in write_errors.items():
            self.outcomes[n].error, self.outcomes[n].value = exc, None
        if self.store is not None:
            if not wanted:
                self.store.mark_removed([website_id(s) for s in listed if website_id(s)])
            from zenovay_cli.history.store import Changes

            totals = Changes()
            for change in self.history_changes:
                totals += change
            self.store.finish_sync(sync_id, websites=len(self.sites), totals=totals,
                                   failed=sum(1 for o in self.outcomes if not o.ok))
        records = [o.value[0] for o in self.outcomes if o.ok]
        if fmt in ("csv", "ndjson") and records:
            self.written.append(files.write_table_file(self.out, records, self.date, fmt))
            if fmt == "csv" and self.extras:  # ndjson lines carry them; csv gets a file each
                self.written.extend(files.write_included_csv_files(self.out, records, self.date, self.extras))

    def report(self) -> None:
        """stdout: the files written; stderr: what failed; the exit code says which."""
        from zenovay_cli import export as files
        from zenovay_cli.schema import website_domain, website_id
        from zenovay_cli.sites import settle

        out = self.ctx.out
        if not self.quiet:
            for path in sorted(self.written):
                out.text(path)
            if self.store is not None:
                added = sum(c.added for c in self.history_changes)
                changed = sum(c.changed for c in self.history_changes)
                out.info(f"history: {len(self.history_changes)} websites, {added} days added, "
                         f"{changed} changed, in {self.store.path}")
        results = [files.ExportResult(website_id(o.item), website_domain(o.item), o.error) for o in self.outcomes]
        if any(not o.ok for o in self.outcomes):
            for line in files.summarize(results).splitlines():
                out.info(line)  # one line per failed website, for cron mail
            settle(self.ctx, self.outcomes, name_each=False,
                   hint="The other websites' files were written; a re-run today replaces them.")
        if not self.sites:
            out.warn("the key can see no websites: nothing exported")
        elif out.err_is_tty and not self.quiet:
            out.info(files.summarize(results))


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, n: int = 1, item: str | None = None) -> None:
        return None
