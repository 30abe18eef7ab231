"""Shared helpers for the benchmark scripts: a sandbox subprocess, isolated environments, timing.

Benchmarks print numbers; they are not tests and assert nothing. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def zenovay_executable() -> str:
    """The installed `zenovay` next to this Python, or the one on PATH."""
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        raise SystemExit("the `zenovay` command is not installed: run `pip install .` first")
    return found


def clean_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """os.environ without ZENOVAY_* settings, plus `extra` (a None value removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def with_bytecode_cache(env: Mapping[str, str], folder: str | os.PathLike) -> dict[str, str]:
    """`env` with Python's bytecode cache on, kept in `folder` (not in the work tree).

    An installed package has its .pyc files; an editable install under PYTHONDONTWRITEBYTECODE=1
    compiles every module of the project on every start, which is not what users run. Give every
    timed command of a comparison the same setting, and warm it up once before timing.
    """
    out = dict(env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out["PYTHONPYCACHEPREFIX"] = os.fspath(folder)
    return out


class Sandbox:
    """`zenovay sandbox serve` as a subprocess on a free port, with its control endpoints.

    with Sandbox("--websites", "40", "--latency", "0.1") as sb:
        sb.configure(rate_limit=120); sb.reset(); ...; sb.stats()
    """

    def __init__(self, *args: str) -> None:
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.base_url = self.api_key = self.root = ""

    def start(self) -> Sandbox:
        self.proc = subprocess.Popen(
            [zenovay_executable(), "sandbox", "serve", "--port", "0", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
        )
        values = {}
        for _ in range(2):
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("sandbox did not start: " + self.proc.stderr.read())
            name, _, value = line.strip().partition("=")
            values[name] = value
        self.base_url = values["ZENOVAY_BASE_URL"]
        self.api_key = values["ZENOVAY_API_KEY"]
        self.root = self.base_url.split("/api/")[0]
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def control(self, path: str, payload: object = None, method: str | None = None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"{self.root}/__sandbox__/{path}", data=data,
            method=method or ("POST" if data is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def configure(self, **values: object):
        return self.control("config", values)

    def reset(self):
        """Forget faults, statistics, rate windows and quota use (not the configuration)."""
        return self.control("reset", {})

    def faults(self, *faults: Mapping):
        return self.control("faults", {"faults": list(faults)})

    def stats(self) -> dict:
        return self.control("stats")

    def env(self, home: str | os.PathLike, extra: Mapping[str, str | None] | None = None) -> dict:
        """An environment for `zenovay` against this sandbox, with config/cache/state under home."""
        home = Path(home)
        values: dict[str, str | None] = {
            "ZENOVAY_BASE_URL": self.base_url, "ZENOVAY_API_KEY": self.api_key, "HOME": str(home),
            "NO_COLOR": "1",
        }
        for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                         ("XDG_STATE_HOME", "state")):
            (home / sub).mkdir(parents=True, exist_ok=True)
            values[var] = str(home / sub)
        values.update(extra or {})
        return clean_env(values)


@dataclass
class Timed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike | None = None, timeout: float = 600) -> Timed:
    """Run a command to completion; wall-clock seconds from start to exit, and its output."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    return Timed(time.perf_counter() - start, proc.returncode, proc.stdout, proc.stderr)


def repeat(times: int, make_run: Callable[[int], Timed], *, check: bool = True) -> list[Timed]:
    """Call make_run(i) `times` times; with check, stop at a non-zero exit and show its stderr."""
    runs = []
    for i in range(times):
        run = make_run(i)
        if check and run.returncode != 0:
            raise SystemExit(f"run {i + 1} exited {run.returncode}:\n{run.stderr}")
        runs.append(run)
    return runs


def median_seconds(runs: Iterable[Timed]) -> float:
    return statistics.median(run.seconds for run in runs)


def scratch_dir(prefix: str = "zenovay-bench-") -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix)


def python_script(source: str) -> list[str]:
    """argv running `source` with this Python (for baselines written as plain scripts)."""
    return [sys.executable, "-c", source]


def print_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
