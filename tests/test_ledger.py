"""The per-host ledger (#11): one budget shared by processes (spawned, started by a gate), a killed
process, a fresh process seeing earlier sends, no send lost; failures fall back with one warning."""

from __future__ import annotations

import bisect
import math
import multiprocessing
import os
import signal
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from zenovay_cli.ledger import FILE_NAME, SqliteLedger, fingerprint, open_ledger
from zenovay_cli.ratelimit import RateBudget

KEY = "zv_ledger_test_key_0123456789"
WINDOW = 1.0  # seconds: real time, so the window is short
LIMIT = 10


def most_in_any_window(times, window=WINDOW):
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def highest_cf_estimate(times, phase, window=WINDOW):
    times = sorted(times)
    worst = 0.0
    for t in times:
        start = phase + math.floor((t - phase) / window) * window
        current = bisect.bisect_right(times, t) - bisect.bisect_left(times, start)
        previous = bisect.bisect_left(times, start) - bisect.bisect_left(times, start - window)
        worst = max(worst, previous * (1 - (t - start) / window) + current)
    return worst


def worker(folder: str, sends: int, gate, out: str, hang_after: int = -1) -> None:
    """A `zenovay` process in miniature: a budget on the shared ledger, one line per send."""
    budget = RateBudget(LIMIT, window=WINDOW, ledger=open_ledger(Path(folder), KEY),
                        on_warning=lambda text: Path(out + ".warn").write_text(text))
    gate.wait()
    with open(out, "a") as fh:
        for n in range(sends):
            if n == hang_after:
                time.sleep(3600)  # the parent kills us here
            fh.write(f"{budget.acquire()!r}\n")
            fh.flush()


def start(ctx, tmp_path, specs):
    """Spawn one process per (name, sends, hang_after), all released together by one gate."""
    gate = ctx.Barrier(len(specs) + 1, timeout=60)
    procs = {}
    for name, sends, hang_after in specs:
        proc = ctx.Process(target=worker, args=(str(tmp_path), sends, gate, str(tmp_path / name),
                                                hang_after))
        proc.start()
        procs[name] = proc
    gate.wait()  # every process is up and has its ledger: go
    return procs


def sends_of(tmp_path, name):
    path = tmp_path / name
    return [float(line) for line in path.read_text().split()] if path.exists() else []


@pytest.fixture
def ctx():
    return multiprocessing.get_context("spawn")


def test_processes_started_together_share_one_budget_and_lose_no_send(ctx, tmp_path):
    procs = start(ctx, tmp_path, [(f"p{i}", 8, -1) for i in range(4)])
    for proc in procs.values():
        proc.join(60)
        assert proc.exitcode == 0
    times = [t for name in procs for t in sends_of(tmp_path, name)]
    assert len(times) == 32  # every send made, each recorded once
    assert most_in_any_window(times) <= LIMIT
    for phase in (0.0, 0.25, 0.5, 0.75):
        assert highest_cf_estimate(times, phase) <= LIMIT + 1e-9
    assert not list(tmp_path.glob("*.warn"))
    # The ledger holds every send of the last two windows (it forgets older ones): none was lost
    # between check and commit.
    state = SqliteLedger(tmp_path / FILE_NAME, fingerprint("", KEY)).transact(lambda s: s)
    recent = [t for t in sorted(times) if t >= max(times) - 1.9 * WINDOW]
    assert len(recent) > LIMIT
    assert recent == [t for t in state.sends if t >= recent[0]]


def test_a_process_killed_mid_run_neither_corrupts_nor_blocks_the_others(ctx, tmp_path):
    procs = start(ctx, tmp_path, [("victim", 6, 3), ("a", 6, -1), ("b", 6, -1)])
    deadline = time.time() + 30
    while len(sends_of(tmp_path, "victim")) < 3 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(procs["victim"].pid, signal.SIGKILL)
    for name in ("a", "b"):
        procs[name].join(60)
        assert procs[name].exitcode == 0
    procs["victim"].join(10)
    times = [t for name in procs for t in sends_of(tmp_path, name)]
    assert len(times) == 3 + 12
    assert most_in_any_window(times) <= LIMIT
    assert not list(tmp_path.glob("*.warn"))
    # A fresh process still sees the victim's sends: they count until they are a window old.
    state = SqliteLedger(tmp_path / FILE_NAME, fingerprint("", KEY)).transact(lambda s: s)
    assert set(sends_of(tmp_path, "victim")) <= set(state.sends)


def test_a_fresh_process_sees_what_an_earlier_one_spent(ctx, tmp_path):
    first = start(ctx, tmp_path, [("first", LIMIT - 1, -1)])["first"]
    first.join(60)
    assert first.exitcode == 0
    second = start(ctx, tmp_path, [("second", 2, -1)])["second"]
    second.join(60)
    assert second.exitcode == 0
    earlier, later = sends_of(tmp_path, "first"), sends_of(tmp_path, "second")
    assert later[0] >= min(earlier) + WINDOW  # no second burst: it waited for the window
    assert most_in_any_window(earlier + later) <= LIMIT


def test_a_429_pause_is_honoured_by_the_next_process(tmp_path):
    RateBudget(window=WINDOW, ledger=open_ledger(tmp_path, KEY)).pause(0.5)
    started = time.time()
    later = RateBudget(window=WINDOW, ledger=open_ledger(tmp_path, KEY)).acquire()
    assert later >= started + 0.4


def test_the_file_is_private_and_never_holds_the_key(tmp_path):
    budget = RateBudget(30, ledger=open_ledger(tmp_path / "state", KEY))
    budget.acquire()
    budget.observe({"X-RateLimit-Limit": "30", "X-Usage-Monthly": "5"}, 200)
    path = tmp_path / "state" / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():
        assert KEY.encode() not in file.read_bytes()


def test_two_keys_and_two_addresses_do_not_share_a_budget(tmp_path):
    a = RateBudget(30, ledger=open_ledger(tmp_path, KEY))
    for _ in range(29):
        a.acquire()
    clock_now = time.time()
    other_key = RateBudget(30, ledger=open_ledger(tmp_path, KEY + "x"))
    other_url = RateBudget(30, ledger=open_ledger(tmp_path, KEY, "http://127.0.0.1:1/api"))
    assert other_key.acquire() < clock_now + 1
    assert other_url.acquire() < clock_now + 1


def test_a_corrupt_file_warns_once_and_the_run_continues(tmp_path):
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    warnings: list[str] = []
    budget = RateBudget(1000, ledger=open_ledger(tmp_path, KEY), on_warning=warnings.append)
    for _ in range(5):
        budget.acquire()
        budget.observe({"X-RateLimit-Limit": "1000"}, 200)
    assert len(warnings) == 1 and FILE_NAME in warnings[0]
    assert budget.stats().acquires == 5 and not budget.shared


def test_an_unwritable_folder_warns_once(tmp_path):
    (tmp_path / "blocked").write_text("a file where the folder should be")
    warnings: list[str] = []
    budget = RateBudget(1000, ledger=open_ledger(tmp_path / "blocked", KEY),
                        on_warning=warnings.append)
    for _ in range(3):
        budget.acquire()
    assert len(warnings) == 1 and "cannot open" in warnings[0]


def test_a_ledger_locked_forever_warns_once_and_does_not_hang(tmp_path):
    ledger = open_ledger(tmp_path, KEY, busy_timeout=0.2)
    ledger.transact(lambda state: None)  # create it
    holder = sqlite3.connect(str(tmp_path / FILE_NAME), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        warnings: list[str] = []
        budget = RateBudget(1000, ledger=ledger, on_warning=warnings.append)
        started = time.time()
        for _ in range(3):
            budget.acquire()
        assert time.time() - started < 2
        assert len(warnings) == 1 and "locked" in warnings[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_damaged_row_starts_afresh(tmp_path):
    ledger = open_ledger(tmp_path, KEY)
    ledger.transact(lambda state: None)
    conn = sqlite3.connect(str(tmp_path / FILE_NAME))
    conn.execute("UPDATE budget SET state = '{not json'")
    conn.commit()
    conn.close()
    budget = RateBudget(30, ledger=ledger)
    assert budget.acquire() <= time.time()
    assert budget.shared
