"""CI's rule for skipped tests: none, except the few listed here, each with the reason it may skip.

Active when ZENOVAY_STRICT_SKIPS=1 (`.ci/run` sets it): a skip of any other test turns the run
into a failure (exit 1) and the summary names it with its skip reason. Without the variable a skip
stays a skip, so a developer's machine without zsh, or a non-root run, still passes.

To add an entry, say why the test cannot run on every CI machine; docs/development.md points here.
Loaded by tests/conftest.py (and by `-p tests.skip_policy`).
"""

from __future__ import annotations

import os

import pytest

# node id (without parameters) -> why it may skip even in CI
ALLOWED_SKIPS: dict[str, str] = {
    "tests/e2e/test_issue12.py::test_export_into_a_full_file_system_is_a_plain_error":
        "mounts a tiny tmpfs: needs root and a kernel or container that allows mount(2)",
}

ENV = "ZENOVAY_STRICT_SKIPS"


def allowed(nodeid: str) -> bool:
    return nodeid.split("[", 1)[0] in ALLOWED_SKIPS


class SkipPolicy:
    def __init__(self) -> None:
        self.refused: list[tuple[str, str]] = []

    def _check(self, report) -> None:
        if not report.skipped or hasattr(report, "wasxfail") or allowed(report.nodeid):
            return
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        self.refused.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_runtest_logreport(self, report) -> None:
        self._check(report)

    def pytest_collectreport(self, report) -> None:  # a whole module skipped at import
        self._check(report)

    def pytest_sessionfinish(self, session) -> None:
        if self.refused and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.refused:
            return
        terminalreporter.section(f"skips not allowed ({ENV}=1; allow-list in tests/skip_policy.py)",
                                 red=True)
        for nodeid, reason in self.refused:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)


def pytest_configure(config) -> None:
    if os.environ.get(ENV) == "1" and not config.pluginmanager.has_plugin("zenovay-skip-policy"):
        config.pluginmanager.register(SkipPolicy(), "zenovay-skip-policy")
