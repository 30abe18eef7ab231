"""Helpers of the performance benchmarks (bench_startup, bench_query, bench_stream, bench_fanout).

Timing: the cases of a benchmark run interleaved (a, b, c, a, b, c, ...), so a change in the
machine's load during the run hits every case alike; the figures are medians, and ratios are taken
between medians of the same run. Benchmarks print numbers and assert nothing.

Bytecode: by default the package's compiled modules are reused between runs, as after `pip install`
(PYTHONDONTWRITEBYTECODE is removed from the children's environment and the compiled files go to a
temporary PYTHONPYCACHEPREFIX, so the source tree gets no __pycache__ folders). `--no-bytecode`
compiles every module on every run instead.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Sandbox, scratch_dir, zenovay_executable  # noqa: E402,F401 - re-exported


def bytecode_env(tmp: str | os.PathLike, compiled: bool = True) -> dict[str, str | None]:
    """Environment changes for children: reuse compiled modules (from a cache under tmp) or not."""
    if compiled:
        return {"PYTHONDONTWRITEBYTECODE": None,
                "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
    return {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": None}


def add_common_arguments(parser) -> None:
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile the package on every run (as with PYTHONDONTWRITEBYTECODE=1)")
    parser.add_argument("--summary-json", metavar="PATH",
                        help="also write the results as JSON here (used by run_all.py)")


@dataclass
class Case:
    name: str
    argv: list[str]
    env: Mapping[str, str] | None = None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def run_once(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Seconds from start to exit of one run (output discarded); exits on a failure."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=dict(env) if env is not None else None,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return seconds


def interleaved(cases: Sequence[Case], runs: int, warmup: int = 1) -> None:
    """Run every case `warmup` times (not counted), then `runs` rounds of each case in turn."""
    for _ in range(warmup):
        for case in cases:
            run_once(case.argv, case.env)
    for _ in range(runs):
        for case in cases:
            case.times.append(run_once(case.argv, case.env))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def print_cases(cases: Sequence[Case], base: Case | None = None) -> None:
    width = max(len(c.name) for c in cases)
    for case in cases:
        ratio = f"   {case.median / base.median:5.2f}x {base.name}" if base and case is not base else ""
        print(f"  {case.name:{width}s}  median {ms(case.median):>7s} ms  "
              f"(min {ms(min(case.times)):>6s}, max {ms(max(case.times)):>6s}){ratio}")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def machine() -> dict:
    """What the figures came from: CPUs, memory, Python, OS, load."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count()
    memory = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        load = None
    return {
        "cpus": cpus, "memory": memory, "python": platform.python_version(),
        "implementation": platform.python_implementation(), "os": platform.platform(terse=True),
        "load": load,
    }


def describe_machine() -> str:
    m = machine()
    return (f"{m['cpus']} CPUs, {m['memory']} RAM, {m['implementation']} {m['python']}, "
            f"{m['os']}, load average {m['load']}")


def write_summary(path: str | None, name: str, rows: list[dict], notes: list[str] | None = None) -> None:
    """rows: {"measure", "value", "goal", "met"}; run_all.py turns them into Markdown."""
    if not path:
        return
    Path(path).write_text(json.dumps(
        {"benchmark": name, "machine": machine(), "rows": rows, "notes": notes or []}, indent=2))

