"""The rate budget (#11): bursting within the plan, pacing beyond it, several processes, one ledger.

Prints numbers; asserts nothing. Starts its own sandbox on 127.0.0.1; the 429s are counted by the
sandbox.

  within    `analytics --all`, 12 websites at 30/min, 100 ms latency.        goal <= 1.5 s
  export40  `export` of 40 websites at 120/min, 100 ms latency, against the plain sequential loop
            over the same endpoints.                                          goal >= 6x, zero 429
  over      `export` of 20 websites (41 requests) at 30/min, under each limiter shape (sliding,
            fixed, cf).                     goal <= 1.15 x (W + (N - L) x W / L), <= 2 x 429 in all
  b2b       two `analytics --all` runs over 20 websites at 30/min, back to back, the sandbox
            without X-RateLimit-Remaining.                           goal <= 2 x 429 in both runs
  four      four processes started together, one key, 30/min, about 3 windows of work
            (`analytics --all` repeated).        goal <= 2 x 429, together >= 85 % of the limit used
  ledger    the per-host ledger's cost per request (acquire + observe), in-process.  goal < 2 ms

--window S runs the rate-bound parts with an S-second window instead of 60 s (the sandbox and the
clients both honour ZENOVAY_TEST_WINDOW_SECONDS): the shapes of the runs are the same, in less time.
The figures in the README say which window they used.

    python benchmarks/bench_budget.py                       # everything, about 10 minutes
    python benchmarks/bench_budget.py --only within export40 ledger
    python benchmarks/bench_budget.py --window 15           # the rate-bound parts 4x faster
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Sandbox,
    python_script,
    run_timed,
    scratch_dir,
    with_bytecode_cache,
    zenovay_executable,
)
from bench_export import SEQUENTIAL_LOOP  # noqa: E402

PARTS = ("within", "export40", "over", "b2b", "four", "ledger")


def env_for(sb: Sandbox, home: Path, tmp: str, window: float) -> dict:
    extra = {"ZENOVAY_TEST_WINDOW_SECONDS": str(window)} if window != 60 else {}
    return with_bytecode_cache(sb.env(home, extra), Path(tmp) / "pycache")


def too_many(stats: dict) -> int:
    return stats["status_counts"].get("429", 0)


def part_within(args) -> None:
    with Sandbox("--websites", "12", "--latency", "0.1", "--rate-limit", "30") as sb, \
            scratch_dir() as tmp:
        sb.configure(window=args.window)
        argv = [zenovay_executable(), "analytics", "--all", "--json", "--no-cache"]
        run_timed(argv, env=env_for(sb, Path(tmp) / "warm", tmp, args.window))  # warm-up
        time.sleep(0.5)
        sb.reset()
        run = run_timed(argv, env=env_for(sb, Path(tmp) / "home", tmp, args.window))
        stats = sb.stats()
    print(f"within: analytics --all, 12 websites, 30/min, 100 ms: {run.seconds:.2f} s, "
          f"{stats['requests']} requests, {too_many(stats)} x 429, exit {run.returncode} "
          f"(goal <= 1.5 s)")
    notes = [line for line in run.stderr.splitlines() if line.strip()]
    if notes:
        print("  stderr: " + " | ".join(notes[:3]))


def part_export40(args) -> None:
    with Sandbox("--websites", "40", "--latency", "0.1", "--rate-limit", "120") as sb, \
            scratch_dir() as tmp:
        sb.configure(window=args.window)
        env = env_for(sb, Path(tmp) / "home", tmp, args.window)
        loop = run_timed([*python_script(SEQUENTIAL_LOOP), str(Path(tmp) / "loop")], env=env)
        loop_stats = sb.stats()
        sb.reset()  # forgets the loop's requests (rate window, quota, statistics)
        ours = run_timed([zenovay_executable(), "export", "--out", str(Path(tmp) / "ours"),
                          "--quiet", "--no-cache"], env=env_for(sb, Path(tmp) / "h2", tmp, args.window))
        stats = sb.stats()
    print(f"export40: sequential loop {loop.seconds:.2f} s ({loop_stats['requests']} requests, "
          f"{too_many(loop_stats)} x 429); zenovay export {ours.seconds:.2f} s "
          f"({stats['requests']} requests, {too_many(stats)} x 429, exit {ours.returncode}): "
          f"{loop.seconds / ours.seconds:.1f}x (goal >= 6x, zero 429)")


def part_over(args) -> None:
    rate, total_429 = 30, 0
    for shape in ("sliding", "fixed", "cf"):
        with Sandbox("--websites", "20", "--latency", "0.1", "--rate-limit", str(rate),
                     "--limiter", shape) as sb, scratch_dir() as tmp:
            sb.configure(window=args.window)
            sb.reset()
            run = run_timed([zenovay_executable(), "export", "--out", str(Path(tmp) / "out"),
                             "--quiet", "--no-cache"], env=env_for(sb, Path(tmp) / "h", tmp, args.window))
            stats = sb.stats()
        n = stats["requests"] - too_many(stats)
        bound = 1.15 * (args.window + (n - rate) * args.window / rate)
        total_429 += too_many(stats)
        print(f"over/{shape}: export of 20 websites ({n} requests) at {rate}/window of "
              f"{args.window:g} s: {run.seconds:.1f} s (goal <= {bound:.1f} s), "
              f"{too_many(stats)} x 429, exit {run.returncode}")
    print(f"over: {total_429} x 429 in all (goal <= 2)")


def part_b2b(args) -> None:
    with Sandbox("--websites", "20", "--latency", "0.1", "--rate-limit", "30",
                 "--omit-remaining") as sb, scratch_dir() as tmp:
        sb.configure(window=args.window)
        sb.reset()
        argv = [zenovay_executable(), "analytics", "--all", "--json", "--no-cache"]
        env = env_for(sb, Path(tmp) / "h", tmp, args.window)
        first = run_timed(argv, env=env)
        second = run_timed(argv, env=env)
        stats = sb.stats()
    print(f"b2b: two analytics --all runs, 20 websites, 30/window, no Remaining: "
          f"{first.seconds:.1f} s + {second.seconds:.1f} s, {stats['requests']} requests, "
          f"{too_many(stats)} x 429 (goal <= 2), exits {first.returncode}/{second.returncode}")


def part_four(args) -> None:
    rate, sites = 30, 22  # 23 requests per run; 4 processes x 1 run ~ 3 windows of work at 30
    with Sandbox("--websites", str(sites), "--latency", "0.1", "--rate-limit", str(rate),
                 "--omit-remaining") as sb, scratch_dir() as tmp:
        sb.configure(window=args.window)
        sb.reset()
        env = env_for(sb, Path(tmp) / "h", tmp, args.window)
        argv = [zenovay_executable(), "analytics", "--all", "--json", "--no-cache"]
        start = time.perf_counter()
        procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
        codes = [p.wait() for p in procs]
        elapsed = time.perf_counter() - start
        stats = sb.stats()
    ok = stats["requests"] - too_many(stats)
    # The most a client could send in `elapsed`: a full window's burst, then the rate.
    possible = rate + max(0.0, elapsed - args.window) * rate / args.window
    print(f"four: 4 processes, {ok} requests answered in {elapsed:.1f} s at {rate}/window of "
          f"{args.window:g} s: {ok / possible * 100:.0f} % of the limit used (goal >= 85 %), "
          f"{too_many(stats)} x 429 (goal <= 2), exits {codes}")


def part_ledger(args) -> None:
    try:
        from zenovay_cli.ledger import open_ledger
        from zenovay_cli.ratelimit import RateBudget
    except ImportError:
        print("ledger: not available in this version")
        return
    with scratch_dir() as tmp:
        ledger = open_ledger(Path(tmp), "zv_bench_key_0000")
        budget = RateBudget(1_000_000, ledger=ledger, on_warning=print)
        headers = {"X-RateLimit-Limit": "1000000", "X-Usage-Monthly": "10", "X-Usage-Limit": "1000000",
                   "X-Usage-Reset": "2026-12-01T00:00:00.000Z"}
        n = 240  # two windows' worth at Enterprise's 120/min: the state's size in a busy minute
        start = time.perf_counter()
        for _ in range(n):
            budget.acquire()
            budget.observe(headers, 200)
        each = (time.perf_counter() - start) / n
        plain = RateBudget(1_000_000)
        start = time.perf_counter()
        for _ in range(n):
            plain.acquire()
            plain.observe(headers, 200)
        each_plain = (time.perf_counter() - start) / n
    print(f"ledger: {each * 1000:.2f} ms per request with the sqlite ledger "
          f"(in-process only: {each_plain * 1000:.3f} ms; goal < 2 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--window", type=float, default=60.0,
                        help="seconds of the rate window for the rate-bound parts [60]")
    args = parser.parse_args()
    for part in args.only:
        globals()[f"part_{part}"](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
