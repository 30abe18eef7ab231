"""Alert runs that share one state: two cron jobs on one state file (#12 item 1), and two hosts
through one Redis (#15). Each transition is notified exactly once, and no run loses another's
update, with a webhook receiver slow enough that the runs overlap."""

import json
import subprocess
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import host_env, zenovay_executable
from tests.e2e.test_alert_e2e import Receiver


@pytest.fixture
def slow_receiver():
    server = Receiver()
    server.delay = 1.0
    yield server
    server.close()


def visitors_24h(env, website_id):
    out = subprocess.run([zenovay_executable(), "analytics", website_id, "--range", "24h", "--json",
                          "--no-cache"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["summary"]["total_visitors"]


def together(*runs):
    """Start every (env, args) at once; wait for all; return the CompletedProcess-like results."""
    procs = [subprocess.Popen([zenovay_executable(), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for env, args in runs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


def test_two_jobs_on_one_state_file_lose_no_update(tmp_path, sb, slow_receiver):
    env = host_env(tmp_path, "host", sb)
    sites = json.loads(subprocess.run([zenovay_executable(), "websites", "--json"], capture_output=True,
                                      text=True, env=env, check=True).stdout)["websites"][:2]
    state = tmp_path / "shared-state.json"
    runs = []
    for site in sites:
        rule = f"visitors<{visitors_24h(env, site['id']) + 1}"  # fires
        runs.append((env, ["alert", site["domain"], "--crit", rule, "--notify", slow_receiver.url,
                           "--state", str(state), "--range", "24h"]))
    first = together(*runs)
    assert [code for code, _, _ in first] == [2, 2], first
    assert sorted(d["website"] for d in slow_receiver.documents()) == sorted(s["domain"] for s in sites)
    saved = json.loads(state.read_text())["alerts"]
    assert sorted(a["website"] for a in saved.values()) == sorted(s["domain"] for s in sites)
    # Both still firing: a second overlapping round sends nothing (a lost update would re-fire).
    second = together(*runs)
    assert [code for code, _, _ in second] == [2, 2], second
    assert len(slow_receiver.posts) == 2


def test_two_hosts_on_one_redis_send_one_notification_per_transition(tmp_path, sb, slow_receiver,
                                                                    redis_server):
    host_a = host_env(tmp_path, "a", sb, ZENOVAY_REDIS_URL=redis_server.url)
    host_b = host_env(tmp_path, "b", sb, ZENOVAY_REDIS_URL=redis_server.url)
    site = json.loads(subprocess.run([zenovay_executable(), "websites", "--json"], capture_output=True,
                                     text=True, env=host_a, check=True).stdout)["websites"][0]
    day = date(2026, 3, 2)
    sb.configure(today=day.isoformat())
    try:
        low = visitors_24h(host_a, site["id"])
        for later in range(1, 30):
            sb.configure(today=(day + timedelta(days=later)).isoformat())
            if visitors_24h(host_a, site["id"]) > low + 1:
                break
        else:
            pytest.fail("the sandbox's numbers never rose")
        sb.configure(today=day.isoformat())
        args = ["alert", site["domain"], "--crit", f"visitors<{low + 1}", "--notify", slow_receiver.url]
        fired = together((host_a, args), (host_b, args))
        assert [code for code, _, _ in fired] == [2, 2], fired
        assert [d["event"] for d in slow_receiver.documents()] == ["firing"]
        # each host's own state file was not used: the state is in Redis
        for host in ("a", "b"):
            assert not list((tmp_path / host / "state").rglob("alert-state.json"))
        sb.configure(today=(day + timedelta(days=later)).isoformat())
        resolved = together((host_a, args), (host_b, args))
        assert [code for code, _, _ in resolved] == [0, 0], resolved
        assert [d["event"] for d in slow_receiver.documents()] == ["firing", "resolved"]
        for _, _out, err in fired + resolved:
            assert "Warning" not in err, err
    finally:
        sb.configure(today=None)
