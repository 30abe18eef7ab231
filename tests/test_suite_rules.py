"""Rules about the test suite itself: markers select what they say, and CI refuses unlisted skips."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests import skip_policy

ROOT = Path(__file__).resolve().parents[1]


def collected(*args: str) -> list[str]:
    """Node ids pytest collects with `args` (in a child pytest, as a user's command line would)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: nothing selected
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_every_end_to_end_test_is_marked_e2e_and_no_unit_test_is():
    end_to_end = collected("tests/e2e")
    assert len(end_to_end) > 100  # the folder really holds the end-to-end tests
    assert collected("-m", "e2e", "tests/e2e") == end_to_end
    assert collected("-m", "e2e", "tests/test_client.py", "tests/test_suite_rules.py") == []


SKIPPING = textwrap.dedent("""
    import pytest

    def test_runs():
        pass

    def test_skips():
        pytest.skip("no frobnicator here")

    @pytest.mark.skipif(True, reason="never on this machine")
    def test_marked():
        pass
""")


def run_child(tmp_path, strict: bool) -> subprocess.CompletedProcess:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != skip_policy.ENV}
    if strict:
        env[skip_policy.ENV] = "1"
    return subprocess.run(
        # tests/conftest.py as a plugin: it is what wires the policy into every run of the suite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         str(tmp_path / "test_skipping.py")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )


def test_with_strict_skips_an_unlisted_skip_fails_the_run_and_is_named(tmp_path):
    done = run_child(tmp_path, strict=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_skipping.py::test_skips: no frobnicator here" in done.stdout
    assert "test_skipping.py::test_marked: never on this machine" in done.stdout
    assert "1 passed, 2 skipped" in done.stdout


def test_without_strict_skips_a_skip_is_only_a_skip(tmp_path):
    done = run_child(tmp_path, strict=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skips not allowed" not in done.stdout


def test_the_allow_list_is_short_names_real_tests_and_says_why():
    assert 1 <= len(skip_policy.ALLOWED_SKIPS) <= 5
    for nodeid, reason in skip_policy.ALLOWED_SKIPS.items():
        assert len(reason) > 20, nodeid
        assert nodeid in collected(nodeid), f"{nodeid} is on the allow-list but no longer exists"
        assert skip_policy.allowed(nodeid) and skip_policy.allowed(nodeid + "[param]")
        assert not skip_policy.allowed(nodeid + "_other")


def test_ci_runs_the_tests_with_strict_skips_and_sigint_ignored():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"export {skip_policy.ENV}=1" in ci
    assert "trap '' INT;" in ci  # the test command runs as under a runner that starts jobs with &
