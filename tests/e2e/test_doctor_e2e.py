"""`zenovay doctor` against the sandbox: at most 2 API requests, and each check made to fail."""

import json
import os
import stat

import pytest


def run(cli, *args, env=None):
    result = cli("doctor", "--json", *args, env=env)
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    return result.returncode, {c["check"]: c for c in doc["checks"]}


@pytest.fixture
def sandbox_config(sb):
    """Change the shared sandbox's configuration for one test, then put it back."""
    before = sb.configure()
    yield lambda **values: sb.configure(**values)
    sb.configure(**{k: before[k] for k in ("latency", "rate_limit", "monthly_quota",
                                           "clock_offset")})


def test_all_pass_with_one_request(cli, sb, isolated_dirs):
    code, checks = run(cli, env={"SHELL": "/bin/bash"})
    failed = {name: c for name, c in checks.items() if c["status"] == "fail"}
    assert code == 0, failed
    assert sb.stats()["by_path"] == {"/usage": 1}
    assert "plan pro" in checks["key"]["detail"]
    assert checks["redis"] == {"check": "redis", "status": "info", "detail": "not configured",
                               "fix": None}
    table = cli("doctor", env={"SHELL": "/bin/bash"}).stdout
    for name in ("key", "quota", "rate limit", "clock", "latency", "completion", "PATH"):
        assert name in table


def test_a_failing_api_costs_at_most_two_requests(cli, sb):
    sb.faults({"status": 503, "count": 10})
    code, checks = run(cli)
    assert code == 1 and checks["key"]["status"] == "fail"
    assert sb.stats()["requests"] == 2


@pytest.mark.parametrize("key,word", [("zv_free_doctor", "Free plan"),
                                      ("zv_revoked_doctor", "rejected")])
def test_key_check_fails(cli, key, word):
    code, checks = run(cli, env={"ZENOVAY_API_KEY": key})
    assert code == 1 and checks["key"]["status"] == "fail" and word in checks["key"]["detail"]
    assert checks["key"]["fix"]
    assert key not in json.dumps(checks)


def test_quota_check_fails_when_it_is_used_up(cli, sb, sandbox_config):
    sandbox_config(monthly_quota=1)
    code, checks = run(cli)  # the /usage request is the one allowed
    assert code == 1 and checks["quota"]["status"] == "fail"
    assert "1 of 1 requests used" in checks["quota"]["detail"]


def test_rate_check_fails_when_this_minute_is_spent(cli, sandbox_config):
    sandbox_config(rate_limit=1)
    code, checks = run(cli)
    assert code == 1 and checks["rate limit"]["status"] == "fail"
    assert "0 left this minute" in checks["rate limit"]["detail"]


def test_clock_check_fails_when_the_clocks_disagree(cli, sandbox_config):
    sandbox_config(clock_offset=-300)  # the API's clock is 5 minutes behind this machine's
    code, checks = run(cli)
    assert code == 1 and checks["clock"]["status"] == "fail"
    assert "ahead of the API" in checks["clock"]["detail"]


def test_latency_check_fails_on_a_slow_api(cli, sandbox_config):
    sandbox_config(latency=2.1)
    code, checks = run(cli)
    assert code == 1 and checks["latency"]["status"] == "fail"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_config_file_check_fails_when_others_can_read_it(cli, isolated_dirs):
    path = isolated_dirs / "config" / "zenovay" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[default]\nwebsite = "acme-store.io"\n')
    path.chmod(0o644)
    code, checks = run(cli)
    assert code == 1 and checks["config file"]["fix"] == f"chmod 600 {path}"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_cache_folder_check_fails_when_open_to_others(cli, isolated_dirs):
    folder = isolated_dirs / "cache" / "zenovay"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    code, checks = run(cli)
    assert code == 1 and checks["cache folder"]["status"] == "fail"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # doctor reports, it does not change


def test_completion_check_fails_on_a_stale_script(cli, isolated_dirs):
    target = isolated_dirs / "data" / "bash-completion" / "completions" / "zenovay"
    target.parent.mkdir(parents=True)
    target.write_text("# zenovay completion from an older version\n")
    code, checks = run(cli, env={"SHELL": "/bin/bash"})
    assert code == 1 and checks["completion"]["status"] == "fail"
    fresh = cli("completion", "bash").stdout
    target.write_text(fresh)
    code, checks = run(cli, env={"SHELL": "/bin/bash"})
    assert checks["completion"]["status"] == "ok"


def test_path_check_fails_when_another_zenovay_comes_first(cli, tmp_path):
    npm = tmp_path / "npm-global" / "bin"
    npm.mkdir(parents=True)
    fake = npm / "zenovay"
    fake.write_text("#!/bin/sh\necho 'zenovay (npm)'\n")
    fake.chmod(0o755)
    code, checks = run(cli, env={"PATH": f"{npm}{os.pathsep}{os.environ['PATH']}"})
    assert code == 1 and checks["PATH"]["status"] == "fail"
    assert str(fake) in checks["PATH"]["detail"] and "python -m zenovay_cli" in checks["PATH"]["fix"]


def test_redis_check_pings_the_configured_redis(cli, redis_server):
    code, checks = run(cli, env={"ZENOVAY_REDIS_URL": redis_server.url})
    assert checks["redis"]["status"] == "ok", checks["redis"]


def test_redis_check_fails_when_redis_is_down_without_printing_the_password(cli, tmp_path):
    from tests.redis_server import free_port

    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    result = cli("doctor", "--json", env={"ZENOVAY_REDIS_URL": url})
    assert result.returncode == 1
    redis = {c["check"]: c for c in json.loads(result.stdout)["checks"]}["redis"]
    assert redis["status"] == "fail" and redis["fix"]
    assert "s3cret-pw" not in result.stdout + result.stderr
