"""Run every benchmark script in this folder and print a Markdown summary (for docs/performance.md).

Each script starts its own sandbox on 127.0.0.1 and prints its numbers as it goes; they are shown
live. The summary at the end has the machine, a table of every goal with its measured value, and
the output of scripts that have no goals table of their own (bench_cache.py, bench_export.py).

    python benchmarks/run_all.py                      # everything, about 8 minutes
    python benchmarks/run_all.py --quick              # fewer runs, about 3 minutes
    python benchmarks/run_all.py --only startup query --markdown perf.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _perf import machine  # noqa: E402

# Scripts that write --summary-json and accept --no-bytecode; in the order they run.
WITH_SUMMARY = ("startup", "query", "stream", "fanout", "answers")
ORDER = ("startup", "query", "cache", "stream", "fanout", "export", "answers", "budget")
QUICK = {
    "startup": ["-n", "7"], "query": ["-n", "7"], "cache": ["-n", "7"],
    "stream": ["--runs", "1"], "fanout": ["--repeats", "2", "--rate", "120"],
    "export": ["--part", "a", "--repeats", "1"], "answers": ["--repeats", "3"],
    "budget": ["--only", "within", "export40", "ledger"],
}
ACCEPTS_NO_BYTECODE = (*WITH_SUMMARY, "cache")


def scripts() -> list[str]:
    found = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def run_script(name: str, extra: list[str], summary: Path | None) -> tuple[int, str, float]:
    """Run benchmarks/bench_NAME.py, echoing its output; (exit code, output, seconds)."""
    argv = [sys.executable, str(HERE / f"bench_{name}.py"), *extra]
    if summary is not None:
        argv += ["--summary-json", str(summary)]
    print(f"\n$ python benchmarks/bench_{name}.py {' '.join(extra)}".rstrip(), flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    proc.wait()
    return proc.returncode, "".join(lines), time.perf_counter() - start


def markdown(results: list[dict], started: str) -> str:
    m = machine()
    out = [
        "### Benchmark results",
        "",
        f"Measured {started} on {m['cpus']} CPUs, {m['memory']} RAM, {m['implementation']} "
        f"{m['python']}, {m['os']} (load average at the end: {m['load']}). Medians; every ratio "
        "compares cases timed side by side (interleaved) in the same run.",
        "",
        "| benchmark | measure | result | goal | |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for row in (r.get("summary") or {}).get("rows", []):
            met = {True: "met", False: "**missed**", None: ""}[row.get("met")]
            out.append(f"| {r['name']} | {row['measure']} | {row['value']} | {row['goal']} | {met} |")
        if r["code"] != 0:
            out.append(f"| {r['name']} | (the script failed: exit {r['code']}) | | | **failed** |")
    for r in results:
        notes = (r.get("summary") or {}).get("notes") or []
        if notes:
            out += ["", f"{r['name']}: " + "; ".join(notes) + "."]
    for r in results:
        if r.get("summary") is None:
            command = " ".join(["python", f"benchmarks/bench_{r['name']}.py", *r["args"]])
            out += ["", f"`{command}`", "", "```", r["output"].rstrip(), "```"]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs of everything")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="e.g. startup query stream")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile the package on every run (where a script supports it)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the summary here")
    args = parser.parse_args()

    names = scripts()
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            sys.exit(f"no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    started = time.strftime("%Y-%m-%d %H:%M")
    print(f"benchmarks: {', '.join(names)}; Python {platform.python_version()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="zenovay-bench-all-") as tmp:
        for name in names:
            extra = list(QUICK.get(name, [])) if args.quick else []
            if args.no_bytecode and name in ACCEPTS_NO_BYTECODE:
                extra.append("--no-bytecode")
            summary = Path(tmp) / f"{name}.json" if name in WITH_SUMMARY else None
            code, output, seconds = run_script(name, extra, summary)
            data = None
            if summary is not None and summary.exists():
                data = json.loads(summary.read_text())
            results.append({"name": name, "args": extra, "code": code, "output": output,
                            "seconds": seconds, "summary": data})
    text = markdown(results, started)
    print("\n" + "=" * 78 + "\n")
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    failed = [r["name"] for r in results if r["code"] != 0]
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
