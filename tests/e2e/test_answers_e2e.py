"""The answers (analytics --compare, the --all rollup, report, digest) run as the installed command
against the sandbox; every figure is recomputed here from the sandbox's own daily rows, and
requests are counted on the sandbox side."""

import csv
import hashlib
import hmac
import io
import json
import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import default_sigint, zenovay_executable
from tests.e2e.test_alert_e2e import HOOK_PATH, SECRET, receiver  # noqa: F401 - a fixture
from zenovay_cli.sandbox.data import SandboxData

# Mar 3: the 7d period (Feb 25 - Mar 3) crosses a month boundary.
TODAY = date(2026, 3, 3)
SITES = 5  # the last one has no visitors, the one before it answers daily_stats: []


@pytest.fixture
def world(sb):
    """The sandbox with a zero-visitor site and an empty-daily_stats site; restored afterwards."""
    sb.configure(websites=SITES, today=TODAY.isoformat(), quiet_websites=1, undated_websites=1)
    yield SandboxData(seed=0, websites=SITES, today=TODAY, quiet_websites=1, undated_websites=1)
    sb.configure(websites=4, today=None, quiet_websites=0, undated_websites=0)


def run_json(cli, *args):
    result = cli(*args, *(() if "--json" in args else ("--json",)), "--no-cache")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def expected_comparison(data, site, range_, longer):
    """(current visitors, previous visitors, previous views) from the sandbox's own rows."""
    days = {"7d": 7, "30d": 30, "90d": 90}[range_]
    first = TODAY - timedelta(days=days - 1)
    lo, hi = first - timedelta(days=days), first - timedelta(days=1)
    rows = [r for r in data.overview(site, longer)["daily_stats"]
            if lo <= date.fromisoformat(r["date"]) <= hi]
    current = data.overview(site, range_)["summary"]
    return current["total_visitors"], sum(r["total_visitors"] for r in rows), \
        sum(r["page_views"] for r in rows), (lo.isoformat(), hi.isoformat())


@pytest.mark.parametrize("range_,longer", [("7d", "30d"), ("30d", "90d"), ("90d", "1y")])
def test_analytics_compare_sums_the_previous_days_of_the_longer_range(cli, sb, world, range_, longer):
    site = world.website_ids[0]
    got = run_json(cli, "analytics", site, "--range", range_, "--compare")
    now, before, views_before, (lo, hi) = expected_comparison(world, site, range_, longer)
    metrics = got["comparison"]["metrics"]
    assert (got["comparison"]["previous"]["start"], got["comparison"]["previous"]["end"]) == (lo, hi)
    assert metrics["total_visitors"]["current"] == now == got["summary"]["total_visitors"]
    assert metrics["total_visitors"]["previous"] == before
    assert metrics["total_visitors"]["change_pct"] == round(100 * (now - before) / before, 1)
    assert metrics["total_page_views"]["previous"] == views_before
    assert metrics["unique_visitors"]["approximate"] is True
    # The rest of the document is exactly the plain command's answer.
    plain = run_json(cli, "analytics", site, "--range", range_)
    assert {k: v for k, v in got.items() if k != "comparison"} == plain
    assert sb.stats()["requests"] == 3  # 2 with --compare, 1 without


def test_compare_on_24h_or_1y_is_a_usage_error_before_any_request(cli, sb, world):
    for range_ in ("24h", "1y"):
        result = cli("analytics", world.website_ids[0], "--range", range_, "--compare")
        assert result.returncode == 2, result.stderr
        assert "7d, 30d, 90d" in result.stderr
    assert sb.stats()["requests"] == 0


def test_all_compare_rollup_totals_shares_zero_and_empty_sites(cli, sb, world):
    got = run_json(cli, "analytics", "--all", "--compare")
    assert sb.stats()["requests"] <= 2 * SITES + 1  # + the website list
    rows = {r["website"]["id"]: r for r in got["websites"]}
    total = sum(world.overview(s, "7d")["summary"]["total_visitors"] for s in world.website_ids)
    assert got["totals"]["summary"]["total_visitors"] == total
    for site in world.website_ids:
        visitors = world.overview(site, "7d")["summary"]["total_visitors"]
        assert rows[site]["share"] == round(visitors / total, 4)
    quiet, undated = world.website_ids[-1], world.website_ids[-2]
    zero = rows[quiet]["comparison"]["metrics"]["total_visitors"]
    assert (zero["current"], zero["previous"], zero["change_pct"], zero["new"]) == (0, 0, None, False)
    assert rows[quiet]["share"] == 0.0
    assert rows[undated]["comparison"]["available"] is False
    assert "no daily_stats" in rows[undated]["comparison"]["reason"]
    # The totals' previous period covers the sites with a comparison only.
    prev = sum(expected_comparison(world, s, "7d", "30d")[1] for s in world.website_ids[:-2]) + 0
    assert got["totals"]["comparison"]["metrics"]["total_visitors"]["previous"] == prev
    now = sum(expected_comparison(world, s, "7d", "30d")[0] for s in world.website_ids[:-2]) \
        + world.overview(quiet, "7d")["summary"]["total_visitors"]
    block = got["totals"]["comparison"]
    assert (block["websites"], block["of"]) == (SITES - 1, SITES)
    assert block["summary"]["total_visitors"] == now == block["metrics"]["total_visitors"]["current"]


def test_sort_change_lists_the_movers_first_and_the_table_has_a_totals_row(cli, world):
    result = cli("analytics", "--all", "--compare", "--sort", "change", "--no-cache")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "All websites (7d), sorted by change"
    changes = {}
    for site in world.website_ids[:-2]:
        now, before, _, _ = expected_comparison(world, site, "7d", "30d")
        changes[world.overview(site, "7d")["website"]["domain"]] = abs(now - before) / before
    expected = sorted(changes, key=lambda d: -changes[d])
    shown = [line.split()[0] for line in lines[2:2 + len(expected)]]
    assert shown == expected
    # Then the zero-visitor site (0%), the one without daily rows (n/a), and the totals row.
    rest = [line.split()[0] for line in lines[2 + len(expected):2 + len(expected) + 3]]
    quiet, undated = (world.overview(s, "7d")["website"]["domain"] for s in world.website_ids[-1:-3:-1])
    assert rest == [quiet, undated, "All"]
    assert "no daily_stats for the 30d range" in result.stdout  # why that site has no change
    assert not any(ch in result.stdout for ch in "▁▂▃▄▅▆▇█")  # no sparkline into a pipe


def test_all_csv_carries_the_same_figures_as_plain_columns(cli, world):
    result = cli("analytics", "--all", "--compare", "--format", "csv", "--no-cache")
    assert result.returncode == 0, result.stderr
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(records) == SITES
    first = records[0]
    site = world.website_ids[0]
    now, before, _, _ = expected_comparison(world, site, "7d", "30d")
    assert int(first["summary.total_visitors"]) == now
    assert int(first["previous.total_visitors"]) == before
    assert float(first["change_pct.total_visitors"]) == round(100 * (now - before) / before, 1)
    assert not any(ch in result.stdout for ch in "▁▂▃▄▅▆▇█↑↓")


def test_plain_all_json_keeps_its_keys(cli, world):
    got = run_json(cli, "analytics", "--all")
    for row in got["websites"]:
        assert {"website", "time_range", "summary"} <= set(row)
        assert "comparison" not in row
    assert got["time_range"] == "7d"


@pytest.mark.parametrize("compare,cost", [(False, 4), (True, 5)])
def test_report_costs_four_requests_five_with_compare(cli, sb, world, compare, cost):
    site = world.website_ids[0]
    got = run_json(cli, "report", site, *(["--compare"] if compare else []), "--json")
    assert sb.stats()["requests"] == cost
    assert set(got) == {"website", "range", "analytics", "countries", "technology", "pages"} | (
        {"comparison"} if compare else set())
    assert got["analytics"]["summary"] == world.overview(site, "7d")["summary"]
    assert got["pages"] == {"pages": world.pages(site, "7d", 20)}


def test_report_screen_shares_are_of_the_periods_visitors(cli, world):
    site = world.website_ids[0]
    result = cli("report", site, "--no-cache")
    assert result.returncode == 0, result.stderr
    total = world.overview(site, "7d")["summary"]["total_visitors"]
    top = world.countries(site, "7d", 1)[0]
    line = next(x for x in result.stdout.splitlines() if top["country_name"] in x)
    assert f"{top['visitors']:,}" in line and f"{100 * top['visitors'] / total:.1f}%" in line
    assert f"Visitors {total:,}" in result.stdout


def test_digest_json_figures_movers_and_failures(cli, sb, world):
    broken = world.website_ids[1]
    sb.faults({"status": 500, "count": 50, "path": f"/analytics/{broken}/pages"})
    result = cli("digest", "--format", "json", "--no-cache", "--retries", "0")
    assert result.returncode == 3, result.stderr
    got = json.loads(result.stdout)
    domain = world.overview(broken, "7d")["website"]["domain"]
    assert [f["website"] for f in got["failed"]] == [domain]
    assert domain in result.stderr
    ok = [s for s in world.website_ids if s != broken]
    assert got["totals"]["summary"]["total_visitors"] == sum(
        world.overview(s, "7d")["summary"]["total_visitors"] for s in ok)
    first = next(r for r in got["websites"] if r["website"]["id"] == world.website_ids[0])
    assert first["top_pages"] == world.pages(world.website_ids[0], "7d", 3)
    risers = got["movers"]["risers"]
    for m in risers:
        assert m["current"] > m["previous"]


def test_digest_markdown_names_every_site_and_the_totals(cli, world):
    result = cli("digest", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Zenovay digest: last 7d (2026-02-25 – 2026-03-03)")
    total = sum(world.overview(s, "7d")["summary"]["total_visitors"] for s in world.website_ids)
    # All websites now on one row; the 4 with a comparison (not the empty-daily_stats one) on the
    # next, now against before: the numbers on one row are about one set of sites.
    assert f"| **All websites ({SITES})** | **{total:,}** |  |" in result.stdout
    compared = [expected_comparison(world, s, "7d", "30d") for s in world.website_ids
                if s != world.website_ids[-2]]
    now, before = sum(c[0] for c in compared), sum(c[1] for c in compared)
    pct = 100 * (now - before) / before
    assert (f"| Comparable ({SITES - 1} of {SITES}) | {now:,} | "
            f"{'+' if pct > 0 else '-'}{abs(pct):.1f}% |") in result.stdout


def test_digest_to_url_posts_signed_json_and_prints_nothing(cli, world, receiver):  # noqa: F811
    result = cli("digest", "--to", receiver.url, "--no-cache", env={"ZENOVAY_NOTIFY_SECRET": SECRET})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert HOOK_PATH not in result.stderr  # the hook URL is a credential
    (post,) = receiver.posts
    stamp = post["headers"]["X-Zenovay-Timestamp"]
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + post["body"], hashlib.sha256).hexdigest()
    assert post["headers"]["X-Zenovay-Signature"] == "sha256=" + mac
    assert json.loads(post["body"])["range"] == "7d"


def test_digest_to_a_slack_url_posts_slacks_message(cli, world, receiver):  # noqa: F811
    result = cli("digest", "--to", "slack+" + receiver.url, "--no-cache")
    assert result.returncode == 0, result.stderr
    (doc,) = receiver.documents()
    assert set(doc) == {"text"} and doc["text"].startswith("*Zenovay digest: last 7d")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script")
def test_report_in_a_real_pseudo_terminal_draws_sparkline_bars_and_colour(sb, world, isolated_dirs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENOVAY_", "NO_COLOR"))}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key, COLUMNS="80", LINES="24",
               TERM="xterm-256color")
    command = f"{zenovay_executable()} report {world.website_ids[0]} --compare --no-cache"
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    screen = done.stdout
    assert any(ch in screen for ch in "▁▂▃▄▅▆▇█")  # the daily trend
    assert "\x1b[" in screen  # colour on a terminal
    lines = [line for line in screen.replace("\r", "").split("\n") if line]
    assert len(lines) <= 24
    import re

    assert max(len(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", line)) for line in lines) <= 80
    # NO_COLOR on the same terminal: plain glyphs, no escape sequences.
    env["NO_COLOR"] = "1"
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert "\x1b[" not in done.stdout and not any(ch in done.stdout for ch in "▁▂▃▄▅▆▇█")
    assert "#" in done.stdout  # ascii bars


def test_digest_offers_only_the_ranges_it_compares(cli, sb, world):
    """digest --help lists 7d|30d|90d; 24h and 1y are Click's usage error naming those choices,
    never a flag digest does not have, and before any request."""
    shown = cli("digest", "--help")
    assert shown.returncode == 0 and "<7d|30d|90d>" in shown.stdout and "24h|" not in shown.stdout
    for range_ in ("24h", "1y"):
        result = cli("digest", "--range", range_, "--no-cache")
        assert result.returncode == 2, result.stderr
        assert "--range" in result.stderr and "'7d', '30d', '90d'" in result.stderr
        assert "--compare" not in result.stderr
    assert sb.stats()["requests"] == 0


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script")
@pytest.mark.parametrize("width", [40, 50])
@pytest.mark.parametrize("no_color", [False, True])
def test_pages_in_a_narrow_pseudo_terminal_keep_one_line_per_page(sb, world, isolated_dirs,
                                                                   width, no_color):
    import re

    site = world.website_ids[0]
    pages = world.pages(site, "7d", 8)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENOVAY_", "NO_COLOR"))}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key, COLUMNS=str(width),
               TERM="xterm-256color", **({"NO_COLOR": "1"} if no_color else {}))
    command = f"{zenovay_executable()} pages {site} --limit 8 --no-cache"
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", line).rstrip()
             for line in done.stdout.replace("\r", "").split("\n")]
    assert max(len(line) for line in lines) <= width
    rows = [line.strip() for line in lines if re.search(r"\d\.\d%", line)]
    assert len(rows) == len(pages)  # one line per page: nothing wrapped
    total = world.overview(site, "7d")["summary"]["total_visitors"]
    for page, row in zip(pages, rows):
        shown = re.split(r" {2,}", row)[0]
        assert shown == page["url"] or (shown.endswith("…") and page["url"].startswith(shown[:-1]))
        assert f"{100 * page['visitors'] / total:.1f}%" in row
    assert ("\x1b[" in done.stdout) is not no_color


def _pty_run(argv, env, until: bytes, timeout=30.0):
    """Start argv with stdout and stderr on a pseudo-terminal; read until `until` appears."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env,
                            preexec_fn=default_sigint)  # one test stops it with Ctrl-C
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return proc, master, seen


def _drain(master) -> bytes:
    import select

    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            return out
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


def _pty_env(sb):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENOVAY_", "NO_COLOR"))}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key, COLUMNS="80", LINES="24",
               TERM="xterm-256color")
    return env


def test_report_watch_redraws_from_the_cache_and_ends_on_ctrl_c_with_130(sb, world, isolated_dirs):
    import signal
    import time

    argv = [zenovay_executable(), "report", world.website_ids[0], "--watch", "5"]
    proc, master, first = _pty_run(argv, _pty_env(sb), b"Ctrl-C to stop")
    try:
        assert b"Ctrl-C to stop" in first, first
        assert b"\x1b[?25l" in first and b"\x1b[H\x1b[2J" in first  # cursor hidden, drawn in place
        fetched = sb.stats()["requests"]
        assert fetched == 4
        time.sleep(6)  # one redraw: every answer is still fresh in the cache, nothing is refetched
        again = _drain(master)
        assert again.count(b"Ctrl-C to stop") >= 1
        assert sb.stats()["requests"] == fetched
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        tail = again + _drain(master)
        assert b"\x1b[?25h" in tail  # the cursor is back
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_digest_states_its_cost_up_front_on_a_terminal(sb, world, isolated_dirs):
    argv = [zenovay_executable(), "digest", "--no-cache"]
    proc, master, seen = _pty_run(argv, _pty_env(sb), b"## Top pages")
    try:
        assert proc.wait(timeout=30) == 0
        text = (seen + _drain(master)).decode()
        assert f"digest: {SITES} website(s) × 3 requests = {3 * SITES} requests" in text
        assert text.index("requests (+1") < text.index("# Zenovay digest")  # before the digest
    finally:
        os.close(master)


@pytest.mark.parametrize("args,words", [
    (("analytics", "mysite.com", "--sort", "visitors"), "--sort"),
    (("analytics", "--all", "--sort", "change"), "--compare"),
    (("report", "mysite.com", "--format", "csv"), "report"),
    (("report", "mysite.com", "--compare", "--range", "1y"), "7d, 30d, 90d"),
    (("digest", "--range", "24h"), "'7d', '30d', '90d'"),  # Click's choices, no --compare
    (("digest", "--to", "ftp://example.com/x"), "--to URL"),
])
def test_bad_answers_input_is_exit_2_before_any_request(cli, sb, args, words):
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr
    assert sb.stats()["requests"] == 0
