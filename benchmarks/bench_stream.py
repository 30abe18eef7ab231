"""Streaming: `zenovay visitors ID --all` writes rows as pages arrive, so its peak memory does not
grow with the number of visitors.

For 10k and 100k visitors (sandbox pages of 1000) and each format (ndjson, --json, csv), runs
`zenovay visitors ID --all` in a fresh process and reports its peak memory (ru_maxrss of exactly
that child, from os.wait4), wall time, and when the first row reached the pipe (a streaming
command writes it after the first page, long before the last). Goal: peak memory for 100k within
15% of that for 10k (ndjson; --json and csv are shown against the same bar). `--table` adds the
table format, printed in blocks of 1,000 rows (each aligned on its own), so it streams too. Starts the sandbox
itself on 127.0.0.1; the cache is off (--no-cache) unless --cache is given.

    python benchmarks/bench_stream.py                # 3 runs of each, about 1 minute
    python benchmarks/bench_stream.py --sizes 10000 200000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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

GOAL = 1.15
FORMATS = {"ndjson": ["--format", "ndjson"], "json": ["--json"], "csv": ["--format", "csv"],
           "table": ["--format", "table"]}


# Runs in a fresh, small Python process per measurement: a child forked from a big process would
# report that process's memory as its own peak (Linux counts the pages it had before exec).
MEASURE = r"""
import json, os, subprocess, sys, tempfile, time
fmt, argv = sys.argv[1], sys.argv[2:]
with tempfile.TemporaryFile() as saved:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first, newlines = None, 0
    while True:
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        if first is None and (b"\n" in chunk if fmt in ("ndjson", "csv", "table") else b"}" in chunk):
            first = time.perf_counter() - start
        if fmt == "json":
            saved.write(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    rows = newlines
    if fmt == "json":
        saved.seek(0)
        rows = len(json.load(saved)["visitors"])
    elif fmt == "csv":
        rows = newlines - 1
    elif fmt == "table":
        rows = None  # plain text (NO_COLOR is set): blocks of 1,000 rows with their headers
rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
print(json.dumps({"rss": rss, "first": first or seconds, "seconds": seconds, "rows": rows,
                  "returncode": os.waitstatus_to_exitcode(status), "stderr": stderr[-2000:]}))
"""


def run_streaming(argv: list[str], env: dict, fmt: str) -> dict:
    """One run: peak memory (KiB), seconds to the first row and to exit, rows received."""
    done = subprocess.run([sys.executable, "-c", MEASURE, fmt, *argv], env=env,
                          capture_output=True, text=True, check=True)
    run = json.loads(done.stdout)
    if run["returncode"] != 0:
        sys.exit(f"{' '.join(argv)} failed ({run['returncode']}): {run['stderr']}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each size and format")
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000],
                        metavar=("SMALL", "LARGE"), help="visitors of the two runs compared")
    parser.add_argument("--table", action="store_true", help="also the table format (blocks of 1,000 rows)")
    parser.add_argument("--cache", action="store_true",
                        help="leave the cache on (every page is stored; fresh cache each run)")
    add_common_arguments(parser)
    args = parser.parse_args()

    formats = ["ndjson", "json", "csv"] + (["table"] if args.table else [])
    exe = zenovay_executable()
    results: dict[tuple[str, int], list[dict]] = {}
    # A limit far above what the runs send: this measures streaming, not the rate budget (the
    # sandbox otherwise advertises Pro's 30/min, and the runs share one per-host ledger).
    with Sandbox("--websites", "1", "--visitors", str(args.sizes[0]), "--rate-limit", "100000") as sb, \
            scratch_dir() as tmp:
        env = sb.env(Path(tmp) / "home", bytecode_env(tmp, compiled=not args.no_bytecode))
        listing = subprocess.run([exe, "websites", "--json"], env=env, capture_output=True,
                                 text=True, check=True)
        website_id = json.loads(listing.stdout)["websites"][0]["id"]
        for size in args.sizes:
            sb.configure(visitors_per_site=size)
            for n in range(args.runs):
                for fmt in formats:  # interleaved, so load changes hit every format alike
                    run_env = dict(env)
                    extra = []
                    if args.cache:
                        run_env["XDG_CACHE_HOME"] = str(Path(tmp) / f"cache-{size}-{fmt}-{n}")
                    else:
                        extra = ["--no-cache"]
                    argv = [exe, "visitors", website_id, "--all", *FORMATS[fmt], *extra]
                    run = run_streaming(argv, run_env, fmt)
                    if run["rows"] not in (size, None):
                        sys.exit(f"{fmt}: {run['rows']} rows received, {size} expected")
                    results.setdefault((fmt, size), []).append(run)

    small, large = args.sizes
    print(f"visitors --all, pages of 1000, {args.runs} runs each (medians), "
          f"cache {'on' if args.cache else 'off (--no-cache)'}")
    print(f"machine: {describe_machine()}")
    print(f"  {'format':8s} {'visitors':>8s} {'peak RSS':>10s} {'first row':>10s} {'total':>8s}")
    med = {}
    for fmt in formats:
        for size in args.sizes:
            runs = results[(fmt, size)]
            m = {k: statistics.median(r[k] for r in runs) for k in ("rss", "first", "seconds")}
            med[(fmt, size)] = m
            print(f"  {fmt:8s} {size:8d} {m['rss'] / 1024:7.1f} MiB {m['first']:8.2f} s "
                  f"{m['seconds']:6.2f} s")
    rows = []
    for fmt in formats:
        ratio = med[(fmt, large)]["rss"] / med[(fmt, small)]["rss"]
        goal = f"   goal <= {GOAL:.2f}x: {verdict(ratio <= GOAL)}"
        print(f"  {fmt:8s} peak RSS {large // 1000}k / {small // 1000}k = {ratio:.3f}x{goal}")
        rows.append({
            "measure": f"`visitors --all {' '.join(FORMATS[fmt])}` peak RSS, "
                       f"{large // 1000}k / {small // 1000}k visitors",
            "value": f"{ratio:.3f}x ({med[(fmt, large)]['rss'] / 1024:.1f} MiB vs "
                     f"{med[(fmt, small)]['rss'] / 1024:.1f} MiB)",
            "goal": f"<= {GOAL:.2f}x", "met": ratio <= GOAL})
    for fmt in formats:
        m = med[(fmt, large)]
        print(f"  {fmt:8s} {large // 1000}k: first row after {m['first']:.2f} s of {m['seconds']:.2f} s "
              f"({m['first'] / m['seconds'] * 100:.0f} %): rows are written as pages arrive")
    write_summary(args.summary_json, "stream", rows, [
        f"{fmt} {large // 1000}k: first row at {med[(fmt, large)]['first']:.2f} s "
        f"of {med[(fmt, large)]['seconds']:.2f} s" for fmt in formats])


if __name__ == "__main__":
    main()
