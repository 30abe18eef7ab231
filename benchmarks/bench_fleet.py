"""Fleets (#15): four "hosts" on one API key, with and without a shared Redis, and Redis's costs.

Prints numbers; asserts nothing. Starts its own sandbox on 127.0.0.1 (the 429s are counted by the
sandbox) and its own redis-server on a free loopback port.

  fleet     four processes with separate HOME/XDG folders (four hosts: four per-host ledgers),
            one key, the sandbox at 30/window without X-RateLimit-Remaining, about three windows
            of `analytics --all --no-cache` work each; once without Redis (the baseline: hosts
            cannot see each other) and once with ZENOVAY_REDIS_URL.
                                   goal with Redis: <= 2 x 429 in all, >= 85 % of the limit used
  cache     a cache hit served from Redis vs from the file cache (`analytics ID --json`, median
            of 15 runs each), and `python -c pass` for scale
  budget    the Redis budget's cost per request (acquire + observe through a RedisBudgetStore on
            loopback, in-process, median over 500 requests)                  goal < 3 ms

--window S shortens the rate window (sandbox and clients honour ZENOVAY_TEST_WINDOW_SECONDS).

    python benchmarks/bench_fleet.py                       # everything
    python benchmarks/bench_fleet.py --only fleet --window 15
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    Sandbox,
    python_script,
    run_timed,
    scratch_dir,
    with_bytecode_cache,
    zenovay_executable,
)

PARTS = ("fleet", "cache", "budget")


def start_redis(tmp: str):
    from tests.redis_server import RedisServer

    if not shutil.which("redis-server"):
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    directory = Path(tmp) / "redis"
    directory.mkdir(exist_ok=True)
    return RedisServer(directory).start()


def host_env(sb: Sandbox, tmp: str, name: str, window: float, redis_url: str | None) -> dict:
    extra: dict[str, str | None] = {}
    if window != 60:
        extra["ZENOVAY_TEST_WINDOW_SECONDS"] = str(window)
    if redis_url:
        extra["ZENOVAY_REDIS_URL"] = redis_url
    env = sb.env(Path(tmp) / name, extra)
    env["XDG_DATA_HOME"] = str(Path(tmp) / name / "data")
    return with_bytecode_cache(env, Path(tmp) / "pycache")


def fleet_run(args, redis_url: str | None, tmp: str) -> str:
    rate, sites, runs_each = 30, 22, 1  # 23 requests a run; 4 hosts ~ 3 windows of work at 30
    with Sandbox("--websites", str(sites), "--latency", "0.1", "--rate-limit", str(rate),
                 "--omit-remaining") as sb:
        sb.configure(window=args.window)
        sb.reset()
        argv = [zenovay_executable(), "analytics", "--all", "--json", "--no-cache"]
        loop = ("import subprocess,sys\n"
                f"for _ in range({runs_each}):\n"
                "    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n")
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", loop, *argv],
                                  env=host_env(sb, tmp, f"{'r' if redis_url else 'p'}{i}", args.window, redis_url),
                                  stderr=subprocess.PIPE, text=True) for i in range(4)]
        errors = [p.communicate()[1] for p in procs]
        elapsed = time.perf_counter() - start
        stats = sb.stats()
    too_many = stats["status_counts"].get("429", 0)
    ok = stats["requests"] - too_many
    possible = rate + max(0.0, elapsed - args.window) * rate / args.window
    warned = sum("Warning" in e for e in errors)
    label = "with Redis" if redis_url else "without Redis (per-host ledgers)"
    return (f"fleet {label}: 4 hosts x {runs_each} runs, {ok} requests answered in {elapsed:.1f} s "
            f"at {rate}/window of {args.window:g} s: {ok / possible * 100:.0f} % of the limit used, "
            f"{too_many} x 429, hosts with warnings: {warned}")


def part_fleet(args) -> None:
    with scratch_dir() as tmp:
        print(fleet_run(args, None, tmp), flush=True)
        redis = start_redis(tmp)
        try:
            print(fleet_run(args, redis.url, tmp), flush=True)
        finally:
            redis.stop()


def part_cache(args) -> None:
    with Sandbox("--websites", "4") as sb, scratch_dir() as tmp:
        redis = start_redis(tmp)
        try:
            wid = json.loads(subprocess.run([zenovay_executable(), "websites", "--json"], env=sb.env(Path(tmp) / "w"),
                                            capture_output=True, text=True, check=True).stdout)["websites"][0]["id"]
            argv = [zenovay_executable(), "analytics", wid, "--json"]
            file_env = with_bytecode_cache(sb.env(Path(tmp) / "f"), Path(tmp) / "pycache")
            redis_env = with_bytecode_cache(sb.env(Path(tmp) / "r", {"ZENOVAY_REDIS_URL": redis.url}),
                                            Path(tmp) / "pycache")
            for env in (file_env, redis_env):  # fill each cache once
                subprocess.run(argv, env=env, check=True, capture_output=True)
            before = sb.stats()["requests"]
            rounds = 15
            bare, file_hit, redis_hit = [], [], []
            for _ in range(rounds):  # interleaved: the machine's noise hits all three alike
                bare.append(run_timed(python_script("pass")).seconds)
                file_hit.append(run_timed(argv, env=file_env).seconds)
                redis_hit.append(run_timed(argv, env=redis_env).seconds)
            assert sb.stats()["requests"] == before, "a cache hit sent a request"
        finally:
            redis.stop()
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print(f"cache hit: file {med(file_hit) * 1000:.1f} ms, Redis {med(redis_hit) * 1000:.1f} ms "
          f"({med(redis_hit) / med(file_hit):.2f}x the file cache); python -c pass {med(bare) * 1000:.1f} ms "
          f"(median of {rounds}, no request sent)")


def part_budget(args) -> None:
    from zenovay_cli.budget_redis import RedisBudgetStore
    from zenovay_cli.ratelimit import RateBudget
    from zenovay_cli.redislink import RedisConfig, RedisLink

    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(tmp)
        try:
            store = RedisBudgetStore(RedisLink(RedisConfig.parse(redis.url)), "bench", window=60.0)
            budget = RateBudget(per_minute=1_000_000, ledger=store, clock=store.clock, window=60.0)
            headers = {"X-RateLimit-Limit": "1000000", "X-RateLimit-Remaining": "999000"}
            times = []
            for _ in range(500):
                t0 = time.perf_counter()
                budget.acquire()
                budget.observe(headers, 200)
                times.append(time.perf_counter() - t0)
        finally:
            redis.stop()
    times.sort()
    print(f"budget on Redis: acquire + observe median {times[len(times) // 2] * 1000:.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms per request (goal < 3 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    for part in PARTS:
        if part in args.only:
            globals()[f"part_{part}"](args)


if __name__ == "__main__":
    main()
