"""Startup budget: `zenovay --version`, `zenovay --help` and a cached `analytics ID --json` against
a bare `python -c pass`, measured side by side (interleaved) in the same run.

Goals (ratios of medians): --help within 10x, --version within 6x, a cache hit within 8x of
`python -c pass`. Starts the sandbox itself (for the cache hit) on 127.0.0.1.

    python benchmarks/bench_startup.py           # 21 runs of each
    python benchmarks/bench_startup.py -n 41 --no-bytecode
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

GOALS = {"zenovay --version": 6.0, "zenovay --help": 10.0, "cached analytics ID --json": 8.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=21, help="runs of each command")
    add_common_arguments(parser)
    args = parser.parse_args()

    exe = zenovay_executable()
    with Sandbox("--websites", "3") as sb, scratch_dir() as tmp:
        env = sb.env(Path(tmp) / "home", bytecode_env(tmp, compiled=not args.no_bytecode))
        listing = subprocess.run([exe, "websites", "--json"], env=env, capture_output=True,
                                 text=True, check=True)
        website_id = json.loads(listing.stdout)["websites"][0]["id"]
        cached = [exe, "analytics", website_id, "--json"]
        subprocess.run(cached, env=env, stdout=subprocess.DEVNULL, check=True)  # fill the cache
        before = sb.stats()["requests"]
        cases = [
            Case("python -c pass", [sys.executable, "-c", "pass"], env),
            Case("zenovay --version", [exe, "--version"], env),
            Case("zenovay --help", [exe, "--help"], env),
            Case("cached analytics ID --json", cached, env),
            # For reference: what the two big dependencies cost on their own.
            Case("python -c 'import typer'", [sys.executable, "-c", "import typer"], env),
            Case("zenovay analytics --help", [exe, "analytics", "--help"], env),
        ]
        interleaved(cases, args.runs)
        sent = sb.stats()["requests"] - before

    base = cases[0]
    print(f"{args.runs} runs each, interleaved; bytecode "
          f"{'compiled on every run' if args.no_bytecode else 'reused (as installed)'}")
    print(f"machine: {describe_machine()}")
    print_cases(cases, base)
    rows = []
    for case in cases[1:4]:
        ratio = case.median / base.median
        goal = GOALS[case.name]
        print(f"  {case.name:28s} {ratio:5.2f}x python -c pass   goal <= {goal:g}x: {verdict(ratio <= goal)}")
        rows.append({"measure": f"`{case.name}` / `python -c pass`",
                     "value": f"{ratio:.2f}x ({case.median * 1000:.0f} ms vs {base.median * 1000:.0f} ms)",
                     "goal": f"<= {goal:g}x", "met": ratio <= goal})
    print(f"  requests the sandbox saw during the timed cache hits: {sent} (expected 0)")
    write_summary(args.summary_json, "startup", rows,
                  [f"requests during cache hits: {sent}",
                   "bytecode " + ("compiled every run" if args.no_bytecode else "reused")])


if __name__ == "__main__":
    main()
