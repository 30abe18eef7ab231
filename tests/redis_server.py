"""A real redis-server for the tests: its own free loopback port, its own temp dir, no persistence.

Where `redis-server` is missing the Redis tests skip, except when ZENOVAY_REQUIRE_REDIS=1 (set by
.ci/run), where a missing server fails them: CI must never pass by not running them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    message = "redis-server is not installed (apt-get install redis-server)"
    if os.environ.get("ZENOVAY_REQUIRE_REDIS") == "1":
        pytest.fail(message + "; ZENOVAY_REQUIRE_REDIS=1 makes this a failure")
    pytest.skip(message)


TLS_DIR = Path(__file__).resolve().parent / "tls"  # a self-signed test certificate (tls/README.md)


class RedisServer:
    """`tls=True`: TLS only (no plain port), with tests/tls's certificate; `url` is then a
    rediss:// URL that trusts it through `?ssl_ca_certs=`."""

    def __init__(self, directory: Path, password: str | None = None, *, tls: bool = False) -> None:
        self.binary = require_redis_server()
        self.directory = directory
        self.password = password
        self.tls = tls
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={TLS_DIR / 'cert.pem'}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning",
        ]
        if self.tls:
            args[1:3] = ["--port", "0", "--tls-port", str(self.port)]
            args += ["--tls-cert-file", str(TLS_DIR / "cert.pem"), "--tls-key-file", str(TLS_DIR / "key.pem"),
                     "--tls-ca-cert-file", str(TLS_DIR / "cert.pem"), "--tls-auth-clients", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start within 10 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def client(self):
        import redis

        if self.tls:
            return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, ssl=True,
                               ssl_ca_certs=str(TLS_DIR / "cert.pem"))
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)
