"""The pure parts of history sync and history sql: ranges, breakdown choice, response rows, the
statement guard."""

import sqlite3
from datetime import date

import pytest

from zenovay_cli import schema
from zenovay_cli.errors import UsageError
from zenovay_cli.history import sqlguard
from zenovay_cli.history import sync as hs

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("last, expected", [
    (None, "1y"),  # new to the store: a year, for the same one request
    (date(2026, 3, 10), "7d"),
    (date(2026, 3, 4), "7d"),
    (date(2026, 3, 3), "30d"),  # 8 days to fetch again: the week is not enough
    (date(2026, 1, 1), "90d"),
    (date(2025, 3, 11), "1y"),
    (date(2020, 1, 1), "1y"),
])
def test_auto_range_reaches_back_to_the_last_stored_day(last, expected):
    assert hs.auto_range(last, TODAY) == expected


def test_breakdowns_choice():
    assert hs.parse_breakdowns(None) == ("countries", "pages", "technology")
    assert hs.parse_breakdowns("none") == ()
    assert hs.parse_breakdowns("Pages, countries,pages") == ("pages", "countries")
    with pytest.raises(UsageError, match="unknown breakdown 'browsers'"):
        hs.parse_breakdowns("countries,browsers")


def test_daily_rows_of_both_generations_and_untrusted_values():
    new = {"daily_stats": [
        {"date": "2026-03-01", "total_visitors": 10, "unique_visitors": 8, "page_views": 30},
        {"date": "2026-03-02T00:00:00Z", "total_visitors": 11.0, "unique_visitors": "9", "page_views": True},
        {"date": "yesterday", "total_visitors": 1},
        "not a row",
    ]}
    assert schema.daily_rows(new) == [("2026-03-01", 10, 8, 30), ("2026-03-02", 11, None, None)]
    old = {"dailyStats": [{"date": "2025-01-15", "visitors": 5, "pageViews": 9}]}
    assert schema.daily_rows(old) == [("2025-01-15", 5, None, 9)]
    assert schema.daily_rows({"daily_stats": []}) == []
    assert schema.daily_rows(None) == []


def test_breakdown_rows():
    assert schema.country_rows({"countries": [
        {"country_code": "US", "country_name": "United States", "visitors": 3}, {"visitors": 1}]}) == [
        ("US", "United States", 3)]
    assert schema.page_rows({"pages": [{"url": "/a", "views": 5, "visitors": 2}, {"views": 1}]}) == [
        ("/a", None, 2, 5)]
    assert schema.tech_rows({"browsers": [{"name": "Chrome", "visitors": 4}],
                             "deviceTypes": [{"name": "mobile", "visitors": 2}], "x": 1}) == {
        "browser": [("Chrome", 4)], "device": [("mobile", 2)]}


@pytest.mark.parametrize("statement", [
    "SELECT 1", "select 1;", "  -- note\n WITH x AS (SELECT 1) SELECT * FROM x",
    "SELECT ';' AS semi, 'it''s' AS q /* ; */",
])
def test_guard_lets_one_select_through(statement):
    sqlguard.check(statement)


@pytest.mark.parametrize("statement, words", [
    ("", "empty"), ("-- only a comment", "empty"),
    ("SELECT 1; SELECT 2", "one statement"), ("DELETE FROM t", "DELETE statements are refused"),
    ("PRAGMA user_version = 3", "PRAGMA"), ("VACUUM", "VACUUM"),
])
def test_guard_refuses_everything_else(statement, words):
    with pytest.raises(UsageError, match=words):
        sqlguard.check(statement)


def test_authorizer_refuses_writes_hidden_in_a_with():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert sqlguard.run(conn, "SELECT a, x'00ff' AS b FROM t") == [{"a": 1, "b": "00ff"}]
    with pytest.raises(UsageError, match="refused"):
        sqlguard.run(conn, "WITH x AS (SELECT 1) DELETE FROM t")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    with pytest.raises(UsageError, match="no such table"):
        sqlguard.run(conn, "SELECT * FROM nope")


def test_24h_and_1y_comparisons_take_the_previous_days_from_the_store():
    from datetime import timedelta

    from zenovay_cli import compare
    from zenovay_cli.sandbox.data import SandboxData

    data = SandboxData(websites=1, today=TODAY)
    wid = data.website_ids[0]
    current = data.overview(wid, "24h")
    asked = []

    def stored(first, last):
        asked.append((first, last))
        return {"visitors": 40, "page_views": 90, "unique_visitors": 30, "days": 1}

    doc = compare.compare_from_history(current, "24h", stored)
    assert asked == [(TODAY - timedelta(days=1), TODAY - timedelta(days=1))]
    visitors = doc["metrics"]["total_visitors"]
    assert (visitors["current"], visitors["previous"]) == (current["summary"]["total_visitors"], 40)
    assert visitors["change_pct"] == round((visitors["current"] - 40) * 100 / 40, 1)
    assert doc["metrics"]["unique_visitors"]["approximate"] is True
    year = compare.compare_from_history(data.overview(wid, "1y"), "1y", lambda a, b: asked.append((a, b)))
    assert asked[-1] == (TODAY - timedelta(days=729), TODAY - timedelta(days=365))
    assert year["available"] is False and "history store" in year["reason"]
    assert compare.history_window("1y", TODAY) == asked[-1]


def test_compare_refuses_24h_without_a_store_and_allows_it_with_one(tmp_path, monkeypatch):
    from zenovay_cli import compare
    from zenovay_cli.history import store as st

    monkeypatch.setenv("ZENOVAY_HISTORY_DB", str(tmp_path / "h.db"))
    with pytest.raises(UsageError, match="needs the local history store"):
        compare.check_range("24h", history=tmp_path / "h.db")
    with pytest.raises(UsageError, match="7d, 30d, 90d"):
        compare.check_range("1y")  # digest: no store involved
    st.Store(tmp_path / "h.db").close()
    assert compare.check_range("1y", history=tmp_path / "h.db") == "1y"
