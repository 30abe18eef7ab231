"""Run one task per website on a few threads; results come back in input order, failures kept."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# How often the waiting main thread wakes up, so Ctrl-C is seen even where a blocking get() is not
# interruptible.
_POLL = 0.2


@dataclass
class Outcome(Generic[T]):
    item: T
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_all(
    items: Iterable[T],
    task: Callable[[T], R],
    *,
    concurrency: int,
    on_done: Callable[[Outcome[T]], None] | None = None,
) -> list[Outcome[T]]:
    """Call task(item) for every item, at most `concurrency` at once; outcomes in input order.

    One failing item never stops the others: its exception is kept in its Outcome. `on_done` runs
    in the calling thread as each item finishes (so it may write files, print, update a progress
    bar). If the calling thread is interrupted (Ctrl-C) or `on_done` raises, no further item is
    started and the exception propagates at once, without waiting for the tasks still running:
    the workers are daemon threads, so a request hanging on a slow server never holds up the exit.
    """
    items = list(items)
    outcomes: list[Outcome[T]] = [Outcome(item) for item in items]
    if not items:
        return outcomes

    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcomes[index].value = task(items[index])
            except BaseException as exc:  # noqa: BLE001 - every failure is reported per item
                outcomes[index].error = exc
            finished.put(index)

    workers = max(1, min(int(concurrency), len(items)))
    for n in range(workers):
        threading.Thread(target=worker, name=f"zenovay-worker-{n}", daemon=True).start()
    try:
        for _ in range(len(items)):
            while True:
                try:
                    index = finished.get(timeout=_POLL)
                    break
                except queue.Empty:
                    continue
            if on_done is not None:
                on_done(outcomes[index])
    finally:
        stop.set()
    return outcomes
