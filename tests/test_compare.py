"""Period comparison, the all-sites rollup and glyphs, checked against the sandbox's own rows."""

from datetime import date, timedelta

import pytest

from zenovay_cli import compare, glyphs, rollup
from zenovay_cli.errors import UsageError
from zenovay_cli.sandbox.data import SandboxData

# 2026-03-03: the 7d period (Feb 25 - Mar 3) crosses a month boundary, and so does the previous
# one of 30d (Jan 2 - Jan 31 is not, but 90d's previous one crosses the year: Sep - Dec 2025).
TODAY = date(2026, 3, 3)


def _data(**kw):
    return SandboxData(seed=0, websites=4, today=TODAY, **kw)


def _sum(rows, field, start, end):
    return sum(r[field] for r in rows if start <= date.fromisoformat(r["date"]) <= end)


@pytest.mark.parametrize("range_,longer", [("7d", "30d"), ("30d", "90d"), ("90d", "1y")])
def test_previous_period_is_the_sum_of_the_days_before_the_first_day(range_, longer):
    data = _data()
    site = data.website_ids[0]
    current, long_ = data.overview(site, range_), data.overview(site, longer)
    days = compare.RANGE_DAYS[range_]
    first = TODAY - timedelta(days=days - 1)
    prev_first, prev_last = first - timedelta(days=days), first - timedelta(days=1)
    rows = long_["daily_stats"]

    result = compare.compare(current, long_, range_)

    assert result["available"] is True
    assert result["current"] == {"range": range_, "start": first.isoformat(), "end": TODAY.isoformat()}
    assert result["previous"]["start"] == prev_first.isoformat()
    assert result["previous"]["end"] == prev_last.isoformat()
    visitors = result["metrics"]["total_visitors"]
    assert visitors["current"] == current["summary"]["total_visitors"]
    assert visitors["previous"] == _sum(rows, "total_visitors", prev_first, prev_last)
    expected_pct = 100 * (visitors["current"] - visitors["previous"]) / visitors["previous"]
    assert visitors["change_pct"] == round(expected_pct, 1)
    views = result["metrics"]["total_page_views"]
    assert views["current"] == current["summary"]["total_page_views"]
    assert views["previous"] == _sum(rows, "page_views", prev_first, prev_last)
    unique = result["metrics"]["unique_visitors"]
    assert unique["approximate"] is True
    assert unique["previous"] == _sum(rows, "unique_visitors", prev_first, prev_last)


def test_a_period_crossing_the_month_boundary():
    data = _data()
    site = data.website_ids[1]
    result = compare.compare(data.overview(site, "7d"), data.overview(site, "30d"), "7d")
    assert result["current"]["start"] == "2026-02-25"
    assert result["previous"] == {"start": "2026-02-18", "end": "2026-02-24", "days": 7,
                                  "days_with_rows": 7, "source_range": "30d"}
    # And a previous period that itself crosses a month: today Mar 10 -> Feb 25..Mar 3.
    data = SandboxData(seed=0, websites=2, today=date(2026, 3, 10))
    long_ = data.overview(site, "30d")
    result = compare.compare(data.overview(site, "7d"), long_, "7d")
    assert (result["previous"]["start"], result["previous"]["end"]) == ("2026-02-25", "2026-03-03")
    assert result["metrics"]["total_visitors"]["previous"] == _sum(
        long_["daily_stats"], "total_visitors", date(2026, 2, 25), date(2026, 3, 3))


def test_a_site_with_zero_visitors_shows_no_change_not_infinity():
    data = _data(quiet_websites=1)
    site = data.website_ids[-1]
    result = compare.compare(data.overview(site, "7d"), data.overview(site, "30d"), "7d")
    visitors = result["metrics"]["total_visitors"]
    assert (visitors["current"], visitors["previous"], visitors["change_pct"]) == (0, 0, None)
    assert compare.change_text(compare.metric_change(result, "total_visitors")) == "0%"


def test_growth_from_zero_is_new():
    change = compare.Change(120, 0)
    assert change.pct is None and change.is_new
    assert compare.change_text(change) == "new"
    assert compare.change_text(compare.Change(90, 100)) == "↓ 10.0%"
    assert compare.change_text(compare.Change(150, 100), arrows=False) == "+50.0%"


def test_empty_daily_stats_make_the_comparison_unavailable_with_the_reason():
    data = _data(undated_websites=1)
    site = data.website_ids[-1]
    current, long_ = data.overview(site, "7d"), data.overview(site, "30d")
    assert current["daily_stats"] == [] and current["summary"]["total_visitors"] > 0
    result = compare.compare(current, long_, "7d")
    # The current answer still says its date range, so only the missing previous days matter.
    assert result == {"available": False, "reason": "the API returned no daily_stats for the "
                      "30d range, which holds the previous period's days"}
    assert compare.compare({}, {}, "7d")["available"] is False


@pytest.mark.parametrize("bad", ["24h", "1y"])
def test_compare_rejects_ranges_without_a_longer_one(bad):
    with pytest.raises(UsageError, match="7d, 30d, 90d"):
        compare.check_range(bad)


def _rollup_rows(data, range_="7d", longer="30d"):
    rows = []
    for site in data.website_ids:
        current, long_ = data.overview(site, range_), data.overview(site, longer)
        rows.append({"website": current["website"], "summary": current["summary"],
                     "comparison": compare.compare(current, long_, range_)})
    return rows


def test_totals_and_shares_add_up_over_the_sites():
    data = _data(quiet_websites=1)
    rows = _rollup_rows(data)
    rows.append({"website": {"domain": "broken.example"}, "error": "HTTP 500"})
    total = rollup.totals(rows)
    expected = sum(data.overview(s, "7d")["summary"]["total_visitors"] for s in data.website_ids)
    assert total["summary"]["total_visitors"] == expected
    assert (total["websites"], total["failed"]) == (5, 1)
    shares = rollup.shares(rows, expected)
    assert shares[-1] is None and shares[-2] == 0.0
    assert sum(s for s in shares if s is not None) == pytest.approx(1.0)
    assert shares[0] == rows[0]["summary"]["total_visitors"] / expected
    prev = sum(r["comparison"]["metrics"]["total_visitors"]["previous"] for r in rows[:-1])
    assert total["comparison"]["metrics"]["total_visitors"]["previous"] == prev
    assert rollup.shares(rows[-2:-1], 0) == [None]


def test_sort_by_change_lists_movers_by_size_with_new_first_and_failures_last():
    def row(name, cur, prev):
        return {"website": {"domain": name}, "summary": {"total_visitors": cur},
                "comparison": {"available": True, "metrics": {
                    "total_visitors": {"current": cur, "previous": prev}}}}

    rows = [row("flat.io", 100, 100), row("up.io", 130, 100), row("down.io", 40, 100),
            {"website": {"domain": "err.io"}, "error": "x"}, row("fresh.io", 5, 0),
            {"website": {"domain": "nodays.io"}, "summary": {"total_visitors": 3},
             "comparison": {"available": False, "reason": "no daily_stats"}}]
    order = [rollup.site_name(r) for r in rollup.sort_rows(rows, "change")]
    assert order == ["fresh.io", "down.io", "up.io", "flat.io", "nodays.io", "err.io"]
    assert [rollup.site_name(r) for r in rollup.sort_rows(rows, "visitors")][:3] == [
        "up.io", "flat.io", "down.io"]
    moved = rollup.movers(rows)
    assert [m["website"] for m in moved["risers"]] == ["fresh.io", "up.io"]
    assert [m["website"] for m in moved["fallers"]] == ["down.io"]


def test_sparkline_and_bar_degrade_and_vanish_off_a_terminal():
    values = [0, 5, 10]
    assert glyphs.sparkline(values, "unicode") == "▁▅█"
    assert glyphs.sparkline(values, "ascii") == "_=#"
    assert glyphs.sparkline(values, None) == ""
    assert glyphs.sparkline([0, 0], "unicode") == "▁▁"
    assert len(glyphs.sparkline(list(range(90)), "unicode", width=30)) == 30
    assert glyphs.bar(0.5, 4, "unicode") == "██  "
    assert glyphs.bar(1 / 16, 2, "unicode") == "▎ " or glyphs.bar(1 / 16, 2, "unicode") == "▏ "
    assert glyphs.bar(0.5, 4, "ascii") == "##  "
    assert glyphs.bar(0.5, 4, None) == ""
    assert glyphs.mode_for(is_tty=False, color=True) is None
    assert glyphs.mode_for(is_tty=True, color=False) == "ascii"
    assert glyphs.ellipsize("/blog/a-very-long-path", 10) == "/blog/a-v…"


def _expected_totals(data, sites, range_="7d", longer="30d"):
    """(current visitors, previous visitors, current views, previous views) summed here over
    `sites` from the sandbox's own summaries and daily rows."""
    days = compare.RANGE_DAYS[range_]
    first = TODAY - timedelta(days=days - 1)
    lo, hi = first - timedelta(days=days), first - timedelta(days=1)
    now = sum(data.overview(s, range_)["summary"]["total_visitors"] for s in sites)
    views = sum(data.overview(s, range_)["summary"]["total_page_views"] for s in sites)
    before = sum(_sum(data.overview(s, longer)["daily_stats"], "total_visitors", lo, hi) for s in sites)
    views_before = sum(_sum(data.overview(s, longer)["daily_stats"], "page_views", lo, hi)
                       for s in sites)
    return now, before, views, views_before


def test_totals_compare_only_the_sites_with_a_comparison_and_say_which():
    # 6 sites: the 5th answers daily_stats: [] (no comparison), the 6th has no visitors.
    data = SandboxData(seed=0, websites=6, today=TODAY, quiet_websites=1, undated_websites=1)
    rows = _rollup_rows(data)
    undated = data.website_ids[4]
    comparable = [s for s in data.website_ids if s != undated]
    total = rollup.totals(rows)
    everyone = sum(data.overview(s, "7d")["summary"]["total_visitors"] for s in data.website_ids)
    now, before, views, views_before = _expected_totals(data, comparable)
    assert now < everyone  # the undated site has visitors: the two sets differ
    assert total["summary"]["total_visitors"] == everyone
    block = total["comparison"]
    assert (block["available"], block["websites"], block["of"]) == (True, 5, 6)
    assert block["excluded"] == [data.overview(undated, "7d")["website"]["domain"]]
    assert block["summary"]["total_visitors"] == now
    assert block["summary"]["total_page_views"] == views
    visitors = block["metrics"]["total_visitors"]
    assert (visitors["current"], visitors["previous"]) == (now, before)
    assert visitors["change_pct"] == round(100 * (now - before) / before, 1)
    assert block["metrics"]["total_page_views"]["previous"] == views_before


def test_totals_with_every_site_comparable_cover_all_of_them():
    data = SandboxData(seed=0, websites=4, today=TODAY)
    total = rollup.totals(_rollup_rows(data))
    now, before, _, _ = _expected_totals(data, data.website_ids)
    block = total["comparison"]
    assert (block["websites"], block["of"], block["excluded"]) == (4, 4, [])
    assert total["summary"]["total_visitors"] == block["summary"]["total_visitors"] == now
    assert block["metrics"]["total_visitors"]["previous"] == before


def test_totals_with_no_comparable_site_have_no_change_at_all():
    data = SandboxData(seed=0, websites=2, today=TODAY, undated_websites=2)
    total = rollup.totals(_rollup_rows(data))
    block = total["comparison"]
    assert (block["available"], block["websites"], block["of"]) == (False, 0, 2)
    assert "metrics" not in block and block["reason"]
    assert total["summary"]["total_visitors"] == sum(
        data.overview(s, "7d")["summary"]["total_visitors"] for s in data.website_ids) > 0
