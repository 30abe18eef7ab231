"""Writing private files (config, alert state) whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically replace `path` with `data`, mode 0600, creating its folder 0700.

    A temporary file in the same folder is written, fsynced and renamed over the target, so readers
    see the old or the new content, never half of it; the folder is fsynced too so the rename itself
    survives a crash (best effort: some filesystems refuse). Raises OSError when it cannot write.
    """
    import tempfile  # not needed on the read paths that import this module

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return path
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    return path
