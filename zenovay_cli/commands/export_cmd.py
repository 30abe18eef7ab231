"""export: the nightly cron job — every website, in parallel within one rate budget, atomic files."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from zenovay_cli.commands._options import request_command
from zenovay_cli.commands.common import Range
from zenovay_cli.context import Context
from zenovay_cli.sites import DEFAULT_CONCURRENCY

EPILOG = (
    "Examples: zenovay export --out /var/lib/zenovay  ·  "
    "zenovay export --website mysite.com --include pages --format csv  ·  "
    "crontab: 0 2 * * * zenovay export --out /var/lib/zenovay"
)


class ExportFormat(str, Enum):
    json = "json"
    csv = "csv"
    ndjson = "ndjson"


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
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="json: one file per website; csv/ndjson: one file per run.", case_sensitive=False)] = ExportFormat.json,
    website: Annotated[list[str] | None, typer.Option("--website", "-w", help="Only this website, id or domain (repeatable) [default: all].", show_default=False)] = None,
    include: Annotated[list[Extra] | None, typer.Option("--include", "-i", help="Also export pages and/or technology (repeatable).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=32, help="Websites fetched at once (all share one rate budget).")] = DEFAULT_CONCURRENCY,
    wait_lock: Annotated[bool, typer.Option("--wait-lock", help="Wait for another export into the same folder instead of failing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something goes wrong (for cron mail).")] = False,
) -> None:
    """Write analytics and countries for every website to files, for cron."""
    from zenovay_cli import export as files
    from zenovay_cli.errors import UsageError

    if not out.strip():  # an unset $DIR in a cron line must not export into the working directory
        raise UsageError("--out is empty", hint="Give the folder for the files, e.g. --out /var/lib/zenovay.")
    extras = list(dict.fromkeys(e.value for e in include or []))
    on_lock_wait = None if quiet else ctx.out.status
    with files.ExportLock(out, wait=wait_lock, on_wait=on_lock_wait) as lock:
        for name in lock.cleaned:
            ctx.out.warn(f"removed a half-written file left by an interrupted run: {name}")
        run = _Export(ctx, Path(out), range_.value, extras, quiet)
        run.fetch_and_write(website or [], fmt.value, concurrency)
    run.report()


class _Export:
    """One export run: the websites fetched under one budget (sites.SiteRun), each one's file
    written as soon as it is done."""

    def __init__(self, ctx: Context, out: Path, range_value: str, extras: list, quiet: bool) -> None:
        from zenovay_cli import export as files

        self.ctx, self.out, self.range, self.extras, self.quiet = ctx, out, range_value, extras, quiet
        # The date of the run, taken once after the lock: a run that crosses midnight (or waited
        # for the lock past it) still writes one day's set of names.
        self.date = files.export_date()
        self.sites: list = []
        self.outcomes: list = []
        self.written: list[str] = []

    def _fetch(self, client, site: dict) -> dict:
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
        return files.build_record(site, analytics, countries, self.date, extra)

    def fetch_and_write(self, wanted: list, fmt: str, concurrency: int) -> None:
        from zenovay_cli import export as files
        from zenovay_cli.errors import ZenovayError
        from zenovay_cli.schema import website_domain, website_id
        from zenovay_cli.sites import SiteRun, select

        write_errors: dict[int, BaseException] = {}
        with SiteRun(self.ctx, quiet=self.quiet) as run:
            self.sites = select(run.websites(), wanted)
            run.learn_limit()
            names = files.plan_filenames(self.sites, self.date, "json") if fmt == "json" else {}
            index_of = {id(site): n for n, site in enumerate(self.sites)}

            def on_done(outcome) -> None:
                # Runs in the main thread: files are written one at a time, each whole or not at
                # all, as soon as its website is done, so a run killed late keeps what it had.
                bar.advance(item=website_domain(outcome.item))
                if not outcome.ok or fmt != "json":
                    return
                try:
                    path = files.write_record_file(
                        self.out, names[website_id(outcome.item)], outcome.value, sync_dir=False
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
        records = [o.value for o in self.outcomes if o.ok]
        if fmt != "json" and records:
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
