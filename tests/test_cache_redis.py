"""The Redis cache store against a real redis-server: same answers as the file cache, shared
between hosts, clock from Redis, and the one-warning fallback to the host's own cache."""

import json
import socket
import sys
import threading

import pytest

from zenovay_cli.cache import CacheStore, make_key
from zenovay_cli.cache_redis import STALE_KEEP, RedisCacheStore
from zenovay_cli.errors import AuthError, UsageError
from zenovay_cli.redislink import RedisConfig, RedisLink, mask_url

BASE = "https://api.example.test/api/external/v1"


def store_for(url, tmp_path, warnings, name="local"):
    link = RedisLink(RedisConfig.parse(url), on_warning=warnings.append)
    local = CacheStore(tmp_path / name, on_warning=warnings.append)
    return RedisCacheStore(link, local, on_warning=warnings.append), local


def test_two_hosts_share_an_answer_and_two_keys_never_do(redis_server, tmp_path):
    warnings = []
    host_a, _ = store_for(redis_server.url, tmp_path, warnings, "a")
    host_b, local_b = store_for(redis_server.url, tmp_path, warnings, "b")
    key1 = make_key(BASE, "/analytics/w1", {"range": "7d"}, "zv_key_one_123456")
    key2 = make_key(BASE, "/analytics/w1", {"range": "7d"}, "zv_key_two_123456")
    assert host_a.set(key1, {"visitors": 41}, 300, meta={"path": "/analytics/w1"})
    entry = host_b.get(key1)
    assert entry is not None and entry.value == {"visitors": 41} and entry.fresh
    assert entry.meta == {"path": "/analytics/w1"}
    assert host_b.get(key2) is None  # another API key: another entry
    assert local_b.get(key1) is None  # served from Redis, not from host B's disk
    assert warnings == []
    # The API key appears in no Redis key or value.
    r = redis_server.client()
    for rkey in r.keys("*"):
        assert b"zv_key_one" not in rkey and b"zv_key_one" not in r.get(rkey)
    assert r.keys("*") == [b"zenovay:cache:" + key1.encode()]


def test_freshness_follows_redis_clock_and_expired_entries_serve_stale(redis_server, tmp_path):
    warnings = []
    store, _ = store_for(redis_server.url, tmp_path, warnings)
    key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
    store.set(key, [1, 2, 3], 300)
    r = redis_server.client()
    rkey = "zenovay:cache:" + key
    assert r.pttl(rkey) > STALE_KEEP * 1000 + 299_000
    # 250 s later by Redis's clock: still fresh, age about 250 s.
    r.pexpire(rkey, int((STALE_KEEP + 50) * 1000))
    entry = store.get(key)
    assert entry.fresh and 249 <= entry.age <= 251
    # Past its TTL: still there (for --stale-ok) but not fresh.
    r.pexpire(rkey, int((STALE_KEEP - 10) * 1000))
    entry = store.get(key)
    assert entry is not None and not entry.fresh and entry.value == [1, 2, 3]
    assert 309 <= entry.age <= 311
    info = store.info()
    assert (info["entries"], info["expired"], info["path"]) == (1, 1, redis_server.url)
    assert store.prune() == 1 and store.get(key) is None


def test_damaged_entry_is_removed_with_one_warning(redis_server, tmp_path):
    warnings = []
    store, _ = store_for(redis_server.url, tmp_path, warnings)
    r = redis_server.client()
    keys = [make_key(BASE, f"/pages/w{i}", None, "zv_key_one_123456") for i in range(2)]
    for key in keys:
        r.set("zenovay:cache:" + key, b"{not json", px=60_000)
    assert store.get(keys[0]) is None and store.get(keys[1]) is None
    assert r.keys("*") == []
    assert len(warnings) == 1 and "damaged" in warnings[0]


def test_clear_removes_only_this_prefix(redis_server, tmp_path):
    warnings = []
    store, _ = store_for(redis_server.url, tmp_path, warnings)
    r = redis_server.client()
    r.set("someone-else:cache:x", b"1")
    for i in range(3):
        store.set(make_key(BASE, f"/pages/w{i}", None, "zv_key_one_123456"), i, 60)
    assert store.info()["entries"] == 3
    assert store.clear() == 3
    assert r.keys("*") == [b"someone-else:cache:x"]


def test_custom_prefix(redis_server, tmp_path):
    link = RedisLink(RedisConfig.parse(redis_server.url, prefix="team7:"))
    store = RedisCacheStore(link, CacheStore(tmp_path / "c"))
    key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
    store.set(key, 1, 60)
    assert redis_server.client().keys("*") == [b"team7:cache:" + key.encode()]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_warns_once_and_uses_the_host_cache(tmp_path):
    warnings = []
    url = f"redis://:s3cret-pw@127.0.0.1:{closed_port()}/0"
    store, local = store_for(url, tmp_path, warnings)
    key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
    assert store.set(key, {"a": 1}, 60)  # written to the host's own cache instead
    assert local.get(key).value == {"a": 1}
    assert store.get(key).value == {"a": 1}
    assert store.info()["entries"] == 1
    assert len(warnings) == 1
    assert "not usable" in warnings[0] and "s3cret-pw" not in warnings[0]


def test_a_server_answering_garbage_is_a_fault_not_a_crash(tmp_path):
    """Something that is not Redis on the port (here: a server that answers HTTP)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n<html>")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        warnings = []
        store, _ = store_for(f"redis://127.0.0.1:{port}/0", tmp_path, warnings)
        key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
        assert store.get(key) is None
        assert store.set(key, 1, 60) is True
        assert len(warnings) == 1
    finally:
        listener.close()


def test_wrong_password_is_an_auth_error_naming_no_password(tmp_path):
    from tests.redis_server import RedisServer

    directory = tmp_path / "r"
    directory.mkdir()
    server = RedisServer(directory, password="right-pw").start()
    try:
        url = f"redis://:wrong-pw@127.0.0.1:{server.port}/0"
        store, _ = store_for(url, tmp_path, [])
        with pytest.raises(AuthError) as exc:
            store.get(make_key(BASE, "/pages/w1", None, "zv_key_one_123456"))
        assert exc.value.exit_code == 4
        assert "wrong-pw" not in exc.value.message + exc.value.hint
        assert "password" in exc.value.hint
        # and the right password works
        ok, _ = store_for(server.url, tmp_path, [])
        assert ok.set(make_key(BASE, "/pages/w1", None, "zv_key_one_123456"), 1, 60)
    finally:
        server.stop()


def test_missing_package_is_a_usage_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    store, _ = store_for("redis://127.0.0.1:6379/0", tmp_path, [])
    with pytest.raises(UsageError) as exc:
        store.get(make_key(BASE, "/pages/w1", None, "zv_key_one_123456"))
    assert exc.value.exit_code == 2
    assert "zenovay-cli[redis]" in exc.value.hint


@pytest.mark.parametrize(
    "url, word",
    [
        ("http://localhost:6379", "redis://"),
        ("redis://", "host"),
        ("redis://host:99999/0", "port"),
        ("unix://", "socket"),
        ("", "redis://"),
    ],
)
def test_bad_urls_are_usage_errors(url, word):
    with pytest.raises(UsageError) as exc:
        RedisConfig.parse(url, source="ZENOVAY_REDIS_URL")
    assert "ZENOVAY_REDIS_URL" in exc.value.message and word in exc.value.message + (exc.value.hint or "")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("rediss://user:pa%40ss@h:6380/2", "rediss://user:***@h:6380/2"),
        ("redis://h:1/0", "redis://h:1/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        # redis-py also reads the password from the query string
        ("redis://h:1/0?password=s3cret", "redis://h:1/0?password=***"),
        ("redis://h:1/0?db=2&PassWord=s3cret&socket_timeout=1", "redis://h:1/0?db=2&PassWord=***&socket_timeout=1"),
        ("redis://h:1/0?pass%77ord=s3cret", "redis://h:1/0?pass%77ord=***"),
        ("redis://:a@h:1/0?password=b", "redis://:***@h:1/0?password=***"),
        ("unix:///run/redis.sock?password=s3cret", "unix:///run/redis.sock?password=***"),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_values_are_the_file_cache_documents(redis_server, tmp_path):
    store, _ = store_for(redis_server.url, tmp_path, [])
    key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
    store.set(key, {"x": "é"}, 60, meta={"path": "/pages/w1"})
    doc = json.loads(redis_server.client().get("zenovay:cache:" + key))
    assert set(doc) == {"v", "stored_at", "expires_at", "meta", "value"}
    assert doc["value"] == {"x": "é"} and doc["expires_at"] - doc["stored_at"] == 60


def test_a_unix_socket_url_works(tmp_path):
    """unix:///path/to/redis.sock, as many servers are set up."""
    import shutil
    import subprocess
    import time

    from tests.redis_server import require_redis_server

    binary = require_redis_server()
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--dir", str(tmp_path),
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        warnings = []
        store, local = store_for(f"unix://{sock}", tmp_path, warnings)
        key = make_key(BASE, "/pages/w1", None, "zv_key_one_123456")
        assert store.set(key, {"a": 1}, 60)
        assert store.get(key).value == {"a": 1}
        assert local.get(key) is None and warnings == []  # it went to Redis, not the disk
    finally:
        proc.kill()
        proc.wait(timeout=5)
    assert shutil.which(binary)
