"""The Redis lock and the shared alert state, against a real redis-server."""

import json
import socket

from zenovay_cli.redis_shared import RedisAlertState, RedisLock
from zenovay_cli.redislink import RedisConfig, RedisLink


def link(url, warnings=None):
    return RedisLink(RedisConfig.parse(url), on_warning=(warnings.append if warnings is not None else None))


def test_only_one_holder_and_only_the_owner_releases(redis_server):
    a = RedisLock(link(redis_server.url), "export:/var/lib/zenovay")
    b = RedisLock(link(redis_server.url), "export:/var/lib/zenovay")
    other = RedisLock(link(redis_server.url), "export:/srv/other")
    assert a.try_acquire() is True
    assert b.try_acquire() is False
    assert other.try_acquire() is True  # another name, another lock
    b.held = True  # even a confused non-owner cannot release a lock it does not hold
    b.release()
    assert RedisLock(link(redis_server.url), "export:/var/lib/zenovay").try_acquire() is False
    a.release()
    assert b.try_acquire() is True
    b.release()


def test_a_crashed_owners_lock_expires(redis_server):
    a = RedisLock(link(redis_server.url), "x", ttl=0.2)
    assert a.try_acquire() is True
    b = RedisLock(link(redis_server.url), "x")
    waited = []
    now = [0.0]

    def sleep(s):
        import time

        waited.append(s)
        time.sleep(s)
        now[0] += s

    assert b.acquire(wait=5, poll=0.1, sleep=sleep, clock=lambda: now[0]) is True
    assert 0.1 <= sum(waited) <= 1.0


def test_waiting_gives_up_at_the_deadline(redis_server):
    a = RedisLock(link(redis_server.url), "x")
    assert a.try_acquire()
    now = [0.0]
    b = RedisLock(link(redis_server.url), "x")
    assert b.acquire(wait=1.0, poll=0.25, sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0]) is False
    assert now[0] == 1.0
    assert 590 < a.holder_ttl() <= 600


def test_lock_names_from_outside_are_hashed(redis_server):
    RedisLock(link(redis_server.url), "export:/tmp/évil path\n*").try_acquire()
    (key,) = redis_server.client().keys("*")
    assert key.startswith(b"zenovay:lock:") and len(key) == len("zenovay:lock:") + 32


def test_redis_down_means_no_lock_and_one_warning():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    warnings = []
    lock = RedisLock(link(f"redis://127.0.0.1:{port}/0", warnings), "x")
    assert lock.try_acquire() is None
    assert lock.acquire(wait=5) is None
    lock.release()
    assert len(warnings) == 1


def parse(raw, where):
    if not raw:
        return {"version": 1, "alerts": {}}, None
    return json.loads(raw), None


def test_alert_state_is_shared_per_key_and_state_name(redis_server):
    host_a = RedisAlertState(link(redis_server.url), "fp1", "default")
    host_b = RedisAlertState(link(redis_server.url), "fp1", "default")
    other_key = RedisAlertState(link(redis_server.url), "fp2", "default")
    other_name = RedisAlertState(link(redis_server.url), "fp1", "shop.json")
    assert host_b.load(parse) == ({"version": 1, "alerts": {}}, None)
    with host_a.locked() as held:
        assert held
        assert host_b.lock.try_acquire() is False  # B waits while A sends
        host_a.save({"version": 1, "alerts": {"abc": {"state": "firing"}}})
    assert host_b.load(parse)[0]["alerts"] == {"abc": {"state": "firing"}}
    assert other_key.load(parse)[0]["alerts"] == {}
    assert other_name.load(parse)[0]["alerts"] == {}
    with host_b.locked() as held:
        assert held  # A released it


def test_alert_state_when_redis_is_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = RedisAlertState(link(f"redis://127.0.0.1:{port}/0", []), "fp1", "default")
    with state.locked() as held:
        assert held is False
        assert state.load(parse) is None
        assert state.save({"version": 1, "alerts": {}}) is False


def test_keep_alive_holds_a_lock_past_its_ttl_until_stopped(redis_server):
    import time

    a = RedisLock(link(redis_server.url), "long-export", ttl=0.3)
    assert a.try_acquire()
    stop = a.keep_alive()
    time.sleep(0.9)  # three ttls: without renewal it would have expired
    assert RedisLock(link(redis_server.url), "long-export").try_acquire() is False
    stop()
    time.sleep(0.5)
    assert RedisLock(link(redis_server.url), "long-export").try_acquire() is True
