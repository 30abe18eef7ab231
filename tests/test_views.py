"""views.py: API data (newest and old shapes, and garbage) -> views and flat records."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenovay_cli.views import (
    KINDS,
    View,
    flatten,
    merge_pages,
    records_for,
    views_for,
)

SCALARS = (type(None), bool, int, float, str)


def kv(view: View) -> dict:
    assert view.kind == "kv"
    return {key: value for key, value in view.rows}


def column(view: View, name: str) -> list:
    i = view.columns.index(name)
    return [row[i] for row in view.rows]


# ---------------------------------------------------------------------------- flatten


def test_flatten_uses_dotted_names_and_json_text_for_lists():
    flat = flatten({"summary": {"total_visitors": 5, "x": {"y": None}}, "tags": [1, "a"], "e": {}})
    assert flat == {"summary.total_visitors": 5, "summary.x.y": None, "tags": '[1,"a"]', "e": "{}"}


def test_flatten_of_a_scalar_or_list_gives_a_value_field():
    assert flatten(3) == {"value": 3}
    assert flatten([1, [2]]) == {"value": "[1,[2]]"}
    assert flatten({"a": 1}, prefix="p") == {"p.a": 1}


# ---------------------------------------------------------------------------- usage


def test_usage_newest_shape_is_one_kv_view_led_by_plan_and_monthly_counts():
    data = {
        "api_key": {"id": "ak_1", "name": "Prod", "permission": "full_access", "website_id": None},
        "usage": {"monthly_requests": 4521, "monthly_limit": 10000, "monthly_remaining": 5479,
                  "monthly_reset_at": "2026-07-01T00:00:00.000Z", "total_requests": 89234},
        "rate_limits": {"requests_per_minute": 30},
        "subscription": {"tier": "pro"},
        "brand_new": {"field": 1},
    }
    [view] = views_for("usage", data)
    rows = kv(view)
    assert [r[0] for r in view.rows][:3] == ["subscription.tier", "usage.monthly_requests",
                                              "usage.monthly_limit"]
    assert rows["usage.monthly_remaining"] == 5479
    assert rows["rate_limits.requests_per_minute"] == 30
    assert rows["brand_new.field"] == 1
    assert records_for("usage", data) == [flatten(data)]


def test_usage_old_shape_shows_plan_usage_limits_and_period():
    data = {"usage": {"websites": 3, "pageviews_this_month": 45000, "events_this_month": 12},
            "limits": {"websites": 10, "pageviews_per_month": 100000, "events_per_month": 50},
            "plan": "pro", "period": {"start": "2025-01-01", "end": "2025-01-31"}}
    rows = kv(views_for("usage", data)[0])
    assert rows["plan"] == "pro"
    assert rows["usage.pageviews_this_month"] == 45000
    assert rows["limits.pageviews_per_month"] == 100000
    assert rows["period.end"] == "2025-01-31"


# ---------------------------------------------------------------------------- websites


NEW_WEBSITES = {
    "websites": [
        {"id": "a1", "domain": "mywebsite.com", "name": "My Website", "tracking_code": "ZV_abc",
         "is_active": True, "created_at": "2025-11-15T10:30:00.000Z", "team_id": "t1"},
        {"id": "b2", "domain": "acme-store.io", "name": "Acme Store", "tracking_code": "ZV_def",
         "is_active": False, "created_at": "2026-01-05T08:00:00.000Z", "team_id": "t1",
         "shiny": "new"},
    ],
    "total": 2,
}


def test_websites_table_puts_known_columns_first_and_shows_unknown_ones():
    table, rest = views_for("websites", NEW_WEBSITES)
    assert table.columns[:3] == ["id", "domain", "name"]
    assert table.columns[-1] == "shiny"
    assert column(table, "shiny") == [None, "new"]  # missing field: blank cell
    assert kv(rest) == {"total": 2}
    assert [r["domain"] for r in records_for("websites", NEW_WEBSITES)] == [
        "mywebsite.com", "acme-store.io"]


def test_websites_old_shape_with_live_visitors_and_unwrapped_list():
    old = [{"id": "ws_abc123", "domain": "old.com", "name": "Old", "live_visitors": 7}]
    for data in (old, {"websites": old, "total": 1}):
        table = views_for("websites", data)[0]
        assert column(table, "live_visitors") == [7]
        assert records_for("websites", data) == old


def test_website_details_flatten_settings_and_tolerate_the_unwrapped_shape():
    site = {"id": "a1", "domain": "mywebsite.com", "user_id": "u1",
            "settings": {"heatmaps": True, "session_replay": False}}
    for data in ({"website": site}, site):
        [view] = views_for("website", data)
        rows = kv(view)
        assert view.rows[0] == ["id", "a1"]
        assert rows["settings.heatmaps"] is True
        assert records_for("website", data) == [rows]


# ---------------------------------------------------------------------------- analytics

NEW_ANALYTICS = {
    "website": {"id": "a1", "domain": "mywebsite.com", "name": "My Website"},
    "time_range": "7d",
    "date_range": {"start": "2026-06-06", "end": "2026-06-13",
                   "startDateTime": "2026-06-06T12:00:00.000Z"},
    "summary": {"total_visitors": 1247, "total_page_views": 3891, "unique_visitors": 982},
    "daily_stats": [{"date": "2026-06-06", "website_id": "a1", "total_visitors": 178,
                     "unique_visitors": 140, "page_views": 542}],
}
OLD_ANALYTICS = {
    "timeRange": "30d", "totalVisitors": 15420, "totalPageViews": 45230, "bounceRate": 42.56,
    "topCountries": [{"name": "United States", "code": "US", "visitors": 5200, "percentage": 33.7}],
    "dailyStats": [{"date": "2025-01-01", "visitors": 512, "pageViews": 1500, "bounceRate": 41.0}],
}


def test_analytics_newest_shape_gives_summary_and_daily_table():
    summary, daily = views_for("analytics", NEW_ANALYTICS)
    rows = kv(summary)
    assert summary.rows[0] == ["website.domain", "mywebsite.com"]
    assert rows["summary.total_visitors"] == 1247
    assert rows["date_range.startDateTime"] == "2026-06-06T12:00:00.000Z"
    assert daily.title == "Daily"
    assert daily.columns[:2] == ["date", "total_visitors"]
    assert column(daily, "page_views") == [542]


def test_analytics_old_camelcase_shape_gives_summary_daily_and_top_countries():
    views = {v.title: v for v in views_for("analytics", OLD_ANALYTICS)}
    assert kv(views["Summary"])["totalVisitors"] == 15420
    assert kv(views["Summary"])["bounceRate"] == 42.56
    assert views["Daily"].columns == ["date", "visitors", "pageViews", "bounceRate"]
    assert column(views["Top countries"], "code") == ["US"]


def test_analytics_record_is_one_summary_row_with_old_names_mapped_to_new_ones():
    [new] = records_for("analytics", NEW_ANALYTICS)
    [old] = records_for("analytics", OLD_ANALYTICS)
    assert list(new)[:3] == ["website", "range", "summary.total_visitors"]
    assert (new["website"], new["range"], new["summary.total_visitors"]) == ("mywebsite.com", "7d", 1247)
    assert (old["range"], old["summary.total_visitors"], old["summary.bounce_rate"]) == ("30d", 15420, 42.56)
    assert "daily_stats" not in new and "dailyStats" not in old


def test_analytics_all_has_one_row_per_website_and_an_error_column_last():
    data = {"time_range": "7d", "websites": [
        {"website": {"id": "a1", "domain": "a.com"}, "time_range": "7d",
         "summary": {"total_visitors": 10, "total_page_views": 20, "unique_visitors": 5}},
        {"website": {"id": "b2", "domain": "b.com"}, "error": "Website not found"},
        {"website": "c.com", "timeRange": "7d", "totalVisitors": 3, "totalPageViews": 4},
    ]}
    [view] = views_for("analytics_all", data)
    assert view.title == "All websites (7d)"
    assert view.columns[:4] == ["website", "total_visitors", "total_page_views", "unique_visitors"]
    assert view.columns[-1] == "error"
    assert column(view, "website") == ["a.com", "b.com", "c.com"]
    assert column(view, "total_visitors") == [10, None, 3]
    assert column(view, "error") == [None, "Website not found", None]
    records = records_for("analytics_all", data)
    assert [r["website"] for r in records] == ["a.com", "b.com", "c.com"]
    assert records[1]["error"] == "Website not found"
    assert records[2]["summary.total_page_views"] == 4


# ---------------------------------------------------------------------------- lists


def test_visitors_table_and_pagination_view():
    data = {"visitors": [{"id": "v1", "country_code": "US", "city": "SF", "value_score": 85,
                          "visited_at": "2026-02-07T10:30:00.000Z", "referrer": None}],
            "pagination": {"limit": 100, "offset": 0, "has_more": True}}
    table, pagination = views_for("visitors", data)
    assert table.columns[0] == "visited_at"
    assert column(table, "city") == ["SF"]
    assert kv(pagination)["pagination.has_more"] is True
    assert records_for("visitors", data) == data["visitors"]


def test_countries_newest_and_old_shapes():
    new = {"countries": [{"country_code": "US", "country_name": "United States",
                          "visitors": 4521, "avg_value_score": 52.34}]}
    old = {"topCountries": [{"name": "Germany", "code": "DE", "visitors": 9, "percentage": 3.5}]}
    assert column(views_for("countries", new)[0], "avg_value_score") == [52.34]
    table = views_for("countries", old)[0]
    assert table.columns == ["code", "name", "visitors", "percentage"]
    assert records_for("countries", old) == old["topCountries"]


def test_pages_and_error_groups():
    pages = {"pages": [{"url": "/pricing", "views": 812, "visitors": 430}]}
    assert views_for("pages", pages)[0].columns == ["url", "views", "visitors"]
    groups = {"error_groups": [{"id": "eg_1", "message": "boom", "status": "unresolved",
                                "occurrence_count": 245}]}
    table = views_for("errors", groups)[0]
    assert table.columns[0] == "status" and column(table, "message") == ["boom"]
    assert records_for("errors", groups) == groups["error_groups"]


def test_tech_gives_three_tables_and_records_with_a_category():
    data = {"browsers": [{"name": "Chrome", "visitors": 5120}],
            "operating_systems": [{"name": "macOS", "visitors": 3010}],
            "device_types": [{"name": "desktop", "visitors": 6100}]}
    assert [v.title for v in views_for("tech", data)] == [
        "Browsers", "Operating systems", "Device types"]
    assert records_for("tech", data)[1] == {"category": "operating_systems", "name": "macOS",
                                            "visitors": 3010}


def test_tech_accepts_a_name_to_count_mapping():
    views = views_for("tech", {"deviceTypes": {"mobile": 3, "desktop": 4}})
    assert views[0].title == "Device types"
    assert column(views[0], "name") == ["mobile", "desktop"]
    assert records_for("tech", {"browsers": {"Chrome": 1}}) == [
        {"category": "browsers", "name": "Chrome", "value": 1}]


def test_settings_are_one_row_per_setting():
    data = {"profile": {"value": "default", "source": "default"},
            "api_key": {"value": "zv_…abcd", "source": "env"}}
    [view] = views_for("settings", data)
    assert view.columns == ["setting", "value", "source"]
    assert view.rows[1] == ["api_key", "zv_…abcd", "env"]


# ---------------------------------------------------------------------------- wrong types


def test_a_string_where_a_list_was_expected_falls_back_to_a_generic_view():
    [view] = views_for("visitors", {"visitors": "oops", "pagination": None})
    assert kv(view) == {"visitors": "oops", "pagination": None}
    assert records_for("visitors", {"visitors": "oops"}) == [{"visitors": "oops"}]


def test_none_nested_lists_and_scalars_never_crash():
    for kind in (*KINDS, "no-such-kind"):
        assert views_for(kind, None)[0].rows in ([["value", None]], [])
        assert records_for(kind, None) == []
        assert views_for(kind, [[1, 2], 3])[0].rows == [["[1,2]"], [3]]
        assert records_for(kind, "x") == [{"value": "x"}]


def test_unknown_kind_gets_a_generic_view_with_tables_for_lists_of_objects():
    kvv, table = views_for("mystery", {"a": 1, "b": {"c": 2}, "rows": [{"x": 1}, {"y": 2}]})
    assert kv(kvv) == {"a": 1, "b.c": 2}
    assert (table.title, table.columns, table.rows) == ("rows", ["x", "y"], [[1, None], [None, 2]])


# ---------------------------------------------------------------------------- paging


def test_merge_pages_holds_every_item_and_says_nothing_more_is_left():
    pages = [{"visitors": [{"id": 1}], "pagination": {"limit": 1, "offset": 0, "has_more": True}},
             {"visitors": [{"id": 2}], "pagination": {"limit": 1, "offset": 1, "has_more": True}}]
    assert merge_pages("visitors", pages) == {
        "visitors": [{"id": 1}, {"id": 2}],
        "pagination": {"limit": 1, "offset": 1, "has_more": False}}
    assert merge_pages("visitors", []) == {"visitors": []}


# ---------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
KNOWN_KEYS = st.sampled_from([
    "websites", "website", "visitors", "pagination", "summary", "daily_stats", "dailyStats",
    "topCountries", "countries", "pages", "browsers", "operating_systems", "device_types",
    "error_groups", "usage", "time_range", "error", "domain", "total_visitors", "totalVisitors",
])
SHAPED = st.dictionaries(KNOWN_KEYS, JSON | st.lists(st.dictionaries(KNOWN_KEYS, JSON, max_size=4),
                                                    max_size=3), max_size=5)
ANY_DATA = JSON | SHAPED | st.builds(lambda items: {"websites": items}, st.lists(SHAPED, max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from([*KINDS, "settings", "other"]), data=ANY_DATA)
def test_any_json_gives_rectangular_views_and_flat_records(kind, data):
    views = views_for(kind, data)
    assert views
    for view in views:
        assert view.kind in ("table", "kv")
        for row in view.rows:
            assert len(row) == len(view.columns)
            assert all(isinstance(cell, SCALARS) for cell in row)
    for record in records_for(kind, data):
        assert all(isinstance(k, str) for k in record)
        assert all(isinstance(v, SCALARS) for v in record.values())


def test_analytics_daily_table_does_not_repeat_the_websites_own_id():
    data = {
        "website": {"id": "w1", "domain": "a.com"},
        "daily_stats": [
            {"date": "2026-06-06", "website_id": "w1", "total_visitors": 3},
            {"date": "2026-06-07", "website_id": "other", "total_visitors": 4},
        ],
    }
    daily = next(v for v in views_for("analytics", data) if v.title == "Daily")
    assert "website_id" in daily.columns  # the row naming another website keeps it
    cells = [dict(zip(daily.columns, row)) for row in daily.rows]
    assert cells[0].get("website_id") in (None, "") and cells[1]["website_id"] == "other"
    assert data["daily_stats"][0]["website_id"] == "w1", "the API's data itself is not changed"
