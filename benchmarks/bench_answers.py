"""The answers' speed: `report` against one `analytics` query, and `analytics --all --compare`.

(a) `report WEBSITE_ID --json --no-cache` (4 requests in parallel) against `analytics WEBSITE_ID
    --json --no-cache` (1 request) at 100 ms sandbox latency, interleaved, medians. Goal: report
    <= 1.3x the single query.
(b) `analytics --all --compare --json --no-cache` over 12 websites at 100 ms latency with the
    sandbox's per-minute limit at 30 (25 requests: the list and 2 per website), each run with a
    fresh key (a minute nothing else has spent). Goal: <= 2 s.
    Also prints the 429s the sandbox sent.

Starts the sandbox itself on 127.0.0.1; prints numbers, asserts nothing.

    python benchmarks/bench_answers.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Sandbox, clean_env, with_bytecode_cache, zenovay_executable  # noqa: E402

REPORT_GOAL = 1.3
ROLLUP_GOAL = 2.0


def timed(argv: list[str], env: dict, *, known_limit: bool = False) -> float:
    # A key of its own for every run: the per-host ledger remembers every send of a key for a
    # minute, and a run should not be paced by the runs timed before it. With `known_limit` one
    # untimed `usage` first teaches the ledger the key's limit, as any earlier run of a key does;
    # without it this is the key's very first run, where the budget sends only 3 requests before
    # the first answer says what the limit is (ratelimit.UNKNOWN_BURST).
    env = {**env, "ZENOVAY_API_KEY": f"zv_bench_{time.time_ns()}"}
    if known_limit:
        subprocess.run([argv[0], "usage", "--json"], env=env, capture_output=True, check=True)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[1:4])} ... failed ({done.returncode}): {done.stderr[-1500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--summary-json", metavar="PATH", help="write the goals table for run_all.py")
    args = parser.parse_args()
    rows = []
    exe = zenovay_executable()
    with tempfile.TemporaryDirectory() as tmp:
        with Sandbox("--websites", "12", "--latency", str(args.latency)) as sb:
            env = with_bytecode_cache(clean_env({
                "ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key,
                "XDG_CACHE_HOME": tmp, "XDG_CONFIG_HOME": tmp, "XDG_STATE_HOME": tmp,
            }), Path(tmp) / "pyc")
            site = json.loads(subprocess.run([exe, "websites", "--json", "--no-cache"], env=env,
                                             capture_output=True, text=True).stdout)["websites"][0]["id"]
            single = [exe, "analytics", site, "--json", "--no-cache"]
            report = [exe, "report", site, "--json", "--no-cache"]
            timed(single, env), timed(report, env)  # warm the bytecode cache
            singles, reports, firsts = [], [], []
            for _ in range(args.repeats):
                singles.append(timed(single, env, known_limit=True))
                reports.append(timed(report, env, known_limit=True))
                firsts.append(timed(report, env))
            a, r = statistics.median(singles), statistics.median(reports)
            ratio = r / a
            print(f"(a) {args.latency * 1000:.0f} ms latency, median of {args.repeats}: "
                  f"analytics {a * 1000:.0f} ms, report {r * 1000:.0f} ms -> {ratio:.2f}x "
                  f"(goal <= {REPORT_GOAL}x: {'met' if ratio <= REPORT_GOAL else 'NOT met'})")
            first = statistics.median(firsts)
            print(f"    a key's very first report (limit not known yet: 3 requests, then the 4th "
                  f"after the first answer): {first * 1000:.0f} ms -> {first / a:.2f}x")
            rows.append({"measure": "`report ID --json --no-cache` / `analytics ID --json --no-cache`, 100 ms",
                         "value": f"{ratio:.2f}x ({r * 1000:.0f} ms vs {a * 1000:.0f} ms)",
                         "goal": f"<= {REPORT_GOAL}x", "met": ratio <= REPORT_GOAL})

            sb.configure(rate_limit=30)
            rollup = [exe, "analytics", "--all", "--compare", "--json", "--no-cache"]
            times, rejected, sent = [], [], []
            for _ in range(min(args.repeats, 3)):
                sb.reset()  # a fresh minute for the sandbox's limit each time
                times.append(timed(rollup, env))  # with a key of its own: a first run
                stats = sb.stats()
                rejected.append(int(stats["status_counts"].get("429", 0)))
                sent.append(stats["requests"])
                time.sleep(0.2)
            t = statistics.median(times)
            print(f"(b) analytics --all --compare, 12 websites, 30/min, {args.latency * 1000:.0f} ms: "
                  f"median {t:.2f} s over {len(times)} runs ({', '.join(f'{x:.2f}' for x in times)}); "
                  f"requests {sent}, 429s {rejected} "
                  f"(goal <= {ROLLUP_GOAL} s: {'met' if t <= ROLLUP_GOAL else 'NOT met'})")
            rows.append({"measure": "`analytics --all --compare`, 12 websites, limit 30/min, 100 ms",
                         "value": f"{t:.2f} s, {max(rejected)} x 429", "goal": f"<= {ROLLUP_GOAL} s",
                         "met": t <= ROLLUP_GOAL})
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps({"rows": rows, "notes": []}))


if __name__ == "__main__":
    main()
