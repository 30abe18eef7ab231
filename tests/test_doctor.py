"""doctor's checks as pure functions: each one passes on good input and fails on bad input."""

import os
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from zenovay_cli import doctor
from zenovay_cli.errors import AuthError, NetworkError, PaidPlanRequiredError

NOW = datetime(2026, 6, 16, 0, tzinfo=timezone.utc)  # half of June gone


def usage(tier="pro", used=100, limit=10000, reset="2026-07-01T00:00:00.000Z", rate=30):
    return {"api_key": {"name": "k", "permission": "full_access"},
            "usage": {"monthly_requests": used, "monthly_limit": limit,
                      "monthly_reset_at": reset},
            "rate_limits": {"requests_per_minute": rate}, "subscription": {"tier": tier}}


def test_key_ok_names_the_plan_and_paid():
    check = doctor.check_key(usage("scale"), None)
    assert check.status == "ok" and "plan scale" in check.detail and "paid" in check.detail


@pytest.mark.parametrize("error,word", [
    (AuthError("authentication failed: revoked", status=401), "rejected"),
    (PaidPlanRequiredError("paid plan required", status=403), "Free plan"),
    (NetworkError("cannot connect"), "could not be checked"),
])
def test_key_fails_with_a_fix(error, word):
    check = doctor.check_key(None, error)
    assert check.status == "fail" and word in check.detail and check.fix


def test_a_free_tier_in_usage_fails():
    assert doctor.check_key(usage("free"), None).status == "fail"


def test_quota_forecast_extrapolates_this_months_pace():
    # 15 of 30 June days gone: 4000 used -> 8000 by July 1 (under 10000).
    check = doctor.check_quota(usage(used=4000), {}, NOW)
    assert check.status == "ok" and "6000 left" in check.detail and "forecast 8000" in check.detail
    assert doctor.forecast(4000, 10000, datetime(2026, 7, 1, tzinfo=timezone.utc), NOW) == 8000


def test_quota_fails_when_the_forecast_is_over_the_limit():
    check = doctor.check_quota(usage(used=6000), {}, NOW)
    assert check.status == "fail" and "forecast 12000" in check.detail and check.fix


def test_quota_fails_when_used_up():
    assert doctor.check_quota(usage(used=10000), {}, NOW).status == "fail"


def test_quota_falls_back_to_the_usage_headers_and_fails_without_figures():
    headers = {"x-usage-monthly": "10", "X-Usage-Limit": "100",
               "X-Usage-Reset": "2026-07-01T00:00:00.000Z"}
    assert doctor.check_quota({}, headers, NOW).status == "ok"
    assert doctor.check_quota({}, {}, NOW).status == "fail"


def test_forecast_across_a_year_boundary():
    reset = datetime(2027, 1, 1, tzinfo=timezone.utc)
    now = datetime(2026, 12, 16, 12, tzinfo=timezone.utc)  # half of December gone
    assert doctor.forecast(100, 1000, reset, now) == pytest.approx(200)


def test_rate_limit():
    assert doctor.check_rate(usage(rate=60), {}).status == "ok"
    spent = doctor.check_rate(usage(), {"X-RateLimit-Remaining": "0"})
    assert spent.status == "fail" and "0 left" in spent.detail
    assert doctor.check_rate({}, {}).status == "fail"
    assert doctor.check_rate({}, {"X-RateLimit-Limit": "30"}).status == "ok"


def test_clock_skew_against_the_date_header():
    date = {"Date": format_datetime(NOW, usegmt=True)}
    assert doctor.check_clock(date, NOW, 0.1).status == "ok"
    fast = doctor.check_clock(date, NOW.replace(minute=2), 0.1)
    assert fast.status == "fail" and "120 s ahead" in fast.detail and "timedatectl" in fast.fix
    slow = doctor.check_clock(date, NOW.replace(year=2026, day=15, hour=23, minute=59), 0.1)
    assert slow.status == "fail" and "behind" in slow.detail
    assert doctor.check_clock({}, NOW, 0.1).status == "info"


def test_latency():
    assert doctor.check_latency(0.1).status == "ok"
    assert doctor.check_latency(2.5).status == "fail"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_config_file_must_be_private(tmp_path):
    path = tmp_path / "config.toml"
    assert doctor.check_config_file(path).status == "ok"  # none: settings from env
    path.write_text("")
    path.chmod(0o600)
    assert doctor.check_config_file(path).status == "ok"
    path.chmod(0o644)
    check = doctor.check_config_file(path)
    assert check.status == "fail" and check.fix == f"chmod 600 {path}"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_folders_must_be_private(tmp_path):
    folder = tmp_path / "cache"
    assert doctor.check_folder("cache", folder).status == "ok"
    folder.mkdir(mode=0o700)
    assert doctor.check_folder("cache", folder).status == "ok"
    folder.chmod(0o755)
    assert doctor.check_folder("cache", folder).status == "fail"
    (tmp_path / "file").write_text("")
    assert doctor.check_folder("cache", tmp_path / "file").status == "fail"


def test_completion_installed_stale_or_missing(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    current = lambda shell: f"script for {shell} v2"  # noqa: E731
    missing = doctor.check_completion("bash", tmp_path, env, current)
    assert missing.status == "info" and "not installed" in missing.detail
    target = tmp_path / "data" / "bash-completion" / "completions" / "zenovay"
    target.parent.mkdir(parents=True)
    target.write_text("script for bash v1")
    stale = doctor.check_completion("bash", tmp_path, env, current)
    assert stale.status == "fail" and stale.fix == f"zenovay completion bash > {target}"
    target.write_text("script for bash v2\n")
    assert doctor.check_completion("bash", tmp_path, env, current).status == "ok"
    (tmp_path / ".zshrc").write_text('eval "$(zenovay completion zsh)"\n')
    assert doctor.check_completion("zsh", tmp_path, {}, current).status == "ok"
    assert doctor.check_completion("tcsh", tmp_path, {}, current).status == "info"


def test_a_zenovay_earlier_on_path_shadows_this_one(tmp_path):
    ours = tmp_path / "venv" / "bin" / "zenovay"
    npm = tmp_path / "npm" / "bin" / "zenovay"
    for exe in (ours, npm):
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    path_env = os.pathsep.join([str(npm.parent), str(ours.parent)])
    found = doctor.zenovay_on_path(path_env, Path.exists)
    assert found == [npm, ours]
    shadowed = doctor.check_shadowing(found, ours, lambda a, b: a == b)
    assert shadowed.status == "fail" and str(npm) in shadowed.detail and "npm" in shadowed.detail
    fine = doctor.check_shadowing(list(reversed(found)), ours, lambda a, b: a == b)
    assert fine.status == "ok" and "another one later" in fine.detail
    assert doctor.check_shadowing([], ours, lambda a, b: a == b).status == "info"


def test_redis_not_configured_ok_or_failing():
    assert doctor.check_redis(None) == doctor.Check("redis", "info", "not configured")
    assert doctor.check_redis("redis://h:6379/0").status == "ok"
    down = doctor.check_redis("redis://:***@h:6379/0", "connection refused")
    assert down.status == "fail" and "connection refused" in down.detail and down.fix


def test_exit_code():
    ok, info, fail = (doctor.Check("a", s, "") for s in ("ok", "info", "fail"))
    assert doctor.exit_code([ok, info]) == 0 and doctor.exit_code([ok, fail]) == 1
