"""fsutil.atomic_write, the one writer behind the config file, the alert state, export files and
cache entries: whole or nothing, the right mode for each, and fsyncs where durability is promised."""

from __future__ import annotations

import os
import stat

import pytest

from zenovay_cli import fsutil


@pytest.fixture
def umask():
    def set_(mask):
        os.umask(mask)
    old = os.umask(0o022)
    yield set_
    os.umask(old)


@pytest.fixture
def fsyncs(monkeypatch):
    """The kinds ("file"/"dir") of everything fsynced, recorded around the real os.fsync."""
    seen = []
    real = os.fsync

    def recording(fd):
        seen.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        return real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


@pytest.fixture
def folder(tmp_path):
    # tmp_path also holds the test's HOME (tests/conftest.py): list a folder of our own.
    path = tmp_path / "out"
    path.mkdir()
    return path


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_file_is_0600_and_its_new_folder_0700_whatever_the_umask(tmp_path, umask, fsyncs):
    umask(0)
    target = tmp_path / "new" / "state.json"
    assert fsutil.atomic_write(target, b"{}\n", private=True, create_dir=True) == str(target)
    assert target.read_bytes() == b"{}\n"
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert fsyncs == ["file", "dir"]
    assert os.listdir(target.parent) == ["state.json"]


def test_data_file_follows_the_umask_like_a_shell_redirect(tmp_path, umask):
    umask(0o027)
    target = tmp_path / "export.json"
    fsutil.atomic_write(target, b"x", private=False)
    assert mode(target) == 0o640
    umask(0o022)
    fsutil.atomic_write(target, b"y", private=False)
    assert mode(target) == 0o644 and target.read_bytes() == b"y"


def test_replacing_keeps_the_new_mode_not_the_old_file_s(tmp_path, umask):
    target = tmp_path / "config.toml"
    target.write_bytes(b"old")
    target.chmod(0o644)
    fsutil.atomic_write(target, b"new", private=True)
    assert target.read_bytes() == b"new" and mode(target) == 0o600


def test_without_sync_dir_only_the_file_is_fsynced(tmp_path, fsyncs):
    fsutil.atomic_write(tmp_path / "entry.json", b"1", private=True, sync_dir=False)
    assert fsyncs == ["file"]
    fsutil.fsync_dir(tmp_path)  # what a batch of export files does once at the end
    assert fsyncs == ["file", "dir"]


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(folder, monkeypatch):
    target = folder / "a.json"
    target.write_bytes(b"old")

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space"):
        fsutil.atomic_write(target, b"new", private=False)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(folder) == ["a.json"]


def test_ctrl_c_during_the_write_removes_the_temporary_file(folder, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.atomic_write(folder / "a.json", b"new", private=True)
    assert os.listdir(folder) == []


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_a_planted_file_or_symlink_at_the_temporary_name_is_never_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / ".planted.tmp").symlink_to(victim)
    names = iter([".planted.tmp", ".planted.tmp", ".fresh.tmp"])
    target = tmp_path / "out.json"
    fsutil.atomic_write(target, b"data", private=False, temp_name=lambda: next(names))
    assert victim.read_bytes() == b"precious" and target.read_bytes() == b"data"
    assert (tmp_path / ".planted.tmp").is_symlink()
