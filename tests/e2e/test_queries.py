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


def test_websites_table_and_json(cli):
    sites = websites(cli)
    assert len(sites) == 4
    table = ok(cli("websites")).stdout
    for site in sites:
        assert site["domain"] in table
    assert "\x1b[" not in table, "no colour when piped"


def test_usage_json_is_the_api_data_object(cli):
    data = json.loads(ok(cli("usage", "--json")).stdout)
    assert {"api_key", "usage", "rate_limits", "subscription"} <= set(data)
    assert "monthly_remaining" in data["usage"]


def test_usage_table_shows_plan_and_quota(cli):
    out = ok(cli("usage")).stdout
    assert "pro" in out.lower() and "monthly" in out.lower()


@pytest.mark.parametrize(
    "command,key",
    [("analytics", "summary"), ("visitors", "visitors"), ("pages", "pages"), ("countries", "countries"),
     ("tech", "browsers"), ("errors", "error_groups")],
)
def test_each_command_by_domain_in_json_and_table(cli, command, key):
    domain = websites(cli)[0]["domain"]
    data = json.loads(ok(cli(command, domain, "--json")).stdout)
    assert key in data
    table = ok(cli(command, domain)).stdout
    assert table.strip(), f"{command} printed no table"


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
    out = ok(cli("analytics", "--all", "--format", "csv")).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4


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
    out = ok(cli("countries", domain, "--format", fmt)).stdout
    assert out.strip()
    if fmt == "csv":
        assert "country_code" in out.splitlines()[0]


def test_bad_range_exits_2_before_any_request(cli, sb):
    before = sb.stats()["requests"]
    result = cli("analytics", "whatever.com", "--range", "2w")
    assert result.returncode == 2, result.stderr
    assert sb.stats()["requests"] == before


def test_bad_limit_exits_2_before_any_request(cli, sb):
    before = sb.stats()["requests"]
    assert cli("visitors", "x.com", "--limit", "0").returncode == 2
    assert cli("errors", "x.com", "--status", "open").returncode == 2
    assert sb.stats()["requests"] == before


def test_unknown_domain_exits_5(cli):
    result = cli("analytics", "no-such-site.example")
    assert result.returncode == 5
    assert "no-such-site.example" in result.stderr


def test_unknown_id_exits_5_with_request_id(cli):
    result = cli("analytics", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 5, result.stderr
    assert "request id" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_missing_key_exits_4(cli):
    result = cli("usage", env={"ZENOVAY_API_KEY": None})
    assert result.returncode == 4
    assert "auth login" in result.stderr


def test_rejected_key_exits_4_and_never_prints_the_key(cli):
    result = cli("usage", env={"ZENOVAY_API_KEY": "zv_revoked_secret_1234"})
    assert result.returncode == 4
    assert "zv_revoked_secret_1234" not in result.stderr + result.stdout


def test_free_plan_key_exits_4_with_upgrade_hint(cli):
    result = cli("usage", env={"ZENOVAY_API_KEY": "zv_free_key_123456"})
    assert result.returncode == 4
    assert "paid plan" in result.stderr.lower()


def test_429_with_retry_after_is_waited_out_and_announced(cli, sb):
    sb.faults({"status": 429, "retry_after": 1, "count": 1, "path": "/usage"})
    result = cli("usage", "--json")
    assert result.returncode == 0, result.stderr
    assert "retrying in 1.0 s" in result.stderr
    assert sb.stats()["status_counts"].get("429") == 1


def test_5xx_then_success(cli, sb):
    sb.faults({"status": 503, "count": 2, "path": "/usage"})
    result = cli("usage", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("retrying") == 2


def test_5xx_forever_exits_1_after_retries(cli, sb):
    sb.faults({"status": 500, "count": 10, "path": "/usage"})
    result = cli("usage", "--retries", "1")
    assert result.returncode == 1
    assert "after 2 attempts" in result.stderr


def test_timeout_then_success(cli, sb):
    sb.faults({"delay": 3.0, "count": 1, "path": "/usage"})
    result = cli("usage", "--json", "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "timed out" in result.stderr


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
    assert "Traceback" not in result.stderr and "text/html" in result.stderr


def test_debug_shows_traceback(cli, sb):
    sb.faults({"status": 500, "count": 5})
    result = cli("usage", "--retries", "0", "--debug")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_default_website_from_profile(cli):
    domain = websites(cli)[2]["domain"]
    ok(cli("config", "set", "website", domain))
    data = json.loads(ok(cli("analytics", "--json")).stdout)
    assert data["website"]["domain"] == domain


def test_no_website_and_no_default_exits_2(cli):
    assert cli("analytics").returncode == 2


def test_python_dash_m_works(cli, sb):
    import os
    import subprocess
    import sys

    env = {**os.environ, "ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key}
    result = subprocess.run([sys.executable, "-m", "zenovay_cli", "usage", "--json"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_demo_mode_needs_no_key(cli):
    result = cli("--demo", "analytics", "--all", env={"ZENOVAY_API_KEY": None, "ZENOVAY_BASE_URL": None})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
