"""The all-sites rollup: totals, each site's share of all visitors, sorting and movers (pure).

A site is one row of `analytics --all`: {"website": {...}, "summary": {...}, "comparison": {...}
or absent, "error": text or absent}. Failed sites are kept (listed last) but add nothing to the
totals.
"""

from __future__ import annotations

from typing import Any

from zenovay_cli.compare import METRICS, Change, metric_change, summary_value
from zenovay_cli.errors import UsageError

SORTS = ("visitors", "views", "change", "name")
_SORT_METRIC = {"visitors": "total_visitors", "views": "total_page_views"}


def site_name(row: dict) -> str:
    site = row.get("website")
    if isinstance(site, dict):
        for key in ("domain", "name", "id"):
            if isinstance(site.get(key), str) and site[key]:
                return site[key]
    return ""


def totals(rows: list[dict]) -> dict[str, Any]:
    """Sums of every metric over the sites that answered; with comparisons, a "comparison" block
    whose every figure covers one set of sites: those whose comparison is available.

    `comparison.websites` of `comparison.of` sites (the ones that answered) are compared;
    `comparison.summary` holds their current sums (what the previous period is set against) and
    `comparison.excluded` names the others. When fewer sites are compared than answered,
    `comparison.metrics.*.current` is smaller than the top-level `summary` on purpose: comparing
    all sites now with some sites before would show a change that did not happen. With no
    comparable site the block says `available: false`, a reason, and has no metrics."""
    ok = [r for r in rows if "error" not in r]
    out: dict[str, Any] = {"websites": len(rows), "failed": len(rows) - len(ok)}
    out["summary"] = _sums(ok)
    if not any(isinstance(r.get("comparison"), dict) for r in ok):
        return out
    compared = [r for r in ok if isinstance(r.get("comparison"), dict)
                and r["comparison"].get("available")]
    block: dict[str, Any] = {
        "available": bool(compared),
        "websites": len(compared),
        "of": len(ok),
        "excluded": [site_name(r) for r in ok if not any(r is c for c in compared)],
    }
    if not compared:
        block["reason"] = "no website has a comparison"
        out["comparison"] = block
        return out
    block["summary"] = _sums(compared)
    metrics = {}
    for metric in METRICS:
        changes = [metric_change(r["comparison"], metric) for r in compared]
        usable = [c for c in changes if c is not None and c.current is not None
                  and c.previous is not None]
        if usable:
            entry = Change(sum(c.current for c in usable), sum(c.previous for c in usable))  # type: ignore[misc]
            metrics[metric] = {**entry.as_dict(), "websites": len(usable)}
        else:
            metrics[metric] = {**Change(None, None).as_dict(), "websites": 0}
        if metric == "unique_visitors":
            metrics[metric]["approximate"] = True
    block["metrics"] = metrics
    out["comparison"] = block
    return out


def _sums(rows: list[dict]) -> dict[str, int | float]:
    summary = {}
    for metric in METRICS:
        values = [summary_value(r, metric) for r in rows]
        summary[metric] = sum(v for v in values if v is not None)
    return summary


def shares(rows: list[dict], total_visitors: float) -> list[float | None]:
    """Each site's share of all visitors (0..1); None for a failed site or when the total is 0."""
    out: list[float | None] = []
    for r in rows:
        value = summary_value(r, "total_visitors") if "error" not in r else None
        out.append(None if value is None or not total_visitors else value / total_visitors)
    return out


def _change_key(row: dict) -> tuple:
    if "error" in row:
        return (4, 0.0, site_name(row))
    change = metric_change(row.get("comparison"), "total_visitors")
    if change is None or change.current is None or change.previous is None:
        return (3, 0.0, site_name(row))
    if change.is_new:
        return (0, -float(change.current), site_name(row))
    pct = change.pct or 0.0
    return (1 if pct else 2, -abs(pct), site_name(row))


def sort_rows(rows: list[dict], by: str) -> list[dict]:
    """Rows in the order --sort asks for. visitors/views: largest first; name: by domain;
    change ("movers"): new sites, then the largest changes either way (|%| descending),
    then unchanged, then sites without a comparison. Failed sites always last."""
    if by not in SORTS:
        raise UsageError(f"unknown --sort {by!r}; use one of {', '.join(SORTS)}")
    if by == "name":
        return sorted(rows, key=lambda r: ("error" in r, site_name(r).lower()))
    if by == "change":
        return sorted(rows, key=_change_key)
    metric = _SORT_METRIC[by]

    def key(r: dict) -> tuple:
        value = summary_value(r, metric) if "error" not in r else None
        return (value is None, -(value or 0), site_name(r).lower())

    return sorted(rows, key=key)


def movers(rows: list[dict], n: int = 3) -> dict[str, list[dict]]:
    """The `n` biggest risers and fallers by change in visitors (new sites count as risers)."""
    entries = []
    for r in rows:
        change = metric_change(r.get("comparison"), "total_visitors")
        if "error" in r or change is None or change.delta is None:
            continue
        entries.append((r, change))
    risers = [e for e in entries if (e[1].delta or 0) > 0]
    fallers = [e for e in entries if (e[1].delta or 0) < 0]
    risers.sort(key=lambda e: (not e[1].is_new, -(e[1].pct or 0), site_name(e[0])))
    fallers.sort(key=lambda e: (e[1].pct or 0, site_name(e[0])))

    def item(e: tuple[dict, Change]) -> dict:
        return {"website": site_name(e[0]), **e[1].as_dict()}

    return {"risers": [item(e) for e in risers[:n]], "fallers": [item(e) for e in fallers[:n]]}
