"""The response cache end to end: the installed `zenovay` against the sandbox, requests counted server-side."""

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

SECOND_KEY = "zv_e2e_second_key_0123456789"


def sent(sb) -> int:
    return sb.stats()["requests"]


def cache_folder(home):
    return home / "cache" / "zenovay"


def cache_files(home) -> list:
    folder = cache_folder(home)
    return sorted(p for p in folder.iterdir()) if folder.is_dir() else []


def warnings_in(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


@pytest.fixture
def site(cli):
    """(id, domain) of the sandbox's first website, looked up without touching the cache."""
    result = cli("websites", "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout)["websites"][0]
    return first["id"], first["domain"]


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- what is served, what is fetched -----------------------------------------------------------


def test_second_identical_call_makes_no_request_even_for_the_domain_lookup(cli, sb, site):
    _, domain = site
    before = sent(sb)
    first = ok(cli("analytics", domain, "--json"))
    assert sent(sb) - before == 2  # /websites to resolve the domain, then /analytics
    second = ok(cli("analytics", domain, "--json"))
    assert sent(sb) - before == 2
    assert second == first
    assert json.loads(first)["summary"]["total_visitors"] > 0


@pytest.mark.parametrize("how", [("--refresh",), ("env", "ZENOVAY_REFRESH")])
def test_refresh_makes_one_request_and_stores_the_answer(cli, sb, site, how):
    wid, _ = site
    ok(cli("analytics", wid, "--json"))
    before = sent(sb)
    if how[0] == "env":
        refreshed = ok(cli("analytics", wid, "--json", env={how[1]: "1"}))
    else:
        refreshed = ok(cli("analytics", wid, "--json", *how))
    assert sent(sb) - before == 1
    assert ok(cli("analytics", wid, "--json")) == refreshed
    assert sent(sb) - before == 1


@pytest.mark.parametrize("how", [("--no-cache",), ("env", "ZENOVAY_NO_CACHE")])
def test_no_cache_makes_one_request_and_writes_nothing(cli, sb, site, isolated_dirs, how):
    wid, _ = site
    args = ("analytics", wid, "--json")
    env = {how[1]: "1"} if how[0] == "env" else None
    extra = () if env else how
    before = sent(sb)
    ok(cli(*args, *extra, env=env))
    assert sent(sb) - before == 1
    assert cache_files(isolated_dirs) == []

    ok(cli(*args))  # now there is an entry, and --no-cache must not read it either
    ok(cli(*args, *extra, env=env))
    assert sent(sb) - before == 3


def test_a_second_api_key_makes_its_own_requests_and_never_sees_the_first_keys_entries(
    cli, sb, site, isolated_dirs
):
    _, domain = site
    before = sb.stats()["by_key_fingerprint"]
    first = ok(cli("analytics", domain, "--json"))
    second = ok(cli("analytics", domain, "--json", env={"ZENOVAY_API_KEY": SECOND_KEY}))
    after_second = sb.stats()["by_key_fingerprint"]
    new_keys = {k: v - before.get(k, 0) for k, v in after_second.items() if v != before.get(k, 0)}
    assert sorted(new_keys.values()) == [2, 2], new_keys  # each key: /websites and /analytics

    ok(cli("analytics", domain, "--json"))
    ok(cli("analytics", domain, "--json", env={"ZENOVAY_API_KEY": SECOND_KEY}))
    assert sb.stats()["by_key_fingerprint"] == after_second
    assert json.loads(first)["website"]["domain"] == json.loads(second)["website"]["domain"]

    files = cache_files(isolated_dirs)
    assert len(files) == 4
    on_disk = b"".join(p.read_bytes() for p in files)
    assert sb.api_key.encode() not in on_disk and SECOND_KEY.encode() not in on_disk


def test_usage_always_makes_a_request(cli, sb):
    before = sent(sb)
    for _ in range(3):
        ok(cli("usage", "--json"))
    assert sent(sb) - before == 3


def test_demo_mode_neither_reads_nor_writes_the_cache(cli, sb, isolated_dirs):
    before = sent(sb)
    first = ok(cli("--demo", "analytics", "--all", "--json"))
    second = ok(cli("--demo", "websites", "--json"))
    assert json.loads(first)["websites"] and json.loads(second)["websites"]
    assert not cache_folder(isolated_dirs).exists()
    assert sent(sb) == before  # the demo's own sandbox answered, not the test's
    # Reads too: with a file where the cache folder should be, any read or write of the cache
    # would warn (see test_unusable_cache_folder_still_answers_with_a_warning).
    cache_folder(isolated_dirs).write_text("not a folder")
    again = cli("--demo", "analytics", "--all", "--json")
    assert json.loads(ok(again))["websites"] and again.stderr == ""
    assert cache_folder(isolated_dirs).read_text() == "not a folder"


# --- errors and damage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "exit_code"),
    [
        ({"status": 500}, 1),
        ({"status": 503}, 1),
        ({"status": 429, "retry_after": 0}, 6),
        ({"status": 429, "code": "MONTHLY_LIMIT_EXCEEDED"}, 6),
    ],
    ids=["500", "503", "429", "quota"],
)
def test_errors_and_429s_are_never_stored(cli, sb, site, isolated_dirs, fault, exit_code):
    wid, _ = site
    sb.faults({**fault, "count": 1, "path": "/analytics"})
    failed = cli("analytics", wid, "--json", "--retries", "0")
    assert failed.returncode == exit_code, failed.stderr
    assert failed.stdout == ""
    assert cache_files(isolated_dirs) == []

    before = sent(sb)
    assert json.loads(ok(cli("analytics", wid, "--json")))["summary"]
    assert sent(sb) - before == 1


def test_not_found_is_never_stored(cli, sb):
    missing = "00000000-0000-4000-8000-000000000000"
    before = sent(sb)
    for _ in range(2):
        assert cli("analytics", missing, "--json").returncode == 5
    assert sent(sb) - before == 2


def test_corrupted_entries_still_give_the_right_answer_with_exactly_one_warning(
    cli, sb, site, isolated_dirs
):
    _, domain = site
    right = ok(cli("analytics", domain, "--json"))
    files = cache_files(isolated_dirs)
    assert len(files) == 2
    for path in files:
        path.write_bytes(b"\x00\xffnot a cache entry{{{")

    before = sent(sb)
    result = cli("analytics", domain, "--json")
    assert ok(result) == right
    # Two damaged entries (the website list and the analytics), one warning for both.
    assert warnings_in(result.stderr) == [
        f"Warning: removed a damaged cache entry from {cache_folder(isolated_dirs)}"
    ], result.stderr
    assert sent(sb) - before == 2
    # The damaged entries were replaced by good ones.
    assert ok(cli("analytics", domain, "--json")) == right
    assert sent(sb) - before == 2


def test_unusable_cache_folder_still_answers_with_a_warning(cli, sb, site, isolated_dirs):
    _, domain = site
    right = ok(cli("analytics", domain, "--json", "--no-cache"))
    cache_folder(isolated_dirs).write_text("a file where the cache folder should be")

    result = cli("analytics", domain, "--json")
    assert ok(result) == right
    warnings = warnings_in(result.stderr)
    assert len(warnings) == 1 and "cache" in warnings[0], result.stderr
    assert cache_folder(isolated_dirs).read_text() == "a file where the cache folder should be"


# --- stale serving -------------------------------------------------------------------------------


def test_stale_ok_serves_an_expired_entry_when_the_api_keeps_failing(cli, sb, site):
    wid, _ = site
    ok(cli("config", "set", "cache.ttl.analytics", "0.5"))
    good = ok(cli("analytics", wid, "--json"))
    time.sleep(1)  # the entry is now expired
    sb.faults({"status": 503, "count": 100, "path": "/analytics"})

    failed = cli("analytics", wid, "--json", "--retries", "0")
    assert failed.returncode == 1, failed.stderr
    assert "--stale-ok would serve it" in failed.stderr

    for extra, env in (((), {"ZENOVAY_STALE_OK": "1"}), (("--stale-ok",), None)):
        before = sent(sb)
        served = cli("analytics", wid, "--json", "--retries", "1", "--max-wait", "5", *extra, env=env)
        assert ok(served) == good
        assert sent(sb) - before == 2  # it did try the API (and one retry) first
        (warning,) = warnings_in(served.stderr)
        assert "503" in warning or "server error" in warning.lower()
        assert re.search(r"stored \d+ s ago", warning), warning


def test_stale_warning_never_shows_a_key_the_api_echoes_back(cli, sb, site):
    wid, _ = site
    ok(cli("config", "set", "cache.ttl.analytics", "0.5"))
    ok(cli("analytics", wid, "--json"))
    time.sleep(1)
    sb.faults({"status": 503, "count": 100, "path": "/analytics",
               "message": f"upstream rejected {sb.api_key}"})
    served = cli("analytics", wid, "--json", "--retries", "0", "--stale-ok")
    assert served.returncode == 0, served.stderr
    assert "upstream rejected" in served.stderr
    assert sb.api_key not in served.stderr


def test_stale_ok_without_an_entry_still_fails(cli, sb, site):
    wid, _ = site
    sb.faults({"status": 503, "count": 100, "path": "/analytics"})
    result = cli("analytics", wid, "--json", "--retries", "0", "--stale-ok")
    assert result.returncode == 1
    assert result.stdout == ""


# --- cache info, clear, prune ------------------------------------------------------------------


def test_cache_info_clear_and_prune(cli, sb, site, isolated_dirs):
    wid, domain = site
    empty = json.loads(ok(cli("cache", "info", "--json")))
    assert empty["entries"] == 0 and empty["bytes"] == 0 and empty["newest_stored_at"] is None
    assert empty["path"] == str(cache_folder(isolated_dirs))

    ok(cli("config", "set", "cache.ttl.analytics", "0.5"))
    ok(cli("analytics", domain, "--json"))  # /websites (10 min) and /analytics (0.5 s)
    info = json.loads(ok(cli("cache", "info", "--json")))
    assert info["entries"] == 2 and info["corrupt"] == 0
    assert info["bytes"] == sum(p.stat().st_size for p in cache_files(isolated_dirs))
    assert info["oldest_stored_at"] <= info["newest_stored_at"] <= time.time()

    human = ok(cli("cache", "info"))
    assert str(cache_folder(isolated_dirs)) in human
    assert "Entries" in human and "ago)" in human

    time.sleep(1)
    assert json.loads(ok(cli("cache", "info", "--json")))["expired"] == 1
    pruned = cli("cache", "prune")
    assert ok(pruned) == "" and "Removed 1 " in pruned.stderr
    after_prune = json.loads(ok(cli("cache", "info", "--json")))
    assert after_prune["entries"] == 1 and after_prune["expired"] == 0

    cleared = cli("cache", "clear")
    assert "Removed 1 cache entry" in cleared.stderr, cleared.stderr
    assert json.loads(ok(cli("cache", "info", "--json")))["entries"] == 0
    before = sent(sb)
    ok(cli("analytics", domain, "--json"))
    assert sent(sb) - before == 2  # cleared means fetched again


# --- several processes, fast path ----------------------------------------------------------------


def test_four_processes_at_once_share_one_cache_folder(cli, sb, site, isolated_dirs):
    _, domain = site
    with ThreadPoolExecutor(4) as pool:
        cold = list(pool.map(lambda _: cli("analytics", domain, "--json"), range(4)))
    assert [r.returncode for r in cold] == [0] * 4, [r.stderr for r in cold]
    assert len({r.stdout for r in cold}) == 1

    before = sent(sb)
    with ThreadPoolExecutor(4) as pool:
        warm = list(pool.map(lambda _: cli("analytics", domain, "--json"), range(4)))
    assert [r.returncode for r in warm] == [0] * 4, [r.stderr for r in warm]
    assert {r.stdout for r in warm} == {cold[0].stdout}
    assert sent(sb) == before
    names = [p.name for p in cache_files(isolated_dirs)]
    assert len(names) == 2 and all(n.endswith(".json") for n in names), names  # no temp files left
    assert all(not warnings_in(r.stderr) for r in cold + warm)


WRAPPER = """
import json, sys
from zenovay_cli.main import run
code = None
try:
    run(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in ("requests", "urllib3", "rich") if m in sys.modules)
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""


def run_in_wrapper(sb, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    env.update({"ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key})
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, env=env, timeout=60
    )
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("MODULES "), result.stderr
    return result, json.loads(last[len("MODULES "):])


def test_a_cache_hit_imports_neither_requests_nor_rich(cli, sb, site):
    _, domain = site
    expected = ok(cli("analytics", domain, "--json"))
    before = sent(sb)

    result, seen = run_in_wrapper(sb, "analytics", domain, "--json")
    assert seen["code"] == 0, result.stderr
    assert result.stdout == expected
    assert sent(sb) == before  # the website lookup and the analytics both came from the cache
    assert seen["loaded"] == [], result.stderr

    # The check can see it when a request is made.
    result, seen = run_in_wrapper(sb, "analytics", domain, "--json", "--refresh")
    assert seen["code"] == 0, result.stderr
    assert "requests" in seen["loaded"]
