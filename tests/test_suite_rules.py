"""Rules about the test suite itself: markers select what they say."""

import subprocess
import sys
from pathlib import Path

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
