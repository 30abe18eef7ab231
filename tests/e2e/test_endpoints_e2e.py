"""The commands of the 2026 endpoints (anomalies, insights, retention, revenue, heatmaps, replays)
run as a user would against the sandbox over HTTP: every format, paging, plans, 404, empty answers.
Figures are checked against the sandbox's own answers, fetched here with the same key."""

import csv
import io
import json
import urllib.parse
import urllib.request

import pytest

COMMANDS = ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays")


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def api(sb, path, key=None, **params):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    request = urllib.request.Request(sb.base_url + path + query,
                                     headers={"X-API-Key": key or sb.api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def websites(sb):
    return api(sb, "/websites")["websites"]


def site_where(sb, setting, value):
    return next(w for w in websites(sb)
                if api(sb, f"/websites/{w['id']}")["website"]["settings"][setting] is value)


def all_items(sb, path, key, **params):
    items, offset = [], 0
    while True:
        page = api(sb, path, limit=200, offset=offset, **params)
        items += page[key]
        if not page["pagination"]["has_more"]:
            return items
        offset += len(page[key])


def test_anomalies_json_is_the_api_answer_and_filters_reach_the_api(cli, sb):
    site = websites(sb)[0]
    got = json.loads(ok(cli("anomalies", site["domain"], "--range", "90d", "--severity",
                            "warning", "--unresolved", "--json")).stdout)
    want = api(sb, f"/anomalies/{site['id']}", range="90d", severity="warning", resolved="false")
    assert got == want
    assert all(a["severity"] == "warning" and not a["is_resolved"] for a in got["anomalies"])


def test_anomalies_all_pages_to_the_end_in_every_format(cli, sb):
    site = websites(sb)[0]
    want = all_items(sb, f"/anomalies/{site['id']}", "anomalies", range="90d")
    assert len(want) > 5
    before = sb.stats()["by_path"].get(f"/anomalies/{site['id']}", 0)
    out = ok(cli("anomalies", site["domain"], "--range", "90d", "--all", "--limit", "5",
                 "--format", "ndjson")).stdout
    assert [json.loads(line)["id"] for line in out.splitlines()] == [a["id"] for a in want]
    pages = sb.stats()["by_path"][f"/anomalies/{site['id']}"] - before
    assert pages == -(-len(want) // 5)  # ceil: one request per page, no more
    merged = json.loads(ok(cli("anomalies", site["domain"], "--range", "90d", "--all",
                               "--json")).stdout)
    assert [a["id"] for a in merged["anomalies"]] == [a["id"] for a in want]
    assert merged["pagination"]["has_more"] is False
    rows = list(csv.DictReader(io.StringIO(ok(cli(
        "anomalies", site["domain"], "--range", "90d", "--all", "--format", "csv")).stdout)))
    assert [r["id"] for r in rows] == [a["id"] for a in want]
    tsv = ok(cli("anomalies", site["domain"], "--range", "90d", "--all", "--format", "tsv")).stdout
    assert len(tsv.splitlines()) == len(want) + 1
    table = ok(cli("anomalies", site["domain"], "--range", "90d")).stdout
    assert want[0]["metric_name"] in table


def test_an_empty_anomaly_list_is_exit_0(cli, sb):
    site = websites(sb)[0]
    assert json.loads(ok(cli("anomalies", site["domain"], "--metric", "no_such_metric",
                             "--json")).stdout)["anomalies"] == []
    full = ok(cli("anomalies", site["domain"], "--format", "csv")).stdout.splitlines()
    assert len(full) > 1
    assert ok(cli("anomalies", site["domain"], "--metric", "no_such_metric",
                  "--format", "csv")).stdout.splitlines() == full[:1]  # the header alone
    assert ok(cli("anomalies", site["domain"], "--metric", "no_such_metric",
                  "--format", "ndjson")).stdout == ""
    assert ok(cli("anomalies", site["domain"], "--metric", "no_such_metric")).stdout.strip()


def test_insights_filters_and_paging(cli, sb):
    site = websites(sb)[1]
    want = all_items(sb, f"/insights/{site['id']}", "insights", range="1y", type="trend")
    out = ok(cli("insights", site["id"], "--range", "1y", "--type", "trend", "--all",
                 "--limit", "3", "--format", "ndjson")).stdout
    assert [json.loads(line)["id"] for line in out.splitlines()] == [i["id"] for i in want]
    assert all(json.loads(line)["type"] == "trend" for line in out.splitlines())


def test_retention_triangle_on_a_terminal_width_table_and_rows_in_csv(cli, sb):
    site = websites(sb)[0]
    want = api(sb, f"/retention/{site['id']}", range="90d", granularity="monthly", periods=2)
    got = json.loads(ok(cli("retention", site["domain"], "--range", "90d", "--granularity",
                            "monthly", "--periods", "2", "--json")).stdout)
    assert got == want
    table = ok(cli("retention", site["domain"], "--range", "90d", "--granularity", "monthly",
                   "--periods", "2")).stdout.splitlines()
    cohorts = sorted({r["cohort_date"] for r in want["cohorts"]})
    lines = [line for line in table if line[:10] in cohorts]
    assert len(lines) == len(cohorts)
    # A triangle: each later cohort has seen no more periods than the one before.
    widths = [len(line.split()) for line in lines]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    rows = list(csv.DictReader(io.StringIO(ok(cli(
        "retention", site["domain"], "--range", "90d", "--granularity", "monthly", "--periods",
        "2", "--format", "csv")).stdout)))
    assert [(r["cohort_date"], int(r["period_number"])) for r in rows] == [
        (r["cohort_date"], r["period_number"]) for r in want["cohorts"]]


def test_retention_bad_periods_exit_2_before_any_request(cli, sb):
    for periods in ("0", "13"):
        result = cli("retention", websites(sb)[0]["id"], "--periods", periods)
        assert result.returncode == 2 and "--periods" in result.stderr
    assert sb.stats()["by_path"].get(f"/retention/{websites(sb)[0]['id']}", 0) == 0


def test_revenue_cohorts_and_summary_and_no_revenue_data(cli, sb):
    with_revenue, without = [], []
    for site in websites(sb):
        (with_revenue if api(sb, f"/revenue/{site['id']}/ltv")["cohorts"] else without).append(site)
    assert with_revenue and without
    site = with_revenue[0]
    want = api(sb, f"/revenue/{site['id']}/ltv", range="90d", granularity="weekly")
    got = json.loads(ok(cli("revenue", site["domain"], "--granularity", "weekly", "--json")).stdout)
    assert got == want
    table = ok(cli("revenue", site["domain"])).stdout
    summary = api(sb, f"/revenue/{site['id']}/ltv")["summary"]
    assert f"{summary['average_ltv_90d']:,}" in table
    rows = list(csv.DictReader(io.StringIO(ok(cli(
        "revenue", site["domain"], "--granularity", "weekly", "--format", "csv")).stdout)))
    assert len(rows) == sum(len(c["periods"]) for c in want["cohorts"])
    empty = ok(cli("revenue", without[0]["domain"]))
    assert "no revenue data" in empty.stdout
    assert json.loads(ok(cli("revenue", without[0]["domain"], "--json")).stdout)["cohorts"] == []


def test_heatmaps_limit_and_empty_when_switched_off(cli, sb):
    on = site_where(sb, "heatmaps", True)
    want = api(sb, f"/heatmaps/{on['id']}/pages", limit=3)["pages"]
    rows = list(csv.DictReader(io.StringIO(ok(cli("heatmaps", on["domain"], "--limit", "3",
                                                  "--format", "csv")).stdout)))
    assert [(r["url"], int(r["total_interactions"])) for r in rows] == [
        (p["url"], p["total_interactions"]) for p in want]
    off = site_where(sb, "heatmaps", False)
    assert json.loads(ok(cli("heatmaps", off["domain"], "--json")).stdout) == {"pages": []}
    assert cli("heatmaps", on["domain"], "--limit", "101").returncode == 2


def test_replays_all_pages_to_the_end(cli, sb):
    on = site_where(sb, "session_replay", True)
    want = all_items(sb, f"/replays/{on['id']}/sessions", "sessions")
    assert len(want) > 200
    out = ok(cli("replays", on["domain"], "--all", "--format", "ndjson")).stdout
    assert [json.loads(line)["id"] for line in out.splitlines()] == [s["id"] for s in want]
    page = json.loads(ok(cli("replays", on["domain"], "--limit", "5", "--offset", "10",
                             "--json")).stdout)
    assert [s["id"] for s in page["sessions"]] == [s["id"] for s in want[10:15]]
    off = site_where(sb, "session_replay", False)
    assert json.loads(ok(cli("replays", off["domain"], "--all", "--json")).stdout)["sessions"] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_free_plan_key_exits_4_naming_the_plan(cli, sb, command):
    site = websites(sb)[0]
    result = cli(command, site["id"], env={"ZENOVAY_API_KEY": "zv_free_e2e"})
    assert result.returncode == 4
    assert "Pro" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_website_exits_5(cli, command):
    result = cli(command, "00000000-0000-4000-8000-000000000000")
    assert result.returncode == 5, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_table_and_json(cli, sb, command):
    site = websites(sb)[0]
    assert ok(cli(command, site["domain"])).stdout.strip()
    json.loads(ok(cli(command, site["domain"], "--json")).stdout)


FORMAT_ARGS = {
    "anomalies": ["--range", "90d"], "insights": ["--range", "1y"], "retention": [],
    "revenue": [], "heatmaps": [], "replays": ["--limit", "20"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fmt", ["ndjson", "csv", "tsv"])
def test_every_command_in_every_record_format(cli, sb, command, fmt):
    site = websites(sb)[0]
    out = ok(cli(command, site["domain"], *FORMAT_ARGS[command], "--format", fmt)).stdout
    lines = out.splitlines()
    assert lines, f"{command} --format {fmt} printed nothing"
    if fmt == "ndjson":
        records = [json.loads(line) for line in lines]
        assert all(isinstance(r, dict) and r for r in records)
    else:
        delimiter = "," if fmt == "csv" else "\t"
        rows = list(csv.reader(io.StringIO(out), delimiter=delimiter))
        assert len({len(r) for r in rows}) == 1 and len(rows) >= 2  # header + rows, rectangular


def test_sandbox_serve_tier_sets_the_plan_of_plain_keys(tmp_path):
    from tests.e2e.conftest import Sandbox

    server = Sandbox("--tier", "scale")
    try:
        assert api(server, "/usage")["subscription"]["tier"] == "scale"
        assert api(server, "/usage", key="zv_pro_named")["subscription"]["tier"] == "pro"
    finally:
        server.stop()


# --- an empty answer in csv/tsv: the header row a full answer has, and nothing else -------------

PAGED = ("anomalies", "insights", "replays")


def first_empty(sb, path, key, choices):
    """The first of `choices` (query parameters) for which the sandbox answers an empty list."""
    for params in choices:
        if not api(sb, path, **params)[key]:
            return params
    raise AssertionError(f"no empty {key} among {choices}")


def full_and_empty_args(sb, command):
    """(args of a non-empty answer, args of an empty one) of `command`, found in the sandbox's data.
    retention's empty answer is a website without visitors (see the `quiet` step of the test)."""
    site = websites(sb)[0]
    if command == "anomalies":
        params = first_empty(sb, f"/anomalies/{site['id']}", "anomalies", [
            {"range": "24h", "severity": s, "metric": m}
            for s in ("critical", "warning", "info")
            for m in ("visitors", "page_views", "bounce_rate", "error_rate", "session_duration")])
        return ([site["domain"], "--range", "90d"],
                [site["domain"], *(a for k, v in params.items() for a in (f"--{k}", v))])
    if command == "insights":
        params = first_empty(sb, f"/insights/{site['id']}", "insights", [
            {"range": "24h", "type": t, "severity": s}
            for t in ("anomaly", "trend", "recommendation", "prediction")
            for s in ("critical", "warning", "info")])
        return ([site["domain"], "--range", "1y"],
                [site["domain"], *(a for k, v in params.items() for a in (f"--{k}", v))])
    if command == "retention":
        return [site["domain"]], [websites(sb)[-1]["domain"]]
    if command == "revenue":
        sites = websites(sb)
        paid = [bool(api(sb, f"/revenue/{w['id']}/ltv")["cohorts"]) for w in sites]
        return [sites[paid.index(True)]["domain"]], [sites[paid.index(False)]["domain"]]
    setting = {"heatmaps": "heatmaps", "replays": "session_replay"}[command]
    return ([site_where(sb, setting, True)["domain"], "--limit", "20"],
            [site_where(sb, setting, False)["domain"]])


@pytest.mark.parametrize("command,form", [
    pytest.param(c, form, id=" ".join((c, *form))) for c in COMMANDS for form in ((), ("--all",))
    if not form or c in PAGED])
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_an_empty_answer_prints_the_header_a_full_one_has(cli, sb, command, form, fmt):
    full_args, empty_args = full_and_empty_args(sb, command)
    full = ok(cli(command, *full_args, *form, "--format", fmt)).stdout.splitlines()
    assert len(full) > 1, f"{command} {full_args} answered no rows"
    quiet = command == "retention"
    if quiet:  # the last website has no visitors, so no cohorts
        sb.configure(quiet_websites=1)
    try:
        empty = ok(cli(command, *empty_args, *form, "--format", fmt))
    finally:
        if quiet:
            sb.configure(quiet_websites=0)
    assert empty.stdout == full[0] + "\n"
