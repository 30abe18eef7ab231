"""Several "hosts" (separate HOME and XDG folders) sharing one API key through one real Redis:
the cache, Redis faults and secrets, end to end with the installed `zenovay` against the sandbox."""

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import host_env, zenovay_executable

SECOND_KEY = "zv_e2e_fleet_second_key_0123456789"


def run(env, *args, timeout=60):
    return subprocess.run([zenovay_executable(), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def requests_to(sb, path_part):
    return sum(n for path, n in sb.stats()["by_path"].items() if path_part in path)


def first_website_id(env):
    out = run(env, "websites", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["websites"][0]["id"]


def test_host_b_is_answered_from_host_as_cache_without_a_request(tmp_path, sb, redis_server):
    host_a = host_env(tmp_path, "a", sb, redis_server.url)
    host_b = host_env(tmp_path, "b", sb, redis_server.url)
    wid = first_website_id(host_a)
    before = sb.stats()["requests"]
    first = run(host_a, "analytics", wid, "--range", "30d", "--json")
    assert first.returncode == 0, first.stderr
    assert sb.stats()["requests"] == before + 1
    second = run(host_b, "analytics", wid, "--range", "30d", "--json")
    assert second.returncode == 0, second.stderr
    assert sb.stats()["requests"] == before + 1  # no request: Redis answered
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert second.stderr == ""
    # Nothing was written to either host's cache folder: the cache is Redis.
    for host in ("a", "b"):
        assert list((tmp_path / host / "cache").rglob("*.json")) == []
    # --refresh on host B sends one request and stores it for A too.
    refreshed = run(host_b, "analytics", wid, "--range", "30d", "--json", "--refresh")
    assert refreshed.returncode == 0 and sb.stats()["requests"] == before + 2
    # cache info on either host sees the shared entries, and no key in Redis holds the API key.
    info = run(host_a, "cache", "info", "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["entries"] == 2 and data["path"] == redis_server.url  # /websites and /analytics
    r = redis_server.client()
    for key in r.keys("*"):  # cache strings and the budget's hash
        value = r.get(key) if r.type(key) == b"string" else repr(r.hgetall(key)).encode()
        assert sb.api_key.encode() not in key and sb.api_key.encode() not in (value or b"")


@pytest.fixture
def tls_redis(tmp_path):
    """A TLS-only redis-server (tests/tls's self-signed certificate): rediss:// end to end."""
    from tests.redis_server import RedisServer

    directory = tmp_path / "redis-tls"
    directory.mkdir()
    server = RedisServer(directory, password="tls-s3cret-pw", tls=True).start()
    yield server
    server.stop()


def test_rediss_shares_the_cache_and_budget_over_tls(tmp_path, sb, tls_redis):
    assert tls_redis.url.startswith("rediss://")
    host_a = host_env(tmp_path, "a", sb, tls_redis.url)
    host_b = host_env(tmp_path, "b", sb, tls_redis.url)
    wid = first_website_id(host_a)
    before = sb.stats()["requests"]
    first = run(host_a, "pages", wid, "--json")
    second = run(host_b, "pages", wid, "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stderr == second.stderr == ""  # no fallback warning: TLS worked
    assert sb.stats()["requests"] == before + 1  # host B was answered from Redis, over TLS
    client = tls_redis.client()
    assert client.keys("zenovay:cache:*") and client.keys("zenovay:budget:*")
    doctor = run(host_a, "doctor")
    assert "tls-s3cret-pw" not in doctor.stdout + doctor.stderr
    assert "rediss://:***@127.0.0.1" in doctor.stdout + doctor.stderr


def test_rediss_with_a_certificate_it_cannot_verify_falls_back_with_one_warning(tmp_path, sb, tls_redis):
    # The server's self-signed certificate without ?ssl_ca_certs=: verification fails, and the
    # host carries on alone (a plain redis:// to the TLS port likewise).
    untrusted = tls_redis.url.split("?")[0]
    plain = untrusted.replace("rediss://", "redis://")
    for name, url in (("untrusted", untrusted), ("plain", plain)):
        env = host_env(tmp_path, name, sb, url)
        out = run(env, "websites", "--json")
        assert out.returncode == 0, out.stderr
        warnings = [line for line in out.stderr.splitlines() if line.startswith("Warning:")]
        assert len(warnings) == 1 and "is not usable" in warnings[0], out.stderr
        assert "tls-s3cret-pw" not in out.stderr
        assert json.loads(out.stdout)["websites"]
    assert tls_redis.client().keys("zenovay:*") == []


def test_two_api_keys_never_share_entries(tmp_path, sb, redis_server):
    host_a = host_env(tmp_path, "a", sb, redis_server.url)
    host_b = host_env(tmp_path, "b", sb, redis_server.url, ZENOVAY_API_KEY=SECOND_KEY)
    wid = first_website_id(host_a)
    assert run(host_a, "analytics", wid, "--json").returncode == 0
    before = sb.stats()["by_key_fingerprint"]
    out = run(host_b, "analytics", wid, "--json")
    assert out.returncode == 0, out.stderr
    after = sb.stats()["by_key_fingerprint"]
    new = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert list(new.values()) == [1]  # the second key paid for its own /analytics answer


def test_cache_clear_empties_redis_for_every_host(tmp_path, sb, redis_server):
    host_a = host_env(tmp_path, "a", sb, redis_server.url)
    host_b = host_env(tmp_path, "b", sb, redis_server.url)
    wid = first_website_id(host_a)
    run(host_a, "pages", wid, "--json")
    cleared = run(host_b, "cache", "clear")
    assert cleared.returncode == 0 and "Removed 2 cache entries" in cleared.stderr + cleared.stdout
    assert redis_server.client().keys("zenovay:cache:*") == []


def test_redis_down_is_one_warning_and_the_hosts_own_cache(tmp_path, sb):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = host_env(tmp_path, "a", sb, f"redis://:hunter2-pw@127.0.0.1:{port}/0")
    wid = first_website_id(env)
    out = run(env, "analytics", wid, "--json")
    assert out.returncode == 0
    warnings = [line for line in out.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "Redis at redis://:***@127.0.0.1" in warnings[0], out.stderr
    assert "hunter2-pw" not in out.stderr + out.stdout
    assert json.loads(out.stdout)["summary"]
    # the answer went to the host's own cache: a second run costs no request (and warns once again)
    before = sb.stats()["requests"]
    again = run(env, "analytics", wid, "--json")
    assert again.returncode == 0 and sb.stats()["requests"] == before


def test_redis_killed_mid_run_completes_with_one_warning(tmp_path, sb, redis_server):
    """SIGKILL the server while `analytics --all` is fetching (the sandbox's latency keeps it busy)."""
    env = host_env(tmp_path, "a", sb, redis_server.url)
    sb.configure(latency=0.3)
    proc = subprocess.Popen([zenovay_executable(), "analytics", "--all", "--json", "-j", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # wait until the run has stored something in Redis, then kill Redis
        import time

        deadline = time.monotonic() + 20
        client = redis_server.client()
        while time.monotonic() < deadline and not client.keys("zenovay:cache:*"):
            time.sleep(0.02)
        assert client.keys("zenovay:cache:*"), "the run never reached Redis"
        redis_server.kill()
        out, err = proc.communicate(timeout=60)
    finally:
        sb.configure(latency=0)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert len(data["websites"]) == 4 and all("error" not in w for w in data["websites"])
    warnings = [line for line in err.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "Redis" in warnings[0], err


def test_secrets_in_the_redis_url_are_never_printed(tmp_path, sb, redis_server):
    from tests.redis_server import RedisServer

    directory = tmp_path / "r2"
    directory.mkdir()
    guarded = RedisServer(directory, password="pw-s3cr3t-value").start()
    try:
        env = host_env(tmp_path, "a", sb, guarded.url)
        outputs = [
            run(env, "auth", "status"),
            run(env, "auth", "status", "--json"),
            run(env, "websites", "--debug"),
        ]
        subprocess.run([zenovay_executable(), "config", "set", "redis_url", guarded.url],
                       env=env, check=True, capture_output=True)
        outputs += [run(env, "config", "show"), run(env, "config", "get", "redis_url")]
        for out in outputs:
            assert "pw-s3cr3t-value" not in out.stdout + out.stderr, out
        assert "redis://:***@127.0.0.1" in outputs[0].stdout + outputs[0].stderr
        assert "redis://:***@127.0.0.1" in outputs[-1].stdout
        # a wrong password: exit 4 with a hint, and the wrong password is not printed either
        wrong = host_env(tmp_path, "b", sb, f"redis://:not-the-pw-x@127.0.0.1:{guarded.port}/0")
        out = run(wrong, "websites")
        assert out.returncode == 4, out.stderr
        assert "refused the password" in out.stderr and "not-the-pw-x" not in out.stderr + out.stdout
        # redis-py also takes the password from the query string: masked there too
        in_query = f"redis://127.0.0.1:{guarded.port}/0?password=pw-s3cr3t-value"
        env = host_env(tmp_path, "c", sb, in_query)
        outputs = [run(env, "auth", "status"), run(env, "websites", "--debug"), run(env, "doctor")]
        subprocess.run([zenovay_executable(), "config", "set", "redis_url", in_query],
                       env=env, check=True, capture_output=True)
        outputs += [run(env, "config", "show"), run(env, "config", "get", "redis_url")]
        assert outputs[1].returncode == 0, outputs[1].stderr  # the password works
        for out in outputs:
            assert "pw-s3cr3t-value" not in out.stdout + out.stderr, out
        assert "?password=***" in outputs[-1].stdout
        wrong = host_env(tmp_path, "d", sb, f"redis://127.0.0.1:{guarded.port}/0?password=not-the-pw-x")
        out = run(wrong, "websites")
        assert out.returncode == 4 and "refused the password" in out.stderr, out.stderr
        assert "not-the-pw-x" not in out.stderr + out.stdout
    finally:
        guarded.stop()


def test_bad_redis_settings_are_usage_errors_before_any_request(tmp_path, sb):
    env = host_env(tmp_path, "a", sb, "http://localhost:6379")
    before = sb.stats()["requests"]
    out = run(env, "websites")
    assert out.returncode == 2 and "ZENOVAY_REDIS_URL" in out.stderr
    out = run(host_env(tmp_path, "a", sb), "websites", "--redis", "redis://")
    assert out.returncode == 2 and "--redis" in out.stderr
    assert sb.stats()["requests"] == before


def test_a_redis_url_without_the_package_names_the_extra(tmp_path, sb, redis_server):
    """Run the CLI in a Python where `import redis` fails (a sitecustomize hides it)."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['redis'] = None\n")
    env = host_env(tmp_path, "a", sb, redis_server.url, PYTHONPATH=str(hide))
    out = subprocess.run([sys.executable, "-m", "zenovay_cli", "websites"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "pip install 'zenovay-cli[redis]'" in out.stderr
    # without a Redis URL the same Python runs fine: nothing imports redis
    plain = subprocess.run([sys.executable, "-m", "zenovay_cli", "websites", "--json"],
                           capture_output=True, text=True, env=host_env(tmp_path, "b", sb, PYTHONPATH=str(hide)),
                           timeout=60)
    assert plain.returncode == 0, plain.stderr


def wait_for_key(redis_server, pattern, timeout=20):
    import time

    client = redis_server.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.keys(pattern):
            return True
        time.sleep(0.02)
    return False


def test_export_redis_lock_lets_one_host_run_at_a_time(tmp_path, sb, redis_server):
    host_a = host_env(tmp_path, "a", sb, redis_server.url)
    host_b = host_env(tmp_path, "b", sb, redis_server.url)
    out_a, out_b = tmp_path / "a-out", tmp_path / "b-out"  # each host's own disk: no shared flock
    sb.configure(latency=0.4)
    try:
        first = subprocess.Popen([zenovay_executable(), "export", "--out", str(out_a), "--redis-lock",
                                  "-j", "1", "--no-cache"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=host_a)
        assert wait_for_key(redis_server, "zenovay:lock:*"), "host A never took the Redis lock"
        # host B (here with a key of its own, so that its requests can be counted apart) exports
        # "the same folder name" from its own machine: refused like a local second run
        host_b2 = {**host_b, "ZENOVAY_API_KEY": SECOND_KEY}
        second = subprocess.run([zenovay_executable(), "export", "--out", str(out_a), "--redis-lock"],
                                capture_output=True, text=True, env=host_b2, timeout=60)
        assert second.returncode == 1, second.stderr
        assert "another zenovay export is writing to" in second.stderr and "another host" in second.stderr
        assert len(sb.stats()["by_key_fingerprint"]) <= 1  # only A's key has sent anything
        # with --wait-lock B waits for A, then runs
        third = subprocess.run([zenovay_executable(), "export", "--out", str(out_a), "--redis-lock",
                                "--wait-lock", "--no-cache"],
                               capture_output=True, text=True, env=host_b, timeout=120)
        _, err_a = first.communicate(timeout=120)
        assert first.returncode == 0, err_a
        assert third.returncode == 0, third.stderr
        assert "waiting for another host's run" in third.stderr
        assert redis_server.client().keys("zenovay:lock:*") == []  # released by its owners
        # a different --out name is a different lock
        other = subprocess.run([zenovay_executable(), "export", "--out", str(out_b), "--redis-lock"],
                               capture_output=True, text=True, env=host_b, timeout=120)
        assert other.returncode == 0, other.stderr
    finally:
        sb.configure(latency=0)


def test_export_redis_lock_needs_a_url_and_survives_redis_down(tmp_path, sb):
    import socket

    env = host_env(tmp_path, "a", sb)
    before = sb.stats()["requests"]
    out = run(env, "export", "--out", str(tmp_path / "o"), "--redis-lock")
    assert out.returncode == 2 and "--redis-lock needs a Redis URL" in out.stderr
    assert sb.stats()["requests"] == before
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = host_env(tmp_path, "b", sb, f"redis://127.0.0.1:{port}/0")
    out = run(down, "export", "--out", str(tmp_path / "o"), "--redis-lock", "--quiet")
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "Redis" in warnings[0]
    assert len(list((tmp_path / "o").glob("*.json"))) == 4
