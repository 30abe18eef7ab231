"""Running `zenovay` in-process for the unit tests: API envelopes, the result of a run, no sleeping.

Each run gets its own `Context` (main.run's `context=`): the command's world is handed to it, with a
sleep that only records, instead of patching the client's defaults.
"""

import time
from dataclasses import dataclass

import pytest

from zenovay_cli.context import Context
from zenovay_cli.main import run

BASE = "https://api.example.test/api/external/v1"


def envelope(data):
    return {"success": True, "data": data, "timestamp": "2026-06-13T00:00:00.000Z"}


def error_body(code, message="boom"):
    return {"success": False, "error": {"code": code, "message": message, "timestamp": "2026-06-13T10:30:00.000Z"}}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:  # the assertion message when a check fails
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"

    @property
    def error_lines(self) -> list:
        return [line for line in self.err.splitlines() if line.startswith("Error:")]


def invoker(capsys, secrets, sleeps: list | None = None):
    """A function running `zenovay ARGS...` in-process, each run in a fresh Context whose sleep
    appends to `sleeps` (nothing really sleeps); it fails the test if a secret is printed."""
    sleeps = [] if sleeps is None else sleeps
    skipped = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        skipped[0] += seconds

    def clock() -> float:  # time moves on by what would have been slept (the rate budget's clock)
        return time.time() + skipped[0]

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            run(list(args), context=Context(sleep=sleep, clock=clock))
        out, err = capsys.readouterr()
        result = Result(exc.value.code, out, err)
        for secret in secrets:
            assert secret not in out + err, result
        return result

    return invoke
