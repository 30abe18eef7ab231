"""Every test gets its own config, cache, state and data folders and no ZENOVAY_* settings from outside."""

import os
import signal
from pathlib import Path

import pytest

from tests.skip_policy import pytest_configure  # noqa: F401 (CI's skip allow-list, ZENOVAY_STRICT_SKIPS)

E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e/ is an end-to-end test: mark it `e2e`, so that `-m e2e` selects
    exactly those and `-m "not e2e"` none of them (a `pytestmark` in a conftest has no effect)."""
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("ZENOVAY_") or name == "NO_COLOR":
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data")):
        path = home / sub
        path.mkdir(parents=True)
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def sleeps():
    """What the in-process command tests would have slept (tests.harness.invoker records there)."""
    return []


@pytest.fixture
def ctrl_c_deliverable():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt in this process during the test, even when pytest
    was started with SIGINT ignored (as a shell starts `cmd &`, and some CI runners start jobs)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free loopback port (see tests/redis_server.py)."""
    from tests.redis_server import RedisServer

    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    yield server
    server.stop()
