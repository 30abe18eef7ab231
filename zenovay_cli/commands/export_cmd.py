"""export: the nightly cron job — every website, in parallel within one rate budget, atomic files."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from zenovay_cli.commands.common import (
    DEFAULT_CONCURRENCY,
    Range,
    request_options,
    state,
    website_list,
)

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


@request_options
def export(
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

    st = state()
    if not out.strip():  # an unset $DIR in a cron line must not export into the working directory
        raise UsageError("--out is empty", hint="Give the folder for the files, e.g. --out /var/lib/zenovay.")
    extras = list(dict.fromkeys(e.value for e in include or []))
    on_lock_wait = None if quiet else st.out.status
    with files.ExportLock(out, wait=wait_lock, on_wait=on_lock_wait) as lock:
        for name in lock.cleaned:
            st.out.warn(f"removed a half-written file left by an interrupted run: {name}")
        run = _Run(st, Path(out), range_.value, extras, quiet)
        try:
            run.fetch_and_write(website or [], fmt.value, concurrency)
        finally:
            run.close()
    run.report()


class _Run:
    """One export run: per-thread clients on one shared budget, files written as websites finish."""

    def __init__(self, st, out: Path, range_value: str, extras: list, quiet: bool) -> None:
        import threading

        from zenovay_cli import export as files
        from zenovay_cli.ratelimit import RateBudget

        self.st, self.out, self.range, self.extras, self.quiet = st, out, range_value, extras, quiet
        # The date of the run, taken once after the lock: a run that crosses midnight (or waited
        # for the lock past it) still writes one day's set of names.
        self.date = files.export_date()
        on_pacing = None if quiet else (lambda s, why: st.out.status(f"pacing: waiting {s:.1f} s ({why})"))
        self.budget = RateBudget(max_wait=st.settings.max_wait, on_wait=on_pacing)
        self._local = threading.local()
        self._clients: list = []
        self._clients_lock = threading.Lock()
        self.sites: list = []
        self.outcomes: list = []
        self.written: list[str] = []
        self.write_errors: dict[int, BaseException] = {}

    def _client(self):
        # One client (one HTTP session) per worker thread: requests.Session is not documented as
        # thread-safe, and one shared connection pool of 10 would drop connections above -j 10.
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.st.client(budget=self.budget)
            out = self.st.out

            def on_wait(delay: float, reason: str, attempt: int, attempts: int) -> None:
                # Several websites retry at once: name the website, so cron mail is readable.
                site = getattr(self._local, "domain", "")
                prefix = f"{site}: " if site else ""
                out.status(f"{prefix}{reason}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})")

            client.on_wait = on_wait
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def _fetch(self, site: dict) -> dict:
        from zenovay_cli import export as files
        from zenovay_cli.errors import InvalidResponseError

        wid = _site_id(site)
        if not wid:
            raise InvalidResponseError("the API listed this website without an id")
        self._local.domain = str(site.get("domain") or wid)
        client = self._client()
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
        from zenovay_cli.fanout import run_all

        client = self._client()  # the main thread's, for /websites (and /usage)
        self.sites = _select(website_list(client.list_websites()), wanted)
        if self.budget.limit is None and client.requests_sent:
            # The API answered without X-RateLimit-Limit: ask /usage for the plan's limit. (A list
            # from the cache says nothing either way; the first answers will carry the headers.)
            _limit_from_usage(client, self.budget)
        names = files.plan_filenames(self.sites, self.date, "json") if fmt == "json" else {}
        index_of = {id(site): n for n, site in enumerate(self.sites)}

        def on_done(outcome) -> None:
            # Runs in the main thread: files are written one at a time, each whole or not at all,
            # as soon as its website is done, so a run killed late keeps what it had finished.
            bar.advance(item=str(outcome.item.get("domain") or ""))
            if not outcome.ok or fmt != "json":
                return
            try:
                path = files.write_record_file(
                    self.out, names[_site_id(outcome.item)], outcome.value, sync_dir=False
                )
            except ZenovayError as exc:
                self.write_errors[index_of[id(outcome.item)]] = exc
            else:
                self.written.append(path)

        progress = _NoProgress() if self.quiet else self.st.out.progress(len(self.sites), "Exporting")
        with progress as bar:  # a bar on a terminal only; nothing in cron, pipes and files
            self.outcomes = run_all(self.sites, self._fetch, concurrency=concurrency, on_done=on_done)
        if self.written:
            files.sync_directory(self.out)  # one fsync makes every rename above durable
        for n, exc in self.write_errors.items():
            self.outcomes[n].error, self.outcomes[n].value = exc, None
        records = [o.value for o in self.outcomes if o.ok]
        if fmt != "json" and records:
            self.written.append(files.write_table_file(self.out, records, self.date, fmt))

    def report(self) -> None:
        """stdout: the files written; stderr: what failed; the exit code says which."""
        from zenovay_cli import export as files
        from zenovay_cli.errors import PartialFailure

        out = self.st.out
        if not self.quiet:
            for path in sorted(self.written):
                out.text(path)
        results = [
            files.ExportResult(_site_id(o.item), str(o.item.get("domain") or ""), o.error)
            for o in self.outcomes
        ]
        failed = [o for o in self.outcomes if not o.ok]
        if failed:
            for line in files.summarize(results).splitlines():
                out.info(line)  # one line per failed website, for cron mail
            if len(failed) == len(self.outcomes):
                raise failed[0].error
            raise PartialFailure(
                f"{len(failed)} of {len(results)} websites failed",
                hint="The other websites' files were written; a re-run today replaces them.",
            )
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


def _site_id(site: dict) -> str:
    value = site.get("id", site.get("website_id"))
    return "" if value is None else str(value)


def _select(sites: list, wanted: list) -> list:
    """The websites named by id or domain, in the order given; all of them when none is named.

    A website named twice (or listed twice by the API) is exported once.
    """
    from zenovay_cli.commands.common import find_website, not_found

    if wanted:
        chosen = []
        for name in dict.fromkeys(wanted):
            match = find_website(sites, name)
            if match is None:
                raise not_found(name, sites)
            chosen.append(match)
        sites = chosen
    unique: dict = {}
    for site in sites:
        unique.setdefault(_site_id(site) or f"#{len(unique)}", site)
    return list(unique.values())


def _limit_from_usage(client, budget) -> None:
    """Without X-RateLimit-* headers, pace from the plan's per-minute limit in /usage."""
    try:
        usage = client.get_usage()
        per_minute = ((usage or {}).get("rate_limits") or {}).get("requests_per_minute")
        if per_minute:
            budget.set_limit(per_minute)
    except Exception:  # noqa: BLE001 - pacing is best effort; the export itself decides success
        pass
