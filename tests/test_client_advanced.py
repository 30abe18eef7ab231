"""ZenovayClient on the endpoints added in 2026 (against `responses`): parameters, paging, POST
/query, plan hints on 403, and what is (not) cached or retried."""

import json

import pytest
import responses

from zenovay_cli.cache import CacheStore
from zenovay_cli.client import ZenovayClient
from zenovay_cli.errors import (
    AuthError,
    ExitCode,
    InvalidResponseError,
    NetworkError,
    PaidPlanRequiredError,
    ServerError,
    UsageError,
)

BASE = "https://api.example.test/api/external/v1"
KEY = "zv_test_key_123456"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def envelope(data):
    return {"success": True, "data": data, "timestamp": "2026-06-13T00:00:00.000Z"}


def forbidden(message="Forbidden"):
    return {"success": False, "error": {"code": "FORBIDDEN", "message": message,
                                        "timestamp": "2026-06-13T00:00:00.000Z"}}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return ZenovayClient(KEY, BASE, sleep=sleeps.append, rand=lambda: 0.0,
                         clock=lambda: 1_750_000_000.0)


@responses.activate
def test_anomaly_filters_become_query_parameters(client):
    responses.get(f"{BASE}/anomalies/{WID}", json=envelope({"anomalies": []}))
    client.get_anomalies(WID, range="30d", severity="critical", metric="visitors",
                         resolved=False, limit=10, offset=20)
    assert responses.calls[0].request.params == {
        "range": "30d", "severity": "critical", "metric": "visitors", "resolved": "false",
        "limit": "10", "offset": "20"}


@pytest.mark.parametrize("call", [
    lambda c: c.get_anomalies(WID, range="1y"),
    lambda c: c.get_anomalies(WID, severity="high"),
    lambda c: c.get_anomalies(WID, limit=201),
    lambda c: c.get_insights(WID, type="guess"),
    lambda c: c.get_retention(WID, periods=13),
    lambda c: c.get_retention(WID, periods=0),
    lambda c: c.get_retention(WID, granularity="yearly"),
    lambda c: c.get_revenue_ltv(WID, granularity="daily"),
    lambda c: c.get_heatmap_pages(WID, limit=101),
    lambda c: c.get_replay_sessions(WID, offset=-1),
    lambda c: c.query(WID, ""),
    lambda c: c.query(WID, "x" * 501),
    lambda c: c.query(WID, "q", compare_to="last_week"),
])
@responses.activate
def test_bad_values_are_usage_errors_before_any_request(client, call):
    with pytest.raises(UsageError) as info:
        call(client)
    assert info.value.exit_code == ExitCode.USAGE
    assert len(responses.calls) == 0


@responses.activate
def test_replay_paging_follows_has_more_with_offsets(client):
    pages = [([{"id": "sr_1"}, {"id": "sr_2"}], True), ([{"id": "sr_3"}], False)]
    for items, more in pages:
        responses.get(f"{BASE}/replays/{WID}/sessions", json=envelope(
            {"sessions": items, "pagination": {"limit": 2, "offset": 0, "has_more": more}}))
    got = [s["id"] for page in client.iter_replay_pages(WID, page_size=2)
           for s in page["sessions"]]
    assert got == ["sr_1", "sr_2", "sr_3"]
    assert [c.request.params["offset"] for c in responses.calls] == ["0", "2"]


@responses.activate
def test_an_empty_page_claiming_more_ends_the_paging(client):
    responses.get(f"{BASE}/anomalies/{WID}", json=envelope(
        {"anomalies": [], "pagination": {"has_more": True}}))
    assert len(list(client.iter_anomaly_pages(WID))) == 1


@responses.activate
def test_query_posts_json_with_the_key_and_is_not_cached(tmp_path):
    cache = CacheStore(tmp_path)
    client = ZenovayClient(KEY, BASE, cache=cache)
    responses.post(f"{BASE}/query/{WID}", json=envelope({"intent": "x"}))
    for _ in range(2):
        assert client.query(WID, "top pages?", time_range="30d",
                            compare_to="previous_period") == {"intent": "x"}
    assert len(responses.calls) == 2, "a POST is never served from the cache"
    sent = responses.calls[0].request
    assert sent.method == "POST" and sent.headers["X-API-Key"] == KEY
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"question": "top pages?", "context": {
        "time_range": "30d", "compare_to": "previous_period"}}
    assert list(tmp_path.rglob("*.json")) == []


@responses.activate
def test_new_gets_are_cached_with_their_own_ttl(tmp_path):
    client = ZenovayClient(KEY, BASE, cache=CacheStore(tmp_path))
    responses.get(f"{BASE}/retention/{WID}", json=envelope({"cohorts": []}))
    client.get_retention(WID)
    client.get_retention(WID)
    assert len(responses.calls) == 1


@responses.activate
def test_a_pro_key_on_query_gets_exit_4_and_a_hint_naming_scale(client):
    responses.post(f"{BASE}/query/{WID}", json=forbidden(), status=403)
    with pytest.raises(AuthError) as info:
        client.query(WID, "why?")
    assert info.value.exit_code == ExitCode.AUTH
    assert "Scale plan" in info.value.hint
    assert len(responses.calls) == 1


@responses.activate
def test_a_free_key_on_anomalies_gets_the_paid_plan_hint_naming_pro(client):
    responses.get(f"{BASE}/anomalies/{WID}", status=403, json={
        "error": "The Zenovay API requires a paid plan.", "code": "API_PAID_PLAN_REQUIRED"})
    with pytest.raises(PaidPlanRequiredError) as info:
        client.get_anomalies(WID)
    assert info.value.exit_code == ExitCode.AUTH and "Pro" in info.value.hint


@responses.activate
def test_a_403_on_an_ungated_endpoint_keeps_the_scope_hint(client):
    responses.get(f"{BASE}/heatmaps/{WID}/pages", json=forbidden("Access denied"), status=403)
    with pytest.raises(AuthError) as info:
        client.get_heatmap_pages(WID)
    assert "scope" in info.value.hint and "plan or higher" not in info.value.hint


@responses.activate
def test_a_post_is_not_retried_after_a_server_error(client, sleeps):
    responses.post(f"{BASE}/query/{WID}", json={"success": False}, status=503)
    with pytest.raises(ServerError):
        client.query(WID, "q")
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_post_refused_with_429_is_retried(client, sleeps):
    responses.post(f"{BASE}/query/{WID}", status=429, headers={"Retry-After": "2"}, json={
        "success": False, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}})
    responses.post(f"{BASE}/query/{WID}", json=envelope({"intent": "ok"}))
    assert client.query(WID, "q") == {"intent": "ok"}
    assert sleeps == [2.0]


@responses.activate
def test_a_post_redirect_to_another_origin_is_not_followed(client):
    responses.post(f"{BASE}/query/{WID}", status=307,
                   headers={"Location": "https://evil.example/steal"})
    with pytest.raises(InvalidResponseError) as info:
        client.query(WID, "q")
    assert "another origin (https://evil.example:443)" in info.value.message
    assert len(responses.calls) == 1


def test_a_post_connection_failure_is_not_retried(sleeps):
    client = ZenovayClient(KEY, "http://127.0.0.1:9/api/external/v1", sleep=sleeps.append)
    with pytest.raises(NetworkError):
        client.query(WID, "q")
    assert sleeps == []


@responses.activate
def test_the_last_answers_headers_are_kept_for_doctor(client):
    responses.get(f"{BASE}/usage", json=envelope({}), headers={
        "X-Usage-Monthly": "12", "Date": "Wed, 02 Dec 2026 02:00:00 GMT"})
    client.get_usage()
    assert client.last_headers["X-Usage-Monthly"] == "12"
    assert client.last_headers["Date"] == "Wed, 02 Dec 2026 02:00:00 GMT"
