"""The workflows behind the answers: analytics with a comparison, the all-sites rollup, the
report (the integration guide's dashboard fetch) and the digest. Pure: each answer is a set of
named parts (`Parts`: one request each, given a client) that `sites.py` fetches side by side under
the run's one rate budget, and a function that builds the document (plain dicts, the shapes
`--json` prints) from what came back; drawing them is `screens.py`'s job.

Request costs (what `--help` states): analytics --compare 2 per website (the range and the next
longer one); report 4 (analytics, countries, technology, pages) and 5 with --compare; digest 3 per
website (analytics, the next longer range, pages). Resolving a domain to an id costs one
/websites request unless it is cached. With `--range 24h` or `1y` the previous period comes from
the local history store instead (`zenovay history sync`): one request fewer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zenovay_cli import compare, rollup, schema

REPORT_PARTS = ("analytics", "countries", "technology", "pages")

# One request each, given a client; the names are what the document builders read back.
Parts = dict[str, Callable[[Any], Any]]


def stored_sums(website_id: str, db: Path | None) -> Callable[[Any, Any], dict[str, int] | None]:
    """The history store's sums of `website_id` between two days (None unless it holds all);
    `db` None is the default store (Context.history_db() says which one a run uses)."""
    from zenovay_cli import history

    return lambda first, last: history.daily_sums(db, website_id, first, last)


def compared_parts(website_id: str, range_value: str) -> Parts:
    """analytics --compare: the range and the next longer one (2 requests); 24h and 1y: the
    range only, the previous period coming from the history store."""
    parts: Parts = {"current": lambda c: c.get_analytics(website_id, range_value)}
    if range_value not in compare.FROM_HISTORY:
        parts["longer"] = lambda c: c.get_analytics(website_id, compare.LONGER[range_value])
    return parts


def analytics_compared(got: dict[str, Any], website_id: str, range_value: str,
                       history_db: Path | None = None) -> dict[str, Any]:
    """The API's analytics `data` for the range, plus "comparison" (from `compared_parts`; 24h
    and 1y from the history store at `history_db`)."""
    current = got["current"]
    document = dict(current) if isinstance(current, dict) else {"data": current}
    if range_value in compare.FROM_HISTORY:
        document["comparison"] = compare.compare_from_history(
            current, range_value, stored_sums(website_id, history_db))
    else:
        document["comparison"] = compare.compare(current, got["longer"], range_value)
    return document


def _site_identity(site: dict) -> dict[str, Any]:
    return {"id": site.get("id"), "domain": site.get("domain"), "name": site.get("name")}


def site_row(site: dict, current: Any, longer: Any | None, range_value: str,
             from_history: bool = False, history_db: Path | None = None) -> dict[str, Any]:
    """One website's row of the rollup: summary, daily visitors (oldest first), comparison (from
    `longer`, or with `from_history` from the history store at `history_db`)."""
    data = current if isinstance(current, dict) else {}
    row: dict[str, Any] = {
        "website": _site_identity(site),
        "time_range": data.get("time_range", range_value),
        "summary": data.get("summary"),
        "daily_visitors": [v for _, v in compare.daily_series(data)],
    }
    if from_history:
        row["comparison"] = compare.compare_from_history(
            current, range_value, stored_sums(str(site.get("id")), history_db))
    elif longer is not None:
        row["comparison"] = compare.compare(current, longer, range_value)
    return row


def finish_rollup(rows: list[dict], range_value: str, sort: str | None) -> dict[str, Any]:
    """The rollup document: rows (sorted when asked), each with its share, and the totals."""
    total = rollup.totals(rows)
    for row, share in zip(rows, rollup.shares(rows, total["summary"]["total_visitors"])):
        if "error" not in row:
            row["share"] = None if share is None else round(share, 4)
    if sort:
        rows = rollup.sort_rows(rows, sort)
    document: dict[str, Any] = {"time_range": range_value, "websites": rows, "totals": total}
    if sort:
        document["sort"] = sort
    return document


def report_parts(website_id: str, range_value: str, with_compare: bool) -> Parts:
    """The dashboard's requests: 4 (5 with a comparison the history store cannot give)."""
    parts: Parts = {
        "analytics": lambda c: c.get_analytics(website_id, range_value),
        "countries": lambda c: c.get_countries(website_id, range_value),
        "technology": lambda c: c.get_technology(website_id, range_value),
        "pages": lambda c: c.get_pages(website_id, range_value),
    }
    if with_compare and range_value not in compare.FROM_HISTORY:
        parts["longer"] = lambda c: c.get_analytics(website_id, compare.LONGER[range_value])
    return parts


def report(got: dict[str, Any], website_id: str, range_value: str, with_compare: bool,
           history_db: Path | None = None) -> dict[str, Any]:
    """The dashboard document from the answers to `report_parts` (24h and 1y compared with the
    history store at `history_db`)."""
    from_history = range_value in compare.FROM_HISTORY
    analytics = got["analytics"]
    site = analytics.get("website") if isinstance(analytics, dict) else None
    document: dict[str, Any] = {
        "website": site if isinstance(site, dict) else {"id": website_id},
        "range": range_value,
        **{part: got[part] for part in REPORT_PARTS},
    }
    if with_compare and from_history:
        document["comparison"] = compare.compare_from_history(
            analytics, range_value, stored_sums(website_id, history_db))
    elif with_compare:
        document["comparison"] = compare.compare(analytics, got["longer"], range_value)
    return document


def digest_parts(site: dict, range_value: str, top: int) -> Parts:
    """One website's requests for the digest (DIGEST_COST_PER_SITE of them)."""
    website_id = str(site.get("id"))
    return {
        "current": lambda c: c.get_analytics(website_id, range_value),
        "longer": lambda c: c.get_analytics(website_id, compare.LONGER[range_value]),
        "pages": lambda c: c.get_pages(website_id, range_value, top),
    }


DIGEST_COST_PER_SITE = len(digest_parts({}, "7d", 1))  # what --help and the cost line state


def digest_site(got: dict[str, Any], site: dict, range_value: str, top: int) -> dict[str, Any]:
    """One website's row of the digest from the answers to `digest_parts`."""
    row = site_row(site, got["current"], got["longer"], range_value)
    row["top_pages"] = list_items(got["pages"], schema.PAGES_KEYS)[:top]
    return row


def digest(rows: list[dict], range_value: str, now: datetime | None = None) -> dict[str, Any]:
    """The digest document from the per-site rows (failed sites carry "error")."""
    document = finish_rollup(rows, range_value, "visitors")
    periods = [r["comparison"] for r in rows
               if isinstance(r.get("comparison"), dict) and r["comparison"].get("available")]
    return {
        "generated_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "range": range_value,
        "period": periods[0]["current"] if periods else None,
        "previous_period": periods[0]["previous"] if periods else None,
        "totals": document["totals"],
        "movers": rollup.movers(rows),
        "websites": document["websites"],
        "failed": [{"website": rollup.site_name(r), "error": r["error"]}
                   for r in rows if "error" in r],
    }


def list_items(data: Any, keys: tuple[str, ...]) -> list[dict]:
    """The rows of a breakdown answer (pages, countries), tolerating a bare list."""
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = next((data[k] for k in keys if isinstance(data.get(k), list)), [])
    else:
        items = []
    return [i for i in items if isinstance(i, dict)]
