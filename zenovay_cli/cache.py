"""On-disk TTL store for API responses; knows nothing about HTTP and imports only the stdlib."""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
import time

# A typing-free TYPE_CHECKING: importing `typing` would cost start-up time for nothing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeGuard

__all__ = [
    "DEFAULT_TTLS",
    "CacheEntry",
    "CacheStore",
    "describe_age",
    "key_fingerprint",
    "make_key",
    "ttl_for_path",
]

FORMAT_VERSION = 1

# Seconds each kind of endpoint stays fresh. 0 means "never cached".
DEFAULT_TTLS: dict[str, float] = {
    "analytics": 300.0,
    "visitors": 120.0,
    "countries": 600.0,
    "technology": 600.0,
    "pages": 300.0,
    "websites": 600.0,
    "errors": 120.0,
    "usage": 0.0,
    # Endpoints added in 2026 (docs/endpoints.md explains each choice).
    "anomalies": 300.0,  # scanned every 6 h on Pro, hourly on Scale; resolutions should show soon
    "insights": 900.0,  # generated with the scans; a quarter of an hour is fresh enough
    "retention": 3600.0,  # cohorts change once a day at most
    "revenue": 3600.0,  # LTV cohorts likewise
    "heatmaps": 600.0,  # all-time counts; ten minutes behind changes nothing
    "replays": 120.0,  # new sessions arrive all the time, like visitors
}

# Temp files younger than this may belong to a writer that is still running.
STALE_TEMP_SECONDS = 3600.0

# An entry stamped further in the future than this was written before the clock was set back:
# it is served as stale rather than trusted for longer than its TTL.
_CLOCK_SKEW_SECONDS = 5.0

_HEX = frozenset("0123456789abcdef")
_KEY_LEN = 64
_ENTRY_SUFFIX = ".json"
_TEMP_SUFFIX = ".tmp"
_NO_SPACE = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_ANALYTICS_SUBKINDS = frozenset({"visitors", "countries", "technology", "pages"})


# ---------------------------------------------------------------------------------------------
# Keys


def _key_digest(api_key: str) -> str:
    return hashlib.sha256(("zenovay-cli:" + api_key).encode("utf-8")).hexdigest()


def key_fingerprint(api_key: str) -> str:
    """Short hex fingerprint of an API key, safe to show or to namespace by; not the key itself."""
    return _key_digest(api_key)[:16]


def make_key(base_url: str, path: str, params: dict | None, api_key: str) -> str:
    """Cache key (64 hex chars) for a GET request made with `api_key`.

    Covers the base URL (without trailing slash), the path (one leading slash), the query sorted
    by name with None values dropped and values str()-ed, and a fingerprint of the API key, so
    two keys never share entries. The API key itself is only ever hashed.
    """
    query = sorted(
        (str(name), str(value)) for name, value in (params or {}).items() if value is not None
    )
    material = [
        "zenovay-cache/1",
        base_url.rstrip("/"),
        "/" + path.lstrip("/"),
        query,
        _key_digest(api_key),
    ]
    # JSON gives an unambiguous encoding: no separator inside a value can fake another field.
    encoded = json.dumps(material, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def _is_key(text: str) -> bool:
    return len(text) == _KEY_LEN and _HEX.issuperset(text)


def _check_key(key: str) -> None:
    # Keys become file names; only make_key's output is accepted, so nothing can escape the
    # directory and clear() never touches a file it did not write.
    if not isinstance(key, str) or not _is_key(key):
        raise ValueError("cache key must be 64 lowercase hex characters (see make_key)")


# ---------------------------------------------------------------------------------------------
# TTLs


def _endpoint_kind(path: str) -> str | None:
    path = path.split("?", 1)[0].split("#", 1)[0]
    parts = path.strip("/").split("/")
    if parts and len(parts[0]) >= 2 and parts[0][0] == "v" and parts[0][1:].isdigit():
        parts = parts[1:]  # tolerate a "/v1" prefix when the base URL does not carry it
    if not parts or any(not p for p in parts):
        return None
    head, n = parts[0], len(parts)
    if head == "usage" and n == 1:
        return "usage"
    if head == "websites" and n <= 2:
        return "websites"
    if head == "analytics":
        if n == 2:
            return "analytics"
        if n == 3 and parts[2] in _ANALYTICS_SUBKINDS:
            return parts[2]
    if head == "errors" and n == 3 and parts[2] == "groups":
        return "errors"
    if head in ("anomalies", "insights", "retention") and n == 2:
        return head
    if head == "revenue" and n == 3 and parts[2] == "ltv":
        return "revenue"
    if head == "heatmaps" and n == 3 and parts[2] == "pages":
        return "heatmaps"
    if head == "replays" and n == 3 and parts[2] == "sessions":
        return "replays"
    return None  # /query is a POST and never cached


def ttl_for_path(path: str, overrides: dict[str, float] | None = None) -> float:
    """Seconds a GET of `path` may be cached (0 = never).

    `overrides` maps kind names (the keys of DEFAULT_TTLS) to seconds; negative or non-finite
    values mean 0. Usage is never cached whatever the overrides say: quota numbers must be live.
    Paths of unknown shape are never cached.
    """
    kind = _endpoint_kind(path)
    if kind is None or kind == "usage":
        return 0.0
    ttl = DEFAULT_TTLS[kind]
    if overrides and kind in overrides:
        ttl = float(overrides[kind])
    if not math.isfinite(ttl) or ttl < 0:
        return 0.0
    return ttl


def describe_age(seconds: float) -> str:
    """'45 s', '12 min', '3 h' or '2 days': how old an entry is, for warnings and `cache info`."""
    seconds = max(0.0, float(seconds)) if math.isfinite(seconds) else 0.0
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


# ---------------------------------------------------------------------------------------------
# Store


class CacheEntry:
    """One stored response.

    `value` is the JSON value given to set() (dict, list, str, number, bool or None), freshly
    decoded on every read. `fresh` is False once `expires_at` has passed; such entries are still
    returned so a caller can serve stale data when asked. `age` is seconds since `stored_at`
    (never negative). `meta` is the dict given to set().
    """

    __slots__ = ("age", "expires_at", "fresh", "meta", "stored_at", "value")

    def __init__(
        self,
        value: Any,
        stored_at: float,
        expires_at: float,
        fresh: bool,
        age: float,
        meta: dict,
    ) -> None:
        self.value = value
        self.stored_at = stored_at
        self.expires_at = expires_at
        self.fresh = fresh
        self.age = age
        self.meta = meta

    def __repr__(self) -> str:
        return (
            f"CacheEntry(fresh={self.fresh}, age={self.age:.1f}, stored_at={self.stored_at}, "
            f"expires_at={self.expires_at})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheEntry):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)


class InfoTally:
    """The `cache info` summary, counted entry by entry; the file and Redis stores share it.

    Keys: path, entries (readable entries, fresh or expired), expired, corrupt, bytes,
    oldest_stored_at and newest_stored_at (None if empty).
    """

    def __init__(self, path: object) -> None:
        self.result: dict = {
            "path": path, "entries": 0, "expired": 0, "corrupt": 0, "bytes": 0,
            "oldest_stored_at": None, "newest_stored_at": None,
        }
        self._stamps: list[float] = []

    def add_bytes(self, size: int) -> None:
        self.result["bytes"] += size

    def corrupt(self) -> None:
        self.result["corrupt"] += 1

    def entry(self, entry: CacheEntry) -> None:
        self.result["entries"] += 1
        self.result["expired"] += 0 if entry.fresh else 1
        self._stamps.append(entry.stored_at)

    def done(self) -> dict:
        if self._stamps:
            self.result["oldest_stored_at"] = min(self._stamps)
            self.result["newest_stored_at"] = max(self._stamps)
        return self.result


def _parse_entry(data: bytes) -> tuple[Any, float, float, dict] | None:
    """(value, stored_at, expires_at, meta) of a well-formed entry file, else None."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):  # bad JSON, truncation, bad UTF-8
        return None
    if not isinstance(doc, dict) or "value" not in doc:
        return None
    version, stored_at, expires_at, meta = (
        doc.get("v"),
        doc.get("stored_at"),
        doc.get("expires_at"),
        doc.get("meta"),
    )
    # type() rather than isinstance(): JSON true/false must not pass for 1/0.
    if type(version) is not int or version != FORMAT_VERSION:
        return None
    if not (_plain_number(stored_at) and _plain_number(expires_at)):
        return None
    if not (math.isfinite(stored_at) and math.isfinite(expires_at)) or expires_at < stored_at:
        return None
    if not isinstance(meta, dict):
        return None
    return doc["value"], float(stored_at), float(expires_at), meta


def _is_temp_name(name: str) -> bool:
    # ".<key>.<random>.tmp", as written by CacheStore.set
    return (
        name.startswith(".")
        and name.endswith(_TEMP_SUFFIX)
        and len(name) > _KEY_LEN + 2
        and name[_KEY_LEN + 1] == "."
        and _is_key(name[1 : _KEY_LEN + 1])
    )


def _plain_number(value: object) -> TypeGuard[int | float]:
    # Not bool: JSON true/false must not pass for 1/0 (json.loads makes exact ints and floats).
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_entry_name(name: str) -> bool:
    return name.endswith(_ENTRY_SUFFIX) and _is_key(name[: -len(_ENTRY_SUFFIX)])


class CacheStore:
    """A directory of self-describing JSON entries, one file per key, each replaced atomically.

    Safe for several processes at once without a lock: a writer fills a private temp file in the
    same directory, fsyncs it and renames it over the entry, so a reader sees the old or the new
    entry whole, and concurrent writers of one key simply last-write-win.

    Nothing here raises because of the disk: an unusable directory, a permission problem or a full
    disk makes get() return None and set() return False, and `on_warning` is called with a
    one-line message at most once per kind of problem ("directory", "space", "io",
    "permissions", "damaged") for the life of the store. Messages are also kept in `warnings`.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        clock: Callable[[], float] = time.time,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        self.warnings: list[str] = []
        self._clock = clock
        self._on_warning = on_warning
        self._warned: set[str] = set()
        self._dir_ready = False

    # -- warnings --------------------------------------------------------------------------

    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _os_problem(self, exc: OSError, action: str) -> None:
        reason = exc.strerror or exc.__class__.__name__
        if exc.errno in _NO_SPACE:
            self._warn(
                "space",
                f"cache disabled: no space left in {self.directory} ({reason})",
            )
        elif isinstance(exc, (PermissionError, NotADirectoryError, FileExistsError)) or (
            exc.errno == errno.EROFS
        ):
            self._warn(
                "directory",
                f"cache disabled: cannot {action} in {self.directory} ({reason})",
            )
        else:
            self._warn("io", f"cache problem: cannot {action} in {self.directory} ({reason})")

    # -- directory -------------------------------------------------------------------------

    def _ensure_dir(self) -> bool:
        if self._dir_ready:
            return True
        d = self.directory
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            st = os.stat(d)
        except FileExistsError:
            self._warn("directory", f"cache disabled: {d} exists and is not a directory")
            return False
        except OSError as exc:
            self._os_problem(exc, "create the cache directory")
            return False
        if not stat.S_ISDIR(st.st_mode):
            self._warn("directory", f"cache disabled: {d} exists and is not a directory")
            return False
        # Cached analytics are private to the user even though no key is stored.
        # Group/other bits are dropped; the owner's own bits are left as they are.
        mode = stat.S_IMODE(st.st_mode)
        if os.name == "posix" and mode & 0o077:
            try:
                os.chmod(d, mode & 0o700)
            except OSError as exc:
                self._warn(
                    "permissions",
                    f"cache directory {d} is readable by others and could not be restricted "
                    f"({exc.strerror or exc.__class__.__name__})",
                )
        self._dir_ready = True
        return True

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key + _ENTRY_SUFFIX)

    # -- reading ---------------------------------------------------------------------------

    def _read(self, path: str) -> tuple[bytes, os.stat_result] | None:
        """Contents and fstat of a regular file; None if missing or unreadable."""
        try:
            fd = os.open(path, os.O_RDONLY | _O_BINARY | _O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink in place of an entry: not ours
                return None
            self._os_problem(exc, "read the cache")
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    return None
                return f.read(), st
        except OSError as exc:
            self._os_problem(exc, "read the cache")
            return None

    def _discard(self, path: str, seen: os.stat_result | None) -> bool:
        """Remove `path`, but only if it is still the file we looked at.

        Another process may have renamed a good entry over it since we read it.
        """
        try:
            if seen is not None:
                now = os.stat(path, follow_symlinks=False)
                if (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino):
                    return False
            if stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode):
                # A folder where an entry belongs (named as only the store names entries): damage,
                # which `cache info` counts, so `cache prune` and `cache clear` remove it too.
                import shutil

                shutil.rmtree(path)
            else:
                os.unlink(path)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._os_problem(exc, "remove a cache entry")
            return False

    def _entry_from(self, parsed: tuple[Any, float, float, dict], now: float) -> CacheEntry:
        value, stored_at, expires_at, meta = parsed
        fresh = stored_at - _CLOCK_SKEW_SECONDS <= now < expires_at
        return CacheEntry(value, stored_at, expires_at, fresh, max(0.0, now - stored_at), meta)

    def get(self, key: str) -> CacheEntry | None:
        """The entry for `key`, fresh or expired; None when missing, corrupt or unreadable.

        A corrupt entry is removed (with a warning) so the next write starts clean.
        """
        _check_key(key)
        path = self._path(key)
        got = self._read(path)
        if got is None:
            return None
        data, st = got
        parsed = _parse_entry(data)
        if parsed is None:
            # Writes are atomic, so this is damage from outside (disk, another program):
            # say so once, since the command silently pays for a request it expected to skip.
            self._warn("damaged", f"removed a damaged cache entry from {self.directory}")
            self._discard(path, st)
            return None
        return self._entry_from(parsed, self._clock())

    # -- writing ---------------------------------------------------------------------------

    def set(self, key: str, value: Any, ttl: float, meta: dict | None = None) -> bool:
        """Store JSON-serialisable `value` under `key` for `ttl` seconds; True if stored.

        Returns False without writing when ttl is not a positive finite number, or when the disk
        refuses (with a warning). `meta` must be a JSON-serialisable dict and must hold no
        secrets. A value that is not JSON-serialisable is a programming error (TypeError).
        """
        _check_key(key)
        if not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
            return False
        now = self._clock()
        doc = {
            "v": FORMAT_VERSION,
            "stored_at": now,
            "expires_at": now + ttl,
            "meta": dict(meta or {}),
            "value": value,
        }
        # ensure_ascii: API strings may hold lone surrogates that UTF-8 cannot encode.
        payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        if not self._ensure_dir():
            return False
        from zenovay_cli.fsutil import atomic_write

        try:
            # 0600 whatever the umask; no folder fsync: an entry lost to a power cut is a miss.
            atomic_write(self._path(key), payload, private=True, sync_dir=False,
                         temp_name=lambda: f".{key}.{os.urandom(6).hex()}{_TEMP_SUFFIX}")
        except OSError as exc:
            self._os_problem(exc, "write the cache")
            return False
        return True

    # -- housekeeping ----------------------------------------------------------------------

    def _scan(self) -> list[os.DirEntry]:
        try:
            with os.scandir(self.directory) as it:
                return [e for e in it if _is_entry_name(e.name) or _is_temp_name(e.name)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            self._os_problem(exc, "list the cache")
            return []

    def _is_stale_temp(self, entry: os.DirEntry) -> bool:
        # Temp files carry real file-system times, so compare with the real clock.
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            return False
        return time.time() - mtime > STALE_TEMP_SECONDS

    def info(self) -> dict:
        """Summary for `cache info`.

        Keys: path, entries (readable entries, fresh or expired), expired, corrupt, bytes (all
        cache files, temp files included), oldest_stored_at and newest_stored_at (None if empty).
        Never creates the directory.
        """
        tally = InfoTally(self.directory)
        now = self._clock()
        for e in self._scan():
            try:
                tally.add_bytes(e.stat(follow_symlinks=False).st_size)
            except OSError:
                continue
            if _is_temp_name(e.name):
                continue
            got = self._read(e.path)
            if got is None and e.is_symlink():
                continue  # not ours, and never followed or removed: not counted as damage either
            parsed = _parse_entry(got[0]) if got is not None else None
            if parsed is None:
                tally.corrupt()
                continue
            tally.entry(self._entry_from(parsed, now))
        return tally.done()

    def clear(self) -> int:
        """Remove every entry (and temp files left by crashed writers); the number removed.

        Files whose names the store does not write are left alone, and so are fresh temp files,
        which belong to a write in progress.
        """
        removed = 0
        for e in self._scan():
            if _is_temp_name(e.name) and not self._is_stale_temp(e):
                continue
            removed += self._discard(e.path, None)
        return removed

    def prune(self) -> int:
        """Remove expired and corrupt entries and stale temp files; the number removed."""
        removed = 0
        now = self._clock()
        for e in self._scan():
            if _is_temp_name(e.name):
                if self._is_stale_temp(e):
                    removed += self._discard(e.path, None)
                continue
            got = self._read(e.path)
            if got is None:
                if e.is_dir(follow_symlinks=False):  # counted as damaged by info(): remove it
                    removed += self._discard(e.path, None)
                continue
            parsed = _parse_entry(got[0])
            if parsed is None or not self._entry_from(parsed, now).fresh:
                removed += self._discard(e.path, got[1])
        return removed
