"""The on-disk TTL cache: keys, expiry, permissions, atomic writes, damage and concurrency."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from zenovay_cli import cache as cache_mod
from zenovay_cli.cache import (
    DEFAULT_TTLS,
    CacheStore,
    describe_age,
    key_fingerprint,
    make_key,
    ttl_for_path,
)

BASE = "https://api.zenovay.com/v1"
SECRET = "zv_live_7f3a9c2e1b8d4f6a0e5c3b9d7a1f2e4c"
OTHER_SECRET = "zv_live_0000aaaa1111bbbb2222cccc3333dddd"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def warnings_seen():
    return []


@pytest.fixture
def store(tmp_path, clock, warnings_seen):
    return CacheStore(tmp_path / "cache", clock=clock, on_warning=warnings_seen.append)


def key_for(path: str = "/analytics/w1", api_key: str = SECRET, **params) -> str:
    return make_key(BASE, path, params or None, api_key)


def cache_files(directory) -> list[str]:
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


# --- keys ------------------------------------------------------------------------------------


def test_key_ignores_param_order_none_values_trailing_slash_and_value_types():
    a = make_key(BASE, "/analytics/w1", {"range": "7d", "limit": 10, "offset": None}, SECRET)
    b = make_key(BASE + "/", "/analytics/w1", {"limit": "10", "range": "7d"}, SECRET)
    assert a == b
    assert len(a) == 64 and set(a) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "other",
    [
        ("https://api.zenovay.com/v2", "/analytics/w1", {"range": "7d"}, SECRET),
        (BASE, "/analytics/w2", {"range": "7d"}, SECRET),
        (BASE, "/analytics/w1", {"range": "30d"}, SECRET),
        (BASE, "/analytics/w1", None, SECRET),
        (BASE, "/analytics/w1", {"range": "7d"}, OTHER_SECRET),
    ],
)
def test_key_changes_with_base_path_query_and_api_key(other):
    assert make_key(BASE, "/analytics/w1", {"range": "7d"}, SECRET) != make_key(*other)


def test_key_fields_cannot_bleed_into_each_other():
    assert make_key(BASE, "/a", {"b": "c&d=e"}, SECRET) != make_key(
        BASE, "/a", {"b": "c", "d": "e"}, SECRET
    )


def test_fingerprint_is_short_stable_hex_that_hides_the_key():
    fp = key_fingerprint(SECRET)
    assert fp == key_fingerprint(SECRET) != key_fingerprint(OTHER_SECRET)
    assert 8 <= len(fp) < 64 and set(fp) <= set("0123456789abcdef")
    assert SECRET not in fp and SECRET[-8:] not in fp


def test_two_api_keys_never_see_each_others_entries_and_no_key_reaches_disk(store, tmp_path):
    mine, theirs = key_for(api_key=SECRET), key_for(api_key=OTHER_SECRET)
    assert store.set(mine, {"visitors": 1}, 300, meta={"path": "/analytics/w1"})
    assert store.get(theirs) is None
    assert store.set(theirs, {"visitors": 2}, 300)
    assert store.get(mine).value == {"visitors": 1}
    assert store.get(theirs).value == {"visitors": 2}

    for name in cache_files(tmp_path / "cache"):
        raw = (tmp_path / "cache" / name).read_bytes()
        for secret in (SECRET, OTHER_SECRET):
            assert secret not in name
            assert secret.encode() not in raw
            assert secret.encode().hex().encode() not in raw


def test_store_rejects_keys_that_are_not_make_key_output(store):
    for bad in ("../../etc/passwd", "", "A" * 64, "g" * 64, key_for() + ".json"):
        with pytest.raises(ValueError):
            store.get(bad)
        with pytest.raises(ValueError):
            store.set(bad, 1, 60)


# --- TTLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "seconds"),
    [
        ("/analytics/w1", 300),
        ("/analytics/w1/visitors", 120),
        ("/analytics/w1/countries", 600),
        ("/analytics/w1/technology", 600),
        ("/analytics/w1/pages", 300),
        ("/websites", 600),
        ("/websites/w1", 600),
        ("/errors/w1/groups", 120),
        ("/usage", 0),
        ("/v1/analytics/w1/visitors", 120),
        ("analytics/w1/", 300),
        ("/analytics/w1?range=7d", 300),
        ("/heatmaps/w1/pages", 600),
        ("/anomalies/w1", 300),
        ("/insights/w1", 900),
        ("/retention/w1", 3600),
        ("/revenue/w1/ltv", 3600),
        ("/replays/w1/sessions", 120),
        ("/query/w1", 0),
        ("/heatmaps/w1", 0),
        ("/revenue/w1", 0),
        ("/anomalies/w1/extra", 0),
        ("/analytics/w1/unknown", 0),
        ("/analytics", 0),
        ("/analytics//visitors", 0),
        ("/errors/w1", 0),
        ("/websites/w1/extra", 0),
        ("/", 0),
        ("", 0),
    ],
)
def test_ttl_follows_the_endpoint_kind(path, seconds):
    assert ttl_for_path(path) == seconds


def test_default_ttls_match_the_spec():
    assert DEFAULT_TTLS == {
        "analytics": 300,
        "visitors": 120,
        "countries": 600,
        "technology": 600,
        "pages": 300,
        "websites": 600,
        "errors": 120,
        "usage": 0,
        "anomalies": 300,
        "insights": 900,
        "retention": 3600,
        "revenue": 3600,
        "heatmaps": 600,
        "replays": 120,
    }


def test_the_ttl_table_in_docs_cache_md_lists_every_default_ttl():
    """docs/cache.md lists the TTLs cache.py defines: every kind once, with its value."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "cache.md").read_text("utf-8")
    listed = {}
    for ttl, key in re.findall(r"^\|[^|\n]*\| ([^|\n]+?) \| `cache\.ttl\.(\w+)` \|$", text, re.M):
        number, unit = ttl.split()
        listed[key] = float(number) * {"s": 1, "min": 60, "h": 3600}[unit]
    assert re.search(r"^\| usage \| never cached \|", text, re.M)
    assert listed == {kind: ttl for kind, ttl in DEFAULT_TTLS.items() if ttl}
    assert {kind for kind, ttl in DEFAULT_TTLS.items() if not ttl} == {"usage"}


def test_the_cache_ttl_column_in_docs_endpoints_md_matches_cache_py():
    """docs/endpoints.md's table gives each 2026 command's TTL; it must say what cache.py does."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "endpoints.md").read_text("utf-8")
    listed = {}
    for command, ttl in re.findall(r"^\| `zenovay (\w+) [^\n]*\| ([0-9]+ (?:s|min|h)) \|$", text, re.M):
        number, unit = ttl.split()
        listed[command] = float(number) * {"s": 1, "min": 60, "h": 3600}[unit]
    commands = ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays")
    assert listed == {command: DEFAULT_TTLS[command] for command in commands}  # command = kind


def test_ttl_overrides_apply_per_kind_but_never_cache_usage():
    overrides = {"analytics": 30, "visitors": -5, "countries": float("nan"), "usage": 999}
    assert ttl_for_path("/analytics/w1", overrides) == 30
    assert ttl_for_path("/analytics/w1/visitors", overrides) == 0
    assert ttl_for_path("/analytics/w1/countries", overrides) == 0
    assert ttl_for_path("/analytics/w1/pages", overrides) == 300
    assert ttl_for_path("/usage", overrides) == 0


# --- expiry ----------------------------------------------------------------------------------


def test_entry_is_fresh_until_its_ttl_then_returned_as_stale(store, clock):
    key = key_for()
    assert store.set(key, {"visitors": 42}, 300, meta={"request_id": "r1"})

    clock.now += 299.5
    entry = store.get(key)
    assert entry.fresh and entry.value == {"visitors": 42} and entry.meta == {"request_id": "r1"}
    assert entry.age == pytest.approx(299.5)
    assert entry.expires_at - entry.stored_at == pytest.approx(300)

    clock.now += 0.5
    stale = store.get(key)
    assert stale is not None and not stale.fresh
    assert stale.value == {"visitors": 42} and stale.age == pytest.approx(300)


def test_missing_entry_is_none_and_zero_ttl_stores_nothing(store):
    key = key_for("/usage")
    assert store.get(key) is None
    for ttl in (0, -1, float("nan"), float("inf")):
        assert store.set(key, {"used": 1}, ttl) is False
    assert store.get(key) is None


def test_rewrite_replaces_value_and_restarts_ttl(store, clock):
    key = key_for()
    store.set(key, [1], 60)
    clock.now += 100
    store.set(key, [2], 60)
    entry = store.get(key)
    assert entry.fresh and entry.value == [2] and entry.age == 0


def test_entry_from_before_clock_was_set_back_is_not_trusted_as_fresh(store, clock):
    key = key_for()
    store.set(key, "x", 300)
    clock.now -= 3600
    entry = store.get(key)
    assert entry is not None and not entry.fresh and entry.age == 0


def test_values_round_trip_as_json_including_odd_strings(store):
    value = {"a": [1, 2.5, None, True], "s": "héllo \u2603 \ud800 lone surrogate", "n": {}}
    store.set(key_for(), value, 60)
    assert store.get(key_for()).value == value


def test_value_that_is_not_json_is_a_programming_error(store):
    with pytest.raises(TypeError):
        store.set(key_for(), {"when": object()}, 60)


# --- permissions and atomicity ---------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_directory_is_0700_and_entries_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        store = CacheStore(tmp_path / "deep" / "cache")
        assert store.set(key_for(), {"x": 1}, 60)
    finally:
        os.umask(old)
    d = tmp_path / "deep" / "cache"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    (name,) = cache_files(d)
    assert stat.S_IMODE((d / name).stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_existing_loose_directory_is_tightened(tmp_path):
    d = tmp_path / "cache"
    d.mkdir()
    d.chmod(0o755)
    assert CacheStore(d).set(key_for(), 1, 60)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_entries_are_self_describing_json_named_after_the_key(store, clock, tmp_path):
    key = key_for()
    store.set(key, {"v": 1}, 120, meta={"path": "/analytics/w1"})
    assert cache_files(tmp_path / "cache") == [key + ".json"]
    doc = json.loads((tmp_path / "cache" / (key + ".json")).read_text())
    assert doc == {
        "v": 1,
        "stored_at": clock.now,
        "expires_at": clock.now + 120,
        "meta": {"path": "/analytics/w1"},
        "value": {"v": 1},
    }


class SimulatedCrash(BaseException):
    """Stands for the process dying: nothing after it runs, no cleanup."""


def test_crash_between_write_and_rename_leaves_old_entry_intact(store, tmp_path, monkeypatch):
    key = key_for()
    store.set(key, {"version": "old"}, 300)

    def crash(*args):
        raise SimulatedCrash

    with monkeypatch.context() as m:
        m.setattr(cache_mod.os, "replace", crash)
        # The writer removes its temporary file on any exception (Ctrl-C too); a process that
        # dies does not get that far, so that clean-up must not run either.
        m.setattr(cache_mod.os, "unlink", crash)
        with pytest.raises(SimulatedCrash):
            store.set(key, {"version": "new"}, 300)

    assert store.get(key).value == {"version": "old"}
    leftovers = [n for n in cache_files(tmp_path / "cache") if n.endswith(".tmp")]
    assert len(leftovers) == 1

    # A new write works, and prune clears the leftover once it is old enough to be abandoned.
    assert store.set(key, {"version": "new"}, 300)
    assert store.get(key).value == {"version": "new"}
    stale = time.time() - 2 * 3600
    os.utime(tmp_path / "cache" / leftovers[0], (stale, stale))
    assert store.prune() == 1
    assert cache_files(tmp_path / "cache") == [key + ".json"]


def test_successful_writes_leave_no_temp_files(store, tmp_path):
    for i in range(20):
        store.set(key_for(f"/analytics/w{i % 3}"), {"i": i}, 60)
    assert all(n.endswith(".json") for n in cache_files(tmp_path / "cache"))
    assert len(cache_files(tmp_path / "cache")) == 3


# --- damage ----------------------------------------------------------------------------------


def _valid_entry_bytes() -> bytes:
    doc = {"v": 1, "stored_at": 1.0, "expires_at": 2e9, "meta": {}, "value": {"x": [1, 2, 3]}}
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        _valid_entry_bytes()[: len(_valid_entry_bytes()) // 2],
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"v": 2, "stored_at": 1, "expires_at": 2e9, "meta": {}, "value": 1}',
        b'{"v": true, "stored_at": 1, "expires_at": 2e9, "meta": {}, "value": 1}',
        b'{"v": 1, "stored_at": "yesterday", "expires_at": 2e9, "meta": {}, "value": 1}',
        b'{"v": 1, "stored_at": 1, "expires_at": true, "meta": {}, "value": 1}',
        b'{"v": 1, "stored_at": 1, "expires_at": NaN, "meta": {}, "value": 1}',
        b'{"v": 1, "stored_at": 5, "expires_at": 1, "meta": {}, "value": 1}',
        b'{"v": 1, "stored_at": 1, "expires_at": 2e9, "meta": [], "value": 1}',
        b'{"v": 1, "stored_at": 1, "expires_at": 2e9, "meta": {}}',
        b"[" * 100_000,
    ],
    ids=lambda c: repr(c[:30]),
)
def test_corrupt_entry_is_a_miss_and_is_removed_with_one_warning(
    store, tmp_path, content, warnings_seen
):
    key = key_for()
    store.set(key, "placeholder", 60)
    path = tmp_path / "cache" / (key + ".json")
    path.write_bytes(content)

    assert store.get(key) is None
    assert not path.exists()
    assert len(warnings_seen) == 1 and "damaged cache entry" in warnings_seen[0]
    assert store.set(key, "fresh", 60) and store.get(key).value == "fresh"

    other = key_for("/analytics/other")
    store.set(other, "placeholder", 60)
    (tmp_path / "cache" / (other + ".json")).write_bytes(content)
    assert store.get(other) is None
    assert len(warnings_seen) == 1, "a second damaged entry must not repeat the warning"


def test_hand_written_valid_entry_is_read(store, tmp_path, clock):
    key = key_for()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / (key + ".json")).write_bytes(_valid_entry_bytes())
    clock.now = 100.0
    entry = store.get(key)
    assert entry.fresh and entry.value == {"x": [1, 2, 3]}


# --- unusable directory, full disk -----------------------------------------------------------


def _exercise(store) -> None:
    key = key_for()
    for _ in range(3):
        assert store.set(key, {"x": 1}, 60) is False
        assert store.get(key) is None


def test_regular_file_in_place_of_directory_warns_once_and_never_raises(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    seen: list[str] = []
    store = CacheStore(blocker, on_warning=seen.append)
    _exercise(store)
    assert len(seen) == 1 and str(blocker) in seen[0]
    assert store.warnings == seen
    assert blocker.read_text() == "not a directory"
    assert store.info()["entries"] == 0 and store.clear() == 0 and store.prune() == 0


def test_directory_that_cannot_be_created_warns_once(tmp_path):
    (tmp_path / "file").write_text("x")
    seen: list[str] = []
    store = CacheStore(tmp_path / "file" / "cache", on_warning=seen.append)
    _exercise(store)
    assert len(seen) == 1


NOBODY = 65534


def _warnings_as_nobody(directory: str) -> list[str]:
    """The warnings of _exercise on `directory`, run in a forked child that has given up root for
    the unprivileged `nobody` (a fork, not a new interpreter: the child needs no file access)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            seen: list[str] = []
            _exercise(CacheStore(directory, on_warning=seen.append))
            os.write(write, json.dumps(seen).encode())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(write, json.dumps({"error": repr(exc)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = json.loads(pipe.read() or b"null")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, answer
    return answer


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_directory_warns_once(tmp_path):
    # Root ignores a directory's mode, so as root the store runs as `nobody`: the kernel's
    # permission check is real either way (CI runs as root).
    root = os.geteuid() == 0
    base = tempfile.mkdtemp(prefix="zenovay-ro-") if root else str(tmp_path)  # nobody can reach it
    d = os.path.join(base, "cache")
    os.mkdir(d)
    os.chmod(d, 0o500)  # the owner's own folder, readable and searchable but not writable
    try:
        if root:
            os.chmod(base, 0o755)
            os.chown(d, NOBODY, NOBODY)
            seen = _warnings_as_nobody(d)
        else:
            seen = []
            _exercise(CacheStore(d, on_warning=seen.append))
    finally:
        os.chmod(d, 0o700)
        if root:
            shutil.rmtree(base)
    assert len(seen) == 1, seen
    assert d in seen[0] and "Permission denied" in seen[0], seen


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_refused_write_warns_once_and_leaves_nothing_behind(store, tmp_path, monkeypatch, code):
    # Works as root too: the refusal is simulated where the temp file is created.
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), path)
        return real_open(path, flags, *args, **kwargs)

    seen: list[str] = []
    store = CacheStore(tmp_path / "cache", on_warning=seen.append)
    with monkeypatch.context() as m:
        m.setattr(cache_mod.os, "open", refusing_open)
        _exercise(store)
    assert len(seen) == 1
    assert cache_files(tmp_path / "cache") == []


def test_full_disk_warns_once_keeps_old_entry_and_leaves_no_temp_file(
    store, tmp_path, monkeypatch, warnings_seen
):
    key = key_for()
    store.set(key, {"version": "old"}, 300)

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(cache_mod.os, "write", no_space)
        assert store.set(key, {"version": "new"}, 300) is False
        assert store.set(key_for("/websites"), [1], 300) is False

    assert len(warnings_seen) == 1 and "space" in warnings_seen[0]
    assert store.get(key).value == {"version": "old"}
    assert cache_files(tmp_path / "cache") == [key + ".json"]


def test_different_problems_each_warn_once(store, monkeypatch, warnings_seen):
    def fail(code):
        def raiser(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        return raiser

    for code in (errno.ENOSPC, errno.EIO, errno.ENOSPC, errno.EIO):
        with monkeypatch.context() as m:
            m.setattr(cache_mod.os, "fsync", fail(code))
            assert store.set(key_for(), 1, 60) is False
    assert len(warnings_seen) == 2


# --- info, clear, prune ----------------------------------------------------------------------


def test_info_clear_and_prune(store, clock, tmp_path):
    d = tmp_path / "cache"
    info = store.info()
    assert info == {
        "path": str(d),
        "entries": 0,
        "expired": 0,
        "corrupt": 0,
        "bytes": 0,
        "oldest_stored_at": None,
        "newest_stored_at": None,
    }
    assert not d.exists()  # looking does not create

    t0 = clock.now
    store.set(key_for("/analytics/a"), {"a": 1}, 60)
    clock.now += 10
    store.set(key_for("/analytics/b"), {"b": 2}, 60)
    clock.now += 10
    store.set(key_for("/analytics/c"), {"c": 3}, 600)
    (d / (key_for("/analytics/bad") + ".json")).write_text("{oops")
    stale_tmp = d / f".{key_for('/analytics/a')}.deadbeef.tmp"
    live_tmp = d / f".{key_for('/analytics/b')}.cafebabe.tmp"
    stale_tmp.write_text("partial")
    live_tmp.write_text("partial")
    old = time.time() - 2 * 3600
    os.utime(stale_tmp, (old, old))
    (d / "notes.txt").write_text("not ours")

    clock.now = t0 + 65  # a has expired, b and c have not
    info = store.info()
    assert (info["entries"], info["expired"], info["corrupt"]) == (3, 1, 1)
    assert info["oldest_stored_at"] == t0 and info["newest_stored_at"] == t0 + 20
    expected_bytes = sum((d / n).stat().st_size for n in cache_files(d) if n != "notes.txt")
    assert info["bytes"] == expected_bytes

    assert store.prune() == 3  # expired a, corrupt entry, abandoned temp file
    assert store.get(key_for("/analytics/a")) is None
    assert store.get(key_for("/analytics/b")).fresh
    assert live_tmp.exists() and (d / "notes.txt").exists()

    assert store.clear() == 2  # b and c; the in-flight temp file and foreign files stay
    assert cache_files(d) == sorted([live_tmp.name, "notes.txt"])
    assert store.info()["entries"] == 0


def test_clear_on_missing_directory_removes_nothing(tmp_path):
    store = CacheStore(tmp_path / "nowhere")
    assert store.clear() == 0 and store.prune() == 0
    assert not (tmp_path / "nowhere").exists()


# --- several processes -----------------------------------------------------------------------

SHARED_KEYS = [make_key(BASE, f"/analytics/w{i}", None, SECRET) for i in range(3)]


def _payload(writer: int, seq: int) -> dict:
    body = f"{writer}:{seq}:" + "x" * (500 + 97 * ((writer * 31 + seq) % 50))
    return {"writer": writer, "seq": seq, "body": body, "length": len(body)}


def _is_whole(value) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"writer", "seq", "body", "length"}
        and value == _payload(value["writer"], value["seq"])
    )


def _hammer(args) -> tuple[int, int, list[str]]:
    directory, writer, iterations = args
    store = CacheStore(directory)
    hits, problems = 0, []
    for seq in range(iterations):
        key = SHARED_KEYS[(writer + seq) % len(SHARED_KEYS)]
        if not store.set(key, _payload(writer, seq), 60):
            problems.append(f"set failed: {store.warnings}")
        entry = store.get(SHARED_KEYS[(writer + seq + 1) % len(SHARED_KEYS)])
        # Every key was written before the processes started, so a miss means a torn read
        # (which the store would have taken for a corrupt entry).
        if entry is None:
            problems.append("miss on a key that always exists")
        elif not _is_whole(entry.value):
            problems.append(f"torn read: {str(entry.value)[:80]}")
        else:
            hits += 1
    return writer, hits, problems + store.warnings


def test_concurrent_processes_never_see_torn_entries(tmp_path):
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    directory = str(tmp_path / "cache")
    for key in SHARED_KEYS:
        assert CacheStore(directory).set(key, _payload(-1, 0), 60)
    with ctx.Pool(4) as pool:
        results = pool.map(_hammer, [(directory, w, 200) for w in range(4)])

    assert [problems for _, _, problems in results] == [[], [], [], []]
    assert [hits for _, hits, _ in results] == [200] * 4
    assert cache_files(directory) == sorted(k + ".json" for k in SHARED_KEYS)
    store = CacheStore(directory)
    for key in SHARED_KEYS:
        assert _is_whole(store.get(key).value)


# --- start-up cost ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (-3, "0 s"), (1.4, "1 s"), (89, "89 s"), (600, "10 min"), (7200, "2 h"),
     (3 * 86400, "3 days"), (float("nan"), "0 s")],
)
def test_ages_read_naturally(seconds, text):
    assert describe_age(seconds) == text


def test_importing_the_cache_pulls_in_no_heavy_modules():
    code = (
        "import sys, zenovay_cli.cache; "
        "print(','.join(m for m in ('requests', 'typer', 'rich', 'platformdirs', 'tempfile', "
        "'typing', 'dataclasses') if m in sys.modules))"
    )
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root
    ).stdout
    assert out.strip() == ""
