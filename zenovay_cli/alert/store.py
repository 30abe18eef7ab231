"""Where the alert state lives, and the lock that makes load → notify → save one step.

Two `alert` runs sharing one state (two cron jobs on one state file, or two hosts through Redis)
must not both announce the same transition, nor lose each other's updates. So a run holds the
state's lock from reading the state until it has saved it, webhooks included: a second run waits,
then reads what the first one saved and sends only what is still new.

- `FileStateStore`: the state file, locked with flock on a `<file>.lock` beside it (released by the
  kernel however the holder exits, so a killed run never leaves a stale lock).
- `RedisStateStore`: the state in Redis (docs/fleets.md), locked with a Redis lock across hosts;
  when Redis is not usable it says so once and the run uses the state file as above.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zenovay_cli.alert.state import parse_state, save_state
from zenovay_cli.errors import ZenovayError

# How long a run waits for another run holding the same state (its webhooks may be slow).
LOCK_WAIT = 120.0
_POLL = 0.1


class FileStateStore:
    def __init__(self, path: str | os.PathLike[str], *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.where = f"state file {self.path}"
        self._sleep, self._clock = sleep, clock

    @contextmanager
    def locked(self, wait: float = LOCK_WAIT, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            raise ZenovayError(
                f"cannot open the alert state lock {lock_path}: {exc.strerror or exc}",
                hint="Check that the state file's folder is writable, or pass --state PATH.",
            ) from None
        try:
            deadline = self._clock() + wait
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self._clock() >= deadline:
                        raise ZenovayError(
                            f"another alert run has held {self.where} for more than {wait:g} s",
                            hint="It may be stuck on a slow webhook; try again later.",
                        ) from None
                    if not told and on_wait is not None:
                        on_wait(f"waiting for another alert run using {self.where}")
                        told = True
                    self._sleep(_POLL)
            yield
        finally:
            os.close(fd)  # releases the flock

    def load(self) -> tuple[dict[str, Any], str | None]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return parse_state(b"", self.where)
        except OSError as exc:
            return parse_state(None, self.where, f"cannot read it ({exc.strerror or exc})")
        return parse_state(raw, self.where)

    def save(self, state: dict[str, Any]) -> None:
        save_state(self.path, state)


class RedisStateStore:
    """The shared state on Redis, with the state file as the fallback when Redis is down."""

    def __init__(self, shared: Any, fallback: FileStateStore) -> None:
        self.shared = shared  # redis_shared.RedisAlertState
        self.fallback = fallback
        self._use_file = False

    @property
    def where(self) -> str:
        return self.fallback.where if self._use_file else self.shared.where

    @contextmanager
    def locked(self, wait: float = LOCK_WAIT, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        with self.shared.locked(wait=wait) as held:
            if not held and self.shared.link.down:
                self._use_file = True
                with self.fallback.locked(wait=wait, on_wait=on_wait):
                    yield
                return
            if not held:
                raise ZenovayError(
                    f"another alert run has held the alert state in {self.shared.where} for more than {wait:g} s",
                    hint="It may be stuck on a slow webhook; try again later.",
                )
            yield

    def load(self) -> tuple[dict[str, Any], str | None]:
        if not self._use_file:
            got = self.shared.load(lambda raw, where: parse_state(raw, where))
            if got is not None:
                return got
            self._use_file = True
        return self.fallback.load()

    def save(self, state: dict[str, Any]) -> None:
        if not self._use_file and self.shared.save(state):
            return
        self._use_file = True
        self.fallback.save(state)


__all__ = ["FileStateStore", "RedisStateStore"]
