"""Issue #12, "nothing lost, nothing surprising": the installed `zenovay` against the sandbox, with
the hostile inputs, streams and terminals the issue found broken."""

import json
import os

import pytest

pytestmark = pytest.mark.e2e


def _config(isolated_dirs, text: str):
    path = isolated_dirs / "config" / "zenovay" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- item 3: non-finite numbers, and one rule for option, environment, config file, config set --


@pytest.mark.parametrize(
    "args, env, name",
    [
        (["--timeout", "nan"], {}, "--timeout option"),
        (["--timeout", "inf"], {}, "--timeout option"),
        (["--max-wait", "nan"], {}, "--max-wait option"),
        ([], {"ZENOVAY_TIMEOUT": "nan"}, "ZENOVAY_TIMEOUT"),
        ([], {"ZENOVAY_TIMEOUT": "1e400"}, "ZENOVAY_TIMEOUT"),
        ([], {"ZENOVAY_MAX_WAIT": "inf"}, "ZENOVAY_MAX_WAIT"),
        ([], {"ZENOVAY_RETRIES": "100"}, "ZENOVAY_RETRIES"),
        ([], {"ZENOVAY_RETRIES": "-1"}, "ZENOVAY_RETRIES"),
        ([], {"ZENOVAY_BASE_URL": "http://127.0.0.1:99999/api"}, "ZENOVAY_BASE_URL"),
    ],
)
def test_bad_number_is_a_usage_error_naming_its_source(cli, sb, args, env, name):
    before = sb.stats()["requests"]
    r = cli("usage", *args, env=env)
    assert r.returncode == 2, r.stderr
    assert name in r.stderr and "unexpected" not in r.stderr
    assert sb.stats()["requests"] == before  # nothing sent


def test_retries_zero_from_the_environment_is_valid(cli):
    r = cli("usage", "--json", env={"ZENOVAY_RETRIES": "0"})
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text", ["timeout = inf", "timeout = nan", "retries = 100", "website = 5", 'website = ""'])
def test_bad_config_file_value_names_the_file(cli, isolated_dirs, text):
    path = _config(isolated_dirs, f"[profiles.default]\n{text}\n")
    r = cli("usage")
    assert r.returncode == 2, r.stderr
    assert str(path) in r.stderr and "unexpected" not in r.stderr


@pytest.mark.parametrize(
    "key, value",
    [("timeout", "inf"), ("timeout", "nan"), ("timeout", "1e400"), ("timeout", "0"),
     ("retries", "100"), ("retries", "-1"), ("retries", "1.5"), ("max_wait", "-1"),
     ("max_wait", "nan"), ("api_key", "notzv"), ("website", ""), ("website", "a\nb"),
     ("base_url", "ftp://x"), ("base_url", "http://127.0.0.1:99999/api"),
     ("cache.ttl.analytics", "inf"), ("cache.ttl.analytics", "-1")],
)
def test_config_set_refuses_what_the_loader_refuses(cli, isolated_dirs, key, value):
    r = cli("config", "set", key, value)
    assert r.returncode == 2, r.stderr
    assert "Error:" in r.stderr
    assert not (isolated_dirs / "config" / "zenovay" / "config.toml").exists()
    assert cli("usage", "--json").returncode == 0  # later commands still work


def test_config_set_accepts_the_edges_the_loader_accepts(cli):
    for key, value in (("retries", "0"), ("retries", "20"), ("max_wait", "0"), ("timeout", "0.5")):
        assert cli("config", "set", key, value).returncode == 0
    r = cli("config", "show")
    assert json.loads(r.stdout)["profiles"]["default"] == {"retries": 20, "max_wait": 0.0, "timeout": 0.5}
    assert cli("usage", "--json").returncode == 0


def test_config_show_of_a_hand_written_infinity_is_json_and_repairable(cli, isolated_dirs):
    _config(isolated_dirs, "[profiles.default]\ntimeout = inf\n")
    r = cli("config", "show")
    assert r.returncode == 0
    assert json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    # the broken value can be repaired with the tool itself
    assert cli("config", "set", "timeout", "10").returncode == 0
    assert cli("usage", "--json").returncode == 0


# --- item 4: a stdout that is not UTF-8 ----------------------------------------------------------


@pytest.fixture
def many_sites(sb):
    """The sandbox with 12 websites (the 12th is "Kaffeehaus München"), restored afterwards."""
    sb.configure(websites=12)
    yield sb
    sb.configure(websites=4)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_non_utf8_stdout_json_and_ndjson_stay_valid_and_faithful(cli, many_sites, encoding):
    expected = json.loads(cli("websites", "--json").stdout)
    assert any(not w["name"].isascii() for w in expected["websites"])
    r = cli("websites", "--json", env={"PYTHONIOENCODING": encoding})
    assert r.returncode == 0, r.stderr
    assert r.stdout.isascii() and json.loads(r.stdout) == expected
    r = cli("websites", "--format", "ndjson", env={"PYTHONIOENCODING": encoding})
    assert r.returncode == 0, r.stderr
    names = [json.loads(line)["name"] for line in r.stdout.splitlines()]
    assert names == [w["name"] for w in expected["websites"]]


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv"])
def test_non_utf8_stdout_tables_and_csv_escape_instead_of_failing(cli, many_sites, fmt):
    r = cli("websites", "--format", fmt, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert "unexpected" not in r.stderr
    assert "Kaffeehaus M\\xfcnchen" in r.stdout  # an escape a reader can decode
    assert "Acme" in r.stdout or "Dev Journal" in r.stdout  # the other rows are all there
    assert len(r.stdout.splitlines()) >= 12


def test_non_utf8_stderr_error_messages_do_not_fail(cli, many_sites):
    r = cli("websites", "nosuch-münchen.example", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 5, r.stderr
    assert "nosuch-m\\xfcnchen" in r.stderr


# --- item 5: a stream that fails part-way says so ------------------------------------------------


def _site_id(cli):
    return json.loads(cli("websites", "--json").stdout)["websites"][0]["id"]


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_a_stream_cut_short_by_the_rate_limit_says_the_output_is_incomplete(cli, sb, fmt):
    site = _site_id(cli)
    sb.reset()  # a fresh rate window
    sb.configure(rate_limit=3)  # pages 1-3 pass, page 4 gets a 429 longer than --max-wait 0
    try:
        r = cli("visitors", site, "--all", "--limit", "500", "--format", fmt, "--max-wait", "0", "--no-cache")
    finally:
        sb.configure(rate_limit=100000)
    assert r.returncode == 6, r.stderr
    # The pages answered before the stop: the 429, or the rate budget refusing to wait longer than
    # --max-wait 0 (it knows the window is spent, counting the `websites` lookup above: #11).
    answered = sb.stats()["status_counts"].get("200", 0)
    rows = 500 * answered
    assert 0 < rows < 2500
    assert f"the output is incomplete: stopped after {rows:,} visitors" in r.stderr
    if fmt == "json":
        assert "unterminated" in r.stderr
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.stdout)
        assert r.stdout.count('"visited_at"') == rows
    elif fmt == "ndjson":
        assert [json.loads(line) for line in r.stdout.splitlines()] and len(r.stdout.splitlines()) == rows
    else:
        assert len(r.stdout.splitlines()) == rows + 1  # header and the whole rows


def test_a_complete_stream_says_nothing_about_incomplete(cli, sb):
    r = cli("visitors", _site_id(cli), "--all", "--limit", "500", "--json", "--no-cache")
    assert r.returncode == 0 and "incomplete" not in r.stderr
    assert len(json.loads(r.stdout)["visitors"]) == 2500


# --- item 6: plain errors with the documented exit code, never "unexpected error" ----------------


def _run_shell(cli_env_cmd: str, sb, isolated_dirs):
    import subprocess

    from tests.e2e.conftest import zenovay_executable

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key, Z=zenovay_executable())
    return subprocess.run(["sh", "-c", cli_env_cmd], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_stdout_closed_or_full_is_a_plain_error(sb, isolated_dirs, redirect, fmt):
    r = _run_shell(f'"$Z" websites --format {fmt} {redirect}', sb, isolated_dirs)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("Error: cannot write to standard output"), r.stderr
    assert "unexpected" not in r.stderr and "Traceback" not in r.stderr and "Exception" not in r.stderr


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"])
def test_stderr_closed_or_full_keeps_the_exit_code(sb, isolated_dirs, redirect):
    r = _run_shell(f'"$Z" websites no-such-site.example {redirect}', sb, isolated_dirs)
    assert r.returncode == 5
    r = _run_shell(f'"$Z" websites --no-such-option {redirect}', sb, isolated_dirs)
    assert r.returncode == 2
    assert r.stdout == ""  # Click's usage error does not fall back to stdout


def test_sandbox_port_in_use_is_a_plain_error(cli):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli("sandbox", "serve", "--port", str(port), timeout=20)
    assert r.returncode == 1
    assert r.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}"), r.stderr
    assert "unexpected" not in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_export_into_a_full_file_system_is_a_plain_error(cli, tmp_path):
    import subprocess

    mnt = tmp_path / "full"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mnt / "filler").write_bytes(b"x" * 4096)  # fill it; no block left
        r = cli("export", "--out", str(mnt), "--quiet")
    finally:
        subprocess.run(["umount", str(mnt)])
    assert r.returncode == 1, r.stderr
    assert "unexpected" not in r.stderr and "Error:" in r.stderr
    assert str(mnt) in r.stderr


# --- item 9: export --out '' ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " "])
def test_export_out_empty_is_a_usage_error_before_any_request(cli, sb, tmp_path, value):
    work = tmp_path / "cron-cwd"
    work.mkdir()
    import subprocess

    from tests.e2e.conftest import zenovay_executable

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key)
    before = sb.stats()["requests"]
    r = subprocess.run([zenovay_executable(), "export", "--out", value], cwd=work,
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "--out is empty" in r.stderr
    assert list(work.iterdir()) == []  # nothing written into the working directory
    assert sb.stats()["requests"] == before


# --- item 2: export --format csv --include keeps the included data -------------------------------


def test_export_csv_include_writes_pages_and_technology_files(cli, sb, tmp_path):
    import csv

    out = tmp_path / "out"
    r = cli("export", "--out", str(out), "--format", "csv", "--include", "pages", "--include", "technology")
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    date = files[0][len("zenovay_"):len("zenovay_") + 10]
    assert files == [f"zenovay_{date}.csv", f"zenovay_{date}_pages.csv", f"zenovay_{date}_technology.csv"]
    assert r.stdout.split() == [str(out / f) for f in files]  # every file written is listed

    sites = sorted(json.loads(cli("websites", "--json").stdout)["websites"], key=lambda w: w["domain"])
    expected_pages, expected_tech = [], []
    for w in sites:
        for page in json.loads(cli("pages", w["id"], "--range", "24h", "--json").stdout)["pages"]:
            expected_pages.append([date, w["id"], w["domain"], page["url"], str(page["views"]), str(page["visitors"])])
        tech = json.loads(cli("tech", w["id"], "--range", "24h", "--json").stdout)
        for category, items in tech.items():
            for item in items:
                expected_tech.append([date, w["id"], w["domain"], category, item["name"], str(item["visitors"])])
    with open(out / files[1], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["date", "website_id", "domain", "url", "views", "visitors"]
    assert rows[1:] == expected_pages and expected_pages
    with open(out / files[2], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["date", "website_id", "domain", "category", "name", "visitors"]
    assert rows[1:] == expected_tech and expected_tech


def test_export_csv_without_include_writes_one_file(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("export", "--out", str(out), "--format", "csv").returncode == 0
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 1


# --- item 11: csv header on empty results, stable column order, failed rows keep their range ------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_an_empty_result_still_prints_its_header_row(cli, fmt):
    site = _site_id(cli)
    full = cli("visitors", site, "--limit", "5", "--format", fmt).stdout.splitlines()
    r = cli("visitors", site, "--offset", "1000000", "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [full[0]]  # the same header, no rows
    r = cli("visitors", site, "--all", "--offset", "1000000", "--format", fmt)
    assert r.stdout.splitlines() == [full[0]]


def test_analytics_all_csv_keeps_its_columns_when_the_first_website_fails(cli, sb):
    import csv
    import io

    good = list(csv.reader(io.StringIO(cli("analytics", "--all", "--format", "csv", "--range", "30d").stdout)))
    first = sorted(json.loads(cli("websites", "--json").stdout)["websites"], key=lambda w: w["domain"])
    # whichever website the rows list first, make it fail
    first_row_domain = good[1][0]
    failing = next(w for w in first if w["domain"] == first_row_domain)
    sb.faults({"path": f"/analytics/{failing['id']}", "status": 503, "count": 50})
    r = cli("analytics", "--all", "--format", "csv", "--range", "30d", "--retries", "0", "--no-cache")
    assert r.returncode == 3, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][: len(good[0])] == good[0] and rows[0][len(good[0]):] == ["error"]
    failed = dict(zip(rows[0], rows[1]))
    assert failed["website"] == first_row_domain and failed["range"] == "30d" and failed["error"]
    assert [dict(zip(rows[0], row))["range"] for row in rows[1:]] == ["30d"] * (len(rows) - 1)


# --- item 7: narrow terminals never split a number or a date (a real pty) --------------------------


def _on_pty(cli_env: dict, args: list, cols: int) -> list:
    """Run `zenovay ARGS` with stdout on a pty `cols` wide; the lines it shows, colours removed."""
    import fcntl
    import pty
    import re
    import struct
    import subprocess
    import termios

    from tests.e2e.conftest import zenovay_executable

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    proc = subprocess.Popen([zenovay_executable(), *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE, env=cli_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", b"".join(chunks).decode())
    return [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]


@pytest.fixture
def pty_env(sb):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_") and k != "NO_COLOR"}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key, TERM="xterm-256color")
    return env


def _whole(token: str, lines: list) -> bool:
    return any(token in line.split() or f" {token}" in f" {line} " for line in lines)


@pytest.mark.parametrize("cols", [40, 30])
@pytest.mark.parametrize("color", [True, False])
def test_narrow_terminal_keeps_numbers_and_dates_whole(cli, pty_env, cols, color):
    env = {**pty_env, "COLUMNS": str(cols)}
    if not color:
        env["NO_COLOR"] = "1"
    site = _site_id(cli)
    usage = json.loads(cli("usage", "--json").stdout)  # (the request counts move with each run)
    lines = _on_pty(env, ["usage"], cols)
    for number in (usage["usage"]["monthly_limit"], usage["rate_limits"]["requests_per_minute"]):
        assert _whole(f"{number:,}", lines), (number, lines)
    analytics = json.loads(cli("analytics", site, "--json").stdout)
    lines = _on_pty(env, ["analytics", site], cols)
    for day in analytics["daily_stats"]:
        assert _whole(day["date"], lines), (day["date"], lines)
        assert _whole(f"{day['total_visitors']:,}", lines), (day, lines)
    assert _whole(f"{analytics['summary']['total_page_views']:,}", lines)
    websites = json.loads(cli("websites", "--json").stdout)["websites"]
    lines = _on_pty(env, ["websites"], cols)
    for w in websites:
        assert _whole(w["tracking_code"], lines) and any(w["domain"] in line for line in lines)
    assert len(lines) < 15 * len(websites)  # not a page of fragments
    # only a long id on its own line may be wider than the terminal (it is not a number or a date)
    assert all(len(line.split()) == 1 and len(line.strip()) > 25 for line in lines if len(line) > cols)


# --- item 13: big tables stream in blocks; an --all walk leaves no cache entries behind ------------


def test_visitors_all_table_streams_in_blocks_with_every_visitor(cli, sb):
    site = _site_id(cli)
    ids = [json.loads(line)["id"] for line in
           cli("visitors", site, "--all", "--format", "ndjson", "--limit", "1000").stdout.splitlines()]
    assert len(ids) == 2500
    r = cli("visitors", site, "--all", "--limit", "500")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    headers = [n for n, line in enumerate(lines) if line.startswith("visited_at")]
    assert len(headers) == 3  # blocks of 1,000 rows: 1,000 + 1,000 + 500, each with its header
    assert lines[0] == "Visitors" and lines.count("Visitors") == 1
    shown = [line.split()[-1] for line in lines if line[:4].isdigit()]
    assert shown == ids  # every visitor once, in order


def test_an_all_walk_is_not_cached_page_by_page(cli, sb, isolated_dirs):
    site = _site_id(cli)
    before = json.loads(cli("cache", "info", "--json").stdout)["entries"]
    assert cli("visitors", site, "--all", "--limit", "500", "--format", "ndjson").returncode == 0
    assert json.loads(cli("cache", "info", "--json").stdout)["entries"] == before
    requests = sb.stats()["requests"]
    assert cli("visitors", site, "--all", "--limit", "500", "--format", "ndjson").returncode == 0
    assert sb.stats()["requests"] == requests + 5  # fetched again: nothing stale served
    # one page without --all is still cached
    assert cli("visitors", site, "--limit", "5", "--json").returncode == 0
    assert json.loads(cli("cache", "info", "--json").stdout)["entries"] == before + 1


# --- item 8: auth login saves the key only; logout says what stays ---------------------------------


def _profiles(cli):
    r = cli("config", "show")
    return json.loads(r.stdout).get("profiles", {}) if r.stdout.strip() else {}


def test_auth_login_does_not_pin_the_base_url_from_the_environment(cli, sb):
    r = cli("auth", "login", "--with-token", input=sb.api_key + "\n")
    assert r.returncode == 0, r.stderr
    assert set(_profiles(cli)["default"]) == {"api_key"}
    assert "ZENOVAY_BASE_URL" in r.stderr and "not saved" in r.stderr
    # without the environment's URL, later commands go to the default API, not the sandbox
    status = json.loads(cli("auth", "status", "--json", env={"ZENOVAY_BASE_URL": None}).stdout)
    assert status["base_url"]["source"] == "default"


def test_auth_login_with_base_url_saves_it_and_says_so_and_logout_says_what_stays(cli, sb):
    r = cli("auth", "login", "--with-token", "--base-url", sb.base_url, input=sb.api_key + "\n",
            env={"ZENOVAY_BASE_URL": None})
    assert r.returncode == 0, r.stderr
    assert _profiles(cli)["default"]["base_url"] == sb.base_url
    assert f"base URL {sb.base_url}" in r.stderr
    r = cli("auth", "logout")
    assert r.returncode == 0
    assert f"keeps: base_url = {sb.base_url}" in r.stderr
    assert set(_profiles(cli)["default"]) == {"base_url"}


# --- item 10: a misspelt profile -------------------------------------------------------------------


def test_a_misspelt_profile_names_the_ones_that_exist(cli, sb):
    assert cli("config", "set", "website", "x.example", "--profile", "work").returncode == 0
    assert cli("config", "set", "timeout", "5", "--profile", "home").returncode == 0
    before = sb.stats()["requests"]
    for args, env, source in ((["--profile", "wrok"], {}, "--profile option"),
                              ([], {"ZENOVAY_PROFILE": "wrok"}, "ZENOVAY_PROFILE")):
        r = cli("usage", *args, env=env)
        assert r.returncode == 2, r.stderr
        assert source in r.stderr and "'wrok'" in r.stderr and "home, work" in r.stderr
    assert sb.stats()["requests"] == before
    assert cli("usage", "--profile", "home", "--json").returncode == 0


def test_profiles_can_still_be_made_and_a_fresh_config_is_fine(cli, sb):
    assert cli("usage", "--profile", "anything", "--json").returncode == 0  # no config file yet
    assert cli("config", "set", "timeout", "5", "--profile", "work").returncode == 0
    r = cli("auth", "login", "--with-token", "--profile", "second", input=sb.api_key + "\n")
    assert r.returncode == 0, r.stderr
    assert set(_profiles(cli)) == {"work", "second"}


# --- item 1: parallel alert runs sharing a state file lose nothing ---------------------------------


class _SlowReceiver:
    """A webhook receiver taking `delay` seconds per POST (as Slack can), recording each."""

    def __init__(self, delay: float) -> None:
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.posts: list = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                receiver.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_parallel_alert_runs_sharing_a_state_file_keep_every_website(cli, sb, tmp_path):
    import subprocess

    from tests.e2e.conftest import zenovay_executable

    receiver = _SlowReceiver(1.0)
    state = tmp_path / "alert-state.json"
    domains = [w["domain"] for w in json.loads(cli("websites", "--json").stdout)["websites"]][:3]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    env.update(ZENOVAY_BASE_URL=sb.base_url, ZENOVAY_API_KEY=sb.api_key)

    def together() -> list:
        procs = [subprocess.Popen([zenovay_executable(), "alert", d, "--crit", "visitors<1000000000",
                                   "--notify", receiver.url, "--state", str(state)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for d in domains]
        return [(p.wait(timeout=120), p.stderr.read()) for p in procs]

    try:
        for code, err in together():
            assert code == 2, err  # CRITICAL: each website fires
        fired = sorted(p["website"] for p in receiver.posts if p["event"] == "firing")
        assert fired == sorted(domains)
        alerts = json.loads(state.read_text())["alerts"]
        assert sorted(a["website"] for a in alerts.values()) == sorted(domains)  # nobody's lost
        together()  # still firing everywhere: nothing new to say
        assert len(receiver.posts) == len(domains)
    finally:
        receiver.close()


# --- item 12: papercuts ----------------------------------------------------------------------------


def test_debug_prints_request_details_on_success_without_the_key(cli, sb):
    r = cli("websites", "--debug", "--json")
    assert r.returncode == 0
    lines = [line for line in r.stderr.splitlines() if line.startswith("debug: ")]
    assert any(f"GET {sb.base_url}/websites -> 200 in " in line for line in lines), r.stderr
    assert any("cache miss: GET /websites" in line for line in lines)
    again = cli("websites", "--debug", "--json")
    assert "debug: cache hit: GET /websites" in again.stderr
    assert sb.api_key not in r.stderr + again.stderr


@pytest.mark.parametrize("flag", ["--demo", "--no-color"])
def test_root_flags_work_after_the_command_name(cli, flag):
    args = ["usage", "--json", flag] if flag == "--demo" else ["usage", flag]
    r = cli(*args, env={"ZENOVAY_API_KEY": None, "ZENOVAY_BASE_URL": None} if flag == "--demo" else None)
    assert r.returncode == 0, r.stderr


def test_countries_limit_over_the_documented_maximum_is_checked_locally(cli, sb):
    before = sb.stats()["requests"]
    for args in (["countries", "--limit", "101"], ["pages", "--limit", "101"], ["errors", "--limit", "201"]):
        r = cli(*args, "x.example")
        assert r.returncode == 2 and "--limit" in r.stderr, r.stderr
    assert sb.stats()["requests"] == before


def test_auth_status_masks_credentials_in_the_base_url(cli, sb):
    url = sb.base_url.replace("http://", "http://user:s3cretpw@")
    r = cli("auth", "status", env={"ZENOVAY_BASE_URL": url})
    assert "s3cretpw" not in r.stdout + r.stderr and "user:***@" in r.stdout


def test_a_base_url_without_its_path_points_at_the_base_url(cli, sb):
    r = cli("websites", env={"ZENOVAY_BASE_URL": sb.root})
    assert r.returncode == 5
    assert "has no path" in r.stderr and "/api/external/v1" in r.stderr


def test_force_color_colours_a_pipe_for_less_r(cli):
    plain = cli("usage")
    coloured = cli("usage", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in plain.stdout and "\x1b[" in coloured.stdout
    assert "\x1b[" not in cli("usage", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


@pytest.mark.parametrize("args", [
    ["--color", "always", "usage"], ["--color=always", "usage"],
    ["usage", "--color", "always"], ["usage", "--color=ALWAYS"],
])
def test_color_always_colours_a_pipe_even_under_no_color(cli, args):
    # An explicit choice on the command line beats the environment, as `ls --color=always` does.
    coloured = cli(*args, env={"NO_COLOR": "1"})
    assert coloured.returncode == 0, coloured.stderr
    assert "\x1b[" in coloured.stdout
    never = cli("--color", "never", "usage", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in never.stdout and never.returncode == 0
    auto = cli("--color", "auto", "usage", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in auto.stdout  # auto leaves the decision to the environment


def test_color_needs_a_known_value_and_does_not_contradict_no_color(cli, sb):
    before = sb.stats()["requests"]
    bad = cli("--color", "sometimes", "usage")
    assert bad.returncode == 2 and "'sometimes' is not one of 'auto', 'always', 'never'" in bad.stderr
    both = cli("--no-color", "--color", "always", "usage")
    assert both.returncode == 2 and "--no-color and --color always" in both.stderr
    assert cli("--no-color", "--color", "never", "usage").returncode == 0  # they agree
    assert sb.stats()["requests"] == before + 1


def test_cache_prune_removes_the_damage_cache_info_counts(cli, isolated_dirs):
    assert cli("websites", "--json").returncode == 0
    info = json.loads(cli("cache", "info", "--json").stdout)
    folder = info["path"]
    name = next(n for n in os.listdir(folder) if not n.startswith("."))
    key = name[: -len(".json")]
    damaged = os.path.join(folder, key[:-1] + ("0" if key[-1] != "0" else "1") + ".json")
    os.mkdir(damaged)  # a folder where an entry belongs
    assert json.loads(cli("cache", "info", "--json").stdout)["corrupt"] == 1
    assert cli("cache", "prune").returncode == 0
    assert not os.path.exists(damaged)
    assert json.loads(cli("cache", "info", "--json").stdout)["corrupt"] == 0


def test_demo_alert_keeps_its_state_apart_from_the_real_one(cli, isolated_dirs):
    receiver = _SlowReceiver(0)
    try:
        r = cli("--demo", "alert", "--all", "--crit", "visitors<1000000000", "--notify", receiver.url,
                env={"ZENOVAY_API_KEY": None, "ZENOVAY_BASE_URL": None})
    finally:
        receiver.close()
    assert r.returncode == 2, r.stderr
    assert "--demo" in r.stderr and "really sent" in r.stderr
    state = isolated_dirs / "state" / "zenovay"
    assert (state / "alert-state-demo.json").exists() and not (state / "alert-state.json").exists()
