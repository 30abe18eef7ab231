"""ZenovayClient against `responses`: envelopes, error mapping, retries, paging, key safety."""

import json

import pytest
import requests
import responses

from zenovay_cli import __version__
from zenovay_cli.client import ZenovayClient, error_for, validate_base_url
from zenovay_cli.errors import (
    AuthError,
    BadRequestError,
    ExitCode,
    InvalidResponseError,
    NetworkError,
    NotFoundError,
    PaidPlanRequiredError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UsageError,
)

BASE = "https://api.example.test/api/external/v1"
KEY = "zv_test_key_123456"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def envelope(data):
    return {"success": True, "data": data, "timestamp": "2026-06-13T00:00:00.000Z"}


def error_body(code, message="boom"):
    return {"success": False, "error": {"code": code, "message": message, "timestamp": "2026-06-13T00:00:00.000Z"}}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(sleeps, waits):
    return ZenovayClient(
        KEY,
        BASE,
        sleep=sleeps.append,
        rand=lambda: 0.0,
        clock=lambda: 1_750_000_000.0,
        on_wait=lambda delay, reason, attempt, attempts: waits.append((delay, reason, attempt, attempts)),
    )


@responses.activate
def test_newest_envelope_is_unwrapped_and_key_and_user_agent_are_sent(client):
    responses.get(f"{BASE}/usage", json=envelope({"subscription": {"tier": "pro"}}))
    assert client.get_usage() == {"subscription": {"tier": "pro"}}
    sent = responses.calls[0].request
    assert sent.headers["X-API-Key"] == KEY
    assert sent.headers["User-Agent"] == f"zenovay-cli/{__version__}"


@responses.activate
def test_old_unwrapped_camelcase_body_is_returned_as_is(client):
    old = {"timeRange": "7d", "totalVisitors": 12, "totalPageViews": 30}
    responses.get(f"{BASE}/analytics/{WID}", json=old)
    assert client.get_analytics(WID) == old


@responses.activate
def test_range_and_paging_parameters_are_sent(client):
    responses.get(f"{BASE}/analytics/{WID}/visitors", json=envelope({"visitors": [], "pagination": {"has_more": False}}))
    client.get_visitors(WID, "30d", limit=50, offset=100)
    assert responses.calls[0].request.params == {"range": "30d", "limit": "50", "offset": "100"}


def test_bad_range_is_a_usage_error_before_any_request(client):
    with pytest.raises(UsageError):
        client.get_analytics(WID, "2w")


@pytest.mark.parametrize(
    "status,body,exc,exit_code",
    [
        (401, error_body("UNAUTHORIZED"), AuthError, ExitCode.AUTH),
        (403, error_body("FORBIDDEN", "Access denied to this website"), AuthError, ExitCode.AUTH),
        (403, {"error": "The Zenovay API requires a paid plan.", "code": "API_PAID_PLAN_REQUIRED"}, PaidPlanRequiredError, ExitCode.AUTH),
        (403, error_body("API_PAID_PLAN_REQUIRED"), PaidPlanRequiredError, ExitCode.AUTH),
        (404, error_body("NOT_FOUND"), NotFoundError, ExitCode.NOT_FOUND),
        (400, error_body("VALIDATION_ERROR"), BadRequestError, ExitCode.USAGE),
        (422, {"error": {"code": "validation_error", "message": "bad", "status": 422, "request_id": "req_abc"}}, BadRequestError, ExitCode.USAGE),
        (429, error_body("MONTHLY_LIMIT_EXCEEDED"), QuotaExceededError, ExitCode.RATE_LIMITED),
    ],
)
@responses.activate
def test_errors_map_status_and_code_to_exit_codes(client, status, body, exc, exit_code, sleeps):
    responses.get(f"{BASE}/websites", json=body, status=status, headers={"x-request-id": "rid-1"})
    with pytest.raises(exc) as info:
        client.list_websites()
    assert info.value.exit_code == exit_code
    assert info.value.request_id == "rid-1"
    assert len(responses.calls) == 1, "not retried"
    assert sleeps == []


def test_old_body_request_id_is_used_when_header_is_missing():
    err = error_for(429, json.dumps({"error": {"code": "rate_limit_exceeded", "message": "slow", "request_id": "req_abc123xyz"}}), {})
    assert isinstance(err, RateLimitError) and err.request_id == "req_abc123xyz" and err.code == "RATE_LIMIT_EXCEEDED"


def test_html_error_page_from_a_proxy_is_described():
    err = error_for(502, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
    assert isinstance(err, ServerError)
    assert "non-JSON (text/html)" in err.message


@responses.activate
def test_5xx_is_retried_with_exponential_backoff_then_succeeds(client, sleeps, waits):
    responses.get(f"{BASE}/usage", json=error_body("INTERNAL"), status=503)
    responses.get(f"{BASE}/usage", json=error_body("INTERNAL"), status=502)
    responses.get(f"{BASE}/usage", json=envelope({"ok": 1}))
    assert client.get_usage() == {"ok": 1}
    assert sleeps == [0.5, 1.0]
    assert [w[2:] for w in waits] == [(1, 4), (2, 4)]


@responses.activate
def test_5xx_gives_up_after_retries_with_exit_1(client, sleeps):
    responses.get(f"{BASE}/usage", json=error_body("INTERNAL"), status=500)
    with pytest.raises(ServerError) as info:
        client.get_usage()
    assert info.value.exit_code == ExitCode.API_FAILURE
    assert len(responses.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert "after 4 attempts" in info.value.message


@responses.activate
def test_429_honours_retry_after_then_succeeds(client, sleeps):
    responses.get(f"{BASE}/usage", json=error_body("RATE_LIMIT_EXCEEDED"), status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/usage", json=envelope({"ok": 1}))
    assert client.get_usage() == {"ok": 1}
    assert sleeps == [7.0]


@responses.activate
def test_429_longer_than_max_wait_fails_at_once_with_exit_6(client, sleeps):
    responses.get(f"{BASE}/usage", json=error_body("RATE_LIMIT_EXCEEDED"), status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError) as info:
        client.get_usage()
    assert info.value.exit_code == ExitCode.RATE_LIMITED
    assert "--max-wait" in info.value.message and "Retry after" in info.value.hint
    assert sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_monthly_quota_fails_at_once_naming_the_reset(client, sleeps):
    responses.get(
        f"{BASE}/usage", json=error_body("MONTHLY_LIMIT_EXCEEDED"), status=429,
        headers={"Retry-After": "5", "X-Usage-Reset": "2026-07-01T00:00:00.000Z"},
    )
    with pytest.raises(QuotaExceededError) as info:
        client.get_usage()
    assert "2026-07-01" in info.value.hint
    assert sleeps == []


@responses.activate
def test_timeouts_and_connection_errors_are_retried(client, sleeps):
    responses.get(f"{BASE}/usage", body=requests.ReadTimeout("slow"))
    responses.get(f"{BASE}/usage", body=requests.ConnectionError("refused"))
    responses.get(f"{BASE}/usage", json=envelope({"ok": 1}))
    assert client.get_usage() == {"ok": 1}
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_connection_failure_after_retries_is_a_network_error(client):
    responses.get(f"{BASE}/usage", body=requests.ConnectionError("refused"))
    with pytest.raises(NetworkError) as info:
        client.get_usage()
    assert info.value.exit_code == ExitCode.API_FAILURE
    assert KEY not in info.value.message


@responses.activate
def test_non_json_success_body_is_an_unusable_response(client):
    responses.get(f"{BASE}/usage", body="<html>captive portal</html>", content_type="text/html")
    with pytest.raises(InvalidResponseError):
        client.get_usage()


@responses.activate
def test_redirect_to_another_origin_is_not_followed_with_the_key(client):
    responses.get(f"{BASE}/usage", status=302, headers={"Location": "https://evil.example.com/steal"})
    with pytest.raises(InvalidResponseError) as info:
        client.get_usage()
    assert "evil.example.com" in info.value.message
    assert len(responses.calls) == 1


@pytest.mark.parametrize("target", [
    "http://api.example.test/api/external/v1/usage",  # same host, plain http: the key in clear
    "https://api.example.test:8443/api/external/v1/usage",  # same host, another port
    "http://api.example.test:443/api/external/v1/usage",  # the same port number, another scheme
    "https://API.example.test.evil.example/api/external/v1/usage",
], ids=["scheme", "port", "scheme-same-port", "host-suffix"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_scheme_port_or_host_is_refused_after_one_request(client, target, status):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{BASE}/usage", status=status, headers={"Location": target})
        rsps.get(target, json=envelope({"stolen": True}))
        with pytest.raises(InvalidResponseError) as info:
            client.get_usage()
        assert [call.request.url for call in rsps.calls] == [f"{BASE}/usage"]
    assert "redirected to another origin" in info.value.message
    assert info.value.exit_code == ExitCode.API_FAILURE
    assert client.requests_sent == 1


@responses.activate
def test_same_origin_redirect_is_followed(client):
    responses.get(f"{BASE}/usage", status=301, headers={"Location": "/api/external/v1/usage2"})
    responses.get("https://api.example.test/api/external/v1/usage2", json=envelope({"ok": 2}))
    assert client.get_usage() == {"ok": 2}
    assert responses.calls[1].request.headers["X-API-Key"] == KEY


@responses.activate
def test_an_explicit_default_port_is_the_same_origin(client):
    responses.get(f"{BASE}/usage", status=307,
                  headers={"Location": "https://api.example.test:443/api/external/v1/usage2"})
    responses.get("https://api.example.test:443/api/external/v1/usage2", json=envelope({"ok": 3}))
    assert client.get_usage() == {"ok": 3}


def redirect_chain(length: int) -> None:
    """/usage -> /r1 -> ... -> /r{length} (same origin), which answers 200."""
    hops = [f"{BASE}/usage"] + [f"{BASE}/r{i}" for i in range(1, length + 1)]
    for here, there in zip(hops, hops[1:]):
        responses.get(here, status=302, headers={"Location": there})
    responses.get(hops[-1], json=envelope({"hops": length}))


@responses.activate
def test_four_redirects_are_followed(client):
    redirect_chain(4)
    assert client.get_usage() == {"hops": 4}
    assert len(responses.calls) == 5


@responses.activate
def test_a_fifth_redirect_is_refused_without_following_it(client):
    responses.assert_all_requests_are_fired = False
    redirect_chain(5)
    with pytest.raises(InvalidResponseError) as info:
        client.get_usage()
    assert info.value.message == "too many redirects from the API"
    assert [c.request.url for c in responses.calls] == [f"{BASE}/usage"] + [f"{BASE}/r{i}" for i in range(1, 5)]


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(UsageError):
        validate_base_url("http://api.zenovay.com/api/external/v1")
    assert validate_base_url("http://127.0.0.1:8765/api/external/v1/") == "http://127.0.0.1:8765/api/external/v1"


def test_missing_key_is_an_auth_error():
    with pytest.raises(AuthError) as info:
        ZenovayClient(None, BASE)
    assert info.value.exit_code == ExitCode.AUTH


def test_repr_never_shows_the_key(client):
    assert KEY not in repr(client)


@responses.activate
def test_visitor_pages_are_followed_until_has_more_is_false(client):
    url = f"{BASE}/analytics/{WID}/visitors"
    responses.get(url, json=envelope({"visitors": [{"id": "v1"}, {"id": "v2"}], "pagination": {"limit": 2, "offset": 0, "has_more": True}}))
    responses.get(url, json=envelope({"visitors": [{"id": "v3"}], "pagination": {"limit": 2, "offset": 2, "has_more": False}}))
    assert [v["id"] for v in client.iter_visitors(WID, page_size=2)] == ["v1", "v2", "v3"]
    assert [c.request.params["offset"] for c in responses.calls] == ["0", "2"]


@responses.activate
def test_empty_page_claiming_more_does_not_loop_forever(client):
    url = f"{BASE}/analytics/{WID}/visitors"
    responses.get(url, json=envelope({"visitors": [], "pagination": {"has_more": True}}))
    assert list(client.iter_visitors(WID)) == []
    assert len(responses.calls) == 1


@responses.activate
def test_website_ids_are_escaped_in_paths(client):
    responses.get(f"{BASE}/websites/..%2F..%2Fusage", json=envelope({"website": {}}))
    client.get_website("../../usage")
    assert responses.calls[0].request.path_url.endswith("/websites/..%2F..%2Fusage")
