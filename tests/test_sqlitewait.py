import sqlite3

import pytest

from zenovay_cli.sqlitewait import retry_locked


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_locked_is_retried_until_it_succeeds_with_growing_pauses():
    clock = FakeClock()
    calls = []

    def step():
        calls.append(clock.now)
        if len(calls) < 8:
            raise sqlite3.OperationalError("database is locked")
        return "wal"

    assert retry_locked(step, 5.0, sleep=clock.sleep, clock=clock) == "wal"
    assert len(calls) == 8
    assert clock.sleeps[:4] == [0.002, 0.004, 0.008, 0.016]
    assert max(clock.sleeps) == 0.05


def test_locked_past_the_timeout_raises_the_lock_error():
    clock = FakeClock()

    def step():
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_locked(step, 1.0, sleep=clock.sleep, clock=clock)
    assert 1.0 <= clock.now < 1.1


def test_other_errors_are_not_retried():
    clock = FakeClock()
    calls = []

    def step():
        calls.append(1)
        raise sqlite3.OperationalError("no such table: budget")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_locked(step, 5.0, sleep=clock.sleep, clock=clock)
    assert calls == [1] and clock.sleeps == []
