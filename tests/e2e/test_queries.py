"""Each query command, run as a user would, against the sandbox over real HTTP."""

import csv
import io
import json

import pytest


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def websites(cli):
    return json.loads(ok(cli("websites", "--json")).stdout)["websites"]


# A key of the tests' own, with its own counters in the sandbox: a slow request an earlier test left
# behind (a delay fault outlives its test) is counted when it ends, on the shared demo key.
OWN_KEY = {"ZENOVAY_API_KEY": "zv_e2e_queries_own_counters"}


def error_line(result) -> str:
    """The one `Error: ...` line a failed command prints (and no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def appear_in_order(text: str, values) -> bool:
    """Every value occurs in text, each after the one before it."""
    at = 0
    for value in values:
        found = text.find(str(value), at)
        if found < 0:
            return False
        at = found + len(str(value))
    return True


def test_websites_table_and_json(cli):
    sites = websites(cli)
    assert len(sites) == 4
    table = ok(cli("websites")).stdout
    for site in sites:
        assert site["domain"] in table
    assert "\x1b[" not in table, "no colour when piped"


def test_usage_json_is_the_api_data_object(cli, sb):
    # The session sandbox: Pro plan (10,000 requests a month), --rate-limit 100000; this run's own
    # request is the first one counted on its key after the reset.
    data = json.loads(ok(cli("usage", "--json", env=OWN_KEY)).stdout)
    assert set(data) == {"api_key", "usage", "rate_limits", "subscription"}
    assert data["subscription"] == {"tier": "pro"}
    assert data["rate_limits"] == {"requests_per_minute": 100000}
    usage = data["usage"]
    assert (usage["monthly_requests"], usage["monthly_limit"], usage["monthly_remaining"]) == (1, 10000, 9999)
    assert usage["total_requests"] == 1
    assert data["api_key"]["permission"] == "full_access" and data["api_key"]["website_id"] is None


def test_usage_table_shows_plan_and_quota(cli):
    rows = {}
    for line in ok(cli("usage", env=OWN_KEY)).stdout.splitlines()[1:]:
        name, _, value = line.partition(" ")
        rows[name] = value.strip()
    assert rows["subscription.tier"] == "pro"
    assert rows["usage.monthly_requests"] == "1"
    assert rows["usage.monthly_limit"] == "10,000"
    assert rows["usage.monthly_remaining"] == "9,999"
    assert rows["rate_limits.requests_per_minute"] == "100,000"


@pytest.mark.parametrize(
    "command,key",
    [("analytics", "summary"), ("visitors", "visitors"), ("pages", "pages"), ("countries", "countries"),
     ("tech", "browsers"), ("errors", "error_groups")],
)
def test_each_command_by_domain_in_json_and_table(cli, command, key):
    site = websites(cli)[0]
    data = json.loads(ok(cli(command, site["domain"], "--json")).stdout)
    if "website" in data:
        assert data["website"]["id"] == site["id"]
    table = ok(cli(command, site["domain"])).stdout
    # The table shows the rows of the JSON answer, in the same order.
    if command == "analytics":
        summary = data[key]
        shown = [f"{summary[name]:,}" for name in ("total_visitors", "total_page_views", "unique_visitors")]
    else:
        rows = data[key]
        assert rows, f"the sandbox has {key} for every website"
        field = {"visitors": "id", "pages": "url", "countries": "country_code", "tech": "name",
                 "errors": "id"}[command]
        shown = [row[field] for row in rows]
    assert appear_in_order(table, shown), f"{command}: {shown[:5]} not in the table:\n{table}"


def test_website_by_id_and_by_domain_give_the_same_answer(cli):
    site = websites(cli)[1]
    by_id = json.loads(ok(cli("analytics", site["id"], "--range", "30d", "--json")).stdout)
    by_domain = json.loads(ok(cli("analytics", site["domain"], "--range", "30d", "--json")).stdout)
    assert by_id == by_domain
    assert by_id["website"]["id"] == site["id"] and by_id["time_range"] == "30d"


def test_analytics_table_shows_formatted_summary(cli):
    site = websites(cli)[0]
    data = json.loads(ok(cli("analytics", site["domain"], "--json")).stdout)
    table = ok(cli("analytics", site["domain"])).stdout
    visitors = data["summary"]["total_visitors"]
    assert f"{visitors:,}" in table


def test_analytics_all_gives_one_row_per_website(cli):
    sites = websites(cli)
    out = ok(cli("analytics", "--all", "--format", "csv")).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted(row["website"] for row in rows) == sorted(site["domain"] for site in sites)
    first = json.loads(ok(cli("analytics", sites[0]["id"], "--json")).stdout)["summary"]
    (row,) = [row for row in rows if row["website"] == sites[0]["domain"]]
    assert row["summary.total_visitors"] == str(first["total_visitors"])
    assert row["summary.total_page_views"] == str(first["total_page_views"])


def test_visitors_all_follows_pagination_to_the_end(cli, sb):
    domain = websites(cli)[0]["domain"]
    out = ok(cli("visitors", domain, "--all", "--limit", "1000", "--format", "ndjson")).stdout
    lines = out.splitlines()
    assert len(lines) == 2500
    ids = [json.loads(line)["id"] for line in lines]
    assert len(set(ids)) == 2500
    data = json.loads(ok(cli("visitors", domain, "--all", "--json")).stdout)
    assert len(data["visitors"]) == 2500


@pytest.mark.parametrize("fmt", ["csv", "tsv", "ndjson", "json", "table"])
def test_every_format_works_for_countries(cli, fmt):
    domain = websites(cli)[0]["domain"]
    countries = json.loads(ok(cli("countries", domain, "--json")).stdout)["countries"]
    assert countries
    out = ok(cli("countries", domain, "--format", fmt)).stdout
    if fmt in ("csv", "tsv"):
        rows = list(csv.DictReader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
        assert rows == [{k: str(v) for k, v in country.items()} for country in countries]
    elif fmt == "ndjson":
        assert [json.loads(line) for line in out.splitlines()] == countries
    elif fmt == "json":
        assert json.loads(out)["countries"] == countries
    else:
        assert appear_in_order(out, [c["country_name"] for c in countries])
        assert appear_in_order(out, [f"{c['visitors']:,}" for c in countries])


def test_bad_range_exits_2_before_any_request(cli, sb):
    before = sb.stats()["requests"]
    result = cli("analytics", "whatever.com", "--range", "2w")
    assert result.returncode == 2, result.stderr
    assert sb.stats()["requests"] == before


def test_bad_limit_exits_2_before_any_request(cli, sb):
    before = sb.stats()["requests"]
    limit = cli("visitors", "x.com", "--limit", "0")
    assert limit.returncode == 2 and "--limit" in error_line(limit) and "0" in error_line(limit)
    status = cli("errors", "x.com", "--status", "open")
    assert status.returncode == 2 and "--status" in error_line(status) and "'open'" in error_line(status)
    assert sb.stats()["requests"] == before


def test_unknown_domain_exits_5(cli):
    result = cli("analytics", "no-such-site.example")
    assert result.returncode == 5
    assert "no-such-site.example" in error_line(result)
    assert result.stdout == ""


def test_unknown_id_exits_5_with_request_id(cli):
    result = cli("analytics", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 5, result.stderr
    assert "request id" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_missing_key_exits_4(cli, sb):
    result = cli("usage", env={"ZENOVAY_API_KEY": None})
    assert result.returncode == 4
    assert "auth login" in error_line(result)
    assert sb.stats()["requests"] == 0


def test_rejected_key_exits_4_and_never_prints_the_key(cli, sb):
    result = cli("usage", env={"ZENOVAY_API_KEY": "zv_revoked_secret_1234"})
    assert result.returncode == 4
    assert "revoked" in error_line(result)
    assert "zv_revoked_secret_1234" not in result.stderr + result.stdout
    assert sb.stats()["by_path"] == {"/usage": 1}  # a 401 is not retried


def test_free_plan_key_exits_4_with_upgrade_hint(cli):
    result = cli("usage", env={"ZENOVAY_API_KEY": "zv_free_key_123456"})
    assert result.returncode == 4
    line = error_line(result)
    assert "paid plan required" in line and "upgrade" in line.lower()


def test_429_with_retry_after_is_waited_out_and_announced(cli, sb):
    sb.faults({"status": 429, "retry_after": 1, "count": 1, "path": "/usage"})
    result = cli("usage", "--json", env=OWN_KEY)
    assert result.returncode == 0, result.stderr
    assert "retrying in 1.0 s" in result.stderr
    assert json.loads(result.stdout)["usage"]["monthly_requests"] == 1  # the 429 was not counted
    stats = sb.stats()
    assert stats["by_path"] == {"/usage": 2} and stats["status_counts"].get("429") == 1


def test_5xx_then_success(cli, sb):
    sb.faults({"status": 503, "count": 2, "path": "/usage"})
    result = cli("usage", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("retrying") == 2
    assert json.loads(result.stdout)["subscription"] == {"tier": "pro"}
    assert sb.stats()["by_path"] == {"/usage": 3}


def test_5xx_forever_exits_1_after_retries(cli, sb):
    sb.faults({"status": 500, "count": 10, "path": "/usage"})
    result = cli("usage", "--retries", "1")
    assert result.returncode == 1
    assert "after 2 attempts" in error_line(result)
    assert result.stdout == ""
    assert sb.stats()["by_path"] == {"/usage": 2}


def test_timeout_then_success(cli, sb):
    sb.faults({"delay": 3.0, "count": 1, "path": "/usage"})
    result = cli("usage", "--json", "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "timed out" in result.stderr
    assert json.loads(result.stdout)["subscription"] == {"tier": "pro"}
    assert sb.stats()["by_path"] == {"/usage": 2}


def test_monthly_quota_fails_at_once_with_exit_6(cli, sb):
    sb.faults({"status": 429, "code": "MONTHLY_LIMIT_EXCEEDED", "count": 1, "path": "/usage"})
    result = cli("usage")
    assert result.returncode == 6
    assert "retrying" not in result.stderr
    assert sb.stats()["requests"] == 1


def test_long_retry_after_fails_at_once_with_exit_6(cli, sb):
    sb.faults({"status": 429, "retry_after": 3600, "count": 1, "path": "/usage"})
    result = cli("usage")
    assert result.returncode == 6
    assert "max-wait" in result.stderr


def test_html_error_page_is_reported_without_traceback(cli, sb):
    sb.faults({"status": 502, "html": True, "count": 5})
    result = cli("usage", "--retries", "0")
    assert result.returncode == 1
    assert "text/html" in error_line(result) and "502" in error_line(result)
    assert sb.stats()["by_path"] == {"/usage": 1}


def test_debug_shows_traceback(cli, sb):
    sb.faults({"status": 500, "count": 5})
    result = cli("usage", "--retries", "0", "--debug")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_default_website_from_profile(cli):
    domain = websites(cli)[2]["domain"]
    ok(cli("config", "set", "website", domain))
    data = json.loads(ok(cli("analytics", "--json")).stdout)
    assert data["website"]["domain"] == domain


def test_no_website_and_no_default_exits_2(cli, sb):
    result = cli("analytics")
    assert result.returncode == 2
    assert "no website given" in error_line(result) and "config set website" in error_line(result)
    assert sb.stats()["requests"] == 0


def test_python_dash_m_works(cli, sb):
    import os
    import subprocess
    import sys

    env = {**os.environ, "ZENOVAY_BASE_URL": sb.base_url, **OWN_KEY}
    result = subprocess.run([sys.executable, "-m", "zenovay_cli", "usage", "--json"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["usage"]["monthly_requests"] == 1
    assert sb.stats()["by_path"] == {"/usage": 1}


def test_demo_mode_needs_no_key(cli):
    demo = {"ZENOVAY_API_KEY": None, "ZENOVAY_BASE_URL": None}
    result = cli("--demo", "analytics", "--all", env=demo)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(ok(cli("--demo", "analytics", "--all", "--format", "csv",
                                                  env=demo)).stdout)))
    assert rows
    assert appear_in_order(result.stdout, [row["website"] for row in rows])
    assert appear_in_order(result.stdout, [f"{int(row['summary.total_visitors']):,}" for row in rows])
