"""The sandbox's endpoints added in 2026 over real HTTP: shapes, filters, paging, plans, credits.

Every figure is checked against values computed here from the sandbox's other answers (daily
rows of the overview, website settings) or from the items themselves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import requests

from zenovay_cli.sandbox import DEMO_API_KEY, SandboxConfig, SandboxServer

TODAY = date(2026, 6, 13)
ANOMALY_FIELDS = {"id", "metric_name", "expected_value", "actual_value", "deviation_percentage",
                  "severity", "detected_at", "is_resolved"}
INSIGHT_FIELDS = {"id", "type", "severity", "title", "description", "metric_name", "metric_value",
                  "metric_change", "recommendation", "created_at"}
COHORT_FIELDS = {"cohort_date", "period_number", "total_users", "retained_users", "retention_rate"}
SESSION_FIELDS = {"id", "session_id", "page_url", "device_type", "browser", "os", "country_code",
                  "duration_seconds", "event_count", "started_at", "ended_at"}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


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
    return make_server(websites=16)


def call(server, path, key=DEMO_API_KEY, method="GET", json=None, **params):
    return requests.request(method, server.base_url + path, headers={"X-API-Key": key},
                            params=params, json=json, timeout=10)


def data(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def websites(server) -> list[dict]:
    return data(call(server, "/websites"))["websites"]


def settings(server, website_id) -> dict:
    return data(call(server, f"/websites/{website_id}"))["website"]["settings"]


def daily(server, website_id) -> dict[str, dict]:
    rows = data(call(server, f"/analytics/{website_id}", range="1y"))["daily_stats"]
    return {row["date"]: row for row in rows}


def page_all(server, path, key_name, page_size, **params) -> list[dict]:
    items, offset = [], 0
    while True:
        body = data(call(server, path, limit=page_size, offset=offset, **params))
        items += body[key_name]
        assert body["pagination"] == {"limit": page_size, "offset": offset,
                                      "has_more": body["pagination"]["has_more"]}
        if not body["pagination"]["has_more"]:
            return items
        assert body[key_name], "an empty page must not claim more"
        offset += len(body[key_name])


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


NOW = datetime(2026, 6, 13, 12, tzinfo=when("2026-01-01T00:00:00Z").tzinfo)


# -- anomalies ----------------------------------------------------------------------------------


def test_anomalies_have_the_documented_fields_and_consistent_figures(server):
    site = websites(server)[0]["id"]
    body = data(call(server, f"/anomalies/{site}", range="90d", limit=200))
    assert set(body) == {"anomalies", "pagination"}
    items = body["anomalies"]
    assert items, "a busy website has anomalies over 90 days"
    for item in items:
        assert set(item) == ANOMALY_FIELDS and item["id"].startswith("anom_")
        expected, actual = item["expected_value"], item["actual_value"]
        assert item["deviation_percentage"] == pytest.approx(
            (actual - expected) / expected * 100, abs=0.01)
        size = abs(item["deviation_percentage"])
        assert item["severity"] == ("info" if size < 35 else "warning" if size < 60 else "critical")
        assert NOW - timedelta(days=90) <= when(item["detected_at"]) <= NOW
    assert [i["detected_at"] for i in items] == sorted((i["detected_at"] for i in items),
                                                       reverse=True)


def test_anomaly_filters_select_exactly_the_matching_items(server):
    site = websites(server)[0]["id"]
    everything = data(call(server, f"/anomalies/{site}", range="90d", limit=200))["anomalies"]
    for params, keep in [
        ({"severity": "warning"}, lambda i: i["severity"] == "warning"),
        ({"metric": "bounce_rate"}, lambda i: i["metric_name"] == "bounce_rate"),
        ({"resolved": "false"}, lambda i: not i["is_resolved"]),
        ({"resolved": "true", "severity": "critical"},
         lambda i: i["is_resolved"] and i["severity"] == "critical"),
    ]:
        got = data(call(server, f"/anomalies/{site}", range="90d", limit=200, **params))
        assert got["anomalies"] == [i for i in everything if keep(i)], params
    week = data(call(server, f"/anomalies/{site}", limit=200))["anomalies"]  # default 7d
    assert week == [i for i in everything if when(i["detected_at"]) >= NOW - timedelta(days=7)]
    assert data(call(server, f"/anomalies/{site}", metric="no_such_metric"))["anomalies"] == []


def test_paging_anomalies_reaches_each_exactly_once(server):
    site = websites(server)[0]["id"]
    everything = data(call(server, f"/anomalies/{site}", range="90d", limit=200))["anomalies"]
    assert page_all(server, f"/anomalies/{site}", "anomalies", 3, range="90d") == everything
    assert data(call(server, f"/anomalies/{site}"))["pagination"]["limit"] == 50


def test_detection_times_follow_the_plan_scan_schedule(server):
    site = websites(server)[0]["id"]

    def hours(key):
        items = data(call(server, f"/anomalies/{site}", key=key, range="90d", limit=200))
        return {when(i["detected_at"]).hour for i in items["anomalies"]}

    assert hours("zv_pro_1") <= {0, 6, 12, 18}
    scale = hours("zv_scale_1")
    assert scale - {0, 6, 12, 18}, "hourly scans on Scale"


def test_a_website_below_the_baseline_has_no_anomalies(make_server):
    server = make_server(websites=16, seed=2)
    found_quiet = found_busy = False
    for site in websites(server):
        rows = daily(server, site["id"])
        last30 = [rows[(TODAY - timedelta(days=n)).isoformat()]["total_visitors"]
                  for n in range(30)]
        anomalies = data(call(server, f"/anomalies/{site['id']}", range="90d"))["anomalies"]
        if sum(last30) / 30 < 100:
            found_quiet = True
            assert anomalies == []
        else:
            found_busy = found_busy or bool(anomalies)
    assert found_quiet and found_busy


def test_zenovay_resolving_an_anomaly_shows_in_the_feed(server):
    site = websites(server)[0]["id"]
    open_ = data(call(server, f"/anomalies/{site}", resolved="false", range="90d"))["anomalies"]
    target = open_[0]["id"]
    requests.post(f"{server.url}/__sandbox__/anomalies", json={"resolve": [target]}, timeout=10)
    still_open = data(call(server, f"/anomalies/{site}", resolved="false", range="90d"))
    assert target not in {i["id"] for i in still_open["anomalies"]}
    requests.post(f"{server.url}/__sandbox__/anomalies", json={"unresolve": [target]}, timeout=10)
    again = data(call(server, f"/anomalies/{site}", resolved="false", range="90d"))["anomalies"]
    assert target in {i["id"] for i in again}
    bad = requests.post(f"{server.url}/__sandbox__/anomalies", json={"resolve": "x"}, timeout=10)
    assert bad.status_code == 400


@pytest.mark.parametrize("params", [{"range": "1y"}, {"severity": "high"}, {"resolved": "yes"},
                                    {"limit": "201"}, {"offset": "-1"}])
def test_bad_anomaly_parameters_are_validation_errors(server, params):
    site = websites(server)[0]["id"]
    response = call(server, f"/anomalies/{site}", **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# -- insights -----------------------------------------------------------------------------------


def test_insights_have_the_documented_fields_filters_and_paging(server):
    site = websites(server)[1]["id"]
    everything = data(call(server, f"/insights/{site}", range="1y", limit=200))["insights"]
    assert everything
    for item in everything:
        assert set(item) == INSIGHT_FIELDS and item["id"].startswith("ins_")
    for params, keep in [({"type": "trend"}, lambda i: i["type"] == "trend"),
                         ({"severity": "info"}, lambda i: i["severity"] == "info")]:
        got = data(call(server, f"/insights/{site}", range="1y", limit=200, **params))
        assert got["insights"] == [i for i in everything if keep(i)]
    assert page_all(server, f"/insights/{site}", "insights", 4, range="1y") == everything
    assert call(server, f"/insights/{site}", type="guess").status_code == 400


# -- retention ----------------------------------------------------------------------------------


def _cohorts(rows):
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["cohort_date"], []).append(row)
    return out


@pytest.mark.parametrize("granularity,range_,periods", [("weekly", "30d", 6), ("monthly", "90d", 2),
                                                       ("daily", "7d", 3)])
def test_retention_is_a_triangle_built_from_the_daily_visitors(server, granularity, range_,
                                                               periods):
    site = websites(server)[0]["id"]
    rows = data(call(server, f"/retention/{site}", granularity=granularity, range=range_,
                     periods=periods))["cohorts"]
    days = daily(server, site)
    cohorts = _cohorts(rows)
    starts = sorted(cohorts)
    for start in starts:
        first = date.fromisoformat(start)
        if granularity == "weekly":
            assert first.weekday() == 0
            nxt = first + timedelta(days=7)
        elif granularity == "monthly":
            assert first.day == 1
            nxt = (first + timedelta(days=32)).replace(day=1)
        else:
            nxt = first + timedelta(days=1)
        cohort = cohorts[start]
        assert [r["period_number"] for r in cohort] == list(range(len(cohort)))
        assert 1 <= len(cohort) <= periods + 1
        for row in cohort:
            assert set(row) == COHORT_FIELDS
            assert row["retention_rate"] == round(row["retained_users"] / row["total_users"] * 100, 2)
        assert cohort[0]["retained_users"] == cohort[0]["total_users"]
        retained = [r["retained_users"] for r in cohort]
        assert retained == sorted(retained, reverse=True)
        unique = sum(days[(first + timedelta(days=n)).isoformat()]["unique_visitors"]
                     for n in range((min(nxt, TODAY + timedelta(days=1)) - first).days))
        assert 0.5 * unique - 1 <= cohort[0]["total_users"] <= 0.65 * unique + 1
    # Later cohorts have seen fewer periods: the rows form a triangle.
    lengths = [len(cohorts[s]) for s in starts]
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[-1] == 1


def test_monthly_cohorts_cross_a_year_boundary(make_server):
    server = make_server(today=date(2026, 1, 2))
    site = websites(server)[0]["id"]
    rows = data(call(server, f"/retention/{site}", granularity="monthly", range="30d"))["cohorts"]
    cohorts = _cohorts(rows)
    assert sorted(cohorts) == ["2025-12-01", "2026-01-01"]
    assert [r["period_number"] for r in cohorts["2025-12-01"]] == [0, 1]
    assert [r["period_number"] for r in cohorts["2026-01-01"]] == [0]


def test_a_website_without_visitors_has_no_cohorts(make_server):
    server = make_server(websites=3, quiet_websites=1)
    busy, quiet = websites(server)[0]["id"], websites(server)[-1]["id"]
    assert data(call(server, f"/analytics/{quiet}"))["summary"]["unique_visitors"] == 0
    for granularity in ("daily", "weekly", "monthly"):
        assert data(call(server, f"/retention/{quiet}", granularity=granularity)) == {"cohorts": []}
        assert data(call(server, f"/retention/{busy}", granularity=granularity))["cohorts"]


def test_retention_defaults_and_bad_parameters(server):
    site = websites(server)[0]["id"]
    rows = data(call(server, f"/retention/{site}"))["cohorts"]
    assert max(r["period_number"] for r in rows) == 4  # 30d of weekly cohorts: 4 weeks seen
    assert all(date.fromisoformat(r["cohort_date"]).weekday() == 0 for r in rows)
    for params in ({"periods": "0"}, {"periods": "13"}, {"granularity": "yearly"}):
        assert call(server, f"/retention/{site}", **params).status_code == 400


# -- revenue LTV --------------------------------------------------------------------------------


def test_ltv_summary_is_the_customer_weighted_mean_of_the_cohorts(server):
    checked = 0
    for site in websites(server):
        for granularity, length in (("monthly", 30), ("weekly", 7)):
            body = data(call(server, f"/revenue/{site['id']}/ltv", granularity=granularity))
            cohorts = body["cohorts"]
            if not cohorts:
                assert body["summary"] == {"average_ltv_30d": None, "average_ltv_90d": None}
                continue
            checked += 1
            for cohort in cohorts:
                values = [p["cumulative_revenue_per_customer"] for p in cohort["periods"]]
                assert values == sorted(values)
                assert [p["period_number"] for p in cohort["periods"]] == list(range(len(values)))
            for days, name in ((30, "average_ltv_30d"), (90, "average_ltv_90d")):
                k = days // length
                reached = [c for c in cohorts if len(c["periods"]) > k and c["customers"]]
                want = (round(sum(c["customers"] * c["periods"][k]["cumulative_revenue_per_customer"]
                                  for c in reached) / sum(c["customers"] for c in reached), 2)
                        if reached else None)
                assert body["summary"][name] == want
    assert checked


def test_websites_without_revenue_tracking_have_no_cohorts(server):
    empties = [s for s in websites(server)
               if not data(call(server, f"/revenue/{s['id']}/ltv"))["cohorts"]]
    assert empties, "some websites (blogs, docs, local businesses) track no revenue"


# -- heatmaps and replays -----------------------------------------------------------------------


def test_heatmap_pages_are_sorted_limited_and_follow_the_website_settings(server):
    seen_on = seen_off = False
    for site in websites(server)[:6]:
        pages = data(call(server, f"/heatmaps/{site['id']}/pages", limit=100))["pages"]
        if not settings(server, site["id"])["heatmaps"]:
            seen_off = True
            assert pages == []
            continue
        seen_on = True
        assert all(set(p) == {"url", "total_interactions", "last_updated"} for p in pages)
        counts = [p["total_interactions"] for p in pages]
        assert counts == sorted(counts, reverse=True)
        assert data(call(server, f"/heatmaps/{site['id']}/pages", limit=2))["pages"] == pages[:2]
        assert len(data(call(server, f"/heatmaps/{site['id']}/pages"))["pages"]) == min(20, len(pages))
    assert seen_on and seen_off
    assert call(server, f"/heatmaps/{websites(server)[0]['id']}/pages", limit=101).status_code == 400


def test_replay_sessions_page_newest_first_and_follow_the_website_settings(server):
    seen_on = seen_off = False
    for site in websites(server)[:6]:
        path = f"/replays/{site['id']}/sessions"
        sessions = page_all(server, path, "sessions", 200)
        if not settings(server, site["id"])["session_replay"]:
            seen_off = True
            assert sessions == []
            continue
        seen_on = True
        assert len(sessions) > 200  # more than one page at the maximum page size
        assert len({s["id"] for s in sessions}) == len(sessions)
        starts = [s["started_at"] for s in sessions]
        assert starts == sorted(starts, reverse=True)
        for s in sessions[:20]:
            assert set(s) == SESSION_FIELDS
            assert when(s["ended_at"]) - when(s["started_at"]) == timedelta(
                seconds=s["duration_seconds"])
        assert page_all(server, path, "sessions", 37) == sessions
    assert seen_on and seen_off


# -- POST /query, plans and credits -------------------------------------------------------------


def test_query_needs_a_scale_key_and_costs_three_requests(server):
    site = websites(server)[0]["id"]
    question = {"question": "Which countries send the most visitors?"}
    denied = call(server, f"/query/{site}", key="zv_pro_q", method="POST", json=question)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
    assert "Scale" in denied.json()["error"]["message"]
    assert denied.headers["X-Usage-Monthly"] == "0"  # a refused request is not counted
    answer = call(server, f"/query/{site}", key="zv_scale_q", method="POST", json=question)
    assert answer.headers["X-Usage-Monthly"] == "3"
    body = data(answer)
    assert body["intent"] == "country_breakdown" and body["results"]["type"] == "table"
    countries = data(call(server, f"/analytics/{site}/countries", range="7d", limit=10))
    assert body["results"]["rows"] == [[c["country_name"], c["visitors"]]
                                       for c in countries["countries"]]
    usage = data(call(server, "/usage", key="zv_scale_q"))
    assert usage["subscription"]["tier"] == "scale"
    assert usage["rate_limits"]["requests_per_minute"] == 60
    assert usage["usage"]["monthly_requests"] == 4


def test_query_compares_with_the_previous_period_from_the_daily_rows(server):
    site = websites(server)[0]["id"]
    body = data(call(server, f"/query/{site}", key="zv_scale_q", method="POST", json={
        "question": "How is traffic doing?",
        "context": {"time_range": "7d", "compare_to": "previous_period"}}))
    rows = daily(server, site)
    week = [rows[(TODAY - timedelta(days=n)).isoformat()] for n in range(7)]
    before = [rows[(TODAY - timedelta(days=n)).isoformat()] for n in range(7, 14)]
    now_v, prev_v = (sum(r["total_visitors"] for r in days) for days in (week, before))
    assert body["results"]["rows"][0] == ["total_visitors", now_v, prev_v,
                                          round((now_v - prev_v) / prev_v * 100, 1)]


@pytest.mark.parametrize("payload", [{}, {"question": ""}, {"question": "x" * 501},
                                     {"question": "q", "context": {"time_range": "1y"}},
                                     {"question": "q", "context": {"compare_to": "last_week"}}])
def test_bad_queries_are_validation_errors(server, payload):
    site = websites(server)[0]["id"]
    response = call(server, f"/query/{site}", key="zv_scale_q", method="POST", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_query_is_post_only_and_the_rest_get_only(server):
    site = websites(server)[0]["id"]
    response = call(server, f"/query/{site}", key="zv_scale_q")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    response = call(server, f"/anomalies/{site}", method="POST", json={})
    assert response.status_code == 405 and response.headers["Allow"] == "GET"


def test_free_keys_get_the_paid_plan_error_on_every_new_endpoint(server):
    site = websites(server)[0]["id"]
    for path in (f"/anomalies/{site}", f"/insights/{site}", f"/retention/{site}",
                 f"/revenue/{site}/ltv", f"/heatmaps/{site}/pages", f"/replays/{site}/sessions"):
        response = call(server, path, key="zv_free_1")
        assert response.status_code == 403
        assert response.json()["code"] == "API_PAID_PLAN_REQUIRED"


def test_the_quota_counts_query_credits(make_server):
    server = make_server(monthly_quota=5)
    site = websites(server)[0]["id"]
    question = {"question": "top pages?"}
    for _ in range(2):
        assert call(server, "/usage", key="zv_scale_c").status_code == 200  # 2 used
    assert call(server, f"/query/{site}", key="zv_scale_c", method="POST", json=question
                ).status_code == 200  # 5 used: exactly the quota
    refused = call(server, f"/query/{site}", key="zv_scale_d", method="POST", json=question)
    assert refused.status_code == 200  # another key has its own quota
    refused = call(server, f"/query/{site}", key="zv_scale_c", method="POST", json=question)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "MONTHLY_LIMIT_EXCEEDED"


def test_unknown_websites_are_not_found_on_the_new_endpoints(server):
    for path in ("/anomalies/nope", "/insights/nope", "/retention/nope", "/revenue/nope/ltv",
                 "/heatmaps/nope/pages", "/replays/nope/sessions"):
        assert call(server, path).status_code == 404, path


def test_a_location_fault_answers_307_to_any_location(server):
    server.add_faults([{"status": 307, "location": "http://127.0.0.2:9/steal",
                        "path": "/websites"}])
    response = requests.get(server.base_url + "/websites", headers={"X-API-Key": DEMO_API_KEY},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 307
    assert response.headers["Location"] == "http://127.0.0.2:9/steal"
