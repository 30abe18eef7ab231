"""`zenovay alert` as cron and monitoring systems run it: the installed command against the sandbox,
notifying a local HTTP receiver that records every POST."""

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import default_sigint, zenovay_executable

SECRET = "receiver-shared-secret"
HOOK_PATH = "/hooks/T0SECRET/B0SECRET/tokenSECRET"  # a webhook path is a credential: never shown
PERF = re.compile(r"'[^'=;|]+'=(\d+(\.\d+)?|U);[^;\s]*;[^;\s]*;0")


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each POST and answers `status`."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        self.delay = 0.0  # seconds each POST takes to answer (Slack can take about one)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    import time

                    time.sleep(receiver.delay)
                receiver.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.root + HOOK_PATH

    def documents(self) -> list[dict]:
        return [json.loads(post["body"]) for post in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def sandbox_day(sb):
    """Move the sandbox's "today" (its 24h numbers change with it); put it back afterwards."""
    yield lambda day: sb.configure(today=day.isoformat())
    sb.configure(today=None)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def websites(cli) -> list[dict]:
    result = cli("websites", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["websites"]


def visitors(cli, website_id: str) -> int:
    """The real value the alert will judge, read the way a user would."""
    result = cli("analytics", website_id, "--range", "24h", "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["summary"]["total_visitors"]


@pytest.fixture
def site(cli):
    """The first sandbox website and its current 24h visitors."""
    first = websites(cli)[0]
    return {"id": first["id"], "domain": first["domain"], "visitors": visitors(cli, first["id"])}


def assert_secrets_hidden(result) -> None:
    for text in (result.stdout, result.stderr):
        assert "SECRET" not in text and SECRET not in text, text


# --- exit codes, status line, perfdata --------------------------------------------------------


@pytest.mark.parametrize("warn_delta, crit_delta, code, status", [
    (-1, -2, 0, "OK"),        # value is above both thresholds
    (+1, -1, 1, "WARNING"),   # below the warning threshold only
    (+2, +1, 2, "CRITICAL"),  # below both
])
def test_exit_code_and_status_follow_the_monitoring_plugin_convention(cli, site, warn_delta, crit_delta,
                                                                       code, status):
    v = site["visitors"]
    result = cli("alert", site["domain"], "--warn", f"visitors<{v + warn_delta}",
                 "--crit", f"visitors<{v + crit_delta}")
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stdout.startswith(f"ZENOVAY {status} - ")


def test_status_line_carries_perfdata_and_one_line_per_website(cli, site):
    v, domain = site["visitors"], site["domain"]
    result = cli("alert", site["id"], "--warn", f"visitors<{v + 1}", "--crit", f"page_views>{10**9}")
    assert result.returncode == 1, result.stdout + result.stderr
    first, *rest = result.stdout.splitlines()
    summary, _, perfdata = first.partition(" | ")
    assert summary == f"ZENOVAY WARNING - {domain} visitors {v} < {v + 1} (warning)"
    items = [m.group(0) for m in PERF.finditer(perfdata)]
    assert " ".join(items) == perfdata, "perfdata is 'label'=value;warn;crit;min items"
    views = json.loads(cli("analytics", site["id"], "--range", "24h", "--json").stdout)
    views = views["summary"]["total_page_views"]
    # warn/crit use the plugin guidelines' ranges: `2584:` alerts below 2584, `~:N` above N.
    assert items == [f"'{domain} visitors'={v};{v + 1}:;;0", f"'{domain} page_views'={views};;~:{10**9};0"]
    assert rest == [f"{domain}: WARNING - visitors {v} < {v + 1} (warning); "
                    f"page_views {views} ok (critical if > {10**9})"]


def test_all_checks_every_website_and_reports_the_worst(cli):
    sites = websites(cli)
    values = {s["domain"]: visitors(cli, s["id"]) for s in sites}
    lowest = min(values, key=values.get)
    result = cli("alert", "--all", "--crit", f"visitors<{values[lowest] + 1}")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(PERF.findall(lines[0])) == len(sites)
    assert sorted(line.split(":")[0] for line in lines[1:]) == sorted(values)
    assert f"{lowest}: CRITICAL" in result.stdout


def test_json_gives_the_evaluation_as_data(cli, site):
    v = site["visitors"]
    result = cli("alert", site["domain"], "--crit", f"visitors<{v + 1}", "--json")
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    assert (data["status"], data["exit_code"], data["range"]) == ("CRITICAL", 2, "24h")
    [website] = data["websites"]
    [check] = website["checks"]
    assert website["metrics"]["visitors"] == v
    assert (check["value"], check["threshold"], check["firing"], check["status"]) == (v, v + 1, True, "CRITICAL")


def test_rules_file_in_zenovays_shape(cli, site, tmp_path):
    v = site["visitors"]
    rules = tmp_path / "alerts.toml"
    rules.write_text(f"""
[[rule]]
website = "{site['domain']}"
metric = "total_visitors"
threshold = {v + 1}
direction = "below"
severity = "warning"

[[rule]]
website = "{site['id']}"
metric = "total_page_views"
threshold = 0
direction = "above"
severity = "critical"
""")
    result = cli("alert", "--rules", str(rules))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY CRITICAL - ")
    assert f"visitors {v} < {v + 1} (warning)" in result.stdout


def test_a_missing_website_is_unknown_without_hiding_a_breach_elsewhere(cli, site):
    result = cli("alert", site["domain"], "gone.example", "--crit", f"visitors<{site['visitors'] + 1}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "gone.example: UNKNOWN - could not fetch analytics: no website 'gone.example'" in result.stdout


# --- UNKNOWN: the tool's own failures ---------------------------------------------------------


@pytest.mark.parametrize("content", [None, "[[rule]\nmetric = ", '[[rule]]\nmetric = "visits"\nthreshold = 1\n'
                                     'direction = "below"\nseverity = "critical"\n'])
def test_unreadable_or_invalid_rules_file_is_unknown(cli, site, tmp_path, content):
    path = tmp_path / "alerts.toml"
    if content is not None:
        path.write_text(content)
    result = cli("alert", site["domain"], "--rules", str(path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY UNKNOWN - ") and str(path) in result.stdout


@pytest.mark.parametrize("args", [
    ("--warn", "visitors=<100"),
    ("--warn", "visits<100"),
    ("--crit", "visitors<lots"),
    ("--range", "2h", "--crit", "visitors<1"),  # refused by option parsing, before the command runs
    (),  # no rules at all
])
def test_bad_arguments_are_unknown_with_the_reason_on_stdout(cli, site, args):
    result = cli("alert", site["domain"], *args)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY UNKNOWN - ")
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("rule", ["visitors<1000000000", "visitors<0"])  # would be CRITICAL / OK
def test_rejected_key_is_unknown_never_critical_or_ok(cli, site, rule):
    result = cli("alert", site["domain"], "--crit", rule, env={"ZENOVAY_API_KEY": "zv_revoked_key"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY UNKNOWN - ")
    assert "zv_revoked_key" not in result.stdout + result.stderr


def test_unreachable_api_is_unknown(cli, site):
    url = f"http://127.0.0.1:{closed_port()}/api/external/v1"
    result = cli("alert", site["domain"], "--crit", "visitors<1000000000", "--retries", "0",
                 env={"ZENOVAY_BASE_URL": url}, timeout=30)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY UNKNOWN - ")


def test_a_website_the_api_fails_for_makes_an_otherwise_ok_run_unknown(cli, sb):
    sites = websites(cli)
    sb.faults({"path": f"/analytics/{sites[1]['id']}", "status": 503, "count": 5})
    result = cli("alert", "--all", "--crit", "visitors<0", "--retries", "0")
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ZENOVAY UNKNOWN - ")
    assert f"{sites[1]['domain']}: UNKNOWN - could not fetch analytics" in result.stdout
    assert f"{sites[0]['domain']}: OK" in result.stdout


def test_unknown_as_json_is_still_a_json_document(cli, site):
    result = cli("alert", site["domain"], "--warn", "visits<1", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["status"] == "UNKNOWN"


# --- notifications ----------------------------------------------------------------------------


def test_notifies_once_on_firing_not_on_repeat_and_once_on_resolve(cli, site, receiver, sandbox_day):
    # Resolving needs the numbers to change, as they do from one hourly run to the next: here
    # the sandbox's day moves on. (A new threshold is another rule: see the test below.)
    day = date(2026, 3, 2)
    sandbox_day(day)
    low = visitors(cli, site["id"])
    for later in range(1, 30):
        sandbox_day(day + timedelta(days=later))
        high = visitors(cli, site["id"])
        if high > low + 1:
            break
    else:
        pytest.fail("the sandbox's numbers never rose")
    rule = f"visitors<{low + 1}"
    sandbox_day(day)

    def check():
        return cli("alert", site["domain"], "--crit", rule, "--notify", receiver.url)

    first = check()
    assert first.returncode == 2, first.stdout + first.stderr
    [fired] = receiver.documents()
    assert (fired["event"], fired["severity"], fired["website"], fired["value"]) == (
        "firing", "critical", site["domain"], low)
    assert receiver.posts[0]["path"] == HOOK_PATH

    repeat = check()
    assert repeat.returncode == 2 and len(receiver.posts) == 1, repeat.stderr

    sandbox_day(day + timedelta(days=later))
    resolved = check()
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert [d["event"] for d in receiver.documents()] == ["firing", "resolved"]
    last = receiver.documents()[-1]
    assert last["fingerprint"] == fired["fingerprint"] and last["value"] == high
    assert last["since"] == fired["since"]
    assert check().returncode == 0 and len(receiver.posts) == 2
    for result in (first, repeat, resolved):
        assert_secrets_hidden(result)


def test_raising_a_firing_rules_threshold_resolves_the_old_alert(cli, site, receiver):
    v = site["visitors"]
    assert cli("alert", site["domain"], "--crit", f"visitors<{v + 1}", "--notify", receiver.url).returncode == 2
    result = cli("alert", site["domain"], "--crit", f"visitors<{v}", "--notify", receiver.url)
    assert result.returncode == 0, result.stdout + result.stderr
    fired, resolved = receiver.documents()
    assert resolved["event"] == "resolved" and resolved["fingerprint"] == fired["fingerprint"]
    assert f"was replaced by < {v}" in resolved["text"]


def test_alerts_over_different_ranges_do_not_resolve_each_other(cli, site, receiver):
    v = site["visitors"]
    week = json.loads(cli("analytics", site["id"], "--range", "7d", "--json").stdout)
    assert week["summary"]["total_visitors"] > v
    rule = f"visitors<{v + 1}"  # fires over 24h, not over 7d
    assert cli("alert", site["domain"], "--crit", rule, "--notify", receiver.url).returncode == 2
    assert cli("alert", site["domain"], "--crit", rule, "--range", "7d", "--notify", receiver.url).returncode == 0
    assert cli("alert", site["domain"], "--crit", rule, "--notify", receiver.url).returncode == 2
    assert [d["event"] for d in receiver.documents()] == ["firing"]


def test_slack_compatible_url_gets_slacks_text_shape(cli, site, receiver):
    # Real Slack URLs (https://hooks.slack.com/services/…) are recognised by host; the slack+
    # prefix asks for the same shape on any other host, which is how this test can receive it.
    v = site["visitors"]
    slack_url = "slack+" + receiver.root + "/services/T0SECRET/B0SECRET/XSECRET"
    result = cli("alert", site["domain"], "--crit", f"visitors<{v + 1}", "--notify", slack_url)
    assert result.returncode == 2, result.stderr
    [post] = receiver.posts
    assert post["path"] == "/services/T0SECRET/B0SECRET/XSECRET"
    assert json.loads(post["body"]) == {
        "text": f"CRITICAL: {site['domain']} visitors is {v} over 24h (&lt; {v + 1})"}


@pytest.mark.parametrize("how", ["env", "option"])
def test_signature_verifies_in_the_receiver(cli, site, receiver, how):
    args = ["--notify-secret", SECRET] if how == "option" else []
    env = {"ZENOVAY_NOTIFY_SECRET": SECRET} if how == "env" else None
    result = cli("alert", site["domain"], "--crit", f"visitors<{site['visitors'] + 1}",
                 "--notify", receiver.url, *args, env=env)
    assert result.returncode == 2, result.stderr
    [post] = receiver.posts
    headers = {k.lower(): v for k, v in post["headers"].items()}
    signed = headers["x-zenovay-timestamp"].encode() + b"." + post["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-zenovay-signature"], expected)
    wrong = "sha256=" + hmac.new(b"another secret", signed, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["x-zenovay-signature"], wrong)
    assert_secrets_hidden(result)


def test_empty_notify_secret_is_refused_rather_than_sending_unsigned(cli, site, receiver):
    result = cli("alert", site["domain"], "--crit", "visitors<1", "--notify", receiver.url,
                 env={"ZENOVAY_NOTIFY_SECRET": ""})
    assert result.returncode == 3 and result.stdout.startswith("ZENOVAY UNKNOWN - ")
    assert receiver.posts == []


@pytest.mark.parametrize("failure", ["http-500", "down"])
def test_failed_delivery_is_reported_keeps_the_result_and_is_retried_next_run(cli, site, receiver, failure):
    v = site["visitors"]
    rule = f"visitors<{v + 1}"
    url = receiver.url if failure == "http-500" else f"http://127.0.0.1:{closed_port()}{HOOK_PATH}"
    receiver.status = 500
    failed = cli("alert", site["domain"], "--crit", rule, "--notify", url)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert failed.stdout.startswith("ZENOVAY CRITICAL - ")
    shown = url.split("/hooks/")[0] + "/…"
    assert f"could not notify {shown}" in failed.stderr
    assert "next run sends them again" in failed.stderr
    assert_secrets_hidden(failed)
    if failure == "http-500":
        assert len(receiver.posts) == 3, "retried briefly"
    else:
        assert receiver.posts == []

    receiver.status = 200
    again = cli("alert", site["domain"], "--crit", rule, "--notify", receiver.url)
    assert again.returncode == 2 and again.stderr == "", again.stderr
    assert receiver.documents()[-1]["event"] == "firing"
    count = len(receiver.posts)
    assert cli("alert", site["domain"], "--crit", rule, "--notify", receiver.url).returncode == 2
    assert len(receiver.posts) == count, "delivered now, so not repeated"


def test_dry_run_sends_nothing_and_saves_nothing(cli, site, receiver, tmp_path):
    state = tmp_path / "state" / "alert.json"
    args = ("alert", site["domain"], "--crit", f"visitors<{site['visitors'] + 1}",
            "--notify", receiver.url, "--state", str(state))
    dry = cli(*args, "--dry-run")
    assert dry.returncode == 2, dry.stderr
    assert receiver.posts == [] and not state.exists()
    assert "would send" in dry.stderr and '"event": "firing"' in dry.stderr
    assert_secrets_hidden(dry)

    real = cli(*args)
    assert real.returncode == 2 and len(receiver.posts) == 1, real.stderr
    assert state.exists() and oct(state.stat().st_mode & 0o777) == "0o600"


def test_state_file_remembers_across_runs_by_default(cli, site, receiver, isolated_dirs):
    args = ("alert", site["domain"], "--crit", f"visitors<{site['visitors'] + 1}", "--notify", receiver.url)
    assert cli(*args).returncode == 2
    assert (isolated_dirs / "state" / "zenovay" / "alert-state.json").exists()
    assert cli(*args).returncode == 2
    assert len(receiver.posts) == 1


# --- --watch ----------------------------------------------------------------------------------


def test_watch_repeats_the_check_until_interrupted(sb, site):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
    env.update({"ZENOVAY_BASE_URL": sb.base_url, "ZENOVAY_API_KEY": sb.api_key})
    sb.reset()
    proc = subprocess.Popen(
        [zenovay_executable(), "alert", site["domain"], "--crit", f"visitors<{site['visitors'] + 1}",
         "--watch", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint,
    )
    try:
        rounds = []
        while len(rounds) < 2:
            line = proc.stdout.readline()
            assert line, "watch stopped early: " + proc.stderr.read()
            if line.startswith("ZENOVAY "):
                rounds.append(line)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert all(line.startswith("ZENOVAY CRITICAL - ") for line in rounds)
    # Each round asks the API again (a cached answer would repeat the first round's numbers).
    assert sb.stats()["by_path"][f"/analytics/{site['id']}"] >= 2
