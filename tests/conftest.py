"""Every test gets its own config, cache, state and data folders and no ZENOVAY_* settings from outside."""

import os

import pytest


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
def sleeps(monkeypatch):
    """No real sleeping in the in-process command tests; the list records what would have been slept."""
    from tests.harness import no_sleeping

    return no_sleeping(monkeypatch)
