"""End-to-end fixtures: the installed `zenovay` command against `zenovay sandbox serve` over HTTP."""

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest


def zenovay_executable() -> str:
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        pytest.fail("the `zenovay` command is not installed: run `pip install .` first")
    return found


def default_sigint() -> None:
    """preexec_fn for a child that a test stops with Ctrl-C (SIGINT): a child inherits an ignored
    SIGINT from a pytest started as a shell's background job (`cmd &`), so give it the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def host_env(tmp_path: Path, name: str, sandbox, redis_url: str | None = None, **extra: str) -> dict:
    """The environment of one simulated "host": its own HOME and XDG folders (so its own config,
    cache, per-host ledger and alert state) under tmp_path/name, this sandbox's URL and key, no
    other ZENOVAY_* variable; `redis_url` joins it to a fleet."""
    home = tmp_path / name
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state"), ("XDG_DATA_HOME", "data")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["HOME"] = str(home)
    env.update({"ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_API_KEY": sandbox.api_key})
    if redis_url:
        env["ZENOVAY_REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Sandbox:
    """A `zenovay sandbox serve` subprocess and its control endpoints."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        self.proc = subprocess.Popen(
            [zenovay_executable(), "sandbox", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
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

    def control(self, path: str, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"{self.root}/__sandbox__/{path}", data=data, method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def faults(self, *faults):
        return self.control("faults", {"faults": list(faults)})

    def stats(self):
        return self.control("stats")

    def reset(self):
        return self.control("reset", {})

    def configure(self, **values):
        return self.control("config", values)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def sandbox():
    server = Sandbox("--websites", "4", "--visitors", "2500", "--rate-limit", "100000")
    # The sandbox's "now" is pinned to the session's start (no answer is later than it, and the
    # CLI's wall clock is only minutes ahead), so two runs in a test get the same answers.
    server.configure(now=datetime.now(timezone.utc).isoformat())
    yield server
    server.stop()


@pytest.fixture
def sb(sandbox):
    """The shared sandbox, reset before each test."""
    sandbox.reset()
    return sandbox


@pytest.fixture
def cli(sb, isolated_dirs):
    """Run the installed `zenovay` with the sandbox's URL and key in the environment."""

    def run(*args: str, env=None, input=None, timeout=60) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        full_env.update({"ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key})
        full_env.update(env or {})
        for name, value in list(full_env.items()):
            if value is None:
                del full_env[name]
        return subprocess.run(
            [zenovay_executable(), *args],
            capture_output=True, text=True, env=full_env, input=input, timeout=timeout,
        )

    return run
