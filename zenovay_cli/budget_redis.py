"""The rate and quota budget's shared state on Redis: one budget for every host using one API key.

The per-host ledger (ledger.py) keeps a `BudgetState` (recent sends, learned limit, a 429's pause,
the X-Usage-* snapshot) in a local SQLite file; this keeps the same state, as the same JSON, in
one Redis hash per API key: `{prefix}budget:{key fingerprint}` = {rev, state}. `transact(change)`
is optimistic: run `change` on the state this host last saw and compare-and-set the result with a
small Lua script (written only if the revision is still the one seen); if another host wrote in
between, the script answers with the current state and `change` runs again on it (the policy in
ratelimit.py is pure, so re-running it is safe). One round trip per transaction in the steady
state. The key expires two windows after the last write, so a fleet that stops leaves nothing.

One clock: every transaction's answer carries Redis's `TIME`, and each host keeps the offset to its
own wall clock; `clock()` is the host's clock plus that offset, so send times written by different
hosts are on one timeline whatever the hosts' clocks say. Pass it to the RateBudget as its clock.

Faults: once the RedisLink is down (it has warned once), `transact` goes to the `fallback` store,
the per-host SQLite ledger (ledger.py): the run goes on with this host's own budget, shared with
the other `zenovay` processes here. Without a fallback it raises LedgerUnavailable, and the
RateBudget goes on in-process (see ratelimit.RateBudget).
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


# Compare-and-set in one round trip: the state is a hash {rev, state}; the write happens only if
# nobody wrote since the revision this host last saw, and the answer always carries Redis's TIME
# (and, on a conflict, the current revision and state, so the retry needs no extra read).
_CAS = """
if redis.replicate_commands then redis.replicate_commands() end
local rev = redis.call('HGET', KEYS[1], 'rev') or ''
local now = redis.call('TIME')
if rev == ARGV[1] then
    local next = tostring((tonumber(rev) or 0) + 1)
    redis.call('HSET', KEYS[1], 'rev', next, 'state', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return {1, now[1], now[2], next}
end
return {0, now[1], now[2], rev, redis.call('HGET', KEYS[1], 'state') or ''}
"""


class RedisBudgetStore:
    def __init__(self, link: RedisLink, api_key_fingerprint: str, window: float = 60.0,
                 local_clock: Callable[[], float] = time.time, fallback: Any = None) -> None:
        self.link = link
        self.fallback = fallback
        self.key = link.key("budget", api_key_fingerprint)
        self.window = window
        self._local_clock = local_clock
        self._offset = 0.0
        self._synced = False
        # What this host last saw: (revision, state JSON). In the steady state a transaction is
        # one round trip: run `change` on the cached state and compare-and-set it.
        self._rev: str | None = None
        self._raw: bytes | None = None
        self._script: Any = None
        self.retries = 0  # transactions re-run because another host wrote first (for benchmarks)

    def clock(self) -> float:
        """Redis's time, as well as this host knows it (its own clock plus the last offset)."""
        return self._local_clock() + self._offset

    def _sync_clock(self, seconds: Any, micros: Any) -> None:
        try:
            server = int(seconds) + int(micros) / 1e6
        except (TypeError, ValueError):
            raise LedgerUnavailable("Redis answered TIME with something that is not a time") from None
        self._offset = server - self._local_clock()
        self._synced = True

    def transact(self, change: Callable[[BudgetState], T]) -> T:
        if self.link.down:
            return self._fall_back(change)

        def run(r: Any) -> tuple[bool, Any]:
            if self._script is None:
                self._script = r.register_script(_CAS)
            if not self._synced or self._rev is None:
                # First use: read the state and Redis's clock before deciding anything.
                pipe = r.pipeline(transaction=False)
                pipe.hmget(self.key, "rev", "state")
                pipe.time()
                (rev, raw), (seconds, micros) = pipe.execute()
                self._rev, self._raw = _text(rev), raw
                self._sync_clock(seconds, micros)
            px = int(max(2 * self.window, 1.0) * 1000) + 5000
            for _ in range(_MAX_TRIES):
                state = _load(self._raw)
                result = change(state)
                payload = json.dumps(state.to_json(), separators=(",", ":")).encode("ascii")
                answer = self._script(keys=[self.key], args=[self._rev or "", payload, px])
                if not isinstance(answer, list) or len(answer) < 4:
                    raise LedgerUnavailable("Redis answered the budget script with something unexpected")
                self._sync_clock(answer[1], answer[2])
                if answer[0] == 1:
                    self._rev, self._raw = _text(answer[3]), payload
                    return True, result
                self.retries += 1  # another host wrote first: decide again on its state
                self._rev = _text(answer[3])
                self._raw = answer[4] if len(answer) > 4 else None
            return False, None

        done = self.link.call(run, fallback=None)
        if done is None:
            return self._fall_back(change)
        ok, result = done
        if not ok:
            raise LedgerUnavailable(f"too much contention on the shared budget ({_MAX_TRIES} tries)")
        return result

    def _fall_back(self, change: Callable[[BudgetState], T]) -> T:
        if self.fallback is None:
            raise LedgerUnavailable(self.link.down_reason or "Redis is not usable")
        return self.fallback.transact(change)

    def close(self) -> None:
        if self.fallback is not None:
            self.fallback.close()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _load(raw: Any) -> BudgetState:
    if not raw:
        return BudgetState()
    try:
        return BudgetState.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return BudgetState()  # garbage from outside: start clean rather than fail the run
