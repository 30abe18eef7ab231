"""The rate and quota budget's shared state on Redis: one budget for every host using one API key.

The per-host ledger (ledger.py) keeps a `BudgetState` (recent sends, learned limit, a 429's pause,
the X-Usage-* snapshot) in a local SQLite file; this keeps the same state, as the same JSON, in
one Redis string per API key: `{prefix}budget:{key fingerprint}`. `transact(change)` is
optimistic: WATCH the key, read it, run `change` on it, write it in MULTI/EXEC, and run again on a
fresh read if another host wrote in between (the policy in ratelimit.py is pure, so re-running it
is safe). The key expires two windows after the last write, so a fleet that stops leaves nothing.

One clock: every host reads Redis's `TIME` in each transaction and keeps the offset to its own
wall clock; `clock()` is the host's clock plus that offset, so send times written by different
hosts are on one timeline whatever the hosts' clocks say. Pass it to the RateBudget as its clock.

Faults: a RedisLink that goes down makes `transact` raise LedgerUnavailable, and the RateBudget
then warns once and goes on with the state it last saw, in-process (see ratelimit.RateBudget).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from zenovay_cli.ratelimit import BudgetState, LedgerUnavailable
from zenovay_cli.redislink import RedisLink

T = TypeVar("T")
_MAX_TRIES = 50


class RedisBudgetStore:
    def __init__(self, link: RedisLink, api_key_fingerprint: str, window: float = 60.0,
                 local_clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.key = link.key("budget", api_key_fingerprint)
        self.window = window
        self._local_clock = local_clock
        self._offset = 0.0
        self.retries = 0  # transactions re-run because another host wrote first (for benchmarks)

    def clock(self) -> float:
        """Redis's time, as well as this host knows it (its own clock plus the last offset)."""
        return self._local_clock() + self._offset

    def _sync_clock(self, redis_time: Any) -> None:
        try:
            seconds, micros = redis_time
            server = int(seconds) + int(micros) / 1e6
        except (TypeError, ValueError):
            raise LedgerUnavailable("Redis answered TIME with something that is not a time") from None
        self._offset = server - self._local_clock()

    def transact(self, change: Callable[[BudgetState], T]) -> T:
        if self.link.down:
            raise LedgerUnavailable(self.link.down_reason or "Redis is not usable")

        def run(r: Any) -> tuple[bool, Any]:
            from redis.exceptions import WatchError

            for _ in range(_MAX_TRIES):
                with r.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(self.key)
                        raw = pipe.get(self.key)
                        self._sync_clock(pipe.time())
                        state = _load(raw)
                        result = change(state)
                        payload = json.dumps(state.to_json(), separators=(",", ":")).encode("ascii")
                        pipe.multi()
                        pipe.set(self.key, payload, px=int(max(2 * self.window, 1.0) * 1000) + 5000)
                        pipe.execute()
                        return True, result
                    except WatchError:
                        self.retries += 1
                        continue
            return False, None

        done = self.link.call(run, fallback=None)
        if done is None:
            raise LedgerUnavailable(self.link.down_reason or "Redis is not usable")
        ok, result = done
        if not ok:
            raise LedgerUnavailable(f"too much contention on the shared budget ({_MAX_TRIES} tries)")
        return result

    def close(self) -> None:
        pass


def _load(raw: Any) -> BudgetState:
    if raw is None:
        return BudgetState()
    try:
        return BudgetState.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return BudgetState()  # garbage from outside: start clean rather than fail the run
