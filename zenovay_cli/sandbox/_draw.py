"""Deterministic drawing helpers: seeded generators and choices built on random() alone.

Only `Random.random()` and `Random.getrandbits()` are used: their output for a given seed is the same
on every Python version, unlike randint/choice/gauss, whose algorithms are not promised to stay.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from itertools import accumulate
from typing import Any


def iso_ms(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a trailing Z, the way the API writes times."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uniform(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def below(rng: random.Random, n: int) -> int:
    return min(int(rng.random() * n), n - 1)


def lognormal(rng: random.Random, mu: float, sigma: float) -> float:
    # Box-Muller from two uniforms, so the result does not depend on Random.gauss's internals.
    z = math.sqrt(-2.0 * math.log(1.0 - rng.random())) * math.cos(2.0 * math.pi * rng.random())
    return math.exp(mu + sigma * z)


def shuffled(rng: random.Random, items: Sequence[Any]) -> list[Any]:
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = below(rng, i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def split(total: int, weights: Sequence[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights` that add up to `total` exactly."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    raw = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


class Weighted:
    """Weighted choice driven by rng.random() only."""

    def __init__(self, items: Sequence[tuple[Any, float]]) -> None:
        self.values = [value for value, _ in items]
        self.weights = [float(weight) for _, weight in items]
        self._cumulative = list(accumulate(self.weights))

    def pick(self, rng: random.Random) -> Any:
        x = rng.random() * self._cumulative[-1]
        return self.values[min(bisect.bisect_right(self._cumulative, x), len(self.values) - 1)]
