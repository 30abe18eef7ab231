"""The startup budget, checked by what gets imported (not timed): the installed `zenovay` script runs
under `python -X importtime`, which names every module the run imported.

- `zenovay --version` answers without Typer, Click or anything else beyond the package itself.
- `zenovay --help` (piped) and a cache hit import no HTTP stack (requests, urllib3, http.client,
  email.mime, ssl, ...) and no rich; nor does a cached table when stdout is a pipe.
- A run builds only the command it runs; that command behaves as it does in the whole tree, and
  whatever needs the whole tree (root help, a mistyped command) still gets it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zenovay_cli import __version__, docgen, main
from zenovay_cli.main import build_command, run
from zenovay_cli.sandbox import SandboxConfig, SandboxServer

HTTP_STACK = {
    "requests", "urllib3", "charset_normalizer", "idna", "certifi", "http.client",
    "http.cookiejar", "email.mime", "email.parser", "ssl", "socket", "urllib.request",
}
HEAVY = HTTP_STACK | {"rich", "pydantic"}
BUDGET = {"zenovay_cli.ratelimit", "zenovay_cli.ledger", "sqlite3"}
TYPER = {"typer", "click"}


def zenovay_executable() -> str:
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        pytest.fail("the `zenovay` command is not installed: run `pip install .` first")
    return found


def imported_by(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, set]:
    """Run the installed `zenovay` with `args`; its result and every module (and parent) imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", zenovay_executable(), *args],
        capture_output=True, text=True, env=env, timeout=60,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "[us]" not in line:
            name = line.rsplit("|", 1)[1].strip()
            parts = name.split(".")
            modules.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    assert modules, f"no -X importtime lines from the run: {done.stderr[-2000:]}"
    return done, modules


@pytest.fixture
def sandbox_env():
    """An in-process sandbox, and the environment that points `zenovay` at it."""
    server = SandboxServer(SandboxConfig(websites=2)).start()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(ZENOVAY_BASE_URL=server.base_url, ZENOVAY_API_KEY=server.api_key)
    try:
        yield server, env
    finally:
        server.stop()


def test_version_is_answered_without_importing_typer_or_any_http_module():
    done, modules = imported_by("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"zenovay-cli {__version__}\n"
    assert not modules & (TYPER | HEAVY), sorted(modules & (TYPER | HEAVY))
    assert {m for m in modules if m.startswith("zenovay_cli")} == {"zenovay_cli", "zenovay_cli._version", "zenovay_cli.main"}


@pytest.mark.parametrize("args", [["-V"], ["--no-color", "--version"]])
def test_every_way_to_ask_for_the_version_prints_the_same_line(args):
    # --no-color --version goes through Typer's eager option: the quick answer must agree with it.
    done = subprocess.run([zenovay_executable(), *args], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"zenovay-cli {__version__}\n")


def test_help_imports_neither_the_http_stack_nor_rich():
    done, modules = imported_by("--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: zenovay" in done.stdout and "analytics" in done.stdout
    assert not modules & HEAVY, sorted(modules & HEAVY)


@pytest.mark.parametrize("fmt", [["--json"], []], ids=["json", "table-piped"])
def test_a_cache_hit_imports_neither_the_http_stack_nor_rich(sandbox_env, fmt):
    server, env = sandbox_env
    domain = server.data().websites()[0]["domain"]
    warm = subprocess.run([zenovay_executable(), "analytics", domain, *fmt], capture_output=True,
                          text=True, env=env, timeout=60)
    assert warm.returncode == 0, warm.stderr
    sent = server.stats()["requests"]

    done, modules = imported_by("analytics", domain, *fmt, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == warm.stdout
    assert server.stats()["requests"] == sent  # the website lookup and the data: both cached
    assert not modules & HEAVY, sorted(modules & HEAVY)
    # Nor the rate budget and its ledger: a cache hit never touches them (#11).
    assert not modules & BUDGET, sorted(modules & BUDGET)


def test_a_cache_miss_does_import_requests(sandbox_env):
    # The check above can see an HTTP import when there is one.
    server, env = sandbox_env
    done, modules = imported_by("websites", "--json", "--no-cache", env=env)
    assert done.returncode == 0, done.stderr
    assert {"requests", "urllib3", "http.client"} <= modules
    assert BUDGET <= modules  # every request goes through the budget and the ledger


# --- building one command instead of the tree -------------------------------------------------


def test_the_list_of_commands_for_quick_starts_is_the_command_tree():
    assert list(build_command().commands) == list(main.COMMANDS)


def _help(command, path: str, capsys) -> str:
    code = command.main(args=[*path.split()[1:], "--help"], prog_name="zenovay", standalone_mode=False)
    assert code == 0
    return capsys.readouterr().out


TREE = [path for path, _, _ in docgen.walk(build_command()) if path != "zenovay"]


@pytest.mark.parametrize("path", TREE)
def test_a_command_built_alone_shows_the_same_help_as_in_the_whole_tree(path, capsys):
    whole = _help(build_command(), path, capsys)
    alone = _help(build_command(path.split()[1]), path, capsys)
    assert alone == whole


def _run(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        run(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize("first", ["--help", "-h"])
def test_root_help_lists_every_command_even_when_a_command_follows(first, capsys):
    code, out, _ = _run([first, "analytics"], capsys)
    assert code == 0
    assert out.startswith("Usage: zenovay [OPTIONS] COMMAND")
    for name in main.COMMANDS:
        assert f"\n  {name} " in out, name


def test_a_mistyped_command_is_answered_with_the_closest_real_one(capsys):
    code, _, err = _run(["analytcs", "--json"], capsys)
    assert code == 2
    assert "No such command 'analytcs'" in err and "Did you mean 'analytics'?" in err


@pytest.mark.parametrize("args", [
    ["--profile", "websites", "analytics", "--help"],
    ["-pwebsites", "--no-color", "analytics", "--help"],
    ["--base-url=https://x.example/api", "--debug", "analytics", "--help"],
])
def test_the_command_after_the_root_options_is_the_one_that_runs(args, capsys):
    code, out, _ = _run(args, capsys)
    assert code == 0
    assert out.startswith("Usage: zenovay analytics [OPTIONS]")


def test_an_unknown_root_option_is_refused_as_before(capsys):
    code, _, err = _run(["--colour", "analytics"], capsys)
    assert code == 2
    assert "No such option: --colour" in err
