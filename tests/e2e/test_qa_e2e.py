"""Findings of a new-user walk through the README and docs/ (QA), each pinned end to end."""

from __future__ import annotations

import json


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return result


def test_demo_history_sync_keeps_its_own_store_apart_from_the_users(cli, isolated_dirs):
    # The user's real store, filled from "their" API (the test's sandbox).
    ok(cli("history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    real_ids = sorted(w["id"] for w in json.loads(ok(cli("websites", "--json")).stdout)["websites"])
    stored = "SELECT website_id FROM websites ORDER BY website_id"

    def ids_in_real_store() -> list[str]:
        return [r["website_id"] for r in json.loads(ok(cli("history", "sql", stored, "--json")).stdout)]

    assert ids_in_real_store() == real_ids

    # A --demo sync writes the synthetic websites somewhere else, never into the user's store ...
    ok(cli("--demo", "history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    assert ids_in_real_store() == real_ids
    # ... and the demo's own history commands read the demo store.
    demo_info = json.loads(ok(cli("--demo", "history", "info", "--json")).stdout)
    assert demo_info["websites"] == 5 and len(real_ids) == 4  # the demo's 5 websites, the user's 4
    assert demo_info["path"] != json.loads(ok(cli("history", "info", "--json")).stdout)["path"]

    # export --format sqlite (the default store) under --demo: the same rule.
    ok(cli("--demo", "export", "--format", "sqlite", "--range", "7d", "--quiet"))
    assert ids_in_real_store() == real_ids


def test_demo_compare_24h_reads_the_demo_store_not_the_users(cli, isolated_dirs):
    # The user's real store exists (from "their" API) ...
    ok(cli("history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    site = json.loads(ok(cli("--demo", "websites", "--json")).stdout)["websites"][0]["id"]
    # ... but a --demo comparison must not read it: without a demo store it is refused up front.
    refused = cli("--demo", "analytics", site, "--range", "24h", "--compare", "--json")
    assert refused.returncode == 2 and "history-demo.db" in refused.stderr, refused.stderr
    assert refused.stdout == ""

    ok(cli("--demo", "history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    got = json.loads(ok(cli("--demo", "analytics", site, "--range", "24h", "--compare", "--json")).stdout)
    comparison = got["comparison"]
    assert comparison["available"] is True
    day = comparison["previous"]["start"]
    sql = ("SELECT total_visitors, page_views FROM daily_stats "
           f"WHERE website_id = '{site}' AND date = '{day}'")
    [stored] = json.loads(ok(cli("--demo", "history", "sql", sql, "--json")).stdout)
    assert comparison["metrics"]["total_visitors"]["previous"] == stored["total_visitors"]
    assert comparison["metrics"]["total_page_views"]["previous"] == stored["page_views"]


def _first_site(cli) -> str:
    return json.loads(ok(cli("websites", "--json")).stdout)["websites"][0]["id"]


def test_api_csv_and_ndjson_of_a_list_answer_give_one_record_per_item(cli):
    # docs/api.md's example `zenovay api "/insights/WEBSITE_ID?type=trend" --format csv` printed one
    # row whose cell held the whole list as JSON; a list answer ({"insights": [...], "pagination"})
    # now gives one record per item, as with --paginate.
    site = _first_site(cli)
    path = f"/insights/{site}?range=90d"
    items = json.loads(ok(cli("api", path)).stdout)["insights"]
    assert len(items) >= 2
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(ok(cli("api", path, "--format", "csv")).stdout)))
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    assert [r["title"] for r in rows] == [i["title"] for i in items]
    lines = ok(cli("api", path, "--format", "ndjson")).stdout.splitlines()
    assert [json.loads(line) for line in lines] == items  # flat items: unchanged

    # An answer that is not a list (the analytics overview) stays one record, as before.
    overview = ok(cli("api", f"/analytics/{site}", "-f", "range=7d", "--format", "ndjson")).stdout.splitlines()
    assert len(overview) == 1 and json.loads(overview[0])["website.id"] == site


def test_api_on_an_unknown_route_points_at_the_path_not_at_the_website_list(cli):
    # Was: "Error: not found: Route not found: GET /nonexistent. List the websites your key can see
    # with `zenovay websites`." -- the path was wrong, not a website.
    result = cli("api", "/nonexistent")
    assert result.returncode == 5, result.stderr
    assert "Route not found" in result.stderr
    assert "List the websites your key can see" not in result.stderr
    assert "Check PATH" in result.stderr


def test_export_dry_run_counts_the_history_stores_extra_request(cli, sb, tmp_path):
    # `export --format sqlite` at the default 24h fetches one more analytics answer per website
    # (the daily rows); --dry-run said "5 websites x 2" while the run sent 3 per website.
    import re

    db = f"sqlite://{tmp_path / 'h.db'}"  # sqlite:///abs/path.db
    dry = ok(cli("export", "--format", "sqlite", "--to", db, "--dry-run", "--no-cache"))
    said = int(re.search(r"costs up to (\d+) requests", dry.stderr + dry.stdout).group(1))
    sb.reset()
    ok(cli("export", "--format", "sqlite", "--to", db, "--no-cache", "--quiet"))
    assert said == sb.stats()["requests"]
