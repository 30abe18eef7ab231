"""Answers from the history store: sums per bucket, comparisons, the all-sites rollup (pure of I/O
beyond the read-only connection it is handed)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from zenovay_cli.history import dates as d
from zenovay_cli.history import store

Days = dict[date, tuple[int | None, int | None, int | None]]  # date -> (visitors, unique, views)


@dataclass
class Sums:
    days: int = 0  # days of the range held in the store
    visitors: int = 0
    unique_visitors: int = 0
    page_views: int = 0

    def add(self, values: tuple[int | None, int | None, int | None]) -> None:
        tv, uv, pv = values
        self.days += 1
        self.visitors += tv or 0
        self.unique_visitors += uv or 0
        self.page_views += pv or 0


def load_days(conn: sqlite3.Connection, website_id: str, start: date, end: date) -> Days:
    return {day: (tv, uv, pv) for day, tv, uv, pv in store.daily_rows(conn, website_id, start, end)}


def sums(days: Days, start: date, end: date) -> Sums:
    out = Sums()
    day = start
    while day <= end:
        if day in days:
            out.add(days[day])
        day += timedelta(days=1)
    return out


def change_pct(current: int | None, previous: int | None) -> float | None:
    """Change in % (one decimal); None when there is nothing to compare with (or it was 0)."""
    if current is None or not previous:
        return None
    return round((current - previous) * 100.0 / previous, 1)


def day_mapper(how: str, window: d.Window) -> Callable[[date], date]:
    """The comparison day of each day of `window` (see dates.compare_window)."""
    if how == "yoy":
        return lambda day: d.shift_year(day, -1)
    offset = timedelta(days=window.days) if how == "previous" else timedelta(weeks=52)
    return lambda day: day - offset


def _figures(s: Sums, span_days: int, prefix: str = "") -> dict[str, Any]:
    covered = s.days > 0
    return {
        f"{prefix}visitors": s.visitors if covered else None,
        f"{prefix}page_views": s.page_views if covered else None,
        f"{prefix}unique_visitors": s.unique_visitors if covered else None,
        # A visitor who came on two days is counted on both: sums of daily uniques over-count.
        f"{prefix}unique_visitors_approximate": span_days > 1,
        f"{prefix}days_missing": span_days - s.days,
    }


def _compared(row: dict[str, Any], cur: Sums, prev: Sums, start: date, end: date) -> None:
    row["compare_start"] = start.isoformat()
    row["compare_end"] = end.isoformat()
    row.update(_figures(prev, (end - start).days + 1, "compare_"))
    # A change is only stated between two whole periods: a sum missing days is not comparable.
    whole = row.get("days_missing") == 0 and row["compare_days_missing"] == 0
    row["visitors_change_pct"] = change_pct(cur.visitors, prev.visitors) if whole else None
    row["page_views_change_pct"] = change_pct(cur.page_views, prev.page_views) if whole else None


def show(
    conn: sqlite3.Connection,
    site: store.StoredSite,
    window: d.Window,
    by: str = "day",
    compare: str | None = None,
) -> dict[str, Any]:
    """The `history show` document of one website: a row per bucket, totals, the missing days."""
    cwin = d.compare_window(window, compare) if compare else None
    start = min(window.start, cwin.start) if cwin else window.start
    days = load_days(conn, site.website_id, start, window.end)
    mapper = day_mapper(compare, window) if compare else None
    periods = []
    for bucket in d.buckets(window, by):
        cur = sums(days, bucket.start, bucket.end)
        row: dict[str, Any] = {
            "period": bucket.label, "start": bucket.start.isoformat(),
            "end": bucket.end.isoformat(), "days": bucket.days,
            **_figures(cur, bucket.days),
        }
        if mapper is not None:
            cs, ce = mapper(bucket.start), mapper(bucket.end)
            _compared(row, cur, sums(days, cs, ce), cs, ce)
        periods.append(row)
    total_cur = sums(days, window.start, window.end)
    total: dict[str, Any] = {"days": window.days, **_figures(total_cur, window.days)}
    doc: dict[str, Any] = {
        "website": {"id": site.website_id, "domain": site.domain, "name": site.name},
        "from": window.start.isoformat(), "to": window.end.isoformat(), "by": by,
        "compare": compare,
    }
    if cwin is not None:
        _compared(total, total_cur, sums(days, cwin.start, cwin.end), cwin.start, cwin.end)
        doc["compare_from"], doc["compare_to"] = cwin.start.isoformat(), cwin.end.isoformat()
    doc["total"] = total
    doc["periods"] = periods
    doc["missing_days"] = [day.isoformat() for day in d.missing_days(window, days)]
    if cwin is not None:
        doc["compare_missing_days"] = [day.isoformat() for day in d.missing_days(cwin, days)]
    return doc


def rollup(
    conn: sqlite3.Connection, window: d.Window, compare: str | None = None
) -> dict[str, Any]:
    """Every stored website over `window`: totals, each site's share of all visitors, a totals
    row, and with `compare` the comparison window's figures and the change."""
    cwin = d.compare_window(window, compare) if compare else None
    # Summed by SQLite, one pass per window: the whole store can be the window.
    cur_sums = window_sums(conn, window.start, window.end)
    prev_sums = window_sums(conn, cwin.start, cwin.end) if cwin else {}
    rows = []
    all_cur, all_prev = Sums(), Sums()
    whole_cur, whole_prev, whole_sites = Sums(), Sums(), 0  # the sites held whole in both windows
    missing: dict[str, int] = {}
    for site in store.websites(conn):
        cur = cur_sums.get(site.website_id, Sums())
        row: dict[str, Any] = {
            "website": {"id": site.website_id, "domain": site.domain, "name": site.name},
            "removed": site.removed_at is not None,
            **_figures(cur, window.days),
        }
        if cur.days < window.days:
            missing[site.domain or site.website_id] = window.days - cur.days
        _accumulate(all_cur, cur)
        if cwin is not None:
            prev = prev_sums.get(site.website_id, Sums())
            _compared(row, cur, prev, cwin.start, cwin.end)
            _accumulate(all_prev, prev)
            if row["days_missing"] == 0 and row["compare_days_missing"] == 0:
                whole_sites += 1
                _accumulate(whole_cur, cur)
                _accumulate(whole_prev, prev)
        rows.append((row, cur))
    for row, cur in rows:
        row["share_pct"] = (
            round(cur.visitors * 100.0 / all_cur.visitors, 1) if all_cur.visitors else None
        )
    total: dict[str, Any] = {
        "websites": len(rows), "visitors": all_cur.visitors, "page_views": all_cur.page_views,
        "unique_visitors": all_cur.unique_visitors, "unique_visitors_approximate": True,
    }
    doc: dict[str, Any] = {
        "from": window.start.isoformat(), "to": window.end.isoformat(), "compare": compare,
    }
    if cwin is not None:
        doc["compare_from"], doc["compare_to"] = cwin.start.isoformat(), cwin.end.isoformat()
        whole = whole_sites == len(rows)
        # One set of sites per row: the totals compare only when every site is held whole in both
        # windows; otherwise "comparable" compares the sites that are (a sum missing days is not).
        total["compare_visitors"] = all_prev.visitors if whole else None
        total["compare_page_views"] = all_prev.page_views if whole else None
        total["visitors_change_pct"] = (
            change_pct(all_cur.visitors, all_prev.visitors) if whole else None)
        total["page_views_change_pct"] = (
            change_pct(all_cur.page_views, all_prev.page_views) if whole else None)
        if not whole:
            comparable: dict[str, Any] = {"websites": whole_sites, "of": len(rows)}
            if whole_sites:
                comparable.update({
                    "visitors": whole_cur.visitors, "page_views": whole_cur.page_views,
                    "share_pct": round(whole_cur.visitors * 100.0 / all_cur.visitors, 1)
                    if all_cur.visitors else None,
                    "compare_visitors": whole_prev.visitors,
                    "compare_page_views": whole_prev.page_views,
                    "visitors_change_pct": change_pct(whole_cur.visitors, whole_prev.visitors),
                    "page_views_change_pct": change_pct(whole_cur.page_views, whole_prev.page_views),
                })
            total["comparable"] = comparable
    doc["total"] = total
    doc["websites"] = [row for row, _ in rows]
    doc["missing_days"] = missing
    return doc


def window_sums(conn: sqlite3.Connection, start: date, end: date) -> dict[str, Sums]:
    """Per website, the sums of its stored days from `start` to `end`."""
    return {
        wid: Sums(days, tv or 0, uv or 0, pv or 0)
        for wid, days, tv, uv, pv in conn.execute(
            "SELECT website_id, count(*), sum(total_visitors), sum(unique_visitors), "
            "sum(page_views) FROM daily_stats WHERE date BETWEEN ? AND ? GROUP BY website_id",
            (start.isoformat(), end.isoformat()),
        )
    }


def _accumulate(into: Sums, part: Sums) -> None:
    into.days += part.days
    into.visitors += part.visitors
    into.unique_visitors += part.unique_visitors
    into.page_views += part.page_views


def daily_sums(
    db: str | Path | sqlite3.Connection | None, website_id: str, start: date, end: date
) -> dict[str, int] | None:
    """Sums of one website's stored days from `start` to `end` (both included), or None when the
    store does not hold every one of those days (or there is no store).

    For `analytics --compare` and `report --compare` on 24h and 1y: {"visitors", "page_views",
    "unique_visitors", "days"}; unique_visitors is a sum of daily figures (approximate).
    """
    if isinstance(db, sqlite3.Connection):
        return _covered_sums(db, website_id, start, end)
    path = Path(db) if db is not None else store.default_path()
    try:
        conn = store.connect_readonly(path)
    except Exception:  # noqa: BLE001 - no usable store is the same as no days
        return None
    try:
        return _covered_sums(conn, website_id, start, end)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _covered_sums(
    conn: sqlite3.Connection, website_id: str, start: date, end: date
) -> dict[str, int] | None:
    if start > end:
        return None
    s = sums(load_days(conn, website_id, start, end), start, end)
    if s.days != (end - start).days + 1:
        return None
    return {"visitors": s.visitors, "page_views": s.page_views,
            "unique_visitors": s.unique_visitors, "days": s.days}


# ------------------------------------------------------------------------------- terminal tables


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _table_row(label: str, row: dict[str, Any], compared: bool) -> dict[str, Any]:
    unique = row["unique_visitors"]
    out: dict[str, Any] = {
        "period": label,
        "visitors": row["visitors"],
        "page_views": row["page_views"],
        # "≈": a sum of daily unique visitors counts a visitor of two days twice.
        "unique_visitors": f"≈{unique:,}" if unique is not None and row["unique_visitors_approximate"]
        else unique,
    }
    if row.get("days_missing"):
        out["days_missing"] = row["days_missing"]
    if compared:
        start, end = row["compare_start"], row["compare_end"]
        out["compared_with"] = start if start == end else f"{start}..{end}"
        out["compare_visitors"] = row["compare_visitors"]
        out["visitors_change"] = _pct(row["visitors_change_pct"])
        out["compare_page_views"] = row["compare_page_views"]
        out["page_views_change"] = _pct(row["page_views_change_pct"])
    return out


def show_table(doc: dict[str, Any]) -> dict[str, Any]:
    """The `history show` document as a terminal shows it: a heading and one compact table whose
    last row is the window's total."""
    compared = doc.get("compare") is not None
    rows = [_table_row(p["period"], p, compared) for p in doc["periods"]]
    rows.append(_table_row("total", doc["total"], compared))
    site = doc["website"]
    head: dict[str, Any] = {
        "website": site["domain"] or site["id"],
        "window": f"{doc['from']}..{doc['to']} ({doc['total']['days']} days, by {doc['by']})",
    }
    if compared:
        head["compared_with"] = f"{doc['compare_from']}..{doc['compare_to']} ({doc['compare']})"
    head["periods"] = rows
    return head


def rollup_table(doc: dict[str, Any]) -> dict[str, Any]:
    compared = doc.get("compare") is not None
    rows = []
    for row in doc["websites"]:
        site = row["website"]
        out: dict[str, Any] = {
            "website": (site["domain"] or site["id"]) + (" (removed)" if row["removed"] else ""),
            "visitors": row["visitors"], "share": "" if row["share_pct"] is None
            else f"{row['share_pct']:.1f}%",
            "page_views": row["page_views"],
            "unique_visitors": None if row["unique_visitors"] is None else f"≈{row['unique_visitors']:,}",
        }
        if row["days_missing"]:
            out["days_missing"] = row["days_missing"]
        if compared:
            out["compare_visitors"] = row["compare_visitors"]
            out["visitors_change"] = _pct(row["visitors_change_pct"])
        rows.append(out)
    total = doc["total"]
    last: dict[str, Any] = {"website": f"total ({total['websites']} websites)",
                            "visitors": total["visitors"], "share": "100.0%" if total["visitors"] else "",
                            "page_views": total["page_views"],
                            "unique_visitors": f"≈{total['unique_visitors']:,}"}
    if compared:
        last["compare_visitors"] = total["compare_visitors"]
        last["visitors_change"] = _pct(total["visitors_change_pct"])
    rows.append(last)
    comparable = total.get("comparable")
    if compared and comparable and comparable["websites"]:
        rows.append({
            "website": f"comparable ({comparable['websites']} of {comparable['of']} websites)",
            "visitors": comparable["visitors"],
            "share": "" if comparable["share_pct"] is None else f"{comparable['share_pct']:.1f}%",
            "page_views": comparable["page_views"], "unique_visitors": None,
            "compare_visitors": comparable["compare_visitors"],
            "visitors_change": _pct(comparable["visitors_change_pct"]),
        })
    head: dict[str, Any] = {"window": f"{doc['from']}..{doc['to']}"}
    if compared:
        head["compared_with"] = f"{doc['compare_from']}..{doc['compare_to']} ({doc['compare']})"
    head["websites"] = rows
    return head
