"""The one atomic file writer: a file appears whole or not at all.

Every file the tool writes goes through `atomic_write`, with the mode its caller needs:

    config file, alert state   private=True, create_dir=True     0600 file, 0700 folder, file+folder fsync
    export files               private=False, sync_dir=(batch)   umask-following data files
    cache entries              private=True, sync_dir=False      0600, no folder fsync (a lost entry is a miss)

How: a temporary file is created next to the target (same file system, so the rename is atomic)
with O_CREAT|O_EXCL|O_NOFOLLOW (never through a planted symlink, never someone else's file),
written, fsynced and renamed over the target with os.replace, so a reader sees the old or the new
content, never half of it. With sync_dir the folder is fsynced too, so the rename itself survives a
power cut (best effort: some systems cannot fsync a folder; the rename is still atomic there).
On any failure the temporary file is removed and the error (OSError) raised.

Imports only `os`: the cache's write path is on the start-up budget.
"""

from __future__ import annotations

import os
from collections.abc import Callable

TEMP_SUFFIX = ".tmp"
_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
          | getattr(os, "O_BINARY", 0))
_ATTEMPTS = 10  # fresh temporary names tried before giving up (random collisions)


def _default_temp_name(name: str) -> Callable[[], str]:
    return lambda: f".{name}.{os.urandom(6).hex()}{TEMP_SUFFIX}"


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    private: bool,
    sync_dir: bool = True,
    create_dir: bool = False,
    temp_name: Callable[[], str] | None = None,
) -> str:
    """Replace `path` with `data` atomically and durably; return the path written (a str).

    private: True -> the file is exactly 0600 whatever the umask (and a created folder 0700), for
      secrets and per-user state; False -> 0666 minus the umask, as a shell redirect would create
      it (data files: 0644 under the usual umask 022, and an administrator's stricter umask holds).
    sync_dir: fsync the folder after the rename (False: the caller batches that with sync_dir(),
      or does not need the rename to survive a power cut).
    create_dir: create the missing folders first.
    temp_name: returns a fresh base name for the temporary file in the same folder (callers that
      clean up their own leftovers use a recognisable pattern); default `.<name>.<random>.tmp`.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    if create_dir:
        os.makedirs(folder, mode=0o700 if private else 0o777, exist_ok=True)
    fresh = temp_name or _default_temp_name(os.path.basename(path))
    for _ in range(_ATTEMPTS):
        tmp = os.path.join(folder, fresh())
        try:
            fd = os.open(tmp, _FLAGS, 0o600 if private else 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - ten random collisions in a row
        raise FileExistsError(f"cannot create a temporary file in {folder}")
    try:
        try:
            if private and hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(folder)
    return path


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make the renames done in `folder` durable (best effort, never raises)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
