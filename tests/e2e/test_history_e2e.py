"""`zenovay history`: the installed command filling and reading a store from the sandbox over HTTP.

The sandbox's "today" is pinned to 2024-03-10, so a year backfilled holds a year boundary, every
month boundary and the leap day 2024-02-29; the expected figures come from the sandbox's own data
model (SandboxData with the same seed and size), computed here, not from the command's output.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import zenovay_executable
from zenovay_cli.sandbox.data import SandboxData

TODAY = date(2024, 3, 10)
WEBSITES = 4  # the session sandbox's size (tests/e2e/conftest.py)


def ok(result, code=0):
    assert result.returncode == code, f"exit {result.returncode}\nstdout:{result.stdout}\nstderr:{result.stderr}"
    return result


@pytest.fixture
def hsb(sb):
    """The shared sandbox with its data's today pinned (restored afterwards)."""
    sb.configure(today=TODAY.isoformat())
    yield sb
    sb.configure(today=None, latency=0)
    sb.reset()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "history.db"


def truth() -> dict[str, dict[date, dict]]:
    data = SandboxData(seed=0, websites=WEBSITES, visitors_per_site=2500, today=TODAY)
    return {wid: {date.fromisoformat(r["date"]): r for r in data.overview(wid, "1y")["daily_stats"]}
            for wid in data.website_ids}


def sums(rows: dict[date, dict], start: date, end: date, field: str) -> int:
    return sum(r[field] for day, r in rows.items() if start <= day <= end)


def sql(cli, db, statement):
    return json.loads(ok(cli("history", "sql", "--db", str(db), statement, "--json")).stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def api_requests(sb) -> int:
    return sb.stats()["requests"]


def test_a_year_backfilled_matches_the_sandbox_and_costs_one_request_per_website(cli, hsb, db):
    result = ok(cli("history", "sync", "--db", str(db), "--backfill", "1y", "--breakdowns", "none", "--json"))
    assert api_requests(hsb) == 1 + WEBSITES  # the website list, then one analytics per website
    report = json.loads(result.stdout)
    assert [r["added"] for r in report] == [365] * WEBSITES
    expected = truth()
    stored = sql(cli, db, "SELECT website_id, date, total_visitors, unique_visitors, page_views FROM daily_stats")
    assert len(stored) == 365 * WEBSITES
    for row in stored:
        want = expected[row["website_id"]][date.fromisoformat(row["date"])]
        assert (row["total_visitors"], row["unique_visitors"], row["page_views"]) == (
            want["total_visitors"], want["unique_visitors"], want["page_views"])
    assert {r["date"] for r in stored} >= {"2024-02-29", "2023-12-31", "2024-01-01"}
    assert (db.stat().st_mode & 0o777) == 0o600


def test_show_by_month_across_the_year_boundary_and_leap_february(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "1y", "--breakdowns", "none"))
    expected = truth()
    wid = next(iter(expected))
    doc = json.loads(ok(cli("history", "show", wid, "--db", str(db), "--from", "2023-12-15",
                            "--to", "2024-02-29", "--by", "month", "--json")).stdout)
    assert [(p["period"], p["days"]) for p in doc["periods"]] == [
        ("2023-12", 17), ("2024-01", 31), ("2024-02", 29)]
    for p in doc["periods"]:
        start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
        assert p["visitors"] == sums(expected[wid], start, end, "total_visitors")
        assert p["page_views"] == sums(expected[wid], start, end, "page_views")
        assert p["unique_visitors"] == sums(expected[wid], start, end, "unique_visitors")
        assert p["unique_visitors_approximate"] is True
    assert doc["missing_days"] == []


def test_custom_window_compared_with_the_previous_one(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "1y", "--breakdowns", "none"))
    expected = truth()
    wid = list(expected)[1]
    domain = json.loads(ok(cli("websites", wid, "--json", "--no-cache")).stdout)["website"]["domain"]
    result = ok(cli("history", "show", domain, "--db", str(db), "--from", "2024-02-26",
                    "--to", "2024-03-03", "--compare", "previous", "--format", "csv"))
    lines = result.stdout.splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert [r["period"] for r in rows] == [
        "2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02", "2024-03-03"]
    for r in rows:
        day = date.fromisoformat(r["period"])
        before = day - timedelta(days=7)
        cur, prev = expected[wid][day]["total_visitors"], expected[wid][before]["total_visitors"]
        assert (int(r["visitors"]), int(r["compare_visitors"])) == (cur, prev)
        assert float(r["visitors_change_pct"]) == round((cur - prev) * 100 / prev, 1)


def test_breakdowns_cost_one_request_each_and_are_labelled_with_the_range(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d"))
    assert api_requests(hsb) == 1 + WEBSITES * 4
    rows = sql(cli, db, "SELECT dimension, time_range, count(*) AS n, sum(visitors) AS v FROM breakdowns "
                        "GROUP BY dimension, time_range ORDER BY dimension")
    assert {r["dimension"] for r in rows} == {"country", "page", "browser", "os", "device"}
    assert {r["time_range"] for r in rows} == {"30d"}
    expected = truth()
    month = sum(sums(t, TODAY - timedelta(days=29), TODAY, "total_visitors") for t in expected.values())
    by_dim = {r["dimension"]: r["v"] for r in rows}
    # The sandbox's countries and each technology list add up to the range's visitors.
    assert by_dim["country"] == by_dim["device"] == by_dim["browser"] == month


def test_running_twice_changes_nothing(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "90d", "--breakdowns", "none"))
    before = sql(cli, db, "SELECT * FROM daily_stats ORDER BY website_id, date")
    second = json.loads(ok(cli("history", "sync", "--db", str(db), "--backfill", "90d",
                               "--breakdowns", "none", "--json")).stdout)
    assert [(r["added"], r["changed"], r["unchanged"]) for r in second] == [(0, 0, 90)] * WEBSITES
    assert sql(cli, db, "SELECT * FROM daily_stats ORDER BY website_id, date") == before


def test_rename_late_data_and_removal_between_syncs(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none"))
    sites = json.loads(ok(cli("websites", "--json", "--no-cache")).stdout)["websites"]
    renamed, removed = sites[0], sites[1]
    figures = {"total_visitors": 1, "unique_visitors": 1, "page_views": 2}
    hsb.control("websites", {
        "rename": {renamed["id"]: {"domain": "renamed.example", "name": "Renamed"}},
        "remove": [removed["id"]],
        "revise": {renamed["id"]: {TODAY.isoformat(): figures}},
    })
    report = json.loads(ok(cli("history", "sync", "--db", str(db), "--backfill", "30d",
                               "--breakdowns", "none", "--json")).stdout)
    by_id = {r["website_id"]: r for r in report}
    assert removed["id"] not in by_id
    assert (by_id[renamed["id"]]["changed"], by_id[renamed["id"]]["domain"]) == (1, "renamed.example")
    # The old domain still finds the website; the late figures replaced the earlier ones.
    doc = json.loads(ok(cli("history", "show", renamed["domain"], "--db", str(db), "--from",
                            TODAY.isoformat(), "--to", TODAY.isoformat(), "--json")).stdout)
    assert doc["website"]["domain"] == "renamed.example"
    assert (doc["total"]["visitors"], doc["total"]["page_views"]) == (1, 2)
    # The removed website's history stays, marked removed.
    info = json.loads(ok(cli("history", "info", "--db", str(db), "--json")).stdout)
    gone = next(s for s in info["sites"] if s["website_id"] == removed["id"])
    assert gone["days"] == 30 and gone["removed_at"]
    kept = json.loads(ok(cli("history", "show", removed["domain"], "--db", str(db), "--from", "2024-02-10",
                             "--to", TODAY.isoformat(), "--json")).stdout)
    assert kept["total"]["visitors"] == sums(truth()[removed["id"]], TODAY - timedelta(days=29),
                                             TODAY, "total_visitors")


def test_partial_failure_names_the_website_and_keeps_the_others(cli, hsb, db):
    sites = json.loads(ok(cli("websites", "--json", "--no-cache")).stdout)["websites"]
    failing = sites[2]
    hsb.faults({"status": 500, "path": f"/analytics/{failing['id']}", "count": 50})
    result = ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none",
                    "--retries", "0"), 3)
    assert failing["domain"] in result.stderr
    counts = sql(cli, db, "SELECT website_id, count(*) AS n FROM daily_stats GROUP BY website_id")
    assert {r["website_id"]: r["n"] for r in counts} == {
        s["id"]: 30 for s in sites if s["id"] != failing["id"]}


def test_two_syncs_at_once_both_finish(cli, hsb, db, tmp_path):
    hsb.configure(latency=0.05)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ZENOVAY_")}
    env.update({"ZENOVAY_BASE_URL": hsb.base_url, "ZENOVAY_API_KEY": hsb.api_key})
    args = [zenovay_executable(), "history", "sync", "--db", str(db), "--backfill", "1y",
            "--breakdowns", "countries", "-j", "2", "--json"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    added = [sum(r["added"] for r in json.loads(out)) for out, _ in outs]
    assert sum(added) == 365 * WEBSITES  # every day added once, by one of the two
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM daily_stats").fetchone() == (365 * WEBSITES,)


def test_a_killed_sync_leaves_the_previous_data_intact(cli, hsb, db, tmp_path):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none"))
    before = sql(cli, db, "SELECT * FROM daily_stats ORDER BY website_id, date")
    hsb.configure(latency=0.4)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ZENOVAY_")}
    env.update({"ZENOVAY_BASE_URL": hsb.base_url, "ZENOVAY_API_KEY": hsb.api_key})
    proc = subprocess.Popen([zenovay_executable(), "history", "sync", "--db", str(db), "--backfill",
                             "1y", "--breakdowns", "countries,pages", "-j", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and hsb.stats()["requests"] < 5:
        time.sleep(0.05)  # let it commit a website or two, then kill it in the middle of another
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = sql(cli, db, "SELECT * FROM daily_stats WHERE date >= '2024-02-10' ORDER BY website_id, date")
    assert [(r["website_id"], r["date"], r["total_visitors"]) for r in after] == [
        (r["website_id"], r["date"], r["total_visitors"]) for r in before]
    assert sql(cli, db, "SELECT count(*) AS n FROM daily_stats")[0]["n"] >= 30 * WEBSITES
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("args, code, words", [
    (["--from", "2024-02-30"], 2, "--from '2024-02-30' is not a date"),
    (["--from", "2024-03-05", "--to", "2024-03-01"], 2, "is after --to"),
    (["--to", "next week"], 2, "--to 'next week'"),
    (["--by", "hour"], 2, "hour"),
])
def test_bad_show_input_is_a_usage_error_and_touches_nothing(cli, hsb, db, args, code, words):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none"))
    before = digest(db)
    result = ok(cli("history", "show", "--db", str(db), "--all", *args), code)
    assert words in result.stderr and "Traceback" not in result.stderr
    assert digest(db) == before


def test_bad_store_paths_fail_before_any_request_and_modify_nothing(cli, hsb, tmp_path):
    missing = ok(cli("history", "sync", "--db", str(tmp_path / "nope" / "h.db")), 2)
    assert "does not exist" in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 50)
    before = digest(text)
    not_sqlite = ok(cli("history", "sync", "--db", str(text)), 1)
    assert "not a SQLite file" in not_sqlite.stderr
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("CREATE TABLE schema_version (version INTEGER, applied_at TEXT)")
    conn.execute("INSERT INTO schema_version VALUES (99, 'later')")
    conn.commit()
    conn.close()
    newer_before = digest(newer)
    for args in (["sync"], ["show", "--all"], ["info"], ["sql", "SELECT 1"]):
        result = ok(cli("history", *args, "--db", str(newer)), 1)
        assert "schema version 99" in result.stderr and "Traceback" not in result.stderr
    assert api_requests(hsb) == 0
    assert digest(text) == before and digest(newer) == newer_before
    assert not (tmp_path / "nope").exists()


def test_sql_is_read_only_and_one_select(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none"))
    before = digest(db)
    for statement in ("DELETE FROM daily_stats", "SELECT 1; DROP TABLE daily_stats",
                      "WITH x AS (SELECT 1) DELETE FROM daily_stats", "ATTACH 'x.db' AS x",
                      "PRAGMA journal_mode = DELETE", "UPDATE websites SET name = 'x'"):
        result = ok(cli("history", "sql", "--db", str(db), statement), 2)
        assert "Traceback" not in result.stderr
    assert digest(db) == before
    rows = sql(cli, db, "WITH m AS (SELECT substr(date, 1, 7) AS month, sum(page_views) AS v "
                        "FROM daily_stats GROUP BY 1) SELECT count(*) AS months FROM m")
    assert rows == [{"months": 2}]  # 30 days back from 10 March: February and March


def test_show_says_which_days_are_missing_and_exit_5_when_none(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "30d", "--breakdowns", "none"))
    wid = next(iter(truth()))
    partly = ok(cli("history", "show", wid, "--db", str(db), "--from", "2024-02-01", "--to", "2024-02-15"))
    assert "not in the store" in partly.stderr and "2024-02-01..2024-02-09" in partly.stderr
    none = ok(cli("history", "show", wid, "--db", str(db), "--from", "2023-01-01", "--to", "2023-01-31"), 5)
    assert "none of the days" in none.stderr


def test_export_to_sqlite_keeps_the_history_of_the_nightly_run(cli, hsb, db, tmp_path):
    out = tmp_path / "exports"
    result = ok(cli("export", "--out", str(out), "--range", "7d", "--to", f"sqlite://{db}"))
    assert len([p for p in out.iterdir() if p.suffix == ".json"]) == WEBSITES
    assert api_requests(hsb) == 1 + WEBSITES * 2  # the export's own requests: nothing more for 7d
    assert "history: 4 websites, 28 days added" in result.stderr
    expected = truth()
    stored = sql(cli, db, "SELECT website_id, date, total_visitors FROM daily_stats")
    assert sorted((r["website_id"], r["date"], r["total_visitors"]) for r in stored) == sorted(
        (wid, day.isoformat(), row["total_visitors"]) for wid, rows in expected.items()
        for day, row in rows.items() if day > TODAY - timedelta(days=7))
    # The countries snapshot is the export's own answer (the API's default 20 rows), reused.
    countries = sql(cli, db, "SELECT time_range, count(*) AS n, sum(visitors) AS v FROM breakdowns "
                             "WHERE dimension = 'country'")
    data = SandboxData(seed=0, websites=WEBSITES, visitors_per_site=2500, today=TODAY)
    top = [row for wid in data.website_ids for row in data.countries(wid, "7d", limit=20)]
    assert countries == [{"time_range": "7d", "n": len(top), "v": sum(r["visitors"] for r in top)}]


def test_export_format_sqlite_at_24h_fetches_the_daily_rows_once_more(cli, hsb, db, tmp_path):
    hsb.reset()
    result = ok(cli("export", "--format", "sqlite", "--to", f"sqlite:{db}", "--out", str(tmp_path / "x")))
    assert not (tmp_path / "x").exists()  # no files with --format sqlite
    # websites, then per website: analytics 24h + countries 24h + analytics 1y (new to the store)
    assert api_requests(hsb) == 1 + WEBSITES * 3
    assert "1460 days added" in result.stderr
    bad = ok(cli("export", "--to", "postgres://db/x"), 2)
    assert "only sqlite" in bad.stderr


def test_compare_on_24h_and_1y_takes_the_previous_period_from_the_store(cli, hsb, db):
    ok(cli("history", "sync", "--db", str(db), "--backfill", "1y", "--breakdowns", "none"))
    hsb.reset()
    env = {"ZENOVAY_HISTORY_DB": str(db)}
    expected = truth()
    wid = list(expected)[0]
    yesterday = expected[wid][TODAY - timedelta(days=1)]
    doc = json.loads(ok(cli("analytics", wid, "--range", "24h", "--compare", "--json", env=env)).stdout)
    assert api_requests(hsb) == 1  # the 24h answer; the previous day comes from the store
    comparison = doc["comparison"]
    assert comparison["available"] is True and comparison["previous"]["source_range"] == "history"
    assert comparison["previous"]["start"] == comparison["previous"]["end"] == "2024-03-09"
    visitors = comparison["metrics"]["total_visitors"]
    assert (visitors["current"], visitors["previous"]) == (
        doc["summary"]["total_visitors"], yesterday["total_visitors"])
    assert comparison["metrics"]["total_page_views"]["previous"] == yesterday["page_views"]

    # A year before the stored year is not held: shown as unavailable, with the reason, exit 0.
    year = json.loads(ok(cli("analytics", wid, "--range", "1y", "--compare", "--json", env=env)).stdout)
    assert year["comparison"]["available"] is False
    assert "history store does not hold" in year["comparison"]["reason"]

    hsb.reset()
    report = json.loads(ok(cli("report", wid, "--range", "24h", "--compare", "--json", "--no-cache", env=env)).stdout)
    assert api_requests(hsb) == 4  # analytics, countries, technology, pages: no longer range
    assert report["comparison"]["metrics"]["total_visitors"]["previous"] == yesterday["total_visitors"]

    hsb.reset()
    rollup = json.loads(ok(cli("analytics", "--all", "--range", "24h", "--compare", "--json", "--no-cache", env=env)).stdout)
    assert api_requests(hsb) == 1 + WEBSITES
    for row in rollup["websites"]:
        day = expected[row["website"]["id"]][TODAY - timedelta(days=1)]
        assert row["comparison"]["metrics"]["total_visitors"]["previous"] == day["total_visitors"]


def test_reading_before_any_sync_says_so_and_leaves_nothing_behind(cli, isolated_dirs):
    data_home = isolated_dirs / "data"
    for args in (["history", "info"], ["history", "show", "--from", "-7d"], ["history", "sql", "SELECT 1"]):
        result = ok(cli(*args), 1)
        assert "no history store at" in result.stderr and "history sync" in result.stderr, result.stderr
        assert list(data_home.iterdir()) == []  # no zenovay/ folder made by a reader
    ok(cli("history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    assert (data_home / "zenovay" / "history.db").is_file()  # the writer makes it (0700 folder)
    assert (data_home / "zenovay").stat().st_mode & 0o777 == 0o700
