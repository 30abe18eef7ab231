"""Whole or nothing, and durable where promised, for every file the tool writes.

- Crash injection: the rename that commits a write (os.replace) fails. For each writer (config
  file, alert state, export json/csv/ndjson, cache entry) the rename must be attempted with the
  whole new content in a temporary file while the target still holds its old bytes, and after
  the failure the target is byte for byte the old file and no temporary file is left. A writer
  that wrote in place fails this: it never renames, and the old bytes are gone.
- Durability: the export run fsyncs each file before its rename and the folder after the last
  rename (a power cut then keeps either the old or the new file, and the rename itself).
- The cache never follows a symlink planted in place of an entry.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from tests.harness import invoker
from zenovay_cli import config, export
from zenovay_cli.alert.state import STATE_VERSION, load_state, save_state
from zenovay_cli.cache import CacheStore, make_key
from zenovay_cli.errors import ZenovayError
from zenovay_cli.sandbox import SandboxConfig, SandboxServer

SITE = {"id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "domain": "mywebsite.com", "name": "My Website"}
RECORDS = [{"website": "mywebsite.com", "website_id": SITE["id"], "name": "My Website",
            "date": "2026-06-13", "range": "24h", "summary": {"total_visitors": 1}, "countries": []}]


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "out"  # tmp_path also holds the test's HOME: a folder of our own
    path.mkdir()
    return path


@pytest.fixture
def failing_rename(monkeypatch):
    """os.replace fails (EIO), after recording what the source and the target held at that moment."""
    seen = []

    def replace(src, dst, *args, **kwargs):
        dst_bytes = Path(dst).read_bytes() if os.path.exists(dst) else None
        seen.append((Path(src).read_bytes(), os.fspath(dst), dst_bytes))
        raise OSError(errno.EIO, "Input/output error (injected at the rename)")

    monkeypatch.setattr(os, "replace", replace)
    return seen


# Each writer: (write the old file, write the new one, what the new one should hold). The second
# write runs under failing_rename and may raise; the third entry is checked against the temporary
# file the rename was asked to commit.


def _config(folder):
    path = folder / "config.toml"
    new = {"profiles": {"default": {"website": "new.example"}}}
    return (path,
            lambda: config.save_config({"profiles": {"default": {"website": "old.example"}}}, path),
            lambda: config.save_config(new, path),
            config.dump_toml(new).encode())


def _alert_state(folder):
    path = folder / "alert-state.json"
    new = {"version": STATE_VERSION, "alerts": {}}
    return (path,
            lambda: save_state(path, {"version": STATE_VERSION, "alerts": {}, "old": True}),
            lambda: save_state(path, new),
            json.dumps(new, indent=2, sort_keys=True).encode() + b"\n")


def _export_json(folder):
    path = folder / "mywebsite.com_2026-06-13.json"
    return (path,
            lambda: export.write_record_file(folder, path.name, {"website": SITE, "old": True}),
            lambda: export.write_record_file(folder, path.name, {"website": SITE, "new": True}),
            None)


def _export_table(fmt):
    def writer(folder):
        path = folder / f"zenovay_2026-06-13.{fmt}"
        return (path,
                lambda: export.write_table_file(folder, [], "2026-06-13", fmt),
                lambda: export.write_table_file(folder, RECORDS, "2026-06-13", fmt),
                None)
    return writer


def _cache_entry(folder):
    store = CacheStore(folder)
    key = make_key("https://api.example.test/api/external/v1", "/websites", {}, "zv_key_123")
    return (folder / f"{key}.json",
            lambda: store.set(key, {"version": "old"}, 300),
            lambda: store.set(key, {"version": "new"}, 300),
            None)


WRITERS = {
    "config": _config, "alert-state": _alert_state, "export-json": _export_json,
    "export-csv": _export_table("csv"), "export-ndjson": _export_table("ndjson"),
    "cache-entry": _cache_entry,
}


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_a_failed_rename_leaves_the_old_file_whole_and_no_temporary_file(folder, writer, request):
    path, write_old, write_new, new_bytes = writer(folder)
    write_old()
    old = path.read_bytes()
    before = sorted(os.listdir(folder))
    failing_rename = request.getfixturevalue("failing_rename")

    if writer is _cache_entry:
        assert write_new() is False  # the cache reports a failed write (and warns) instead
    else:  # config and alert state raise the OSError; export wraps it in its own error
        with pytest.raises((OSError, ZenovayError), match="injected at the rename"):
            write_new()

    assert len(failing_rename) == 1, "the new content was not committed by a rename"
    committed, target, target_then = failing_rename[0]
    assert os.path.realpath(target) == os.path.realpath(path)
    assert target_then == old, "the target was touched before the rename"
    assert committed != old and (new_bytes is None or committed == new_bytes)
    assert path.read_bytes() == old
    assert sorted(os.listdir(folder)) == before, "a temporary file was left behind"


@pytest.mark.parametrize("writer", [_config, _alert_state], ids=["config", "alert-state"])
def test_a_private_file_is_replaced_not_rewritten_in_place(folder, writer):
    # Rewriting in place would keep the old file (its inode and its looser mode).
    path, write_old, write_new, new_bytes = writer(folder)
    write_old()
    path.chmod(0o644)
    old_inode = path.stat().st_ino
    write_new()
    assert path.read_bytes() == new_bytes
    assert path.stat().st_ino != old_inode
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if writer is _alert_state:
        assert load_state(path) == ({"version": STATE_VERSION, "alerts": {}}, None)


# --- durability: the export run's fsyncs ----------------------------------------------------------


@pytest.fixture
def disk_events(monkeypatch):
    """fsyncs (by inode) and renames (by target), in the order they happened."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", "dir" if stat.S_ISDIR(st.st_mode) else "file", st.st_ino))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        events.append(("replace", os.path.realpath(dst), os.stat(dst).st_ino))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_export_run_syncs_every_file_before_its_rename_and_the_folder_after_the_last(
        folder, monkeypatch, capsys, disk_events, fmt):
    server = SandboxServer(SandboxConfig(websites=3, visitors_per_site=20, rate_limit=100_000)).start()
    try:
        monkeypatch.setenv("ZENOVAY_BASE_URL", server.base_url)
        monkeypatch.setenv("ZENOVAY_API_KEY", server.api_key)
        result = invoker(capsys, [server.api_key])("export", "--out", str(folder), "--format", fmt,
                                                   "--no-cache")
    finally:
        server.stop()
    assert result.code == 0, result
    written = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    assert len(written) == (3 if fmt == "json" else 1)

    renames = [i for i, e in enumerate(disk_events) if e[0] == "replace"
               and os.path.dirname(e[1]) == os.path.realpath(folder)]
    assert len(renames) == len(written)
    for path in written:
        (at,) = [i for i in renames if disk_events[i][1] == os.path.realpath(path)]
        inode = disk_events[at][2]
        assert ("fsync", "file", inode) in disk_events[:at], f"{path.name} was not fsynced before its rename"
    folder_inode = folder.stat().st_ino
    assert ("fsync", "dir", folder_inode) in disk_events[renames[-1] + 1:], \
        "the folder was not fsynced after the last rename"


# --- the cache never follows a symlinked entry ----------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_a_symlink_in_place_of_a_cache_entry_is_not_followed(tmp_path):
    key = make_key("https://api.example.test/api/external/v1", "/websites", {}, "zv_key_123")
    # A well-formed entry for the same key, somewhere else: what a planted link would serve.
    elsewhere = CacheStore(tmp_path / "elsewhere")
    assert elsewhere.set(key, {"planted": True}, 300)
    planted = tmp_path / "elsewhere" / f"{key}.json"
    planted_bytes = planted.read_bytes()

    store = CacheStore(tmp_path / "cache")
    assert store.get(key) is None  # creates nothing, but the folder must exist for the link
    (tmp_path / "cache").mkdir(exist_ok=True)
    link = tmp_path / "cache" / f"{key}.json"
    link.symlink_to(planted)

    assert store.get(key) is None
    assert store.set(key, {"ours": True}, 300)  # replaces the link, never writes through it
    assert not link.is_symlink() and store.get(key).value == {"ours": True}
    assert planted.read_bytes() == planted_bytes
