"""Every query command run in-process through `zenovay_cli.main.run`, with HTTP faked by `responses`.

What a user sees: the table, `--json` (exactly the API's `data`), the record formats, which requests
are sent (website by domain or by id, --range, --limit, --offset, --status, paging with --all).
"""

import csv
import io
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from tests.harness import BASE, envelope, invoker

KEY = "zv_unit_commands_SECRET_4f9a2c"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
WID2 = "b2c3d4e5-f6a7-8901-bcde-f12345678901"

# --- the newest documented `data` shapes (zenovay-api.md, section 5) ------------------------------

USAGE = {
    "api_key": {"id": "ak_8f3a2b1c-4d5e-6f7a-8b9c-0d1e2f3a4b5c", "name": "Production API Key",
                "permission": "full_access", "website_id": None},
    "usage": {"monthly_requests": 4521, "monthly_limit": 10000, "monthly_remaining": 5479,
              "monthly_reset_at": "2026-07-01T00:00:00.000Z", "total_requests": 89234},
    "rate_limits": {"requests_per_minute": 30},
    "subscription": {"tier": "pro"},
}
SITE1 = {"id": WID, "domain": "mywebsite.com", "name": "My Website", "tracking_code": "ZV_abc123xyz",
         "is_active": True, "created_at": "2025-11-15T10:30:00.000Z",
         "team_id": "t1a2b3c4-d5e6-7890-abcd-ef1234567890"}
SITE2 = {"id": WID2, "domain": "acme-store.io", "name": "Acme Store", "tracking_code": "ZV_def456uvw",
         "is_active": True, "created_at": "2026-01-05T08:00:00.000Z",
         "team_id": "t1a2b3c4-d5e6-7890-abcd-ef1234567890"}
WEBSITES = {"websites": [SITE1, SITE2], "total": 2}
WEBSITE = {"website": {**SITE1, "user_id": "u1a2b3c4-d5e6-7890-abcd-ef1234567890",
                       "settings": {"track_outbound_links": True, "track_downloads": True,
                                    "session_replay": True, "heatmaps": True}}}


def analytics_data(site=SITE1, visitors=1247, range_="7d"):
    return {
        "website": {"id": site["id"], "domain": site["domain"], "name": site["name"]},
        "time_range": range_,
        "date_range": {"start": "2026-06-06", "end": "2026-06-13",
                       "startDateTime": "2026-06-06T12:00:00.000Z", "endDateTime": "2026-06-13T12:00:00.000Z"},
        "summary": {"total_visitors": visitors, "total_page_views": 3891, "unique_visitors": 982},
        "daily_stats": [{"date": "2026-06-06", "website_id": site["id"], "total_visitors": 178,
                         "unique_visitors": 140, "page_views": 542}],
    }


ANALYTICS = analytics_data()


def visitor(n, country="US"):
    return {"id": f"v{n:07d}-d5e6-7890-abcd-ef1234567890", "country_code": country,
            "country_name": {"US": "United States", "GB": "United Kingdom"}.get(country, country),
            "city": "San Francisco", "device_type": "desktop", "browser": "Chrome", "os": "macOS",
            "value_score": 85, "visited_at": "2026-02-07T10:30:00.000Z", "landing_page": "/pricing",
            "referrer": None, "had_interaction": True}


VISITORS = {"visitors": [visitor(1, "US"), visitor(2, "GB")],
            "pagination": {"limit": 100, "offset": 0, "has_more": False}}
PAGES = {"pages": [{"url": "/pricing", "views": 812, "visitors": 430},
                   {"url": "/", "views": 650, "visitors": 402}]}
COUNTRIES = {"countries": [
    {"country_code": "US", "country_name": "United States", "visitors": 4521, "avg_value_score": 52.34},
    {"country_code": "GB", "country_name": "United Kingdom", "visitors": 1823, "avg_value_score": 48.91},
    {"country_code": "DE", "country_name": "Germany", "visitors": 1456, "avg_value_score": 44.67}]}
TECH = {"browsers": [{"name": "Chrome", "visitors": 5120}, {"name": "Safari", "visitors": 2210}],
        "operating_systems": [{"name": "macOS", "visitors": 3010}, {"name": "iOS", "visitors": 1900}],
        "device_types": [{"name": "desktop", "visitors": 6100}, {"name": "mobile", "visitors": 2900}]}
ERRORS = {"error_groups": [
    {"id": "eg_1a2b3c4d-e5f6-7890-abcd-ef1234567890", "fingerprint": "TypeError_Cannot_read_abc123",
     "message": "Cannot read properties of undefined (reading 'length')", "type": "TypeError",
     "status": "unresolved", "occurrence_count": 245, "first_seen_at": "2026-01-15T10:00:00.000Z",
     "last_seen_at": "2026-02-07T14:30:00.000Z", "affected_users_count": 89}]}


HEADERS = {"x-request-id": "8d3e0a52-0b7e-4c8e-9a57-3f0c6c1f9b11", "X-RateLimit-Limit": "30"}

# --- harness ----------------------------------------------------------------------------------


@pytest.fixture
def api(monkeypatch, sleeps):
    monkeypatch.setenv("ZENOVAY_API_KEY", KEY)
    monkeypatch.setenv("ZENOVAY_BASE_URL", BASE)
    with responses.RequestsMock() as rsps:  # fails the test when a registered answer goes unused
        yield rsps


@pytest.fixture
def zenovay(capsys, sleeps):
    return invoker(capsys, [KEY], sleeps)


def answer(rsps, path, data, **kw):
    rsps.get(BASE + path, json=envelope(data), headers=HEADERS, **kw)


def paths(rsps) -> list:
    return [urlsplit(c.request.url).path.removeprefix(urlsplit(BASE).path) for c in rsps.calls]


def query(call) -> dict:
    return dict(parse_qsl(urlsplit(call.request.url).query))


def records(fmt: str, text: str) -> list:
    if fmt == "ndjson":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ","))


# --- every command: table, --json, a record format -----------------------------------------------


@dataclass
class Case:
    argv: tuple
    path: str
    data: dict
    table: tuple  # what a reader must find in the table, formatted for humans
    fmt: str  # one record format checked for this command
    count: int  # records in that format
    first: tuple  # (field, value as text) of the first record

    @property
    def id(self):
        return self.argv[0] + ("-one" if self.argv[0] == "websites" and len(self.argv) > 1 else "")

    @property
    def needs_lookup(self):
        return len(self.argv) > 1 and self.argv[1] == "mywebsite.com"


CASES = [
    Case(("usage",), "/usage", USAGE, ("pro", "4,521", "10,000", "Production API Key"), "csv", 1,
         ("usage.monthly_remaining", "5479")),
    Case(("websites",), "/websites", WEBSITES, ("mywebsite.com", "acme-store.io", "Acme Store"), "ndjson", 2,
         ("domain", "mywebsite.com")),
    Case(("websites", "mywebsite.com"), f"/websites/{WID}", WEBSITE, ("My Website", "ZV_abc123xyz", "u1a2b3c4"),
         "tsv", 1, ("id", WID)),
    Case(("analytics", "mywebsite.com"), f"/analytics/{WID}", ANALYTICS, ("1,247", "3,891", "982", "2026-06-06"),
         "csv", 1, ("summary.total_visitors", "1247")),
    Case(("visitors", "mywebsite.com"), f"/analytics/{WID}/visitors", VISITORS, ("United Kingdom", "/pricing"),
         "ndjson", 2, ("country_code", "US")),
    Case(("pages", "mywebsite.com"), f"/analytics/{WID}/pages", PAGES, ("/pricing", "812", "430"), "tsv", 2,
         ("url", "/pricing")),
    Case(("countries", "mywebsite.com"), f"/analytics/{WID}/countries", COUNTRIES,
         ("Germany", "4,521", "52.3"), "csv", 3, ("country_name", "United States")),
    Case(("tech", "mywebsite.com"), f"/analytics/{WID}/technology", TECH,
         ("Operating systems", "Chrome", "5,120", "desktop"), "ndjson", 6, ("category", "browsers")),
    Case(("errors", "mywebsite.com"), f"/errors/{WID}/groups", ERRORS, ("TypeError", "unresolved", "245"),
         "tsv", 1, ("status", "unresolved")),
]


def register(rsps, case: Case) -> None:
    if case.needs_lookup:
        answer(rsps, "/websites", WEBSITES)
    answer(rsps, case.path, case.data)


BREAKDOWNS = ("pages", "countries", "tech")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_command_prints_a_readable_table(api, zenovay, case):
    register(api, case)
    if case.argv[0] in BREAKDOWNS:  # a table shows shares of the period's visitors: +1 request
        answer(api, f"/analytics/{WID}", ANALYTICS)
    result = zenovay(*case.argv)
    assert result.code == 0, result
    for text in case.table:
        assert text in result.out, result
    assert result.err == "", result
    if case.argv[0] in BREAKDOWNS:
        first = next(r for r in (case.data.get("pages") or case.data.get("countries")
                                 or case.data["browsers"]))
        share = f"{100 * first['visitors'] / ANALYTICS['summary']['total_visitors']:.1f}%"
        assert share in result.out, result


def test_breakdown_table_without_the_visitors_total_still_shows_the_rows(api, zenovay):
    answer(api, "/websites", WEBSITES)
    answer(api, f"/analytics/{WID}/pages", PAGES)
    api.get(f"{BASE}/analytics/{WID}", status=404,
            json={"success": False, "error": {"code": "NOT_FOUND", "message": "gone"}})
    result = zenovay("pages", "mywebsite.com")
    assert result.code == 0, result
    assert "/pricing" in result.out and "share" not in result.out
    assert "shares left out" in result.err


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_command_json_is_exactly_the_apis_data(api, zenovay, case):
    register(api, case)
    result = zenovay(*case.argv, "--json")
    assert result.code == 0, result
    assert json.loads(result.out) == case.data


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_format_json_is_the_same_as_json(api, zenovay, case):
    register(api, case)
    result = zenovay(*case.argv, "--format", "json")
    assert result.code == 0, result
    assert json.loads(result.out) == case.data


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.id}-{c.fmt}")
def test_command_writes_one_record_per_line(api, zenovay, case):
    register(api, case)
    result = zenovay(*case.argv, "--format", case.fmt)
    assert result.code == 0, result
    rows = records(case.fmt, result.out)
    assert len(rows) == case.count, result
    field, value = case.first
    assert str(rows[0][field]).lower() == value.lower(), result


@pytest.mark.parametrize("case", [c for c in CASES if c.needs_lookup], ids=lambda c: c.id)
def test_website_given_by_domain_is_resolved_through_the_website_list(api, zenovay, case):
    register(api, case)
    result = zenovay(*case.argv, "--json")
    assert result.code == 0, result
    assert paths(api) == ["/websites", case.path]


@pytest.mark.parametrize("case", [c for c in CASES if c.needs_lookup], ids=lambda c: c.id)
def test_website_given_by_id_is_used_without_listing_websites(api, zenovay, case):
    answer(api, case.path, case.data)
    result = zenovay(case.argv[0], WID, *case.argv[2:], "--json")
    assert result.code == 0, result
    assert paths(api) == [case.path]


@pytest.mark.parametrize("spelling", ["MyWebsite.com", "https://mywebsite.com/some/page", "www.mywebsite.com"])
def test_domain_spellings_a_user_pastes_resolve_to_the_same_website(api, zenovay, spelling):
    sites = {"websites": [{**SITE1, "domain": "www.mywebsite.com"} if spelling.startswith("www") else SITE1]}
    answer(api, "/websites", sites)
    answer(api, f"/analytics/{WID}", ANALYTICS)
    assert zenovay("analytics", spelling, "--json").code == 0


@pytest.mark.parametrize("command", ["analytics", "visitors", "pages", "countries", "tech"])
def test_range_defaults_to_7d_and_reaches_the_api(api, zenovay, command):
    path = {"analytics": "", "tech": "/technology"}.get(command, "/" + command)
    answer(api, f"/analytics/{WID}{path}", {})
    answer(api, f"/analytics/{WID}{path}", {})
    assert zenovay(command, WID, "--json").code == 0
    assert zenovay(command, WID, "--range", "30d", "--no-cache", "--json").code == 0
    assert [query(c)["range"] for c in api.calls] == ["7d", "30d"]


@pytest.mark.parametrize("command,path", [("pages", "pages"), ("countries", "countries"), ("errors", None)])
def test_limit_reaches_the_api(api, zenovay, command, path):
    url = f"/analytics/{WID}/{path}" if path else f"/errors/{WID}/groups"
    answer(api, url, {})
    assert zenovay(command, WID, "--limit", "5", "--json").code == 0
    assert query(api.calls[0])["limit"] == "5"


def test_websites_json_of_one_website_is_its_detail_document(api, zenovay):
    answer(api, f"/websites/{WID}", WEBSITE)
    result = zenovay("websites", WID, "--json")
    assert json.loads(result.out)["website"]["settings"]["heatmaps"] is True


# --- analytics --all -----------------------------------------------------------------------------


def test_analytics_all_shows_one_row_per_website(api, zenovay):
    answer(api, "/websites", WEBSITES)
    answer(api, f"/analytics/{WID}", analytics_data(SITE1, 1247))
    answer(api, f"/analytics/{WID2}", analytics_data(SITE2, 3500))
    result = zenovay("analytics", "--all")
    assert result.code == 0, result
    lines = result.out.splitlines()
    row1 = next(line for line in lines if "mywebsite.com" in line)
    row2 = next(line for line in lines if "acme-store.io" in line)
    assert "1,247" in row1 and "3,500" in row2, result


def test_analytics_all_json_holds_every_websites_summary(api, zenovay):
    answer(api, "/websites", WEBSITES)
    answer(api, f"/analytics/{WID}", analytics_data(SITE1, 1247, "30d"))
    answer(api, f"/analytics/{WID2}", analytics_data(SITE2, 3500, "30d"))
    result = zenovay("analytics", "--all", "--range", "30d", "--json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["time_range"] == "30d"
    by_domain = {row["website"]["domain"]: row["summary"]["total_visitors"] for row in doc["websites"]}
    assert by_domain == {"mywebsite.com": 1247, "acme-store.io": 3500}
    assert sorted(query(c).get("range") for c in api.calls[1:]) == ["30d", "30d"]


def test_analytics_all_csv_has_one_line_per_website(api, zenovay):
    answer(api, "/websites", WEBSITES)
    answer(api, f"/analytics/{WID}", analytics_data(SITE1, 1247))
    answer(api, f"/analytics/{WID2}", analytics_data(SITE2, 3500))
    result = zenovay("analytics", "--all", "--format", "csv")
    rows = records("csv", result.out)
    assert [r["summary.total_visitors"] for r in rows] == ["1247", "3500"], result


def test_analytics_all_with_a_website_argument_warns_that_it_is_ignored(api, zenovay):
    answer(api, "/websites", {"websites": [SITE1]})
    answer(api, f"/analytics/{WID}", ANALYTICS)
    result = zenovay("analytics", "acme-store.io", "--all", "--json")
    assert result.code == 0, result
    assert "ignoring the website argument" in result.err


# --- visitors: --limit --offset --all ------------------------------------------------------------


def test_visitors_limit_and_offset_reach_the_api(api, zenovay):
    answer(api, f"/analytics/{WID}/visitors", VISITORS)
    assert zenovay("visitors", WID, "--limit", "20", "--offset", "40", "--json").code == 0
    assert query(api.calls[0]) == {"range": "7d", "limit": "20", "offset": "40"}


def _pages(rsps, sizes, page_size):
    offset, n = 0, 0
    for i, size in enumerate(sizes):
        items = [visitor(n + k) for k in range(size)]
        n += size
        more = i < len(sizes) - 1
        rsps.get(
            BASE + f"/analytics/{WID}/visitors",
            json=envelope({"visitors": items, "pagination": {"limit": page_size, "offset": offset, "has_more": more}}),
            match=[responses.matchers.query_param_matcher(
                {"range": "7d", "limit": str(page_size), "offset": str(offset)})],
        )
        offset += size
    return n


def test_visitors_all_follows_has_more_to_the_end_as_one_json_document(api, zenovay):
    total = _pages(api, [3, 3, 1], 3)
    result = zenovay("visitors", WID, "--all", "--limit", "3", "--json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert [v["id"] for v in doc["visitors"]] == [visitor(n)["id"] for n in range(total)]
    assert doc["pagination"]["has_more"] is False
    assert len(api.calls) == 3


def test_visitors_all_streams_every_visitor_as_ndjson(api, zenovay):
    total = _pages(api, [2, 2, 2, 0], 2)
    result = zenovay("visitors", WID, "--all", "-n", "2", "--format", "ndjson")
    assert result.code == 0, result
    assert [r["id"] for r in records("ndjson", result.out)] == [visitor(n)["id"] for n in range(total)]


def test_visitors_all_table_lists_every_page(api, zenovay):
    _pages(api, [2, 1], 2)
    result = zenovay("visitors", WID, "--all", "--limit", "2")
    assert result.code == 0, result
    assert sum(visitor(n)["id"] in result.out for n in range(3)) == 3, result


def test_visitors_all_starts_at_the_given_offset(api, zenovay):
    api.get(BASE + f"/analytics/{WID}/visitors",
            json=envelope({"visitors": [visitor(10)], "pagination": {"limit": 1000, "offset": 10, "has_more": False}}),
            match=[responses.matchers.query_param_matcher({"range": "7d", "limit": "1000", "offset": "10"})])
    assert zenovay("visitors", WID, "--all", "--offset", "10", "--format", "csv").code == 0


# --- errors --status ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["unresolved", "resolved", "ignored"])
def test_errors_status_filter_reaches_the_api(api, zenovay, status):
    answer(api, f"/errors/{WID}/groups", {"error_groups": []})
    result = zenovay("errors", WID, "--status", status)
    assert result.code == 0, result
    assert query(api.calls[0])["status"] == status


def test_errors_without_status_asks_for_every_group(api, zenovay):
    answer(api, f"/errors/{WID}/groups", ERRORS)
    assert zenovay("errors", WID, "--json").code == 0
    assert "status" not in query(api.calls[0])


# --- what every request carries -------------------------------------------------------------------


def test_requests_carry_the_key_header_and_a_user_agent_naming_the_tool(api, zenovay):
    answer(api, "/usage", USAGE)
    assert zenovay("usage", "--json").code == 0
    headers = api.calls[0].request.headers
    assert headers["X-API-Key"] == KEY
    assert headers["User-Agent"].startswith("zenovay-cli/")


def test_older_unwrapped_answers_are_still_shown(api, zenovay):
    old = {"timeRange": "7d", "totalVisitors": 1500, "totalPageViews": 4200,
           "dailyStats": [{"date": "2025-01-10", "visitors": 210, "pageViews": 600}]}
    api.get(BASE + f"/analytics/{WID}", json=old)
    result = zenovay("analytics", WID)
    assert result.code == 0, result
    assert "1,500" in result.out and "2025-01-10" in result.out, result
