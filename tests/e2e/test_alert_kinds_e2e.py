"""Anomaly and silence rules end to end: the installed `zenovay alert` against the sandbox,
notifying a local webhook receiver: fire once, no repeat, resolve once."""

import json
import os
import subprocess
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import Sandbox, zenovay_executable
from tests.e2e.test_alert_e2e import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def sandbox_day(sb):
    yield lambda day: sb.configure(today=day.isoformat())
    sb.configure(today=None)


def direct(sb, path):
    request = urllib.request.Request(sb.base_url + path, headers={"X-API-Key": sb.api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def open_anomalies(sb, site_id, severities):
    items, offset = [], 0
    while True:
        page = direct(sb, f"/anomalies/{site_id}?range=90d&limit=200&offset={offset}")
        items += page["anomalies"]
        if not page["pagination"]["has_more"]:
            break
        offset += 200
    return [a for a in items if not a["is_resolved"] and a["severity"] in severities]


def test_anomaly_rule_fires_once_per_open_anomaly_and_resolves_once(cli, sb, receiver):
    site = direct(sb, "/websites")["websites"][0]
    expected = open_anomalies(sb, site["id"], ("warning", "critical"))
    assert expected, "the sandbox's first website has open anomalies"
    worst = 2 if any(a["severity"] == "critical" for a in expected) else 1

    def check():
        return cli("alert", site["domain"], "--anomaly", "warning", "--notify", receiver.url)

    first = check()
    assert first.returncode == worst, first.stdout + first.stderr
    assert f"'{site['domain']} open_anomalies'={len(expected)};;;0" in first.stdout
    fired = receiver.documents()
    assert [d["event"] for d in fired] == ["firing"] * len(expected)
    assert sorted(d["severity"] for d in fired) == sorted(a["severity"] for a in expected)
    assert all("anomaly in" in d["text"] for d in fired)

    assert check().returncode == worst
    assert len(receiver.posts) == len(expected), "no repeat while the anomalies stay open"

    target = expected[0]
    sb.control("anomalies", {"resolve": [target["id"]]})
    check()
    resolved = receiver.documents()[len(expected):]
    assert [d["event"] for d in resolved] == ["resolved"]
    assert resolved[0]["metric"] == target["metric_name"]
    assert resolved[0]["fingerprint"] in {d["fingerprint"] for d in fired}
    assert "by Zenovay" in resolved[0]["text"]

    check()
    assert len(receiver.posts) == len(expected) + 1, "a resolution is sent once"


def test_an_anomaly_metric_filter_and_severity_floor(cli, sb):
    site = direct(sb, "/websites")["websites"][0]
    criticals = open_anomalies(sb, site["id"], ("critical",))
    result = cli("alert", site["domain"], "--anomaly", "critical", "--json")
    doc = json.loads(result.stdout)
    open_checks = [c for c in doc["websites"][0]["checks"] if c["firing"]]
    assert sorted(c["anomaly_id"] for c in open_checks) == sorted(a["id"] for a in criticals)
    assert result.returncode == (2 if criticals else 0)
    none = cli("alert", site["domain"], "--anomaly", "warning", "--metric", "no_such_metric")
    assert none.returncode == 0 and "no open anomalies" in none.stdout


def test_an_anomaly_rule_on_a_free_key_is_unknown(cli, sb):
    site = direct(sb, "/websites")["websites"][0]
    result = cli("alert", site["id"], "--anomaly", "warning",
                 env={"ZENOVAY_API_KEY": "zv_free_alert"})
    assert result.returncode == 3 and result.stdout.startswith("ZENOVAY UNKNOWN")


def test_silence_rule_fires_once_and_resolves_once(cli, sb, receiver, sandbox_day):
    site = direct(sb, "/websites")["websites"][1]
    today = datetime.now(timezone.utc).date()

    def check():
        return cli("alert", site["domain"], "--silent-for", "2h", "--notify", receiver.url)

    sandbox_day(today - timedelta(days=3))  # the newest visitor is about three days old
    newest = direct(sb, f"/analytics/{site['id']}/visitors?range=24h&limit=1")["visitors"][0]
    age = datetime.now(timezone.utc) - datetime.fromisoformat(newest["visited_at"].replace("Z", "+00:00"))
    assert age > timedelta(hours=2)
    first = check()
    assert first.returncode == 2, first.stdout + first.stderr
    assert f"'{site['domain']} silence'=" in first.stdout
    [fired] = receiver.documents()
    assert fired["event"] == "firing" and "has had no visitor for" in fired["text"]
    assert fired["value"] == pytest.approx(age.total_seconds(), abs=120)

    assert check().returncode == 2
    assert len(receiver.posts) == 1, "no repeat while it stays silent"

    sb.configure(today=None)  # back on the wall clock: the newest visitor is moments old
    newest = direct(sb, f"/analytics/{site['id']}/visitors?range=24h&limit=1")["visitors"][0]
    age = datetime.now(timezone.utc) - datetime.fromisoformat(newest["visited_at"].replace("Z", "+00:00"))
    assert timedelta(0) <= age < timedelta(hours=2)
    assert check().returncode == 0
    [_, resolved] = receiver.documents()
    assert resolved["event"] == "resolved" and resolved["fingerprint"] == fired["fingerprint"]
    assert "has visitors again" in resolved["text"]
    check()
    assert len(receiver.posts) == 2


def test_silence_rule_from_a_rules_file_with_a_warning_severity(cli, sb, tmp_path, sandbox_day):
    site = direct(sb, "/websites")["websites"][0]
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rule]]\nwebsite = "{site["domain"]}"\nsilent_for = "1d"\n'
                     'severity = "warning"\n')
    sandbox_day(datetime.now(timezone.utc).date() - timedelta(days=5))
    result = cli("alert", "--rules", str(rules))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "silence" in result.stdout


@pytest.fixture
def one_quiet_website(sb):
    sb.configure(quiet_websites=1, today=None)
    yield
    sb.configure(quiet_websites=0)


def test_silence_rule_fires_on_a_quiet_website_and_not_on_a_busy_one(cli, sb, one_quiet_website):
    """The audit's case: on the sandbox's own clock (the wall clock), a quiet website (no
    visitor at all) is silent and a busy one is not, whatever the time of day. What each should
    be is computed from the sandbox's answers, as the alert reads them (/visitors, 24h for 2h)."""
    sites = direct(sb, "/websites")["websites"]
    quiet, busy = sites[-1], sites[0]
    statuses = {}
    for site in (quiet, busy):
        total = direct(sb, f"/analytics/{site['id']}?range=24h")["summary"]["total_visitors"]
        visitors = direct(sb, f"/analytics/{site['id']}/visitors?range=24h&limit=1")["visitors"]
        assert bool(visitors) == bool(total), "/visitors agrees with the analytics total"
        result = cli("alert", site["domain"], "--silent-for", "2h", "--json")
        now = datetime.now(timezone.utc)
        if visitors:
            newest = datetime.fromisoformat(visitors[0]["visited_at"].replace("Z", "+00:00"))
            assert newest <= now, "no visit in the future"
            silence = (now - newest).total_seconds()
        else:
            silence = 86400.0  # no visitor in the whole range asked for
        expected = 2 if silence >= 7200 else 0  # CRITICAL / OK (monitoring-plugin exit codes)
        assert result.returncode == expected, result.stdout + result.stderr
        [check] = json.loads(result.stdout)["websites"][0]["checks"]
        assert check["metric"] == "silence" and check["firing"] == (expected == 2)
        assert check["value"] == pytest.approx(silence, abs=60)
        statuses[site["domain"]] = result.returncode
    assert statuses == {quiet["domain"]: 2, busy["domain"]: 0}


def test_sandbox_serve_quiet_websites_flag_makes_alert_all_fire_only_for_them(isolated_dirs):
    """`zenovay sandbox serve --quiet-websites 1`, then `zenovay alert --all --silent-for 2h`:
    CRITICAL for exactly the websites whose /visitors is empty, the rest OK."""
    server = Sandbox("--websites", "3", "--quiet-websites", "1")
    try:
        sites = direct(server, "/websites")["websites"]
        empty = {s["domain"] for s in sites
                 if not direct(server, f"/analytics/{s['id']}/visitors?range=24h&limit=1")["visitors"]}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        env.update({"ZENOVAY_BASE_URL": server.base_url, "ZENOVAY_API_KEY": server.api_key})
        result = subprocess.run([zenovay_executable(), "alert", "--all", "--silent-for", "2h", "--json"],
                                capture_output=True, text=True, env=env, timeout=60)
    finally:
        server.stop()
    assert empty == {sites[-1]["domain"]}, "the last website is the quiet one"
    assert result.returncode == 2, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert {w["website"]: w["status"] for w in doc["websites"]} == {
        s["domain"]: "CRITICAL" if s["domain"] in empty else "OK" for s in sites}
