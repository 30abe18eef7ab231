"""An uncached query against the local sandbox: `zenovay analytics ID --json --no-cache` against a
bare Python script that imports requests and makes the same GET (same URL, query and headers) and
prints the body, measured side by side (interleaved) in the same run.

Goal: within 1.6x of the bare script (median against median). Also shown: a cache miss that stores
the answer (`--refresh`), and `python -c pass`. Starts the sandbox itself on 127.0.0.1.

    python benchmarks/bench_query.py              # 21 runs of each
    python benchmarks/bench_query.py --latency 0.05 -n 31
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _perf import (  # noqa: E402
    Case,
    Sandbox,
    add_common_arguments,
    bytecode_env,
    describe_machine,
    interleaved,
    print_cases,
    scratch_dir,
    verdict,
    write_summary,
    zenovay_executable,
)

GOAL = 1.6

# The same request ZenovayClient sends: X-API-Key, its User-Agent, Accept, no redirects, 30 s.
BARE = r"""
import os, sys
import requests

base, key, website = os.environ["ZENOVAY_BASE_URL"], os.environ["ZENOVAY_API_KEY"], sys.argv[1]
resp = requests.get(f"{base}/analytics/{website}", params={"range": "7d"}, timeout=30,
                    allow_redirects=False,
                    headers={"X-API-Key": key, "User-Agent": sys.argv[2], "Accept": "application/json"})
resp.raise_for_status()
sys.stdout.write(resp.text + "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=21, help="runs of each command")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the sandbox adds to every answer [default: 0]")
    add_common_arguments(parser)
    args = parser.parse_args()

    from zenovay_cli.client import USER_AGENT

    exe = zenovay_executable()
    # A limit far above what the runs send: this measures overhead, not the rate budget (the
    # sandbox otherwise advertises Pro's 30/min, and the runs share one per-host ledger).
    with Sandbox("--websites", "3", "--latency", str(args.latency), "--rate-limit", "100000") as sb, \
            scratch_dir() as tmp:
        env = sb.env(Path(tmp) / "home", bytecode_env(tmp, compiled=not args.no_bytecode))
        listing = subprocess.run([exe, "websites", "--json"], env=env, capture_output=True,
                                 text=True, check=True)
        website_id = json.loads(listing.stdout)["websites"][0]["id"]
        ours = [exe, "analytics", website_id, "--json"]
        bare = [sys.executable, "-c", BARE, website_id, USER_AGENT]
        same = subprocess.run(bare, env=env, capture_output=True, text=True, check=True).stdout
        mine = subprocess.run([*ours, "--no-cache"], env=env, capture_output=True, text=True,
                              check=True).stdout
        if json.loads(same)["data"] != json.loads(mine):
            sys.exit("the bare script and zenovay did not get the same data")
        cases = [
            Case("python -c pass", [sys.executable, "-c", "pass"], env),
            Case("bare requests script", bare, env),
            Case("analytics ID --json --no-cache", [*ours, "--no-cache"], env),
            Case("analytics ID --json --refresh", [*ours, "--refresh"], env),
        ]
        sb.reset()
        interleaved(cases, args.runs)
        sent = sb.stats()["requests"]

    base, bare_case, uncached, refresh = cases
    ratio = uncached.median / bare_case.median
    print(f"{args.runs} runs each, interleaved; sandbox latency {args.latency * 1000:.0f} ms; "
          f"bytecode {'compiled on every run' if args.no_bytecode else 'reused (as installed)'}")
    print(f"machine: {describe_machine()}")
    print_cases(cases, bare_case)
    print(f"  --no-cache / bare script   {ratio:5.2f}x   goal <= {GOAL:g}x: {verdict(ratio <= GOAL)}")
    print(f"  --refresh  / bare script   {refresh.median / bare_case.median:5.2f}x   "
          "(fetches and stores the answer in the cache)")
    print(f"  zenovay's own overhead     {(uncached.median - bare_case.median) * 1000:5.1f} ms "
          "(Typer, settings, output)")
    expected = 3 * (args.runs + 1)  # bare, --no-cache and --refresh, warm-up included
    print(f"  requests the sandbox saw: {sent} (expected {expected}: one per run)")
    write_summary(args.summary_json, "query", [
        {"measure": "`analytics ID --json --no-cache` / bare requests script",
         "value": f"{ratio:.2f}x ({uncached.median * 1000:.0f} ms vs {bare_case.median * 1000:.0f} ms)",
         "goal": f"<= {GOAL:g}x", "met": ratio <= GOAL},
    ], [f"--refresh / bare: {refresh.median / bare_case.median:.2f}x",
        f"sandbox latency {args.latency * 1000:.0f} ms"])


if __name__ == "__main__":
    main()
