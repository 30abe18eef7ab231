"""Run one task per website on a few threads; results come back in input order, failures kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = 4


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
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[Outcome[T]], None] | None = None,
) -> list[Outcome[T]]:
    """Call task(item) for every item, at most `concurrency` at once.

    One failing item never stops the others: its exception is kept in its Outcome. KeyboardInterrupt
    cancels what has not started and propagates.
    """
    items = list(items)
    outcomes: list[Outcome[T]] = [Outcome(item) for item in items]
    if not items:
        return outcomes

    def work(index: int) -> int:
        try:
            outcomes[index].value = task(items[index])
        except Exception as exc:  # noqa: BLE001 - every failure is reported per item
            outcomes[index].error = exc
        return index

    workers = max(1, min(concurrency, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zenovay")
    try:
        futures = [pool.submit(work, i) for i in range(len(items))]
        for future in as_completed(futures):
            index = future.result()
            if on_done is not None:
                on_done(outcomes[index])
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return outcomes
