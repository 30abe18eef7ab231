"""ZenovayClient with a CacheStore, against `responses`: what is served, stored, refreshed or never kept."""

import json
import os

import pytest
import requests
import responses

from zenovay_cli.cache import CacheStore
from zenovay_cli.client import ZenovayClient
from zenovay_cli.errors import (
    AuthError,
    ExitCode,
    InvalidResponseError,
    NetworkError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)

BASE = "https://api.example.test/api/external/v1"
KEY = "zv_test_key_123456"
OTHER_KEY = "zv_test_key_abcdef"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
ANALYTICS_URL = f"{BASE}/analytics/{WID}"


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def envelope(data):
    return {"success": True, "data": data}


def error_body(code, message="boom"):
    return {"success": False, "error": {"code": code, "message": message}}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def warnings_seen():
    return []


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def store(cache_dir, clock, warnings_seen):
    return CacheStore(cache_dir, clock=clock, on_warning=warnings_seen.append)


@pytest.fixture
def make_client(store, warnings_seen):
    def make(api_key=KEY, **kw):
        kw.setdefault("cache", store)
        return ZenovayClient(
            api_key,
            BASE,
            retries=kw.pop("retries", 0),
            sleep=lambda s: None,
            rand=lambda: 0.0,
            on_cache_warning=warnings_seen.append,
            **kw,
        )

    return make


def entries(directory) -> list:
    return sorted(n for n in os.listdir(directory) if n.endswith(".json")) if directory.exists() else []


def add_analytics(visitors, status=200, body=None, **kw):
    responses.add(
        responses.GET,
        ANALYTICS_URL,
        json=body if body is not None else envelope({"summary": {"total_visitors": visitors}}),
        status=status,
        **kw,
    )


def visitors_of(data) -> int:
    return data["summary"]["total_visitors"]


@responses.activate
def test_second_identical_call_is_served_from_the_cache(make_client):
    add_analytics(10)
    add_analytics(99)
    first = make_client().get_analytics(WID, "7d")
    second = make_client().get_analytics(WID, "7d")
    assert visitors_of(first) == visitors_of(second) == 10
    assert len(responses.calls) == 1


@responses.activate
def test_a_cache_hit_never_opens_an_http_session(make_client):
    add_analytics(10)
    make_client().get_analytics(WID, "7d")
    client = make_client()
    client.get_analytics(WID, "7d")
    assert client._session is None and client.requests_sent == 0


@responses.activate
def test_different_query_is_a_different_entry(make_client):
    add_analytics(10)
    add_analytics(30)
    client = make_client()
    assert visitors_of(client.get_analytics(WID, "7d")) == 10
    assert visitors_of(client.get_analytics(WID, "30d")) == 30
    assert len(responses.calls) == 2
    assert responses.calls[1].request.params == {"range": "30d"}


@responses.activate
def test_entry_expires_after_its_ttl(make_client, clock):
    add_analytics(10)
    add_analytics(11)
    make_client().get_analytics(WID)
    clock.now += 299
    assert visitors_of(make_client().get_analytics(WID)) == 10
    clock.now += 2  # analytics overview: 5 minutes
    assert visitors_of(make_client().get_analytics(WID)) == 11
    assert len(responses.calls) == 2


@responses.activate
def test_ttl_override_from_config_shortens_or_disables_caching(make_client, clock, cache_dir):
    add_analytics(10)
    add_analytics(11)
    add_analytics(12)
    make_client(ttl_overrides={"analytics": 5}).get_analytics(WID)
    clock.now += 6
    assert visitors_of(make_client(ttl_overrides={"analytics": 5}).get_analytics(WID)) == 11
    assert visitors_of(make_client(ttl_overrides={"analytics": 0}).get_analytics(WID)) == 12
    assert len(responses.calls) == 3


@responses.activate
def test_refresh_fetches_again_and_stores_the_new_answer(make_client):
    add_analytics(10)
    add_analytics(20)
    make_client().get_analytics(WID)
    assert visitors_of(make_client(cache_mode="refresh").get_analytics(WID)) == 20
    assert visitors_of(make_client().get_analytics(WID)) == 20
    assert len(responses.calls) == 2


@responses.activate
def test_cache_off_neither_reads_nor_writes(make_client, cache_dir):
    add_analytics(10)
    add_analytics(20)
    assert visitors_of(make_client(cache_mode="off").get_analytics(WID)) == 10
    assert entries(cache_dir) == []
    make_client().get_analytics(WID)  # stores 20
    assert visitors_of(make_client(cache_mode="off").get_analytics(WID)) == 20
    assert len(responses.calls) == 3


@responses.activate
def test_each_api_key_has_its_own_entries_and_no_key_reaches_disk(make_client, cache_dir):
    add_analytics(10)
    add_analytics(20)
    assert visitors_of(make_client(KEY).get_analytics(WID)) == 10
    assert visitors_of(make_client(OTHER_KEY).get_analytics(WID)) == 20
    assert visitors_of(make_client(KEY).get_analytics(WID)) == 10
    assert visitors_of(make_client(OTHER_KEY).get_analytics(WID)) == 20
    assert [c.request.headers["X-API-Key"] for c in responses.calls] == [KEY, OTHER_KEY]
    on_disk = b"".join((cache_dir / name).read_bytes() for name in entries(cache_dir))
    assert KEY.encode() not in on_disk and OTHER_KEY.encode() not in on_disk


@responses.activate
def test_usage_is_never_cached_even_with_an_override(make_client, cache_dir):
    for n in (1, 2, 3):
        responses.add(responses.GET, f"{BASE}/usage", json=envelope({"used": n}))
    client = make_client(ttl_overrides={"analytics": 600})
    assert [client.get_usage()["used"] for _ in range(3)] == [1, 2, 3]
    assert entries(cache_dir) == []


@pytest.mark.parametrize(
    ("status", "code", "exc"),
    [
        (500, "INTERNAL_ERROR", ServerError),
        (503, "SERVICE_UNAVAILABLE", ServerError),
        (404, "NOT_FOUND", NotFoundError),
        (401, "INVALID_API_KEY", AuthError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
        (429, "MONTHLY_LIMIT_EXCEEDED", QuotaExceededError),
    ],
)
@responses.activate
def test_errors_and_429s_are_never_stored(make_client, cache_dir, status, code, exc):
    add_analytics(0, status=status, body=error_body(code), headers={"Retry-After": "0"})
    add_analytics(10)
    with pytest.raises(exc):
        make_client().get_analytics(WID)
    assert entries(cache_dir) == []
    assert visitors_of(make_client().get_analytics(WID)) == 10
    assert len(responses.calls) == 2


@responses.activate
def test_success_after_a_retried_429_is_stored(make_client):
    add_analytics(0, status=429, body=error_body("RATE_LIMIT_EXCEEDED"), headers={"Retry-After": "1"})
    add_analytics(10)
    assert visitors_of(make_client(retries=1).get_analytics(WID)) == 10
    assert visitors_of(make_client(retries=1).get_analytics(WID)) == 10
    assert len(responses.calls) == 2


@responses.activate
def test_envelope_reporting_failure_is_not_stored(make_client, cache_dir):
    add_analytics(0, body={"success": False, "error": {"code": "X", "message": "no"}})
    with pytest.raises(InvalidResponseError, match="the API reported a failure: no") as info:
        make_client().get_analytics(WID)
    assert info.value.exit_code == ExitCode.API_FAILURE
    assert entries(cache_dir) == []


def _expire_entry(make_client, clock):
    add_analytics(10)
    make_client().get_analytics(WID)
    clock.now += 3 * 3600  # three hours later: long expired


@pytest.mark.parametrize(
    ("failure", "exc"),
    [
        ({"status": 503, "json": error_body("SERVICE_UNAVAILABLE")}, ServerError),
        ({"status": 429, "json": error_body("RATE_LIMIT_EXCEEDED")}, RateLimitError),
        ({"body": requests.ConnectionError("refused")}, NetworkError),
    ],
    ids=["5xx", "429", "connection"],
)
@responses.activate
def test_stale_ok_serves_an_expired_entry_when_the_api_keeps_failing(
    make_client, clock, warnings_seen, failure, exc
):
    _expire_entry(make_client, clock)
    for _ in range(3):
        responses.add(responses.GET, ANALYTICS_URL, **failure)

    with pytest.raises(exc) as info:
        make_client(retries=1).get_analytics(WID)
    assert "--stale-ok would serve it" in info.value.hint
    assert "3 h ago" in info.value.hint

    data = make_client(stale_ok=True).get_analytics(WID)
    assert visitors_of(data) == 10
    assert len(warnings_seen) == 1
    assert "stored 3 h ago" in warnings_seen[0] and "--stale-ok" in warnings_seen[0]


@responses.activate
def test_stale_ok_without_an_entry_still_fails_and_promises_nothing(make_client):
    add_analytics(0, status=503, body=error_body("SERVICE_UNAVAILABLE"))
    with pytest.raises(ServerError) as info:
        make_client(stale_ok=True).get_analytics(WID)
    assert "stale" not in (info.value.hint or "")


@responses.activate
def test_stale_ok_does_not_hide_a_rejected_key(make_client, clock):
    _expire_entry(make_client, clock)
    add_analytics(0, status=401, body=error_body("INVALID_API_KEY"))
    with pytest.raises(AuthError):
        make_client(stale_ok=True).get_analytics(WID)


@responses.activate
def test_a_stale_answer_is_not_stored_again_as_fresh(make_client, clock, store, cache_dir):
    _expire_entry(make_client, clock)
    add_analytics(0, status=503, body=error_body("SERVICE_UNAVAILABLE"))
    make_client(stale_ok=True).get_analytics(WID)
    (name,) = entries(cache_dir)
    assert not store.get(name.removesuffix(".json")).fresh


@responses.activate
def test_damaged_entry_falls_back_to_the_api_with_one_warning(make_client, cache_dir, warnings_seen):
    add_analytics(10)
    add_analytics(20)
    make_client().get_analytics(WID)
    (name,) = entries(cache_dir)
    (cache_dir / name).write_bytes(b"\x00garbage{")
    assert visitors_of(make_client().get_analytics(WID)) == 20
    assert len(warnings_seen) == 1 and "damaged" in warnings_seen[0]
    assert json.loads((cache_dir / name).read_bytes())["value"]["summary"]["total_visitors"] == 20


@responses.activate
def test_unusable_cache_folder_still_answers_with_one_warning(tmp_path, clock, warnings_seen):
    (tmp_path / "cache").write_text("a file where the folder should be")
    store = CacheStore(tmp_path / "cache", clock=clock, on_warning=warnings_seen.append)
    add_analytics(10)
    add_analytics(20)
    client = ZenovayClient(KEY, BASE, retries=0, cache=store, on_cache_warning=warnings_seen.append)
    assert visitors_of(client.get_analytics(WID)) == 10
    assert visitors_of(client.get_analytics(WID)) == 20
    assert len(warnings_seen) == 1 and "cache disabled" in warnings_seen[0]


@responses.activate
def test_full_disk_still_answers_with_one_warning(make_client, monkeypatch, warnings_seen):
    import errno

    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    add_analytics(10)
    add_analytics(20)
    client = make_client()
    assert visitors_of(client.get_analytics(WID)) == 10
    assert visitors_of(client.get_analytics(WID)) == 20
    monkeypatch.setattr(os, "write", real_write)
    assert len(warnings_seen) == 1 and "no space" in warnings_seen[0]
