"""How long `zenovay doctor` takes and how many API requests it makes, against the sandbox with
added latency (issue #14: at most 2 requests, at most 1.5 s at 100 ms latency).

    python benchmarks/bench_doctor.py                  # 100 ms latency, 10 runs
    python benchmarks/bench_doctor.py --latency 0.3 -n 5
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
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zenovay_cli.sandbox import SandboxConfig, SandboxServer  # noqa: E402


def zenovay_executable() -> str:
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        sys.exit("the `zenovay` command is not installed: run `pip install -e .` first")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    with SandboxServer(SandboxConfig(latency=args.latency)) as server, \
            tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        env.update({"HOME": home, "XDG_CONFIG_HOME": f"{home}/config",
                    "XDG_CACHE_HOME": f"{home}/cache", "XDG_STATE_HOME": f"{home}/state",
                    "XDG_DATA_HOME": f"{home}/data", "ZENOVAY_BASE_URL": server.base_url,
                    "ZENOVAY_API_KEY": server.api_key})
        times, requests = [], []
        for _ in range(args.runs):
            server.reset()
            start = time.perf_counter()
            proc = subprocess.run([zenovay_executable(), "doctor", "--json"], env=env,
                                  capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):
                sys.exit(f"zenovay doctor failed ({proc.returncode}): {proc.stderr}")
            with urllib.request.urlopen(server.url + "/__sandbox__/stats") as response:
                requests.append(json.loads(response.read())["requests"])
            failed = [c["check"] for c in json.loads(proc.stdout)["checks"] if c["status"] == "fail"]
        print(f"zenovay doctor, sandbox latency {args.latency * 1000:.0f} ms, {args.runs} runs")
        print(f"  wall time: median {statistics.median(times):.3f} s, max {max(times):.3f} s "
              "(target <= 1.5 s)")
        print(f"  API requests per run: max {max(requests)} (target <= 2)")
        print(f"  failed checks in the last run: {', '.join(failed) or 'none'}")


if __name__ == "__main__":
    main()
