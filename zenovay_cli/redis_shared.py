"""What several hosts share through Redis besides the cache: a lock and the alert state.

`RedisLock` is the usual single-instance Redis lock: `SET key token NX PX ttl` to take it, and a
compare-and-delete script to release it, so only its owner can release it and a crashed owner's
lock expires by itself. It serves `export --redis-lock` (one export of a fleet at a time) and the
alert state (load → notify → save as one step across hosts, so one transition is notified once).

`RedisAlertState` keeps the alert state document (the same JSON as the state file) at
`{prefix}alert:{key fingerprint}:{hash of the state name}`: the state name is the `--state` path's
file name or "default", so jobs that share a state file on one host share it across hosts too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from zenovay_cli.redislink import RedisLink, hashed

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class RedisLock:
    """A lock held by one process among all hosts; `acquire` returns False when Redis is down
    (the caller then relies on its local lock alone) — see `RedisLink` for the fault rule."""

    def __init__(self, link: RedisLink, name: str, ttl: float = 600.0) -> None:
        self.link = link
        self.key = link.key("lock", hashed(name))
        self.ttl_ms = int(ttl * 1000)
        self.token = os.urandom(16).hex()
        self.held = False

    def try_acquire(self) -> bool | None:
        """True: taken. False: someone else holds it. None: Redis is not usable."""
        got = self.link.call(lambda r: r.set(self.key, self.token, nx=True, px=self.ttl_ms), fallback=None)
        if self.link.down:
            return None
        self.held = bool(got)
        return self.held

    def acquire(self, wait: float = 0.0, poll: float = 0.1, sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.monotonic) -> bool | None:
        deadline = clock() + wait
        while True:
            got = self.try_acquire()
            if got is None or got:
                return got
            if clock() >= deadline:
                return False
            sleep(poll)

    def holder_ttl(self) -> float | None:
        """Seconds until the current holder's lock expires (None if unknown)."""
        ms = self.link.call(lambda r: r.pttl(self.key), fallback=None)
        return ms / 1000.0 if isinstance(ms, int) and ms >= 0 else None

    def extend(self) -> bool:
        """Push the expiry back to a full ttl, if we still hold the lock."""
        if not self.held:
            return False
        return bool(self.link.call(lambda r: r.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms), fallback=False))

    def keep_alive(self) -> Callable[[], None]:
        """Extend the lock every ttl/3 from a daemon thread until the returned stop() is called,
        so a run longer than the ttl keeps it, while a killed run's lock still expires."""
        import threading

        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.ttl_ms / 3000.0):
                if not self.extend():
                    return

        threading.Thread(target=renew, name="zenovay-redis-lock", daemon=True).start()
        return stop.set

    def release(self) -> None:
        if self.held:
            self.held = False
            self.link.call(lambda r: r.eval(_RELEASE, 1, self.key, self.token), fallback=None)


@contextmanager
def fleet_lock(link: RedisLink, name: str, shown: str, *, wait: bool,
               on_wait: Callable[[str], None] | None = None, ttl: float = 300.0,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> Iterator[bool]:
    """Hold the Redis lock `name` for the block (kept alive while it runs); yields False when Redis
    is down (the caller's local lock still applies). Held by another host: LockedError at once,
    or, with `wait`, after waiting for it (announced once through `on_wait`)."""
    from zenovay_cli.errors import LockedError

    lock = RedisLock(link, name, ttl=ttl)
    got = lock.try_acquire()
    if got is False and wait:
        if on_wait is not None:
            on_wait(f"waiting for another host's run on {shown} (Redis lock)")
        while got is False:
            sleep(0.25)
            got = lock.try_acquire()
    if got is False:
        left = lock.holder_ttl()
        expires = f"; it expires in {left:.0f} s if its holder died" if left is not None else ""
        raise LockedError(
            f"another zenovay export is writing to {shown} on another host (Redis lock{expires})",
            hint="Run it later, or add --wait-lock to wait for the other run to finish.",
        )
    if not got:
        yield False
        return
    stop = lock.keep_alive()
    try:
        yield True
    finally:
        stop()
        lock.release()


class RedisAlertState:
    """The alert state of one API key and one state name, shared by every host."""

    def __init__(self, link: RedisLink, api_key_fingerprint: str, state_name: str) -> None:
        self.link = link
        name = hashed(state_name)
        self.key = link.key("alert", api_key_fingerprint, name)
        self.lock = RedisLock(link, f"alert:{api_key_fingerprint}:{name}", ttl=300.0)
        self.where = f"state in Redis at {link.config.display}"

    @contextmanager
    def locked(self, wait: float = 60.0) -> Iterator[bool]:
        """Hold the state across hosts for load → send → save; yields False if Redis is down
        (or the lock could not be had within `wait`: the run then goes on unlocked, as before)."""
        got = self.lock.acquire(wait=wait)
        try:
            yield bool(got)
        finally:
            self.lock.release()

    def load(self, parse: Callable[[bytes, str], tuple[dict[str, Any], str | None]]) -> tuple[dict[str, Any], str | None] | None:
        """(state, warning) as `parse(raw, where)` makes of the stored document; ({}, None)-like
        empty state when nothing is stored; None when Redis is down."""
        raw = self.link.call(lambda r: r.get(self.key), fallback=_DOWN)
        if raw is _DOWN:
            return None
        if raw is None:
            return parse(b"", self.where)
        return parse(raw, self.where)

    def save(self, state: dict[str, Any]) -> bool:
        payload = json.dumps(state, sort_keys=True).encode("utf-8")
        return bool(self.link.call(lambda r: r.set(self.key, payload), fallback=False))


_DOWN = object()
