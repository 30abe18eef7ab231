"""How long a cached `zenovay analytics ID --json` takes, against an uncached one and a bare interpreter.

Starts the sandbox in this process on 127.0.0.1, points the installed `zenovay` at it with private
XDG folders, warms the cache, then times N runs of each command and prints medians and ratios.

    python benchmarks/bench_cache.py            # 15 runs each
    python benchmarks/bench_cache.py -n 40 --latency 0.05   # the sandbox adds 50 ms per answer
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def zenovay_executable() -> str:
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        sys.exit("the `zenovay` command is not installed: run `pip install -e .` first")
    return found


def time_runs(argv: list[str], env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15, help="runs of each command")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the sandbox adds to every answer"
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="compile the package's modules on every run (as with PYTHONDONTWRITEBYTECODE=1)",
    )
    args = parser.parse_args()

    from zenovay_cli.sandbox import SandboxConfig, SandboxServer

    exe = zenovay_executable()
    with tempfile.TemporaryDirectory(prefix="zenovay-bench-") as tmp, SandboxServer(
        SandboxConfig(websites=3, latency=args.latency, rate_limit=100000)  # overhead, not pacing
    ) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[var] = os.path.join(tmp, var.lower())
        env.update(ZENOVAY_BASE_URL=server.base_url, ZENOVAY_API_KEY=server.api_key)
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            # As after `pip install`: compiled modules are reused. The cache of them goes to the
            # temporary folder, so the source tree gets no __pycache__ folders.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")

        listing = subprocess.run(
            [exe, "websites", "--json"], env=env, capture_output=True, text=True, check=True
        )
        website_id = json.loads(listing.stdout)["websites"][0]["id"]
        analytics = [exe, "analytics", website_id, "--json"]
        subprocess.run(analytics, env=env, stdout=subprocess.DEVNULL, check=True)  # warm

        before = server.stats()["requests"]
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("cached   analytics ID --json", analytics),
            ("uncached analytics ID --json --no-cache", [*analytics, "--no-cache"]),
        ]
        # Interleave the cases so drift in machine load affects them alike.
        results: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(args.runs):
            for name, argv in cases:
                results[name] += time_runs(argv, env, 1)
        sent = server.stats()["requests"] - before

    medians = {name: statistics.median(times) for name, times in results.items()}
    base, cached, uncached = (medians[name] for name, _ in cases)
    print(f"{args.runs} runs each, sandbox latency {args.latency * 1000:.0f} ms, "
          f"Python {sys.version.split()[0]}, "
          f"bytecode {'compiled every run' if args.no_bytecode else 'cached'}")
    for name, _ in cases:
        times = results[name]
        print(f"  {name:42s} median {medians[name] * 1000:7.1f} ms   "
              f"(min {min(times) * 1000:6.1f}, max {max(times) * 1000:6.1f})")
    print(f"  cached / python -c pass   {cached / base:5.2f}x")
    print(f"  uncached / cached         {uncached / cached:5.2f}x")
    print(f"  uncached - cached         {(uncached - cached) * 1000:5.1f} ms")
    print(f"  requests the sandbox saw while timing: {sent} "
          f"(expected {args.runs}: one per uncached run)")


if __name__ == "__main__":
    main()
