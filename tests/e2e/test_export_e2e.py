"""`zenovay export` as cron runs it: the installed command against the sandbox over HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, default_sigint, zenovay_executable

TEMP_PREFIX = ".zenovay-"


def ok(result, code=0):
    assert result.returncode == code, f"exit {result.returncode}\nstdout:{result.stdout}\nstderr:{result.stderr}"
    return result


def websites(cli):
    return json.loads(ok(cli("websites", "--json")).stdout)["websites"]


def api(cli, *args):
    """What `zenovay <args> --json` prints: the API's data object."""
    return json.loads(ok(cli(*args, "--json", "--no-cache")).stdout)


def export_files(folder: Path) -> list[str]:
    """The files a user sees in --out (the lock file and any temporary file are dot files)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def today_or_just_after(run) -> set[str]:
    """The dates a run may have used: the day it started, or the next one if it crossed midnight."""
    before = dt.date.today()
    result = run()
    return result, {before.isoformat(), dt.date.today().isoformat()}


def file_date(name: str) -> str:
    return name.rsplit("_", 1)[1].split(".", 1)[0]


@pytest.fixture
def out(tmp_path):
    """The --out folder (tmp_path itself also holds the test's home folder)."""
    return tmp_path / "exports"


@pytest.fixture
def sandbox_config(sb):
    """Change the shared sandbox's config for one test; put it back afterwards."""
    saved = sb.control("config")
    yield sb.configure
    sb.configure(**{k: saved[k] for k in ("latency", "rate_limit")})
    clear_faults(sb)


def clear_faults(sb):
    import urllib.request

    req = urllib.request.Request(f"{sb.root}/__sandbox__/faults", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@pytest.fixture
def start_export(sb, isolated_dirs):
    """Start `zenovay export` in the background, as cron would (no terminal, Ctrl-C deliverable);
    whatever is still running at the end of the test is killed."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        env.update({"ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key})
        proc = subprocess.Popen(
            [zenovay_executable(), "export", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            # A shell's background job ignores SIGINT; a cron job or a terminal does not.
            preexec_fn=default_sigint,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def wait_until(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


# --- files and their contents --------------------------------------------------------------------


def test_json_files_are_named_by_domain_and_date_and_hold_what_the_api_returned(cli, out):
    result, dates = today_or_just_after(lambda: ok(cli("export", "--out", str(out))))
    sites = websites(cli)
    names = export_files(out)
    assert len(names) == len(sites) == 4
    date = file_date(names[0])
    assert date in dates
    assert names == sorted(f"{s['domain']}_{date}.json" for s in sites)
    # stdout lists exactly the files written, one path per line.
    assert sorted(result.stdout.splitlines()) == sorted(str(out.resolve() / n) for n in names)
    for site in sites:
        document = json.loads((out / f"{site['domain']}_{date}.json").read_text("utf-8"))
        assert list(document) == ["website", "date", "analytics", "countries"]
        assert document["website"] == site["domain"] and document["date"] == date
        assert document["analytics"] == api(cli, "analytics", site["id"], "--range", "24h")["summary"]
        assert document["countries"] == api(cli, "countries", site["id"], "--range", "24h")["countries"]


def test_range_option_is_passed_to_the_api(cli, out):
    site = websites(cli)[2]
    ok(cli("export", "--out", str(out), "--range", "30d", "--website", site["id"]))
    (name,) = export_files(out)
    document = json.loads((out / name).read_text("utf-8"))
    assert document["analytics"] == api(cli, "analytics", site["id"], "--range", "30d")["summary"]
    assert document["analytics"] != api(cli, "analytics", site["id"], "--range", "24h")["summary"]


def test_csv_is_one_file_per_run_with_one_row_per_website(cli, out):
    result, dates = today_or_just_after(
        lambda: ok(cli("export", "--out", str(out), "--format", "csv")))
    (name,) = export_files(out)
    assert name.startswith("zenovay_") and name.endswith(".csv") and file_date(name) in dates
    assert result.stdout.splitlines() == [str(out.resolve() / name)]
    rows = list(csv.DictReader(io.StringIO((out / name).read_text("utf-8"))))
    sites = {s["id"]: s for s in websites(cli)}
    assert sorted(r["website_id"] for r in rows) == sorted(sites)
    for row in rows:
        summary = api(cli, "analytics", row["website_id"], "--range", "24h")["summary"]
        countries = api(cli, "countries", row["website_id"], "--range", "24h")["countries"]
        top = max(countries, key=lambda c: c["visitors"])
        assert row["domain"] == sites[row["website_id"]]["domain"]
        assert row["name"] == sites[row["website_id"]]["name"]
        assert row["date"] == file_date(name)
        assert int(row["total_visitors"]) == summary["total_visitors"]
        assert int(row["total_page_views"]) == summary["total_page_views"]
        assert int(row["unique_visitors"]) == summary["unique_visitors"]
        assert (row["top_country"], int(row["top_country_visitors"])) == (top["country_code"], top["visitors"])


def test_ndjson_is_one_line_per_website_with_id_and_name(cli, out):
    ok(cli("export", "--out", str(out), "--format", "ndjson"))
    (name,) = export_files(out)
    assert name.endswith(".ndjson")
    lines = (out / name).read_text("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    sites = {s["id"]: s for s in websites(cli)}
    assert sorted(r["website_id"] for r in records) == sorted(sites)
    for record in records:
        site = sites[record["website_id"]]
        assert (record["website"], record["name"]) == (site["domain"], site["name"])
        assert record["analytics"] == api(cli, "analytics", site["id"], "--range", "24h")["summary"]
        assert record["countries"] == api(cli, "countries", site["id"], "--range", "24h")["countries"]


def test_include_pages_and_technology_adds_what_those_endpoints_returned(cli, out):
    site = websites(cli)[0]
    ok(cli("export", "--out", str(out), "--website", site["domain"],
           "--include", "pages", "--include", "technology"))
    (name,) = export_files(out)
    document = json.loads((out / name).read_text("utf-8"))
    assert list(document) == ["website", "date", "analytics", "countries", "pages", "technology"]
    assert document["pages"] == api(cli, "pages", site["id"], "--range", "24h")["pages"]
    assert document["technology"] == api(cli, "tech", site["id"], "--range", "24h")


def test_website_option_takes_ids_and_domains_and_exports_only_those(cli, sb, out):
    sites = websites(cli)
    ok(cli("export", "--out", str(out), "--website", sites[1]["id"], "-w", sites[3]["domain"]))
    assert [n.rsplit("_", 1)[0] for n in export_files(out)] == sorted(
        [sites[1]["domain"], sites[3]["domain"]])
    analytics_requests = [p for p in sb.stats()["by_path"] if p.startswith("/analytics/")]
    assert {p.split("/")[2] for p in analytics_requests} == {sites[1]["id"], sites[3]["id"]}


def test_an_unknown_website_is_reported_and_nothing_is_written(cli, out):
    result = ok(cli("export", "--out", str(out), "--website", "no-such-site.example"), code=5)
    assert "no-such-site.example" in result.stderr
    assert export_files(out) == []


def test_a_rerun_the_same_day_replaces_the_files(cli, out):
    ok(cli("export", "--out", str(out)))
    first = export_files(out)
    victim = out / first[0]
    good = victim.read_bytes()
    victim.write_text("{ broken by hand")
    ok(cli("export", "--out", str(out), "--refresh"))
    assert export_files(out) == first  # the same names, nothing added
    assert victim.read_bytes() == good
    assert temp_files(out) == []


# --- failures ----------------------------------------------------------------------------------


def test_a_website_that_keeps_failing_does_not_stop_the_others(cli, sb, out):
    sites = websites(cli)
    bad = sites[1]
    sb.faults({"status": 503, "count": 100, "path": f"/analytics/{bad['id']}"})
    result = ok(cli("export", "--out", str(out), "--retries", "1"), code=3)
    written = export_files(out)
    assert sorted(n.rsplit("_", 1)[0] for n in written) == sorted(
        s["domain"] for s in sites if s is not bad)
    assert len(result.stdout.splitlines()) == 3
    lines = result.stderr.splitlines()
    assert "exported 3 of 4 websites; 1 failed:" in lines
    (failure,) = [line for line in lines if line.startswith("  ")]
    assert bad["domain"] in failure and "unavailable" in failure.lower()
    assert "request id" in failure
    assert lines[-1].startswith("Error: 1 of 4 websites failed")
    clear_faults(sb)


def test_a_rerun_after_a_partial_failure_asks_the_api_only_for_what_failed(cli, sb, out):
    bad = websites(cli)[2]
    sb.faults({"status": 503, "count": 100, "path": f"/analytics/{bad['id']}"})
    ok(cli("export", "--out", str(out), "--retries", "0"), code=3)
    clear_faults(sb)
    sb.reset()
    again = ok(cli("export", "--out", str(out)))
    assert len(export_files(out)) == 4 and len(again.stdout.splitlines()) == 4
    # The other websites' answers (and the website list) come from the cache.
    assert sb.stats()["by_path"] == {f"/analytics/{bad['id']}": 1, f"/analytics/{bad['id']}/countries": 1}


def test_when_every_website_fails_nothing_is_written_and_the_exit_is_1(cli, sb, out):
    sb.faults({"status": 503, "count": 1000, "path": "/analytics"})
    result = cli("export", "--out", str(out), "--retries", "0")
    assert result.returncode == 1, result.stderr  # not 3: no website's files were written
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "server error" in errors[0], result.stderr
    assert export_files(out) == [] and temp_files(out) == []
    assert result.stdout == ""
    assert "exported 0 of 4 websites; 4 failed:" in result.stderr
    clear_faults(sb)


def test_output_is_quiet_and_line_oriented_when_not_on_a_terminal(cli, sb, out):
    bad = websites(cli)[0]
    sb.faults({"status": 500, "count": 100, "path": f"/analytics/{bad['id']}"})
    result = ok(cli("export", "--out", str(out), "--retries", "1"), code=3)
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "Exporting" not in result.stderr  # no progress bar, no per-website chatter
    for line in result.stderr.splitlines():
        assert line.isprintable(), repr(line)
    clear_faults(sb)
    clean = ok(cli("export", "--out", str(out)))
    assert clean.stderr == ""
    quiet = ok(cli("export", "--out", str(out), "--quiet"))
    assert quiet.stdout == "" and quiet.stderr == ""


def test_progress_bar_is_shown_on_a_terminal_only(sb, sandbox_config, isolated_dirs, out):
    sandbox_config(latency=0.2)
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_") and k != "NO_COLOR"}
    env.update({"ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key, "TERM": "xterm-256color",
                "COLUMNS": "100"})
    proc = subprocess.Popen([zenovay_executable(), "export", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=child, env=env, text=True)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the command exited
            break
        if not chunk:
            break
        seen += chunk
    stdout = proc.communicate(timeout=60)[0]
    os.close(main)
    assert proc.returncode == 0, seen
    assert b"Exporting" in seen and b"\x1b[" in seen
    assert len(stdout.splitlines()) == 4 and "\x1b" not in stdout


# --- the lock, kills and Ctrl-C ------------------------------------------------------------------


def test_a_second_run_into_the_same_folder_is_refused_or_waits_with_wait_lock(
        cli, sb, start_export, out):
    sb.faults({"delay": 4, "count": 4, "path": "/analytics"})  # the first run holds the lock 4 s
    first = start_export("--out", str(out))
    lock = out / ".zenovay-export.lock"
    wait_until(lambda: lock.exists() and lock.read_text().strip() == str(first.pid),
               "the first run to take the lock")

    second = cli("export", "--out", str(out))
    assert second.returncode == 1, second.stderr
    assert "another zenovay export is writing to" in second.stderr
    assert str(first.pid) in second.stderr and "--wait-lock" in second.stderr

    third = ok(cli("export", "--out", str(out), "--wait-lock"))
    assert "waiting for the export lock" in third.stderr
    assert first.wait(timeout=30) == 0
    assert first.poll() == 0, "the waiting run finished after the first one"
    assert len(export_files(out)) == 4
    assert len(third.stdout.splitlines()) == 4


def test_a_run_killed_while_waiting_for_the_api_leaves_only_whole_files_and_the_next_run_cleans_up(
        cli, sb, start_export, out):
    # The kill lands during a network wait, not during a write: that whole-or-nothing is checked
    # by the crash-injection tests in tests/test_export_files.py, and the cleanup of a dead
    # process's temporary file by the planted leftover below.
    slow = websites(cli)[2]
    sb.faults({"delay": 20, "count": 1, "path": f"/analytics/{slow['id']}"})
    run = start_export("--out", str(out))
    wait_until(lambda: len(export_files(out)) == 3, "the three fast websites' files")
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    for name in export_files(out):
        json.loads((out / name).read_text("utf-8"))  # whole, valid files only
    assert not any(n.startswith(slow["domain"]) for n in export_files(out))
    assert temp_files(out) == []
    # What a kill during a write would have left behind: a temporary file of the dead process.
    leftover = out / f"{TEMP_PREFIX}{run.pid}-0badc0de.tmp"
    leftover.write_text('{"website": "half')

    again = ok(cli("export", "--out", str(out)))
    assert "removed a half-written file left by an interrupted run" in again.stderr
    assert temp_files(out) == []
    assert len(export_files(out)) == 4
    for name in export_files(out):
        json.loads((out / name).read_text("utf-8"))


def test_ctrl_c_exits_130_at_once_and_leaves_no_temporary_file(cli, sb, start_export, out):
    slow = websites(cli)[0]
    sb.faults({"delay": 20, "count": 1, "path": f"/analytics/{slow['id']}"})
    run = start_export("--out", str(out))
    wait_until(lambda: len(export_files(out)) == 3, "the three fast websites' files")
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=10)  # not held up by the 20 s request
    assert run.returncode == 130, stderr
    assert "Interrupted" in stderr
    assert "Traceback" not in stderr
    assert temp_files(out) == []
    for name in export_files(out):
        json.loads((out / name).read_text("utf-8"))


# --- the rate limit ----------------------------------------------------------------------------


def test_an_export_bigger_than_the_limit_stays_under_it_with_no_429(out, isolated_dirs):
    # 6 websites: 13 requests against 6 per window, a 2 s window standing for the minute (the
    # sandbox and the budget both read ZENOVAY_TEST_WINDOW_SECONDS). Sent at once they would
    # draw 429s; the budget spreads them over three windows. Fails with the budget off.
    window, rate = 2.0, 6
    server = Sandbox("--websites", "6", "--rate-limit", str(rate))
    try:
        server.configure(limiter="sliding", window=window, rate_limit=rate, send_remaining=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        env.update({"ZENOVAY_BASE_URL": server.base_url, "ZENOVAY_API_KEY": server.api_key,
                    "ZENOVAY_TEST_WINDOW_SECONDS": str(window)})
        result = subprocess.run([zenovay_executable(), "export", "--out", str(out), "--no-cache"],
                                capture_output=True, text=True, env=env, timeout=120)
        stats = server.stats()
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert len(export_files(out)) == 6
    assert stats["status_counts"] == {"200": 13}, stats  # every request admitted, none refused


def test_a_429_during_an_export_is_retried_once_and_the_run_exits_0(cli, sb, sandbox_config, out):
    # What it proves: one injected 429 costs one retry, no other 429, every file written. (9
    # requests under 60/min never engage the budget: that a run stays under a per-minute limit is
    # shown by the rate budget's own end-to-end tests, #11, with a short window for the minute.)
    sandbox_config(rate_limit=60)
    sb.reset()
    target = websites(cli)[3]
    sb.reset()
    sb.faults({"status": 429, "retry_after": 1, "count": 1, "path": f"/analytics/{target['id']}"})
    result = ok(cli("export", "--out", str(out)))
    assert len(export_files(out)) == 4
    stats = sb.stats()
    assert stats["status_counts"].get("429") == 1, stats  # the injected one, no more
    fetched = sum(n for path, n in stats["by_path"].items() if path.startswith("/analytics/"))
    assert fetched == 4 * 2 + 1, stats  # analytics and countries per website, 1 retry
    assert f"{target['domain']}: rate limited (429); retrying" in result.stderr
