"""export: the nightly cron job — every website, in parallel within one rate budget, atomic files."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from zenovay_cli.commands.common import Range, request_options, state, website_list

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
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the files (created if missing).")] = Path("exports"),
    range_: Annotated[Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)] = Range.h24,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="json: one file per website; csv/ndjson: one file per run.", case_sensitive=False)] = ExportFormat.json,
    website: Annotated[list[str] | None, typer.Option("--website", "-w", help="Only this website, id or domain (repeatable) [default: all].", show_default=False)] = None,
    include: Annotated[list[Extra] | None, typer.Option("--include", "-i", help="Also export pages and/or technology (repeatable).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=32, help="Websites fetched at once (all share one rate budget).")] = 4,
    wait_lock: Annotated[bool, typer.Option("--wait-lock", help="Wait for another export into the same folder instead of failing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not list the written files on stdout.")] = False,
) -> None:
    """Write analytics and countries for every website to files, for cron."""
    from zenovay_cli import export as files
    from zenovay_cli.errors import PartialFailure
    from zenovay_cli.fanout import run_all
    from zenovay_cli.ratelimit import RateBudget

    st = state()
    extras = list(dict.fromkeys(e.value for e in include or []))
    date = files.export_date()
    with files.ExportLock(out, wait=wait_lock, on_wait=st.out.status) as lock:
        for name in lock.cleaned:
            st.out.warn(f"removed a half-written file left by an interrupted run: {name}")
        budget = RateBudget(max_wait=st.settings.max_wait, on_wait=lambda s, why: st.out.status(f"pacing: waiting {s:.1f} s ({why})"))
        client = st.client(budget=budget)
        sites = _select(website_list(client.list_websites()), website or [])
        if budget.limit is None:
            _limit_from_usage(client, budget)

        def fetch(site: dict) -> dict:
            wid = str(site.get("id"))
            analytics = client.get_analytics(wid, range_.value)
            countries = client.get_countries(wid, range_.value)
            extra = {}
            if "pages" in extras:
                extra["pages"] = (client.get_pages(wid, range_.value) or {}).get("pages")
            if "technology" in extras:
                extra["technology"] = client.get_technology(wid, range_.value)
            return files.build_record(site, analytics, countries, date, extra)

        with st.out.progress(len(sites), "Exporting", lines=False) as bar:
            outcomes = run_all(
                sites, fetch, concurrency=concurrency,
                on_done=lambda o: bar.advance(item=str(o.item.get("domain"))),
            )
        records = {str(o.item.get("id")): o.value for o in outcomes if o.ok}
        written: list = []
        if records:
            if fmt is ExportFormat.json:
                paths = files.write_json_files(out, records, date, websites=sites)
                written = list(paths.values())
            else:
                written = [files.write_table_file(out, list(records.values()), date, fmt.value)]
    if not quiet:
        for path in written:
            st.out.text(str(path))
    results = [
        files.ExportResult(str(o.item.get("id")), str(o.item.get("domain") or ""), o.error)
        for o in outcomes
    ]
    failed = [o for o in outcomes if not o.ok]
    if failed:
        st.out.info(files.summarize(results))  # one line per failed website, for cron mail
        if not records:
            raise failed[0].error
        raise PartialFailure(
            f"{len(failed)} of {len(results)} websites failed",
            hint="The other websites' files were written; a re-run today replaces them.",
        )
    if not sites:
        st.out.warn("the key can see no websites: nothing exported")


def _select(sites: list, wanted: list) -> list:
    """The websites named by id or domain, in the order given; all of them when none is named."""
    from zenovay_cli.commands.common import normalise_domain
    from zenovay_cli.errors import NotFoundError

    if not wanted:
        return sites
    chosen = []
    for name in dict.fromkeys(wanted):
        match = next(
            (w for w in sites if str(w.get("id")) == name
             or normalise_domain(str(w.get("domain", ""))) == normalise_domain(name)),
            None,
        )
        if match is None:
            raise NotFoundError(f"no website {name!r} among the {len(sites)} your key can see")
        chosen.append(match)
    return chosen


def _limit_from_usage(client, budget) -> None:
    """Without X-RateLimit-* headers, pace from the plan's per-minute limit in /usage."""
    try:
        usage = client.get_usage()
        per_minute = ((usage or {}).get("rate_limits") or {}).get("requests_per_minute")
        if per_minute:
            budget.set_limit(per_minute)
    except Exception:  # noqa: BLE001 - pacing is best effort; the export itself decides success
        pass
