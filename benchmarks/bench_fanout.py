"""`zenovay analytics --all`: one request per website, in parallel, within one shared rate budget.

(a) Latency-bound: 40 websites, 100 ms sandbox latency, no effective rate limit. `analytics --all
    --json --no-cache` against a plain sequential loop (requests: /websites, then each website's
    analytics, one after another), interleaved. Goal: >= 6x faster. `--try N ...` also times the
    command with other numbers of requests in flight (its --concurrency option).
(b) Rate-bound: the sandbox's per-minute limit on (--rate-limit): wall time and the responses 429
    the sandbox sent. Goal (#11): N requests under the limit L go at once (<= 5 s); more take at
    most 1.15 x (60 + (N - L) x 60 / L) s; at most two 429s.

Starts the sandbox itself on 127.0.0.1.

    python benchmarks/bench_fanout.py                  # both parts, about 2 minutes
    python benchmarks/bench_fanout.py --part a --try 4 16
    python benchmarks/bench_fanout.py --part b --rate 60
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _perf import (  # noqa: E402
    Sandbox,
    add_common_arguments,
    bytecode_env,
    describe_machine,
    scratch_dir,
    verdict,
    write_summary,
    zenovay_executable,
)

SPEEDUP_GOAL = 6.0
WITHIN_BUDGET_S = 5.0  # a run that fits the minute's budget is not paced at all
MAX_429 = 2

# The loop of Zenovay's guide: one request after another.
SEQUENTIAL_LOOP = r"""
import json, os, sys
import requests

base, key = os.environ["ZENOVAY_BASE_URL"], os.environ["ZENOVAY_API_KEY"]
headers = {"X-API-Key": key}
websites = requests.get(f"{base}/websites", headers=headers).json()["data"]["websites"]
rows = []
for site in websites:
    data = requests.get(f"{base}/analytics/{site['id']}", params={"range": "7d"},
                        headers=headers).json()["data"]
    rows.append({"website": site, "summary": data.get("summary")})
json.dump({"time_range": "7d", "websites": rows}, sys.stdout)
"""



def timed(argv: list[str], env: dict, websites: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} ... failed ({done.returncode}): {done.stderr[-2000:]}")
    rows = json.loads(done.stdout)["websites"]
    if len(rows) != websites or any("error" in row for row in rows):
        sys.exit(f"{' '.join(argv[:4])} ...: {len(rows)} rows, or a row with an error")
    return seconds


def part_a(args, exe: str, rows: list) -> None:
    from zenovay_cli.sites import DEFAULT_CONCURRENCY as ALL_CONCURRENCY

    command = ["analytics", "--all", "--json", "--no-cache"]
    print(f"(a) {args.websites} websites, {args.latency * 1000:.0f} ms latency, rate limit "
          f"100000/min (no pacing); --concurrency {ALL_CONCURRENCY} (the default); median of {args.repeats}")
    with Sandbox("--websites", str(args.websites), "--latency", str(args.latency),
                 "--rate-limit", "100000") as sb, scratch_dir() as tmp:
        env = sb.env(Path(tmp) / "home", bytecode_env(tmp, compiled=not args.no_bytecode))
        cases = {"sequential loop (requests)": [sys.executable, "-c", SEQUENTIAL_LOOP],
                 "zenovay analytics --all": [exe, *command]}
        for n in args.try_concurrency or []:
            cases[f"  same, {n} in flight"] = [exe, *command, "--concurrency", str(n)]
        times: dict[str, list[float]] = {name: [] for name in cases}
        requests: dict[str, int] = {}
        for argv in cases.values():  # warm-up, not counted
            timed(argv, env, args.websites)
        for _ in range(args.repeats):  # interleaved: load changes hit every case alike
            for name, argv in cases.items():
                sb.reset()
                times[name].append(timed(argv, env, args.websites))
                requests[name] = sb.stats()["requests"]
    medians = {name: statistics.median(t) for name, t in times.items()}
    loop = medians["sequential loop (requests)"]
    width = max(len(name) for name in cases)
    print(f"  {'run':{width}s}  {'wall s':>7s}  {'requests':>8s}  speed-up   (all runs, s)")
    for name in cases:
        print(f"  {name:{width}s}  {medians[name]:7.2f}  {requests[name]:8d}  "
              f"{loop / medians[name]:6.1f}x   ({', '.join(f'{t:.2f}' for t in times[name])})")
    speedup = loop / medians["zenovay analytics --all"]
    print(f"  goal >= {SPEEDUP_GOAL:g}x: {verdict(speedup >= SPEEDUP_GOAL)}")
    rounds = -(-args.websites // ALL_CONCURRENCY)
    print(f"  (the ideal with {ALL_CONCURRENCY} in flight: 1 + {rounds} round trips against "
          f"1 + {args.websites}, before start-up costs: {(1 + args.websites) / (1 + rounds):.1f}x)")
    print()
    rows.append({"measure": f"`analytics --all`, {args.websites} websites, "
                            f"{args.latency * 1000:.0f} ms latency, vs a sequential loop",
                 "value": f"{speedup:.1f}x ({medians['zenovay analytics --all']:.2f} s vs "
                          f"{loop:.2f} s; {ALL_CONCURRENCY} in flight)",
                 "goal": f">= {SPEEDUP_GOAL:g}x", "met": speedup >= SPEEDUP_GOAL})
    for n in args.try_concurrency or []:
        name = f"  same, {n} in flight"
        rows.append({"measure": f"(what if) {n} in flight", "value": f"{loop / medians[name]:.1f}x",
                     "goal": "", "met": None})


def part_b(args, exe: str, rate: int, rows: list) -> None:
    print(f"(b) {args.websites} websites, sandbox --rate-limit {rate}/min, "
          f"latency {args.latency * 1000:.0f} ms")
    with Sandbox("--websites", str(args.websites), "--latency", str(args.latency),
                 "--rate-limit", str(rate)) as sb, scratch_dir() as tmp:
        env = sb.env(Path(tmp) / "home", bytecode_env(tmp, compiled=not args.no_bytecode))
        sb.reset()
        argv = [exe, "analytics", "--all", "--json", "--no-cache"]
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        stats = sb.stats()
    sent = stats["requests"]
    too_many = stats["status_counts"].get("429", 0)
    # #11: a run that fits the minute goes at once; beyond it, one minute's burst and then the
    # rest evenly paced: at most 1.15 x (60 + (N - L) x 60 / L).
    within = sent < rate
    bound = WITHIN_BUDGET_S if within else 1.15 * (60 + (sent - rate) * 60 / rate)
    met = seconds <= bound and too_many <= MAX_429 and done.returncode == 0
    print(f"  requests {sent}, wall {seconds:.1f} s (goal <= {bound:.1f} s), "
          f"responses 429: {too_many}, exit {done.returncode}")
    notes = [line for line in done.stderr.splitlines() if line.strip()]
    if notes:
        print("  stderr: " + " | ".join(notes[:3]) + (" | ..." if len(notes) > 3 else ""))
    print(f"  goal <= {bound:.1f} s and <= {MAX_429} responses 429: {verdict(met)}")
    print()
    rows.append({"measure": f"`analytics --all`, {args.websites} websites ({sent} requests), "
                            f"limit {rate}/min: wall time",
                 "value": f"{seconds:.1f} s, {too_many} x 429",
                 "goal": f"<= {bound:.1f} s, <= {MAX_429} x 429", "met": met})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "all"], default="all")
    parser.add_argument("--websites", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each case in (a)")
    parser.add_argument("--try", dest="try_concurrency", type=int, nargs="*", metavar="N",
                        help="(a) also time the command with N requests in flight")
    parser.add_argument("--rate", type=int, action="append",
                        help="(b) per-minute limits to try [default: 30 and 120]")
    add_common_arguments(parser)
    args = parser.parse_args()

    exe = zenovay_executable()
    rows: list = []
    print(f"machine: {describe_machine()}\n")
    if args.part in ("a", "all"):
        part_a(args, exe, rows)
    if args.part in ("b", "all"):
        # 30/min: 41 requests take more than a minute's allowance, so a burst would be refused;
        # 120/min: they fit in one minute, so only our own pacing sets the pace.
        for rate in args.rate or [30, 120]:
            part_b(args, exe, rate, rows)
    write_summary(args.summary_json, "fanout", rows)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
