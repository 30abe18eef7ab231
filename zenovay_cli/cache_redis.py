"""The response cache on Redis, for several hosts sharing one API key.

Same interface and the same stored JSON documents as the on-disk `CacheStore` (cache.py), so the
client, `--refresh`, `--no-cache`, `--stale-ok` and `zenovay cache info|clear|prune` work the same.

Layout: one string per answer at `{prefix}cache:{key}`, where `key` is `cache.make_key(...)`: a
SHA-256 over the base URL, path, query and a digest of the API key. Two keys never share an entry,
and neither the key nor anything the API returned is ever part of a Redis key.

Freshness comes from Redis's own clock, not the hosts': an entry is written with
`SET ... PX (ttl + STALE_KEEP)`, and it is fresh while its remaining PTTL is above STALE_KEEP. So
hosts whose clocks disagree still agree on what is fresh, an expired answer stays available to
`--stale-ok` for STALE_KEEP, and Redis drops it by itself afterwards (no prune needed).

Faults follow `redislink`: one warning, then this run uses the host's on-disk cache.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from zenovay_cli.cache import FORMAT_VERSION, CacheEntry, InfoTally, _check_key, _parse_entry
from zenovay_cli.redislink import RedisLink

# How long an expired answer is kept for --stale-ok before Redis deletes it.
STALE_KEEP = 24 * 3600.0
_SCAN_COUNT = 500


class RedisCacheStore:
    def __init__(
        self,
        link: RedisLink,
        local: Any,
        clock: Callable[[], float] = time.time,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.link = link
        self.local = local  # the on-disk CacheStore used while Redis is down
        self.directory = link.config.display
        self.warnings: list[str] = []
        self._clock = clock
        self._on_warning = on_warning
        self._warned_damaged = False

    def _key(self, key: str) -> str:
        return self.link.key("cache", key)

    def _damaged(self) -> None:
        if not self._warned_damaged:
            self._warned_damaged = True
            message = f"removed a damaged cache entry from Redis at {self.directory}"
            self.warnings.append(message)
            if self._on_warning is not None:
                self._on_warning(message)

    # -- reading -------------------------------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        _check_key(key)
        rkey = self._key(key)

        def read(r: Any) -> CacheEntry | None:
            data, pttl = _read(r, rkey)
            if data is None:
                return None
            entry = self._entry(data, pttl)
            if entry is None:
                r.delete(rkey)
                self._damaged()
            return entry

        return self.link.call(read, fallback=lambda: self.local.get(key))

    def _entry(self, data: bytes, pttl: Any) -> CacheEntry | None:
        parsed = _parse_entry(data)
        if parsed is None or not isinstance(pttl, int) or pttl < 0:
            return None
        value, stored_at, expires_at, meta = parsed
        ttl = expires_at - stored_at
        remaining = pttl / 1000.0 - STALE_KEEP  # seconds of freshness left, by Redis's clock
        age = max(0.0, ttl - remaining)
        now = self._clock()
        # stored_at/expires_at are re-based on this host's clock from Redis's view of the age.
        return CacheEntry(value, now - age, now - age + ttl, remaining > 0, age, meta)

    # -- writing -------------------------------------------------------------------------------

    def set(self, key: str, value: Any, ttl: float, meta: dict | None = None) -> bool:
        _check_key(key)
        if not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
            return False
        now = self._clock()
        doc = {"v": FORMAT_VERSION, "stored_at": now, "expires_at": now + ttl, "meta": dict(meta or {}), "value": value}
        payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        px = int((ttl + STALE_KEEP) * 1000)
        return bool(
            self.link.call(
                lambda r: r.set(self._key(key), payload, px=px),
                fallback=lambda: self.local.set(key, value, ttl, meta),
            )
        )

    # -- housekeeping --------------------------------------------------------------------------

    def _scan(self, r: Any):
        pattern = self.link.key("cache", "*").encode()
        yield from r.scan_iter(match=pattern, count=_SCAN_COUNT)

    def info(self) -> dict:
        def read(r: Any) -> dict:
            tally = InfoTally(self.directory)
            for rkey in self._scan(r):
                data, pttl = _read(r, rkey)
                if data is None:
                    continue
                tally.add_bytes(len(data))
                entry = self._entry(data, pttl)
                if entry is None:
                    tally.corrupt()
                else:
                    tally.entry(entry)
            return tally.done()

        return self.link.call(read, fallback=self.local.info)

    def clear(self) -> int:
        def run(r: Any) -> int:
            removed = 0
            for rkey in self._scan(r):
                removed += int(r.delete(rkey))
            return removed

        return self.link.call(run, fallback=self.local.clear)

    def prune(self) -> int:
        def run(r: Any) -> int:
            removed = 0
            for rkey in self._scan(r):
                data, pttl = _read(r, rkey)
                if data is None:
                    continue
                entry = self._entry(data, pttl)
                if entry is None or not entry.fresh:
                    removed += int(r.delete(rkey))
            return removed

        return self.link.call(run, fallback=self.local.prune)


def _read(r: Any, rkey: Any) -> tuple[Any, Any]:
    """An entry's stored document and its remaining PTTL, in one round trip."""
    pipe = r.pipeline(transaction=False)
    pipe.get(rkey)
    pipe.pttl(rkey)
    data, pttl = pipe.execute()
    return data, pttl
