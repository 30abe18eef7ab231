"""The sandbox API over real HTTP on 127.0.0.1: shapes, determinism, auth, limits, faults."""

from __future__ import annotations

import hashlib
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import requests

from zenovay_cli.sandbox import DEMO_API_KEY, SandboxConfig, SandboxServer
from zenovay_cli.sandbox.data import SandboxData

TODAY = date(2026, 6, 13)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
USAGE_HEADERS = ("X-RateLimit-Limit", "X-Usage-Monthly", "X-Usage-Limit", "X-Usage-Reset",
                 "X-Usage-Total")
VISITOR_FIELDS = {"id", "country_code", "country_name", "city", "device_type", "browser", "os",
                  "value_score", "visited_at", "landing_page", "referrer", "had_interaction"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_server():
    servers = []

    def make(**config) -> SandboxServer:
        config.setdefault("today", TODAY)
        server = SandboxServer(SandboxConfig(**config)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server) -> SandboxServer:
    return make_server()


def call(server, path, key=DEMO_API_KEY, method="GET", headers=None, **params):
    headers = dict(headers or {})
    if key is not None:
        headers.setdefault("X-API-Key", key)
    return requests.request(method, server.base_url + path, headers=headers, params=params,
                            timeout=10)


def data(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def first_id(server) -> str:
    return data(call(server, "/websites"))["websites"][0]["id"]


def api_paths(website_id: str) -> list[str]:
    return ["/usage", "/websites", f"/websites/{website_id}", f"/analytics/{website_id}",
            f"/analytics/{website_id}/visitors", f"/analytics/{website_id}/pages",
            f"/analytics/{website_id}/countries", f"/analytics/{website_id}/technology",
            f"/errors/{website_id}/groups"]


def control(server, name, payload=None):
    url = f"{server.url}/__sandbox__/{name}"
    if payload is None:
        return requests.get(url, timeout=10)
    return requests.post(url, json=payload, timeout=10)


# -- envelope and headers ----------------------------------------------------------------


def test_every_route_answers_in_the_success_envelope_with_usage_headers(server):
    for path in api_paths(first_id(server)):
        response = call(server, path)
        body = response.json()
        assert response.status_code == 200, path
        assert set(body) == {"success", "data", "timestamp"}
        assert body["success"] is True and ISO_MS.match(body["timestamp"])
        assert response.headers["Content-Type"].startswith("application/json")
        assert uuid.UUID(response.headers["x-request-id"]).version == 4
        for name in USAGE_HEADERS:
            assert name in response.headers, (path, name)
        assert response.headers["X-RateLimit-Limit"] == "30"
        assert "X-RateLimit-Remaining" not in response.headers  # not exact unless enforced
        assert response.headers["X-Usage-Limit"] == "10000"
        assert response.headers["X-Usage-Reset"] == "2026-07-01T00:00:00.000Z"


def test_errors_use_the_error_envelope_and_still_carry_a_request_id(server):
    response = call(server, "/analytics/no-such-site")
    body = response.json()
    assert response.status_code == 404
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert ISO_MS.match(body["error"]["timestamp"]) and body["error"]["message"]
    assert uuid.UUID(response.headers["x-request-id"])
    assert response.headers["X-Usage-Monthly"] == "1"


def test_request_ids_differ_between_responses(server):
    ids = {call(server, "/websites").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


# -- shapes ------------------------------------------------------------------------------


def test_websites_list_and_detail_have_the_documented_fields(make_server):
    server = make_server(websites=5)
    listing = data(call(server, "/websites"))
    assert listing["total"] == 5 == len(listing["websites"])
    first = listing["websites"][0]
    assert set(first) == {"id", "domain", "name", "tracking_code", "is_active", "created_at",
                          "team_id"}
    assert first["domain"] == "acme-store.io"
    assert uuid.UUID(first["id"]) and first["tracking_code"].startswith("ZV_")
    assert len({w["domain"] for w in listing["websites"]}) == 5
    detail = data(call(server, f"/websites/{first['id']}"))["website"]
    assert set(detail) == set(first) | {"user_id", "settings"}
    assert {k: detail[k] for k in first} == first
    assert all(isinstance(v, bool) for v in detail["settings"].values())


@pytest.mark.parametrize("range_, days", [("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90),
                                          ("1y", 365)])
def test_overview_summary_is_the_sum_of_its_daily_rows(server, range_, days):
    website_id = first_id(server)
    overview = data(call(server, f"/analytics/{website_id}", range=range_))
    rows = overview["daily_stats"]
    assert overview["time_range"] == range_
    assert overview["website"]["id"] == website_id
    assert len(rows) == days and rows[-1]["date"] == "2026-06-13"
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    summary = overview["summary"]
    assert summary["total_visitors"] == sum(r["total_visitors"] for r in rows) > 0
    assert summary["total_page_views"] == sum(r["page_views"] for r in rows)
    assert summary["unique_visitors"] == sum(r["unique_visitors"] for r in rows)
    assert overview["date_range"]["end"] == "2026-06-13"
    assert ISO_MS.match(overview["date_range"]["startDateTime"])


def test_overview_defaults_to_7d_and_a_day_looks_the_same_in_every_range(server):
    website_id = first_id(server)
    week = data(call(server, f"/analytics/{website_id}"))
    month = data(call(server, f"/analytics/{website_id}", range="30d"))
    assert week["time_range"] == "7d"
    assert week["daily_stats"] == month["daily_stats"][-7:]


def test_visitors_have_exactly_the_documented_fields_newest_first(server):
    visitors = data(call(server, f"/analytics/{first_id(server)}/visitors"))["visitors"]
    assert len(visitors) == 100
    for visitor in visitors:
        assert set(visitor) == VISITOR_FIELDS
        assert 0 <= visitor["value_score"] <= 100
        assert visitor["device_type"] in {"desktop", "mobile", "tablet"}
        assert ISO_MS.match(visitor["visited_at"])
    times = [v["visited_at"] for v in visitors]
    assert times == sorted(times, reverse=True)


def test_paging_visitors_reaches_every_visitor_exactly_once(make_server):
    server = make_server(visitors_per_site=250)
    path = f"/analytics/{first_id(server)}/visitors"
    seen, offset, pages = [], 0, []
    while True:
        body = data(call(server, path, limit=100, offset=offset, range="30d"))
        pages.append(body["pagination"])
        seen += [v["id"] for v in body["visitors"]]
        if not body["pagination"]["has_more"]:
            break
        offset += 100
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert pages[-1] == {"limit": 100, "offset": 200, "has_more": False}
    assert len(seen) == len(set(seen)) == 250
    past_end = data(call(server, path, offset=250, range="30d"))
    assert past_end["visitors"] == [] and past_end["pagination"]["has_more"] is False


def test_a_page_deep_in_100k_visitors_computes_only_that_page(make_server, monkeypatch):
    built = []
    original = SandboxData._visitor

    def counting(self, *args):
        built.append(args)
        return original(self, *args)

    monkeypatch.setattr(SandboxData, "_visitor", counting)
    server = make_server(visitors_per_site=100_000)
    body = data(call(server, f"/analytics/{first_id(server)}/visitors", limit=1000,
                     offset=99_000))
    assert len(body["visitors"]) == 1000
    assert body["pagination"]["has_more"] is False
    assert len(built) == 1000


def test_pages_are_sorted_by_visitors_and_views_add_up_to_the_total(server):
    website_id = first_id(server)
    total = data(call(server, f"/analytics/{website_id}", range="30d"))["summary"]
    pages = data(call(server, f"/analytics/{website_id}/pages", range="30d", limit=100))["pages"]
    assert all(set(p) == {"url", "views", "visitors"} for p in pages)
    assert sum(p["views"] for p in pages) == total["total_page_views"]
    assert [p["visitors"] for p in pages] == sorted((p["visitors"] for p in pages), reverse=True)
    assert len(data(call(server, f"/analytics/{website_id}/pages"))["pages"]) <= 20
    assert len(data(call(server, f"/analytics/{website_id}/pages", limit=3))["pages"]) == 3


def test_countries_are_sorted_by_visitors_and_add_up_to_the_total(server):
    website_id = first_id(server)
    total = data(call(server, f"/analytics/{website_id}", range="90d"))["summary"]
    rows = data(call(server, f"/analytics/{website_id}/countries", range="90d", limit=100))
    countries = rows["countries"]
    assert len(countries) > 20
    assert sum(c["visitors"] for c in countries) == total["total_visitors"]
    assert [c["visitors"] for c in countries] == sorted((c["visitors"] for c in countries),
                                                        reverse=True)
    for country in countries:
        assert set(country) == {"country_code", "country_name", "visitors", "avg_value_score"}
        assert len(country["country_code"]) == 2 and 0 <= country["avg_value_score"] <= 100
    default = data(call(server, f"/analytics/{website_id}/countries", range="90d"))["countries"]
    assert default == countries[:20]


def test_technology_breaks_the_visitors_down_three_ways(server):
    website_id = first_id(server)
    total = data(call(server, f"/analytics/{website_id}", range="24h"))["summary"]
    tech = data(call(server, f"/analytics/{website_id}/technology", range="24h"))
    assert set(tech) == {"browsers", "operating_systems", "device_types"}
    for rows in tech.values():
        assert sum(r["visitors"] for r in rows) == total["total_visitors"]
        assert all(set(r) == {"name", "visitors"} for r in rows)
    assert {r["name"] for r in tech["device_types"]} <= {"desktop", "mobile", "tablet"}


def test_error_groups_filter_by_status_and_respect_the_limit(server):
    path = f"/errors/{first_id(server)}/groups"
    groups = data(call(server, path))["error_groups"]
    assert {g["status"] for g in groups} == {"unresolved", "resolved", "ignored"}
    for group in groups:
        assert set(group) == {"id", "fingerprint", "message", "type", "status",
                              "occurrence_count", "first_seen_at", "last_seen_at",
                              "affected_users_count"}
        assert group["id"].startswith("eg_")
        assert group["first_seen_at"] <= group["last_seen_at"]
    resolved = data(call(server, path, status="resolved"))["error_groups"]
    assert resolved == [g for g in groups if g["status"] == "resolved"]
    assert data(call(server, path, limit=2))["error_groups"] == groups[:2]


def test_usage_reports_the_key_plan_and_requests_so_far(server):
    call(server, "/websites")
    usage = data(call(server, "/usage"))
    assert usage["api_key"]["permission"] == "full_access"
    assert usage["api_key"]["website_id"] is None
    assert usage["api_key"]["id"].startswith("ak_")
    assert usage["usage"] == {"monthly_requests": 2, "monthly_limit": 10000,
                              "monthly_remaining": 9998,
                              "monthly_reset_at": "2026-07-01T00:00:00.000Z",
                              "total_requests": 2}
    assert usage["rate_limits"] == {"requests_per_minute": 30}
    assert usage["subscription"] == {"tier": "pro"}
    assert DEMO_API_KEY not in call(server, "/usage").text


def test_the_tier_sets_the_advertised_limits(make_server):
    server = make_server(tier="scale")
    response = call(server, "/usage")
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-Usage-Limit"] == "100000"
    assert data(response)["subscription"] == {"tier": "scale"}


# -- determinism -------------------------------------------------------------------------


def _all_data(server) -> list:
    website_id = first_id(server)
    return [data(call(server, path, **({} if "usage" in path else {"range": "30d"})))
            for path in api_paths(website_id)[1:]]


def test_two_servers_with_the_same_seed_serve_identical_data(make_server):
    first = _all_data(make_server(seed=7))
    second = _all_data(make_server(seed=7))
    assert first == second


def test_a_different_seed_gives_different_websites(make_server):
    one = data(call(make_server(seed=1), "/websites"))["websites"]
    two = data(call(make_server(seed=2), "/websites"))["websites"]
    assert {w["id"] for w in one}.isdisjoint(w["id"] for w in two)


# -- validation and routing --------------------------------------------------------------


@pytest.mark.parametrize("suffix, params, word", [
    ("", {"range": "2d"}, "range"),
    ("/visitors", {"limit": "0"}, "limit"),
    ("/visitors", {"limit": "1001"}, "limit"),
    ("/visitors", {"limit": "ten"}, "limit"),
    ("/visitors", {"offset": "-1"}, "offset"),
    ("/pages", {"limit": "101"}, "limit"),
    ("/countries", {"limit": "101"}, "limit"),
    ("/technology", {"range": "week"}, "range"),
])
def test_bad_parameters_are_rejected_with_a_validation_error(server, suffix, params, word):
    response = call(server, f"/analytics/{first_id(server)}{suffix}", **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert word in response.json()["error"]["message"]


@pytest.mark.parametrize("params", [{"status": "open"}, {"limit": "201"}])
def test_bad_error_group_parameters_are_rejected(server, params):
    response = call(server, f"/errors/{first_id(server)}/groups", **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_unknown_routes_and_websites_are_not_found(server):
    for path in ["/nope", "/analytics", f"/analytics/{uuid.UUID(int=1)}",
                 f"/websites/{uuid.UUID(int=1)}", f"/errors/{uuid.UUID(int=1)}/groups"]:
        response = call(server, path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_non_get_methods_are_refused_with_405(server):
    response = call(server, "/websites", method="POST", json={"x": 1})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["success"] is False


# -- authentication and scope ------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "sk_live_123"}, {"Api-Key": DEMO_API_KEY},
                                     {"X-API-Key": "zv_revoked_1"}])
def test_missing_invalid_or_revoked_keys_get_401_and_are_not_counted(server, headers):
    response = call(server, "/websites", key=None, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert data(call(server, "/usage"))["usage"]["monthly_requests"] == 1


def test_a_bearer_token_works_like_the_api_key_header(server):
    response = call(server, "/websites", key=None,
                    headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    assert response.status_code == 200
    assert data(call(server, "/usage"))["usage"]["monthly_requests"] == 2


def test_a_free_plan_key_gets_the_flat_paid_plan_error(server):
    response = call(server, "/websites", key="zv_free_abc")
    assert response.status_code == 403
    assert response.json() == {
        "error": "The Zenovay API requires a paid plan. Upgrade to Pro or higher to use API keys.",
        "code": "API_PAID_PLAN_REQUIRED",
    }


def test_a_site_key_sees_only_the_first_website(server):
    first, second = (w["id"] for w in data(call(server, "/websites"))["websites"][:2])
    websites = data(call(server, "/websites", key="zv_site_1"))
    assert [w["id"] for w in websites["websites"]] == [first] and websites["total"] == 1
    assert call(server, f"/analytics/{first}", key="zv_site_1").status_code == 200
    denied = call(server, f"/analytics/{second}", key="zv_site_1")
    assert denied.status_code == 403
    assert denied.json()["error"] == {**denied.json()["error"], "code": "FORBIDDEN",
                                      "message": "Access denied to this website"}
    usage = data(call(server, "/usage", key="zv_site_1"))["api_key"]
    assert usage["permission"] == "site_access" and usage["website_id"] == first


def test_each_key_has_its_own_counters(server):
    for _ in range(3):
        call(server, "/websites", key="zv_one")
    assert call(server, "/websites", key="zv_two").headers["X-Usage-Monthly"] == "1"
    assert call(server, "/websites", key="zv_one").headers["X-Usage-Monthly"] == "4"


# -- rate limit and quota ----------------------------------------------------------------


def test_the_per_minute_limit_refuses_with_retry_after_until_a_slot_frees(make_server):
    clock = FakeClock()
    server = make_server(rate_limit=3, clock=clock)
    remaining = [call(server, "/websites").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = call(server, "/websites")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["X-RateLimit-Limit"] == "3"
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["message"] == "Rate limit exceeded (3 requests/minute). Try again in 60 seconds"
    clock.now += 59.5
    assert call(server, "/websites").headers["Retry-After"] == "1"
    clock.now += 0.5
    assert call(server, "/websites").status_code == 200
    assert call(server, "/websites").headers["X-Usage-Monthly"] == "5"  # refusals not counted


def test_the_monthly_quota_is_a_hard_stop_without_retry_after(make_server):
    server = make_server(monthly_quota=2)
    assert [call(server, "/websites").status_code for _ in range(3)] == [200, 200, 429]
    refused = call(server, "/usage")
    assert refused.json()["error"]["code"] == "MONTHLY_LIMIT_EXCEEDED"
    assert "Retry-After" not in refused.headers
    assert refused.headers["X-Usage-Monthly"] == "2"
    assert refused.headers["X-Usage-Limit"] == "2"
    assert call(server, "/websites", key="zv_other").status_code == 200


# -- faults ------------------------------------------------------------------------------


def test_a_status_fault_hits_only_the_next_matching_requests(server):
    website_id = first_id(server)
    server.add_faults([{"status": 503, "count": 2, "path": "/analytics"}])
    assert call(server, "/websites").status_code == 200
    first = call(server, f"/analytics/{website_id}")
    assert first.status_code == 503
    assert first.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert uuid.UUID(first.headers["x-request-id"])
    assert call(server, f"/analytics/{website_id}/countries").status_code == 503
    assert call(server, f"/analytics/{website_id}").status_code == 200


@pytest.mark.parametrize("status, code", [(500, "INTERNAL_ERROR"), (502, "BAD_GATEWAY"),
                                          (504, "GATEWAY_TIMEOUT")])
def test_server_error_faults_answer_with_json_envelopes(server, status, code):
    server.add_faults([{"status": status}])
    response = call(server, "/websites")
    assert response.status_code == status
    assert response.json()["success"] is False and response.json()["error"]["code"] == code


def test_faults_are_taken_in_the_order_they_were_added(server):
    server.add_faults([{"status": 500}, {"status": 502}])
    assert [call(server, "/usage").status_code for _ in range(3)] == [500, 502, 200]


def test_a_429_fault_sends_retry_after_only_when_given(server):
    server.add_faults([{"status": 429, "retry_after": 2}, {"status": 429}])
    with_header = call(server, "/websites")
    assert with_header.status_code == 429
    assert with_header.headers["Retry-After"] == "2"
    assert with_header.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert "Try again in 2 seconds" in with_header.json()["error"]["message"]
    without = call(server, "/websites")
    assert without.status_code == 429 and "Retry-After" not in without.headers


def test_a_monthly_limit_fault_uses_its_own_code(server):
    server.add_faults([{"status": 429, "code": "MONTHLY_LIMIT_EXCEEDED"}])
    response = call(server, "/websites")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "MONTHLY_LIMIT_EXCEEDED"


def test_a_delay_fault_sleeps_then_answers_normally(make_server):
    sleeps = []
    server = make_server(sleep=sleeps.append)
    server.add_faults([{"delay": 5.0}])
    assert call(server, "/websites").status_code == 200
    assert sleeps == [5.0]


def test_latency_is_added_to_api_responses_only(make_server):
    sleeps = []
    server = make_server(latency=0.25, sleep=sleeps.append)
    call(server, "/websites")
    control(server, "stats")
    assert sleeps == [0.25]


def test_an_html_fault_looks_like_a_proxy_error_page(server):
    server.add_faults([{"status": 502, "html": True}])
    response = call(server, "/websites")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_a_close_fault_drops_the_connection_without_an_answer(server):
    server.add_faults([{"close": True}])
    with pytest.raises(requests.ConnectionError):
        call(server, "/websites")
    assert call(server, "/websites").status_code == 200
    assert server.stats()["dropped"] == 1


def test_faults_can_be_injected_over_http(server):
    response = control(server, "faults", {"faults": [{"status": 503, "path": "/websites"}]})
    assert response.status_code == 200
    assert len(response.json()["pending"]) == 1
    assert call(server, "/usage").status_code == 200
    assert call(server, "/websites").status_code == 503


def test_a_location_fault_redirects_the_next_request(server):
    server.add_faults([{"status": 307, "location": "http://127.0.0.1:9/elsewhere", "path": "/usage"}])
    assert call(server, "/websites").status_code == 200
    redirected = requests.get(server.base_url + "/usage", headers={"X-API-Key": DEMO_API_KEY},
                              allow_redirects=False, timeout=10)
    assert redirected.status_code == 307
    assert redirected.headers["Location"] == "http://127.0.0.1:9/elsewhere"
    assert call(server, "/usage").status_code == 200


@pytest.mark.parametrize("fault", [{"status": 200}, {"count": 0, "status": 500}, {"statu": 500},
                                   {"delay": -1}, {"close": True, "status": 500}, {},
                                   {"status": 302}, {"status": 500, "location": "http://x/"},
                                   {"location": "http://x/"}, {"status": 302, "location": ""}])
def test_malformed_faults_are_rejected_and_none_is_queued(server, fault):
    response = control(server, "faults", {"faults": [{"status": 500}, fault]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert server.pending_faults() == []


# -- control endpoints -------------------------------------------------------------------


def test_stats_count_requests_by_path_key_and_status(server):
    call(server, "/websites")
    call(server, "/websites", key="zv_other")
    call(server, "/websites", key="bad")
    call(server, "/analytics/nope")
    control(server, "config")
    stats = control(server, "stats").json()
    assert stats["requests"] == 4
    assert stats["by_path"] == {"/websites": 3, "/analytics/nope": 1}
    assert stats["status_counts"] == {"200": 2, "401": 1, "404": 1}
    demo = hashlib.sha256(DEMO_API_KEY.encode()).hexdigest()[:12]
    assert stats["by_key_fingerprint"][demo] == 2
    assert DEMO_API_KEY not in str(stats)


def test_reset_clears_faults_stats_and_quotas(make_server):
    server = make_server(monthly_quota=1)
    call(server, "/websites")
    server.add_faults([{"status": 500}])
    assert control(server, "reset", {}).status_code == 200
    assert control(server, "stats").json()["requests"] == 0
    assert server.pending_faults() == []
    assert call(server, "/websites").status_code == 200


def test_websites_can_be_renamed_removed_and_revised_until_reset(server):
    sites = data(call(server, "/websites"))["websites"]
    a, b = sites[0]["id"], sites[1]["id"]
    today = server.data().today.isoformat()
    figures = {"total_visitors": 7, "unique_visitors": 5, "page_views": 9}
    response = control(server, "websites", {
        "rename": {a: {"domain": "renamed.example", "name": "Renamed"}},
        "remove": [b], "revise": {a: {today: figures}},
    })
    assert response.status_code == 200, response.text
    listed = data(call(server, "/websites"))["websites"]
    assert [w["id"] for w in listed] == [w["id"] for w in sites if w["id"] != b]
    assert (listed[0]["domain"], listed[0]["name"]) == ("renamed.example", "Renamed")
    assert call(server, f"/analytics/{b}").status_code == 404
    overview = data(call(server, f"/analytics/{a}", range="7d"))
    assert overview["website"]["domain"] == "renamed.example"
    last = overview["daily_stats"][-1]
    assert (last["date"], last["total_visitors"], last["page_views"]) == (today, 7, 9)
    assert overview["summary"]["total_visitors"] == sum(
        r["total_visitors"] for r in overview["daily_stats"])
    server.configure(visitors_per_site=251)  # a rebuild of the data keeps the edits
    assert len(data(call(server, "/websites"))["websites"]) == len(sites) - 1
    bad = control(server, "websites", {"remove": ["no-such-id"]})
    assert bad.status_code == 400 and "unknown website" in bad.text
    control(server, "reset", {})
    assert data(call(server, "/websites"))["websites"] == sites


def test_config_can_be_changed_at_runtime(server):
    response = control(server, "config", {"websites": 6, "rate_limit": 10})
    assert response.status_code == 200
    assert response.json()["websites"] == 6
    assert data(call(server, "/websites"))["total"] == 6
    assert call(server, "/websites").headers["X-RateLimit-Remaining"] == "8"
    bad = control(server, "config", {"websites": 0})
    assert bad.status_code == 400
    assert control(server, "config", {"clock": 1}).status_code == 400


# -- server --------------------------------------------------------------------------------


def test_concurrent_clients_are_all_answered(make_server):
    server = make_server(websites=8)
    ids = [w["id"] for w in data(call(server, "/websites"))["websites"]]
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda i: call(server, f"/analytics/{ids[i % 8]}").status_code,
                              range(64)))
    assert codes == [200] * 64
    assert server.stats()["requests"] == 65


def test_the_server_is_quiet_and_exposes_its_urls(server, capfd):
    call(server, "/websites")
    call(server, "/nope")
    assert capfd.readouterr().err == ""
    assert server.base_url == f"http://127.0.0.1:{server.port}/api/external/v1"
    assert server.api_key == DEMO_API_KEY


def test_verbose_mode_logs_requests_but_never_the_key(make_server, capfd):
    server = make_server()
    server.verbose = True
    call(server, "/websites")
    err = capfd.readouterr().err
    assert "GET /api/external/v1/websites" in err
    assert DEMO_API_KEY not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_only_loopback_addresses_can_be_bound(host):
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host=host)


def test_a_stopped_server_refuses_connections():
    with SandboxServer() as server:
        url = server.base_url + "/usage"
        assert requests.get(url, headers={"X-API-Key": DEMO_API_KEY}, timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
