"""The per-host ledger: one rate budget shared by every `zenovay` process of one user and one key.

What is shared: the BudgetState of ratelimit.py (recent send times, the learned limit, a 429's
"nobody sends before T", the last X-Usage-* snapshot). Where: one SQLite file, mode 0600, in the
user's state dir (`$XDG_STATE_HOME/zenovay/ratelimit.sqlite3`), one row per key fingerprint: a
hash of the API base URL and the key, never the key itself.

How: stdlib sqlite3. Every change is one transaction started with BEGIN IMMEDIATE, so the write
lock is held across "check the window" and "record my send" and two processes can never both take
the last slot; other processes wait for it up to a busy timeout (the lock is held for well under a
millisecond). WAL mode with synchronous=NORMAL keeps a commit cheap (no fsync per send; a power
cut may lose the last sends, which only makes the next minute a little optimistic).

Failure: a corrupt file, a lock held beyond the busy timeout, an unwritable folder raise
LedgerUnavailable; RateBudget then warns once and keeps its own in-process budget. Nothing here
ever stops a run.

Another backend (e.g. Redis, #15) implements the same two methods (ratelimit.BudgetStore):
`transact(change)` runs `change(state)` atomically and saves what it left, `close()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from zenovay_cli.ratelimit import BudgetState, LedgerUnavailable

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

T = TypeVar("T")

FILE_NAME = "ratelimit.sqlite3"
BUSY_TIMEOUT = 2.0
SCHEMA = "CREATE TABLE IF NOT EXISTS budget (key TEXT PRIMARY KEY, state TEXT NOT NULL)"


def fingerprint(base_url: str, api_key: str) -> str:
    """The ledger's row key for one API key at one API address (a hash; the key is never stored)."""
    material = f"zenovay-ledger\0{base_url.rstrip('/')}\0{api_key}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(material).hexdigest()[:32]


class SqliteLedger:
    """A BudgetStore in an SQLite file shared by every process of this user on this host.

    Opened lazily: nothing is touched (not even imported by callers) until the first transact(),
    so a run answered from the cache never opens it.
    """

    def __init__(self, path: Path | None, key: str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self._path = Path(path) if path is not None else None
        self.key = key
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file (the user's state dir unless given; resolved only when first needed)."""
        if self._path is None:
            self._path = default_path()
        return self._path

    def _connect(self) -> sqlite3.Connection:
        import sqlite3  # only when a request is about to be sent

        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create it private before SQLite does (SQLite would use the umask).
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                   isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(f"cannot open {self.path}: {_reason(exc)}") from None
        try:
            # WAL persists in the file: only the first process switches (and may race another).
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: conn.execute(SCHEMA))
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerUnavailable(f"{self.path}: {_reason(exc)}") from None
        self._conn = conn
        return conn

    def transact(self, change: Callable[[BudgetState], T]) -> T:
        import sqlite3

        with self._lock:
            conn = self._connect()
            try:
                self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise LedgerUnavailable(f"{self.path}: {_reason(exc)}") from None
            try:
                row = conn.execute("SELECT state FROM budget WHERE key = ?", (self.key,)).fetchone()
                state = _load(row[0] if row else None)
                result = change(state)
                conn.execute(
                    "INSERT INTO budget (key, state) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                    (self.key, json.dumps(state.to_json(), separators=(",", ":"))),
                )
                conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                _rollback(conn)
                raise LedgerUnavailable(f"{self.path}: {_reason(exc)}") from None
            except BaseException:
                _rollback(conn)
                raise

    def _retry(self, step: Callable[[], object]) -> None:
        """Run `step`, retrying "locked"/"busy" until the busy timeout (see sqlitewait.py)."""
        from zenovay_cli.sqlitewait import retry_locked

        retry_locked(step, self.busy_timeout)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _load(text: object) -> BudgetState:
    if not isinstance(text, str):
        return BudgetState()
    try:
        return BudgetState.from_json(json.loads(text))
    except ValueError:  # a damaged row: start it afresh rather than stop
        return BudgetState()


def _rollback(conn: sqlite3.Connection) -> None:
    import sqlite3

    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "locked" in text or "busy" in text:
        return "locked by another process for too long"
    return text


def default_path() -> Path:
    from zenovay_cli.config import state_dir

    return state_dir() / FILE_NAME


def open_ledger(folder: Path | None, api_key: str, base_url: str = "", **kw) -> SqliteLedger:
    """The ledger for this key (and API address) in `folder` (default: the user's state dir)."""
    path = (Path(folder) / FILE_NAME) if folder is not None else None
    return SqliteLedger(path, fingerprint(base_url, api_key), **kw)
