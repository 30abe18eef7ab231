"""Sums, buckets and comparisons of `history show`, checked against the sandbox's daily rows."""

from datetime import date, timedelta

import pytest

from zenovay_cli.history import dates as d
from zenovay_cli.history import query
from zenovay_cli.history import store as st
from zenovay_cli.sandbox.data import SandboxData

TODAY = date(2026, 3, 5)


def fill(path, data: SandboxData, *, skip=(), years=2):
    """Store the sandbox's daily rows of every website for `years` years back (the sandbox's
    figures of a date do not depend on the day asking); return {id: {date: row}}."""
    truth = {}
    with st.Store(path) as s:
        for site in data.websites():
            rows = []
            for n in range(years):
                then = SandboxData(seed=data.seed, websites=len(data.website_ids),
                                   today=TODAY - timedelta(days=365 * n))
                rows += then.overview(site["id"], "1y")["daily_stats"]
            truth[site["id"]] = {date.fromisoformat(r["date"]): r for r in rows}
            days = [st.DayRow(r["date"], r["total_visitors"], r["unique_visitors"], r["page_views"])
                    for r in rows if r["date"] not in skip]
            s.save_website(st.SiteInfo(site["id"], site["domain"], site["name"]), days,
                           fetched_at=st.now_stamp(), sync_date=TODAY.isoformat(), time_range="1y")
    return truth


def expected(truth, start, end, field):
    return sum(r[field] for day, r in truth.items() if start <= day <= end)


@pytest.fixture
def filled(tmp_path):
    data = SandboxData(websites=3, today=TODAY)
    truth = fill(tmp_path / "h.db", data)
    conn = st.connect_readonly(tmp_path / "h.db")
    return conn, truth, data


def test_month_buckets_across_a_year_boundary_match_the_sandbox(filled):
    conn, truth, data = filled
    wid = data.website_ids[0]
    site = st.find_website(conn, wid)
    window = d.Window(date(2025, 11, 20), date(2026, 2, 10))
    doc = query.show(conn, site, window, "month")
    assert [p["period"] for p in doc["periods"]] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    for p in doc["periods"]:
        start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
        assert p["visitors"] == expected(truth[wid], start, end, "total_visitors")
        assert p["page_views"] == expected(truth[wid], start, end, "page_views")
        assert p["unique_visitors"] == expected(truth[wid], start, end, "unique_visitors")
        assert p["unique_visitors_approximate"] is True
        assert p["days_missing"] == 0
    assert doc["total"]["visitors"] == expected(truth[wid], window.start, window.end, "total_visitors")
    assert doc["missing_days"] == []


def test_by_day_uniques_are_exact_and_the_previous_period_is_compared(filled):
    conn, truth, data = filled
    wid = data.website_ids[1]
    window = d.Window(date(2026, 2, 25), date(2026, 3, 3))  # crosses the end of February
    doc = query.show(conn, st.find_website(conn, wid), window, "day", "previous")
    assert len(doc["periods"]) == 7
    for p in doc["periods"]:
        day = date.fromisoformat(p["start"])
        prev = day - timedelta(days=7)
        assert p["visitors"] == truth[wid][day]["total_visitors"]
        assert p["unique_visitors_approximate"] is False
        assert p["compare_start"] == prev.isoformat()
        assert p["compare_visitors"] == truth[wid][prev]["total_visitors"]
        want = round((p["visitors"] - p["compare_visitors"]) * 100 / p["compare_visitors"], 1)
        assert p["visitors_change_pct"] == want
    assert (doc["compare_from"], doc["compare_to"]) == ("2026-02-18", "2026-02-24")
    assert doc["total"]["compare_page_views"] == expected(
        truth[wid], date(2026, 2, 18), date(2026, 2, 24), "page_views")


def test_same_weekday_compares_with_52_weeks_before(filled):
    conn, truth, data = filled
    wid = data.website_ids[0]
    window = d.Window(date(2026, 3, 2), date(2026, 3, 5))
    doc = query.show(conn, st.find_website(conn, wid), window, "day", "same-weekday")
    for p in doc["periods"]:
        then = date.fromisoformat(p["compare_start"])
        assert then.weekday() == date.fromisoformat(p["start"]).weekday()
        assert p["compare_visitors"] == truth[wid][then]["total_visitors"]


def test_uncovered_days_are_listed_and_sums_use_the_rest(tmp_path):
    data = SandboxData(websites=1, today=TODAY)
    truth = fill(tmp_path / "h.db", data, skip={"2026-03-01", "2026-03-02"}, years=1)
    conn = st.connect_readonly(tmp_path / "h.db")
    wid = data.website_ids[0]
    window = d.Window(date(2026, 2, 27), date(2026, 3, 7))  # also runs past the store's last day
    doc = query.show(conn, st.find_website(conn, wid), window, "week", "yoy")
    assert doc["missing_days"] == ["2026-03-01", "2026-03-02", "2026-03-06", "2026-03-07"]
    held = [day for day in truth[wid] if window.start <= day <= window.end
            and day not in (date(2026, 3, 1), date(2026, 3, 2))]
    assert doc["total"]["visitors"] == sum(truth[wid][day]["total_visitors"] for day in held)
    assert doc["total"]["days_missing"] == 4
    # A year before, the store holds only the last two days (its year starts 2025-03-06).
    assert doc["compare_missing_days"] == [f"2025-0{m}-{n:02d}" for m, n in
                                           ((2, 27), (2, 28), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5))]
    assert doc["total"]["compare_visitors"] == sum(
        truth[wid][day]["total_visitors"] for day in (date(2025, 3, 6), date(2025, 3, 7)))
    assert doc["total"]["compare_days_missing"] == 7
    # A window the store holds nothing of has nothing to compare with: no figures, no change.
    empty = query.show(conn, st.find_website(conn, wid), d.Window(date(2026, 3, 6), date(2026, 3, 7)),
                       "day", "previous")
    assert empty["total"]["visitors"] is None and empty["total"]["visitors_change_pct"] is None


def test_leap_day_yoy_maps_29_february_to_the_28th(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        days = [st.DayRow(day.isoformat(), day.day * 10, day.day, day.day * 20)
                for day in d.Window(date(2023, 2, 1), date(2024, 3, 1)).each_day()]
        s.save_website(st.SiteInfo("w"), days, fetched_at=st.now_stamp(),
                       sync_date="2024-03-01", time_range="1y")
    conn = st.connect_readonly(path)
    doc = query.show(conn, st.find_website(conn, "w"), d.Window(date(2024, 2, 28), date(2024, 2, 29)),
                     "day", "yoy")
    assert [(p["start"], p["visitors"], p["compare_start"], p["compare_visitors"])
            for p in doc["periods"]] == [("2024-02-28", 280, "2023-02-28", 280),
                                         ("2024-02-29", 290, "2023-02-28", 280)]
    feb = query.show(conn, st.find_website(conn, "w"), d.Window(date(2024, 2, 1), date(2024, 2, 29)),
                     "month", "yoy")
    assert feb["total"]["visitors"] == sum(n * 10 for n in range(1, 30))
    assert feb["total"]["compare_visitors"] == sum(n * 10 for n in range(1, 29))
    assert feb["total"]["compare_days_missing"] == 0


def test_rollup_shares_and_totals(filled):
    conn, truth, data = filled
    window = d.Window(date(2026, 1, 1), date(2026, 1, 31))
    doc = query.rollup(conn, window, "previous")
    per_site = {r["website"]["id"]: r for r in doc["websites"]}
    all_visitors = sum(expected(t, window.start, window.end, "total_visitors") for t in truth.values())
    assert doc["total"]["visitors"] == all_visitors
    for wid, t in truth.items():
        v = expected(t, window.start, window.end, "total_visitors")
        assert per_site[wid]["visitors"] == v
        assert per_site[wid]["share_pct"] == round(v * 100 / all_visitors, 1)
        assert per_site[wid]["compare_visitors"] == expected(
            t, date(2025, 12, 1), date(2025, 12, 31), "total_visitors")


def test_daily_sums_only_when_every_day_is_held(filled, tmp_path):
    conn, truth, data = filled
    wid = data.website_ids[2]
    start, end = date(2025, 12, 30), date(2026, 1, 2)
    got = query.daily_sums(tmp_path / "h.db", wid, start, end)
    assert got == {"visitors": expected(truth[wid], start, end, "total_visitors"),
                   "page_views": expected(truth[wid], start, end, "page_views"),
                   "unique_visitors": expected(truth[wid], start, end, "unique_visitors"),
                   "days": 4}
    assert query.daily_sums(tmp_path / "h.db", wid, start, TODAY + timedelta(days=1)) is None
    assert query.daily_sums(tmp_path / "h.db", "unknown", start, end) is None
    assert query.daily_sums(tmp_path / "missing.db", wid, start, end) is None
    from zenovay_cli import history
    assert history.daily_sums(conn, wid, start, end) == got


def _store_sites(path, sites: dict[str, dict[date, int]]):
    """Websites with the given visitors per day (page views twice that)."""
    with st.Store(path) as s:
        for wid, days in sites.items():
            s.save_website(st.SiteInfo(wid, f"{wid}.example"),
                           [st.DayRow(day.isoformat(), v, v, 2 * v) for day, v in days.items()],
                           fetched_at=st.now_stamp(), sync_date="2026-01-31", time_range="1y")


def test_rollup_totals_compare_only_the_sites_held_whole_in_both_windows(tmp_path):
    # Two websites with every day of January and December; a third missing 3 days of January.
    jan = d.Window(date(2026, 1, 1), date(2026, 1, 31))
    dec = d.Window(date(2025, 12, 1), date(2025, 12, 31))
    a = {day: 100 + day.day for day in [*dec.each_day(), *jan.each_day()]}
    b = {day: 7 * day.day for day in [*dec.each_day(), *jan.each_day()]}
    c = {day: 50 for day in [*dec.each_day(), *jan.each_day()] if day not in
         (date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7))}
    _store_sites(tmp_path / "h.db", {"a": a, "b": b, "c": c})
    conn = st.connect_readonly(tmp_path / "h.db")
    doc = query.rollup(conn, jan, "previous")
    total = doc["total"]

    def in_window(days, window):
        return sum(v for day, v in days.items() if window.start <= day <= window.end)

    now_all = sum(in_window(x, jan) for x in (a, b, c))
    now_ab, before_ab = in_window(a, jan) + in_window(b, jan), in_window(a, dec) + in_window(b, dec)
    assert total["visitors"] == now_all  # every stored day of every site
    # No total set against a sum of another set of sites: the totals carry no previous figure.
    assert total["compare_visitors"] is None and total["visitors_change_pct"] is None
    comparable = total["comparable"]
    assert (comparable["websites"], comparable["of"]) == (2, 3)
    assert comparable["visitors"] == now_ab and comparable["compare_visitors"] == before_ab
    assert comparable["page_views"] == 2 * now_ab and comparable["compare_page_views"] == 2 * before_ab
    assert comparable["visitors_change_pct"] == round((now_ab - before_ab) * 100 / before_ab, 1)
    assert comparable["share_pct"] == round(now_ab * 100 / now_all, 1)
    table = query.rollup_table(doc)["websites"]
    assert table[-2]["website"] == "total (3 websites)" and table[-2]["visitors_change"] == ""
    assert table[-1]["website"] == "comparable (2 of 3 websites)"
    assert table[-1]["visitors_change"] == f"{comparable['visitors_change_pct']:+.1f}%"

    # Every site whole: the totals compare themselves and there is no "comparable" part.
    whole = query.rollup(conn, d.Window(date(2026, 1, 20), date(2026, 1, 31)), "previous")
    assert "comparable" not in whole["total"]
    assert whole["total"]["compare_visitors"] == sum(
        in_window(x, d.Window(date(2026, 1, 8), date(2026, 1, 19))) for x in (a, b, c))
    # No site whole: nothing to compare, said as such.
    none = query.rollup(conn, d.Window(date(2026, 1, 1), date(2026, 1, 31)), "yoy")
    assert none["total"]["comparable"] == {"websites": 0, "of": 3}
    assert query.rollup_table(none)["websites"][-1]["website"] == "total (3 websites)"
