"""Drawing the answers: comparison and rollup tables, breakdowns with shares, the report screen
and the digest (markdown and Slack text). Pure: every function gets the glyph mode and width.

Every string that came from the API passes through `safe_text` (control characters become
visible escapes) before it reaches a terminal, and through the markdown/Slack escapes before it
reaches a message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zenovay_cli import compare, glyphs, rollup, schema
from zenovay_cli.compare import Change, change_text, metric_change, summary_value
from zenovay_cli.glyphs import Mode
from zenovay_cli.output import safe_text
from zenovay_cli.views import View

METRIC_LABELS = {"total_visitors": "Visitors", "total_page_views": "Page views",
                 "unique_visitors": "Unique visitors"}
_GREEN, _RED, _BOLD, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def share_text(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


def number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


def _period(p: Any) -> str:
    if not isinstance(p, dict):
        return ""
    return f"{p.get('start')} – {p.get('end')}"


# ---------------------------------------------------------------------------- analytics --compare


def compare_view(comparison: Any, human: bool = True) -> View:
    """The comparison of one website as a table: metric, now, before, change. `human` (a
    terminal): metric labels; otherwise the API's field names."""
    if not isinstance(comparison, dict) or not comparison.get("available"):
        reason = comparison.get("reason") if isinstance(comparison, dict) else None
        return View("Comparison", ["comparison", "reason"],
                    [["unavailable", safe_text(reason or "no comparison")]], "kv",
                    labels=["Unavailable"])
    title = (f"Compared with the previous {comparison['previous'].get('days')} days "
             f"({_period(comparison['previous'])})")
    rows = []
    for metric, label in METRIC_LABELS.items():
        entry = comparison["metrics"].get(metric) or {}
        change = metric_change(comparison, metric)
        shown = label + (" (approx.)" if entry.get("approximate") else "") if human else metric
        rows.append([shown, entry.get("current"), entry.get("previous"), entry.get("change"),
                     change_text(change)])
    return View(title, ["metric", "current", "previous", "change", "change_pct"], rows,
                labels=["", "Now", "Before", "Change", "%"],
                right=[False, True, True, True, True], changes=(4,))


def compare_records(document: Any) -> list[dict[str, Any]]:
    """The comparison as flat records, one per metric (csv/ndjson of analytics --compare)."""
    comparison = document.get("comparison") if isinstance(document, dict) else None
    site = document.get("website") if isinstance(document, dict) else None
    domain = site.get("domain") if isinstance(site, dict) else None
    if not isinstance(comparison, dict) or not comparison.get("available"):
        reason = comparison.get("reason") if isinstance(comparison, dict) else None
        return [{"website": domain, "metric": None, "current": None, "previous": None,
                 "change": None, "change_pct": None, "unavailable": reason}]
    records = []
    for metric in compare.METRICS:
        entry = comparison["metrics"].get(metric) or {}
        records.append({
            "website": domain, "metric": metric,
            "current": entry.get("current"), "previous": entry.get("previous"),
            "change": entry.get("change"), "change_pct": entry.get("change_pct"),
            "new": entry.get("new"), "approximate": bool(entry.get("approximate")),
            "period_start": comparison["current"]["start"],
            "period_end": comparison["current"]["end"],
            "previous_start": comparison["previous"]["start"],
            "previous_end": comparison["previous"]["end"],
        })
    return records


# ---------------------------------------------------------------------------- the rollup


def _trend_width(range_value: str) -> int:
    return 7 if range_value in ("24h", "7d") else 14


def rollup_views(document: dict, mode: Mode, width: int | None = None) -> list[View]:
    """analytics --all as one table with a totals row; Trend only on a terminal (mode)."""
    rows = document.get("websites") or []
    total = document.get("totals") or {}
    compared = any("comparison" in r for r in rows)
    failed = any("error" in r for r in rows)
    range_value = str(document.get("time_range") or "")
    columns = ["website", "total_visitors", "share", "total_page_views", "unique_visitors"]
    labels = ["Website", "Visitors", "Share", "Page views", "Unique"]
    if compared:
        columns += ["previous_visitors", "change"]
        labels += ["Before", "Change"]
    if mode is not None:
        columns.append("trend")
        labels.append("Trend")
    if failed:
        columns.append("error")
        labels.append("Error")
    if width is not None:  # drop the least needed columns until the table fits
        for optional in ("unique_visitors", "previous_visitors", "total_page_views"):
            if _estimate(columns, rows, range_value) <= width:
                break
            i = columns.index(optional) if optional in columns else -1
            if i >= 0:
                del columns[i], labels[i]
    table_rows = [_rollup_cells(r, columns, mode, range_value) for r in rows]
    table_rows += _totals_cells(total, rows, columns, mode, range_value)
    right = [c not in ("website", "trend", "error") for c in columns]
    changes = tuple(i for i, c in enumerate(columns) if c == "change")
    sort = document.get("sort")
    title = f"All websites ({range_value})" + (f", sorted by {sort}" if sort else "")
    views = [View(title, columns, table_rows, labels=labels, right=right, changes=changes)]
    unavailable = [(rollup.site_name(r), r["comparison"].get("reason")) for r in rows
                   if isinstance(r.get("comparison"), dict) and not r["comparison"].get("available")]
    if unavailable:
        views.append(View("No comparison for", ["website", "reason"],
                          [[safe_text(n), safe_text(str(why))] for n, why in unavailable],
                          labels=["Website", "Reason"]))
    return views


def _estimate(columns: list[str], rows: list[dict], range_value: str) -> int:
    sizes = {"website": max([len(rollup.site_name(r)) for r in rows] + [16]) + 2,
             "share": 6, "change": 9, "trend": _trend_width(range_value), "error": 20}
    return sum(sizes.get(c, 10) for c in columns) + 2 * (len(columns) - 1) + 2


def _rollup_cells(row: dict, columns: list[str], mode: Mode, range_value: str) -> list[Any]:
    change = metric_change(row.get("comparison"), "total_visitors")
    cells = {
        "website": safe_text(rollup.site_name(row)),
        "total_visitors": summary_value(row, "total_visitors"),
        "share": share_text(row.get("share")),
        "total_page_views": summary_value(row, "total_page_views"),
        "unique_visitors": summary_value(row, "unique_visitors"),
        "previous_visitors": change.previous if change else None,
        "change": change_text(change) if change else ("n/a" if "comparison" in row else ""),
        "trend": glyphs.sparkline(row.get("daily_visitors") or [], mode, _trend_width(range_value)),
        "error": safe_text(row.get("error", "")),
    }
    if "error" in row:
        cells["change"] = ""
    return [cells[c] for c in columns]


def _series_sum(rows: list[dict]) -> list[Any]:
    """The day-by-day sum of the rows' daily visitors (when they all have the same days)."""
    series = [r.get("daily_visitors") or [] for r in rows if "error" not in r]
    lengths = {len(s) for s in series if s}
    return [sum(s[i] for s in series if s) for i in range(lengths.pop())] if len(lengths) == 1 else []


def totals_scope(total: dict) -> str:
    """How much of the totals the comparison covers: "all" (every site that answered is
    compared), "some" (only `comparison.websites` of `comparison.of`), "none" (no site is
    compared) or "" (no --compare)."""
    comparison = total.get("comparison")
    if not isinstance(comparison, dict):
        return ""
    compared = comparison.get("websites") or 0
    if not comparison.get("available") or not compared:
        return "none"
    return "all" if compared >= (comparison.get("of") or 0) else "some"


def _totals_change(total: dict, metric: str) -> Change | None:
    comparison = total.get("comparison")
    if not isinstance(comparison, dict) or not comparison.get("available"):
        return None
    entry = (comparison.get("metrics") or {}).get(metric) or {}
    change = Change(entry.get("current"), entry.get("previous"))
    return None if change.current is None or change.previous is None else change


def _totals_cells(total: dict, rows: list[dict], columns: list[str], mode: Mode,
                  range_value: str) -> list[list[Any]]:
    """The totals row; when only some sites have a comparison, Before and Change stay empty on
    it and a second row ("Comparable (5 of 6)") gives those sites' figures, before and now, so
    the numbers on one row always cover one set of sites."""
    summary = total.get("summary") or {}
    scope = totals_scope(total)
    change = _totals_change(total, "total_visitors") if scope == "all" else None
    ok = total.get("websites", 0) - total.get("failed", 0)
    cells = {
        "website": f"All websites ({ok})",
        "total_visitors": summary.get("total_visitors"),
        "share": "100.0%" if summary.get("total_visitors") else "",
        "total_page_views": summary.get("total_page_views"),
        "unique_visitors": summary.get("unique_visitors"),
        "previous_visitors": change.previous if change else None,
        "change": change_text(change) if change else ("n/a" if scope == "none" else ""),
        "trend": glyphs.sparkline(_series_sum(rows), mode, _trend_width(range_value)),
        "error": f"{total.get('failed')} failed" if total.get("failed") else "",
    }
    out = [[cells[c] for c in columns]]
    if scope == "some":
        comparison = total["comparison"]
        part = comparison.get("summary") or {}
        change = _totals_change(total, "total_visitors")
        everyone = summary.get("total_visitors")
        kept = [r for r in rows if "error" not in r and isinstance(r.get("comparison"), dict)
                and r["comparison"].get("available")]
        sub = {
            "website": f"Comparable ({comparison.get('websites')} of {comparison.get('of')})",
            "total_visitors": part.get("total_visitors"),
            "share": share_text(part.get("total_visitors", 0) / everyone) if everyone else "",
            "total_page_views": part.get("total_page_views"),
            "unique_visitors": part.get("unique_visitors"),
            "previous_visitors": change.previous if change else None,
            "change": change_text(change) if change else "n/a",
            "trend": glyphs.sparkline(_series_sum(kept), mode, _trend_width(range_value)),
            "error": "",
        }
        out.append([sub[c] for c in columns])
    return out


def rollup_records(document: dict) -> list[dict[str, Any]]:
    """analytics --all as flat records: the API's field names, then share and comparison."""
    records = []
    for row in document.get("websites") or []:
        record: dict[str, Any] = {
            "website": rollup.site_name(row), "range": row.get("time_range"),
            "summary.total_visitors": summary_value(row, "total_visitors"),
            "summary.total_page_views": summary_value(row, "total_page_views"),
            "summary.unique_visitors": summary_value(row, "unique_visitors"),
            "share": row.get("share"),
        }
        if "comparison" in row:
            comparison = row["comparison"]
            for metric in compare.METRICS:
                entry = ((comparison.get("metrics") or {}).get(metric) or {}) \
                    if isinstance(comparison, dict) else {}
                record[f"previous.{metric}"] = entry.get("previous")
                record[f"change_pct.{metric}"] = entry.get("change_pct")
            record["comparison_unavailable"] = comparison.get("reason") \
                if isinstance(comparison, dict) else None
        if "error" in row:
            record["error"] = row["error"]
        records.append(record)
    return records


# ---------------------------------------------------------------------------- breakdowns


def breakdown_table(title: str, items: list[dict], name_keys: tuple[str, ...],
                    total: float | None, mode: Mode, width: int | None,
                    extra: tuple[str, ...] = ()) -> View:
    """Rows of a breakdown with each row's share of the period's visitors and, on a terminal,
    a bar; long names are cut with "…" to fit `width` (terminal only)."""
    bar_width = 0 if mode is None else (10 if (width or 80) >= 100 else 6)
    fixed = 10 + 7 + (bar_width + 2 if bar_width else 0) + sum(12 for _ in extra) + 4
    name_width = max(12, (width - fixed)) if width else None
    rows = []
    for item in items:
        name = next((item[k] for k in name_keys if isinstance(item.get(k), str)), "")
        name = safe_text(name)
        if name_width and mode is not None:
            name = glyphs.ellipsize(name, name_width)
        visitors = item.get("visitors")
        share = visitors / total if isinstance(visitors, (int, float)) and not isinstance(
            visitors, bool) and total else None
        row = [name, *[item.get(k) for k in extra], visitors, share_text(share)]
        if mode is not None:
            row.append(glyphs.bar(share, bar_width, mode))
        rows.append(row)
    columns = ["name", *extra, "visitors", "share"] + (["bar"] if mode is not None else [])
    labels = [title, *[{"views": "Page views", "avg_value_score": "Avg. score"}.get(e, e)
                       for e in extra], "Visitors", "Share"] + ([""] if mode is not None else [])
    right = [False, *[True] * len(extra), True, True] + ([False] if mode is not None else [])
    return View(None, columns, rows, labels=labels, right=right)


# ---------------------------------------------------------------------------- the report


def _colour(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def _change_cell(change: Change | None, color: bool) -> str:
    text = change_text(change)
    if text.startswith("↑") or text == "new":
        return _colour(text, _GREEN, color)
    if text.startswith("↓"):
        return _colour(text, _RED, color)
    return text


def _visible(text: str) -> int:
    import re

    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _visible(text))


def _share(visitors: Any, total: float | None) -> float | None:
    if isinstance(visitors, bool) or not isinstance(visitors, (int, float)) or not total:
        return None
    return visitors / total


def _panel(title: str, items: list[dict], name_keys: tuple[str, ...], total: float | None,
           width: int, mode: Mode, color: bool, n: int = 5) -> list[str]:
    bar_width = 0 if mode is None else max(4, min(12, width - 38))
    name_width = width - 9 - 7 - (bar_width + 1 if bar_width else 0)
    lines = [_colour(_pad(f"{title}", name_width) + f"{'Visitors':>9}{'Share':>7}", _BOLD, color)]
    for item in items[:n]:
        name = next((item[k] for k in name_keys if isinstance(item.get(k), str)), "")
        visitors = item.get("visitors")
        share = _share(visitors, total)
        cells = glyphs.ellipsize(safe_text(name), name_width - 1).ljust(name_width)
        cells += f"{number(visitors):>9}{share_text(share):>7}"
        if bar_width:
            cells += " " + glyphs.bar(share, bar_width, mode)
        lines.append(cells.rstrip())
    if not items:
        lines.append("(none)")
    return lines


def report_lines(document: dict, width: int = 80, mode: Mode = "unicode",
                 color: bool = False) -> list[str]:
    """The dashboard as lines of at most `width` columns; fits 24 rows at 80 columns."""
    width = max(60, width)
    analytics = document.get("analytics") or {}
    site = document.get("website") or {}
    name = safe_text(site.get("domain") or site.get("name") or site.get("id") or "")
    range_value = str(document.get("range") or "")
    period = compare.current_period(analytics, range_value) if range_value in compare.RANGE_DAYS \
        else None
    when = f" ({period[0].isoformat()} – {period[1].isoformat()})" if period else ""
    lines = [_colour(glyphs.ellipsize(f"{name} · last {range_value}{when}", width), _BOLD, color),
             ""]
    comparison = document.get("comparison")
    heads = []
    for metric, label in (("total_visitors", "Visitors"), ("total_page_views", "Page views"),
                          ("unique_visitors", "Unique")):
        text = f"{label} {number(summary_value(analytics, metric)) or '–'}"
        if comparison is not None:
            change = metric_change(comparison, metric)
            cell = _change_cell(change, color) if change else ""
            approx = "≈" if metric == "unique_visitors" and change else ""
            text += f" {approx}{cell}" if cell else ""
        heads.append(text)
    lines.append("   ".join(heads))
    if isinstance(comparison, dict):
        if comparison.get("available"):
            prev = metric_change(comparison, "total_visitors")
            lines.append(_colour(glyphs.ellipsize(
                f"vs {number(prev.previous if prev else None)} visitors in the previous "
                f"{comparison['previous'].get('days')} days ({_period(comparison['previous'])})",
                width), _DIM, color))
        else:
            lines.append(glyphs.ellipsize(
                f"Comparison unavailable: {safe_text(str(comparison.get('reason')))}", width))
    series = [v for _, v in compare.daily_series(analytics)]
    if series:
        spark = glyphs.sparkline(series, mode, min(width - 34, 60))
        trend = f"Daily visitors {spark}  " if spark else "Daily visitors: "
        lines.append(trend + f"min {number(min(series))} · max {number(max(series))}")
    else:
        lines.append("Daily visitors: the API returned no daily_stats")
    lines.append("")
    total = summary_value(analytics, "total_visitors")
    half = (width - 3) // 2
    tech = document.get("technology") or {}
    pairs = [
        (("Top pages", _items(document.get("pages"), schema.PAGES_KEYS),
          ("url", "path", "page_url")),
         ("Top countries", _items(document.get("countries"), schema.COUNTRIES_KEYS),
          ("country_name", "name", "country_code", "code"))),
        (("Browsers", _items(tech, ("browsers",)), ("name",)),
         ("Device types", _items(tech, schema.DEVICE_TYPE_KEYS), ("name",))),
    ]
    for i, (left, right) in enumerate(pairs):
        if i:
            lines.append("")
        a = _panel(left[0], left[1], left[2], total, half, mode, color)
        b = _panel(right[0], right[1], right[2], total, half, mode, color)
        for j in range(max(len(a), len(b))):
            la = a[j] if j < len(a) else ""
            lb = b[j] if j < len(b) else ""
            lines.append((_pad(la, half) + " │ " + lb).rstrip() if lb else la.rstrip())
    return lines


def _items(data: Any, keys: tuple[str, ...]) -> list[dict]:
    from zenovay_cli.answers import list_items

    return list_items(data, keys)


# ---------------------------------------------------------------------------- the digest


def _md(text: Any) -> str:
    """Untrusted text for a markdown table cell or list item: literal, one line."""
    out = safe_text(str(text)).replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _digest_heading(doc: dict) -> tuple[str, str]:
    period, previous = doc.get("period"), doc.get("previous_period")
    head = f"Zenovay digest: last {doc.get('range')}"
    if period:
        head += f" ({_period(period)})"
    sub = f"Compared with the previous {previous.get('days')} days ({_period(previous)})." \
        if previous else "No comparison: the API returned no daily_stats."
    return head, sub


def _digest_totals_markdown(totals: dict) -> list[str]:
    """The digest's totals row(s): see `_totals_cells` (one set of sites per row)."""
    summary = totals.get("summary") or {}
    scope = totals_scope(totals)
    ok = totals.get("websites", 0) - totals.get("failed", 0)

    def pct(metric: str) -> str:
        return change_text(_totals_change(totals, metric), arrows=False) or "n/a"

    changes = [pct("total_visitors"), pct("total_page_views")] if scope == "all" else \
        (["n/a", "n/a"] if scope == "none" else ["", ""])
    out = [f"| **All websites ({ok})** | **{number(summary.get('total_visitors'))}** | "
           f"{changes[0]} | **{number(summary.get('total_page_views'))}** | {changes[1]} | |"]
    if scope == "some":
        comparison = totals["comparison"]
        part = comparison.get("summary") or {}
        everyone = summary.get("total_visitors")
        share = share_text(part.get("total_visitors", 0) / everyone) if everyone else ""
        out.append(f"| Comparable ({comparison.get('websites')} of {comparison.get('of')}) | "
                   f"{number(part.get('total_visitors'))} | {pct('total_visitors')} | "
                   f"{number(part.get('total_page_views'))} | {pct('total_page_views')} | "
                   f"{share} |")
    return out


def digest_markdown(doc: dict) -> str:
    head, sub = _digest_heading(doc)
    out = [f"# {head}", "", sub, "",
           "| Website | Visitors | Change | Page views | Change | Share |",
           "|---|---:|---:|---:|---:|---:|"]
    for row in doc.get("websites") or []:
        if "error" in row:
            continue
        v = metric_change(row.get("comparison"), "total_visitors")
        p = metric_change(row.get("comparison"), "total_page_views")
        out.append(f"| {_md(rollup.site_name(row))} | {number(summary_value(row, 'total_visitors'))}"
                   f" | {change_text(v, arrows=False) or 'n/a'} | "
                   f"{number(summary_value(row, 'total_page_views'))} | "
                   f"{change_text(p, arrows=False) or 'n/a'} | {share_text(row.get('share'))} |")
    out += _digest_totals_markdown(doc.get("totals") or {})
    movers = doc.get("movers") or {}
    if movers.get("risers") or movers.get("fallers"):
        out += ["", "## Top movers", ""]
        for m in movers.get("risers", []) + movers.get("fallers", []):
            out.append(f"- {_md(m['website'])}: {number(m['current'])} visitors "
                       f"({change_text(Change(m['current'], m['previous']), arrows=False)}, "
                       f"was {number(m['previous'])})")
    out += ["", "## Top pages"]
    for row in doc.get("websites") or []:
        if "error" in row:
            continue
        out += ["", f"### {_md(rollup.site_name(row))}", ""]
        pages = row.get("top_pages") or []
        for i, page in enumerate(pages, 1):
            url = next((page[k] for k in ("url", "path", "page_url") if isinstance(page.get(k), str)), "")
            out.append(f"{i}. {_md(url)}: {number(page.get('visitors'))} visitors")
        if not pages:
            out.append("(no pages)")
    failed = doc.get("failed") or []
    if failed:
        out += ["", "## Not included", ""]
        out += [f"- {_md(f['website'])}: {_md(f['error'])}" for f in failed]
    return "\n".join(out) + "\n"


def digest_slack_text(doc: dict, escape: bool = True) -> str:
    """The digest in Slack's mrkdwn (what `--format slack` wraps and `--to` posts to Slack).
    `escape`: Slack's &, <, > escapes applied to the API's text (notify applies them itself)."""

    def _slack(text: Any) -> str:
        shown = safe_text(str(text))
        return _slack_escape(shown) if escape else shown

    head, sub = _digest_heading(doc)
    out = [f"*{_slack(head)}*", _slack(sub), ""]
    for row in doc.get("websites") or []:
        if "error" in row:
            continue
        v = metric_change(row.get("comparison"), "total_visitors")
        out.append(f"• *{_slack(rollup.site_name(row))}*: "
                   f"{number(summary_value(row, 'total_visitors'))} visitors "
                   f"({change_text(v, arrows=False) or 'n/a'}), "
                   f"{number(summary_value(row, 'total_page_views'))} page views")
        pages = row.get("top_pages") or []
        if pages:
            names = [next((p[k] for k in ("url", "path", "page_url") if isinstance(p.get(k), str)), "")
                     for p in pages[:3]]
            out.append("    top pages: " + ", ".join(f"`{_slack(n)}`" for n in names))
    totals = doc.get("totals") or {}
    summary = totals.get("summary") or {}
    scope = totals_scope(totals)
    ok = totals.get("websites", 0) - totals.get("failed", 0)
    line = (f"*All websites ({ok})*: {number(summary.get('total_visitors'))} visitors, "
            f"{number(summary.get('total_page_views'))} page views")
    if scope == "all":
        line += (f" ({change_text(_totals_change(totals, 'total_visitors'), arrows=False)}"
                 " visitors)")
    elif scope == "none":
        line += " (no comparison)"
    out += ["", line]
    if scope == "some":
        comparison = totals["comparison"]
        part = comparison.get("summary") or {}
        out.append(f"*Comparable ({comparison.get('websites')} of {comparison.get('of')})*: "
                   f"{number(part.get('total_visitors'))} visitors "
                   f"({change_text(_totals_change(totals, 'total_visitors'), arrows=False)}), "
                   f"{number(part.get('total_page_views'))} page views")
    movers = doc.get("movers") or {}
    moved = movers.get("risers", []) + movers.get("fallers", [])
    if moved:
        out.append("*Top movers*: " + ", ".join(
            f"{_slack(m['website'])} {change_text(Change(m['current'], m['previous']), arrows=False)}"
            for m in moved))
    for f in doc.get("failed") or []:
        out.append(f":warning: {_slack(f['website'])} not included: {_slack(f['error'])}")
    return "\n".join(out)


# ---------------------------------------------------------------------------- shares on breakdowns

_NAME_COLUMNS = ("url", "path", "page_url", "title", "country_name", "name")


def with_shares(view: View, total: float | None, mode: Mode, width: int | None) -> View:
    """`view` (a pages/countries/technology table) with each row's share of the period's visitors
    and, on a terminal (mode), a bar; long names cut with "…" to fit `width` (terminal only)."""
    if view.kind != "table":
        return view
    if "visitors" not in view.columns or not view.rows or not total:  # no shares; names still cut
        return replace(view, cut=tuple(i for i, c in enumerate(view.columns) if c in _NAME_COLUMNS))
    v = view.columns.index("visitors")
    bar_width = 0 if mode is None else (10 if (width or 0) >= 110 else 6)
    columns = [*view.columns, "share"] + (["bar"] if bar_width else [])
    rows = []
    for row in view.rows:
        visitors = row[v]
        ok = isinstance(visitors, (int, float)) and not isinstance(visitors, bool)
        share = visitors / total if ok and visitors is not None and total else None
        rows.append([*row, share_text(share)] + ([glyphs.bar(share, bar_width, mode)] if bar_width else []))
    right = None
    if view.right is None:
        right = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) or r[i] is None
                     for r in view.rows) for i in range(len(view.columns))]
        right += [True] + ([False] if bar_width else [])
    labels = None
    if view.labels is not None:
        labels = [*view.labels, "Share"] + ([""] if bar_width else [])
    else:
        from zenovay_cli.humanize import label

        labels = [label(c) for c in view.columns] + ["Share"] + ([""] if bar_width else [])
    # On a terminal the names are cut with "…" to fit and the bar goes when there is no room
    # (output.fit_view); pipes, csv and json get them whole.
    cut = tuple(i for i, c in enumerate(columns) if c in _NAME_COLUMNS)
    optional = (len(columns) - 1,) if bar_width else ()
    return View(view.title, columns, rows, view.kind, labels=labels, right=right, cut=cut,
                optional=optional)
