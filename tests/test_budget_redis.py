"""The rate budget's shared state on a real redis-server: several hosts, one budget, one clock."""

import json
import socket
import threading
import time

import pytest

from zenovay_cli.budget_redis import RedisBudgetStore
from zenovay_cli.ledger import open_ledger
from zenovay_cli.ratelimit import BudgetState, LedgerUnavailable, RateBudget
from zenovay_cli.redislink import RedisConfig, RedisLink


def store(url, *, skew=0.0, warnings=None, fallback=None, window=2.0, fp="fp1"):
    link = RedisLink(RedisConfig.parse(url), on_warning=(warnings.append if warnings is not None else None))
    return RedisBudgetStore(link, fp, window, local_clock=lambda: time.time() + skew, fallback=fallback)


def budget(st, limit, window=2.0, sleep=time.sleep):
    return RateBudget(limit, ledger=st, clock=st.clock, window=window, sleep=sleep)


class WouldWait(Exception):
    pass


def refuse_to_wait(seconds):
    raise WouldWait(seconds)


def test_hosts_share_one_window(redis_server):
    """Three hosts' sends together never exceed the limit in any window of the budget's length."""
    limit, window, per_host = 6, 1.5, 5
    sent: list[float] = []
    lock = threading.Lock()
    hosts = [budget(store(redis_server.url, window=window), limit, window) for _ in range(3)]

    def work(b):
        for _ in range(per_host):
            at = b.acquire()
            with lock:
                sent.append(at)

    threads = [threading.Thread(target=work, args=(b,)) for b in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sent.sort()
    assert len(sent) == 3 * per_host
    for i, start in enumerate(sent):  # every sliding window starting at a send
        inside = [t for t in sent[i:] if t < start + window]
        assert len(inside) <= limit - 1, (start, inside)  # one send of headroom from 4 on
    # and the work took at least the windows it needed: 15 sends at 5 per window
    assert sent[-1] - sent[0] >= 2 * window - 0.1


def test_one_clock_whatever_the_hosts_clocks_say(redis_server):
    """Host B's clock is 100 s ahead; it still sees host A's sends as just made."""
    host_a = budget(store(redis_server.url, skew=0.0), 10, window=60.0)
    for _ in range(9):  # 10 - 1 headroom: host A spends the window
        host_a.acquire()
    host_b = budget(store(redis_server.url, skew=100.0), 10, window=60.0, sleep=refuse_to_wait)
    with pytest.raises(WouldWait) as waited:
        host_b.acquire()
    # the burst weighs on the weighted estimate until 60 + 60/9 s (see ratelimit.py)
    assert 50 < waited.value.args[0] <= 70


def test_a_429_pause_reaches_every_host(redis_server):
    host_a = budget(store(redis_server.url), 100, window=60.0)
    host_a.acquire()
    host_a.pause(30)
    host_b = budget(store(redis_server.url), 100, window=60.0, sleep=refuse_to_wait)
    with pytest.raises(WouldWait) as waited:
        host_b.acquire()
    assert 28 < waited.value.args[0] <= 30.5


def test_different_keys_have_different_budgets(redis_server):
    host_a = budget(store(redis_server.url, fp="key-one"), 10, window=60.0)
    for _ in range(9):
        host_a.acquire()
    other = budget(store(redis_server.url, fp="key-two"), 10, window=60.0, sleep=refuse_to_wait)
    other.acquire()  # no wait: its own budget
    keys = sorted(redis_server.client().keys("zenovay:budget:*"))
    assert keys == [b"zenovay:budget:key-one", b"zenovay:budget:key-two"]
    ttl = redis_server.client().pttl("zenovay:budget:key-one")
    assert 0 < ttl <= 125_000  # gone two windows after the last write


def test_garbage_in_redis_is_a_fresh_state_not_a_crash(redis_server):
    redis_server.client().hset("zenovay:budget:fp1", mapping={"rev": "7", "state": b"\xff{not json"})
    b = budget(store(redis_server.url), 10, window=60.0, sleep=refuse_to_wait)
    b.acquire()
    doc = json.loads(redis_server.client().hget("zenovay:budget:fp1", "state"))
    assert len(doc["sends"]) == 1


def test_a_key_of_the_wrong_type_is_a_fault_with_one_warning_not_a_crash(redis_server, tmp_path):
    redis_server.client().set("zenovay:budget:fp1", b"a string, not a hash")
    warnings = []
    local = open_ledger(tmp_path, "zv_key_for_the_test_123", "http://x")
    b = budget(store(redis_server.url, warnings=warnings, fallback=local), 10, window=60.0,
               sleep=refuse_to_wait)
    b.acquire()
    b.acquire()
    assert len(warnings) == 1


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_uses_the_per_host_ledger_with_one_warning(tmp_path):
    warnings = []
    local = open_ledger(tmp_path, "zv_key_for_the_test_123", "http://x")
    down = store(f"redis://127.0.0.1:{closed_port()}/0", warnings=warnings, fallback=local)
    b = budget(down, 10, window=60.0, sleep=refuse_to_wait)
    for _ in range(3):
        b.acquire()
    assert len(warnings) == 1 and "Redis" in warnings[0]
    # the sends went to this host's ledger, where another process of this host sees them
    seen = open_ledger(tmp_path, "zv_key_for_the_test_123", "http://x").transact(lambda s: list(s.sends))
    assert len(seen) == 3


def test_redis_down_without_a_fallback_is_ledger_unavailable():
    down = store(f"redis://127.0.0.1:{closed_port()}/0", warnings=[])
    with pytest.raises(LedgerUnavailable):
        down.transact(lambda state: None)


def test_transactions_retry_when_another_host_writes_in_between(redis_server):
    st = store(redis_server.url)
    other = redis_server.client()
    calls = []

    st.transact(lambda state: None)  # this host has seen revision 1

    def change(state: BudgetState):
        calls.append(1)
        if len(calls) == 1:  # another host commits while this one is deciding
            other.hset("zenovay:budget:fp1", mapping={
                "rev": "2", "state": json.dumps({"v": 1, "sends": [time.time()], "limit": 7})})
        state.sends.append(time.time())
        return len(state.sends)

    assert st.transact(change) == 2  # re-run on the other host's state: both sends kept
    assert len(calls) == 2 and st.retries == 1
    doc = json.loads(other.hget("zenovay:budget:fp1", "state"))
    assert len(doc["sends"]) == 2 and doc["limit"] == 7
