"""Settings precedence and request options through the CLI, in-process with `responses`.

Option > environment > profile in config.toml > default, checked on the request that is actually
sent; `auth status` names each source; the key never shows up in any output.
"""

import io
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses

from tests.harness import BASE, envelope, invoker

WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
KEY_OPTION = "zv_unit_from_OPTION_9d1f3e77"
KEY_ENV = "zv_unit_from_ENV_5b8c0a21"
KEY_PROFILE = "zv_unit_from_PROFILE_c4e6f802"
KEY_WORK = "zv_unit_from_WORK_PROFILE_71aa03bd"
SECRETS = (KEY_OPTION, KEY_ENV, KEY_PROFILE, KEY_WORK)
SITES = {"websites": [{"id": WID, "domain": "mywebsite.com", "name": "My Website"}], "total": 1}
ANALYTICS = {"website": {"id": WID, "domain": "mywebsite.com"}, "time_range": "7d",
             "summary": {"total_visitors": 1247, "total_page_views": 3891, "unique_visitors": 982},
             "daily_stats": []}


@pytest.fixture
def api(sleeps):
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def env(monkeypatch):
    """The environment a user would export; starts with only the base URL."""
    monkeypatch.setenv("ZENOVAY_BASE_URL", BASE)

    def set_(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return set_


@pytest.fixture
def zenovay(capsys, sleeps):
    return invoker(capsys, SECRETS, sleeps)


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "zenovay" / "config.toml"


def write_config(text: str) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


PROFILES = f"""
[profiles.default]
api_key = "{KEY_PROFILE}"
website = "mywebsite.com"

[profiles.work]
api_key = "{KEY_WORK}"
timeout = 12.5
"""


def usage_ok(rsps, base=BASE):
    rsps.get(base + "/usage", json=envelope({"usage": {"monthly_requests": 1}}))


def sent_key(rsps, index=-1) -> str:
    return rsps.calls[index].request.headers["X-API-Key"]


# --- the API key: option > ZENOVAY_API_KEY > profile -------------------------------------------


@pytest.mark.parametrize("before_command", [False, True], ids=["after-command", "before-command"])
def test_api_key_option_beats_environment_and_profile(api, env, zenovay, before_command):
    write_config(PROFILES)
    env(ZENOVAY_API_KEY=KEY_ENV)
    usage_ok(api)
    argv = ["--api-key", KEY_OPTION, "usage"] if before_command else ["usage", "--api-key", KEY_OPTION]
    result = zenovay(*argv)
    assert result.code == 0, result
    assert sent_key(api) == KEY_OPTION


def test_environment_key_beats_the_profile(api, env, zenovay):
    write_config(PROFILES)
    env(ZENOVAY_API_KEY=KEY_ENV)
    usage_ok(api)
    assert zenovay("usage").code == 0
    assert sent_key(api) == KEY_ENV


def test_profile_key_is_used_when_nothing_else_is_set(api, env, zenovay):
    write_config(PROFILES)
    usage_ok(api)
    assert zenovay("usage").code == 0
    assert sent_key(api) == KEY_PROFILE


@pytest.mark.parametrize("how", ["option-after", "option-before", "short-option", "environment"])
def test_another_profile_is_chosen_by_option_or_environment(api, env, zenovay, how):
    write_config(PROFILES)
    usage_ok(api)
    argv = {"option-after": ["usage", "--profile", "work"], "option-before": ["--profile", "work", "usage"],
            "short-option": ["usage", "-p", "work"], "environment": ["usage"]}[how]
    if how == "environment":
        env(ZENOVAY_PROFILE="work")
    assert zenovay(*argv).code == 0
    assert sent_key(api) == KEY_WORK


def test_profile_option_beats_zenovay_profile(api, env, zenovay):
    write_config(PROFILES)
    env(ZENOVAY_PROFILE="work")
    usage_ok(api)
    assert zenovay("usage", "--profile", "default").code == 0
    assert sent_key(api) == KEY_PROFILE


def test_a_profile_without_a_key_does_not_borrow_another_profiles_key(api, env, zenovay):
    write_config(PROFILES + '\n[profiles.empty]\nwebsite = "x.com"\n')
    result = zenovay("usage", "--profile", "empty")
    assert result.code == 4, result
    assert len(api.calls) == 0


def test_an_invalid_profile_name_is_a_usage_error(api, env, zenovay):
    env(ZENOVAY_API_KEY=KEY_ENV)
    result = zenovay("usage", "--profile", "../etc")
    assert result.code == 2, result


# --- the base URL: option > ZENOVAY_BASE_URL > profile > default ---------------------------------


@pytest.mark.parametrize("source,host", [
    ("option", "opt.example.test"), ("environment", "env.example.test"), ("profile", "prof.example.test"),
])
def test_base_url_precedence_decides_where_the_request_goes(api, env, zenovay, source, host):
    write_config(f'[profiles.default]\napi_key = "{KEY_PROFILE}"\nbase_url = "https://prof.example.test/v1"\n')
    env(ZENOVAY_BASE_URL=None if source == "profile" else "https://env.example.test/v1")
    usage_ok(api, f"https://{host}/v1")
    argv = ["usage", "--base-url", "https://opt.example.test/v1"] if source == "option" else ["usage"]
    assert zenovay(*argv).code == 0
    assert urlsplit(api.calls[0].request.url).hostname == host


def test_default_base_url_is_zenovays_api(api, env, zenovay):
    env(ZENOVAY_BASE_URL=None, ZENOVAY_API_KEY=KEY_ENV)
    result = zenovay("auth", "status", "--json")
    base = json.loads(result.out)["base_url"]
    assert base == {"value": "https://api.zenovay.com/api/external/v1", "source": "default"}
    assert len(api.calls) == 0


# --- the default website ----------------------------------------------------------------------


def test_profile_website_is_used_when_no_website_is_given(api, env, zenovay):
    write_config(PROFILES)
    api.get(BASE + "/websites", json=envelope(SITES))
    api.get(BASE + f"/analytics/{WID}", json=envelope(ANALYTICS))
    result = zenovay("analytics", "--json")
    assert result.code == 0, result
    assert json.loads(result.out) == ANALYTICS


def test_website_argument_beats_the_profile_website(api, env, zenovay):
    write_config(PROFILES)
    other = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
    api.get(BASE + f"/analytics/{other}/countries", json=envelope({"countries": []}))
    assert zenovay("countries", other).code == 0
    assert [c.request.url.split("?")[0] for c in api.calls] == [BASE + f"/analytics/{other}/countries"]


def test_zenovay_website_beats_the_profile_website(api, env, zenovay):
    write_config(PROFILES)
    env(ZENOVAY_WEBSITE=WID)
    api.get(BASE + f"/analytics/{WID}/pages", json=envelope({"pages": []}))
    assert zenovay("pages").code == 0
    assert len(api.calls) == 1  # an id: no /websites lookup


def test_config_set_website_then_commands_need_no_argument(api, env, zenovay):
    env(ZENOVAY_API_KEY=KEY_ENV)
    assert zenovay("config", "set", "website", WID).code == 0
    api.get(BASE + f"/analytics/{WID}/technology", json=envelope({"browsers": []}))
    assert zenovay("tech").code == 0


# --- auth status: where each setting came from, key masked ----------------------------------------


@pytest.mark.parametrize("source", ["option", "environment", "profile", "none"])
def test_auth_status_names_the_winning_source_of_the_key_and_masks_it(api, env, zenovay, source):
    if source != "none":
        write_config(PROFILES)
    if source in ("option", "environment"):
        env(ZENOVAY_API_KEY=KEY_ENV)
    argv = ["auth", "status", "--json"] + (["--api-key", KEY_OPTION] if source == "option" else [])
    result = zenovay(*argv)
    assert result.code == 0, result
    status = json.loads(result.out)
    expected_source, key = {
        "option": ("--api-key option", KEY_OPTION), "environment": ("ZENOVAY_API_KEY", KEY_ENV),
        "profile": ("config file (profile default)", KEY_PROFILE), "none": ("default", None),
    }[source]
    assert status["api_key"]["source"] == expected_source
    if key:
        assert status["api_key"]["value"].endswith(key[-4:]) and len(status["api_key"]["value"]) < len(key) // 2
    assert len(api.calls) == 0, "status never calls the API"


def test_auth_status_table_shows_every_source(api, env, zenovay):
    write_config(PROFILES)
    env(ZENOVAY_PROFILE="work", ZENOVAY_TIMEOUT="9")
    result = zenovay("auth", "status", "--base-url", "https://opt.example.test/v1")
    assert result.code == 0, result
    lines = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    assert "ZENOVAY_PROFILE" in lines["profile"] and "work" in lines["profile"]
    assert "config file (profile work)" in lines["api_key"]
    assert "--base-url option" in lines["base_url"]
    assert "ZENOVAY_TIMEOUT" in lines["timeout"]
    assert "default" in lines["retries"]


def test_auth_status_without_a_key_warns_on_stderr(api, env, zenovay):
    result = zenovay("auth", "status")
    assert result.code == 0, result
    assert "No API key" in result.err


# --- the key never appears in any output ----------------------------------------------------------


def echo_key(request):
    """A hostile or careless server that quotes the key it was sent."""
    key = request.headers["X-API-Key"]
    body = {"success": False, "error": {"code": "UNAUTHORIZED", "message": f"Invalid API key {key}"}}
    return 401, {"x-request-id": f"rid-for-{key}"}, json.dumps(body)


@pytest.mark.parametrize("argv", [
    ("usage",), ("websites",), ("analytics", WID), ("analytics", "mywebsite.com"), ("visitors", WID, "--all"),
    ("pages", WID), ("countries", WID, "--json"), ("tech", WID, "--format", "csv"), ("errors", WID),
], ids=lambda a: "-".join(a[:1] + a[2:]))
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_key_echoed_back_by_the_api_is_masked_in_errors(api, env, zenovay, argv, debug):
    env(ZENOVAY_API_KEY=KEY_ENV)
    for path in ("/usage", "/websites", f"/analytics/{WID}", f"/analytics/{WID}/visitors",
                 f"/analytics/{WID}/pages", f"/analytics/{WID}/countries", f"/analytics/{WID}/technology",
                 f"/errors/{WID}/groups"):
        api.add_callback(responses.GET, BASE + path, callback=echo_key)
    api.assert_all_requests_are_fired = False
    result = zenovay(*argv, *(["--debug"] if debug else []))  # the fixture greps for every key
    assert result.code == 4, result
    assert "Invalid API key zv_…" in result.err, result
    if debug:
        assert "Traceback" in result.err


def test_key_echoed_back_during_analytics_all_is_masked(api, env, zenovay):
    env(ZENOVAY_API_KEY=KEY_ENV)
    api.get(BASE + "/websites", json=envelope({"websites": [
        {"id": WID, "domain": "mywebsite.com"}, {"id": "b2c3d4e5-f6a7-8901-bcde-f12345678901", "domain": "acme.io"}]}))
    api.get(BASE + f"/analytics/{WID}", json=envelope(ANALYTICS))
    api.add_callback(responses.GET, BASE + "/analytics/b2c3d4e5-f6a7-8901-bcde-f12345678901", callback=echo_key)
    for fmt in ("table", "json"):
        result = zenovay("analytics", "--all", "--format", fmt, "--debug", "--no-cache")
        assert result.code == 3, result


@pytest.mark.parametrize("source", ["option", "environment", "profile"])
def test_no_command_prints_the_key_whatever_its_source(api, env, zenovay, monkeypatch, source):
    write_config(PROFILES)
    if source == "environment":
        env(ZENOVAY_API_KEY=KEY_ENV)
    extra = ["--api-key", KEY_OPTION] if source == "option" else []
    api.get(BASE + "/usage", json=envelope({"usage": {}}))
    # Each run ends as it should (a crash would print no key either); the 2s name their bad input.
    for argv, code, named in (
        (["usage", "--debug"], 0, None), (["auth", "status"], 0, None),
        (["auth", "status", "--json"], 0, None), (["config", "show"], 0, None),
        (["config", "get", "api_key"], 0, None), (["config", "path"], 0, None),
        (["usage", "--json", "--format", "csv"], 2, "--format"), (["pages", "--range", "2d"], 2, "'2d'"),
        (["visitors", WID, "--limit", "0", "--debug"], 2, "--limit"),
    ):
        result = zenovay(*argv, *extra)  # the fixture greps stdout and stderr for every key
        assert result.code == code, (argv, result)
        if named:
            assert len(result.error_lines) == 1 and named in result.error_lines[0], (argv, result)
    assert zenovay("config", "get", "api_key").out.strip().startswith("zv_…")


def test_auth_login_saves_the_key_without_printing_it(api, env, zenovay, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY_WORK + "\n"))
    api.get(BASE + "/usage", json=envelope({"subscription": {"tier": "pro"}}))
    result = zenovay("auth", "login", "--profile", "work")
    assert result.code == 0, result
    assert sent_key(api) == KEY_WORK, "the key was checked against /usage before saving"
    assert KEY_WORK in config_file().read_text()
    assert (config_file().stat().st_mode & 0o777) == 0o600
    api.get(BASE + "/usage", json=envelope({}))
    assert zenovay("usage", "-p", "work").code == 0
    assert sent_key(api) == KEY_WORK
    assert zenovay("auth", "logout", "--profile", "work").code == 0
    assert KEY_WORK not in config_file().read_text()


def test_auth_login_with_a_rejected_key_saves_nothing(api, env, zenovay, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY_WORK + "\n"))
    api.add_callback(responses.GET, BASE + "/usage", callback=echo_key)
    result = zenovay("auth", "login", "--debug")
    assert result.code == 4, result
    assert not config_file().exists()


# --- request options after the command name, and their environment variables ---------------------


@pytest.mark.parametrize("how,expected", [
    ("default", 30.0), ("option", 7.0), ("environment", 4.5), ("profile", 12.5), ("option-over-env", 7.0),
])
def test_timeout_reaches_every_request(api, env, zenovay, how, expected):
    write_config(PROFILES)
    env(ZENOVAY_API_KEY=KEY_ENV)
    if how == "profile":
        env(ZENOVAY_PROFILE="work")
    if how in ("environment", "option-over-env"):
        env(ZENOVAY_TIMEOUT="4.5")
    api.get(BASE + "/websites", json=envelope(SITES))
    api.get(BASE + f"/analytics/{WID}", json=envelope(ANALYTICS))
    argv = ["analytics", "mywebsite.com"] + (["--timeout", "7"] if how.startswith("option") else [])
    assert zenovay(*argv).code == 0
    assert [c.request.req_kwargs["timeout"] for c in api.calls] == [expected, expected]


def fail_503(rsps, times):
    for _ in range(times):
        rsps.get(BASE + "/usage", status=503, json={"success": False, "error": {"code": "X", "message": "down"}})


@pytest.mark.parametrize("argv,variables,attempts", [
    (["--retries", "0"], {}, 1),
    (["--retries", "2"], {}, 3),
    ([], {"ZENOVAY_RETRIES": "1"}, 2),
    ([], {"ZENOVAY_RETRIES": "0"}, 1),
    (["--retries", "0"], {"ZENOVAY_RETRIES": "2"}, 1),
    ([], {}, 4),
], ids=["option-0", "option-2", "env-1", "env-0", "option-over-env", "default-3"])
def test_retries_decide_how_many_attempts_are_made(api, env, zenovay, sleeps, argv, variables, attempts):
    env(ZENOVAY_API_KEY=KEY_ENV, **variables)
    fail_503(api, attempts)
    result = zenovay("usage", *argv)
    assert result.code == 1, result
    assert len(api.calls) == attempts
    assert len(sleeps) == attempts - 1


def rate_limited_then_ok(rsps, wait="10"):
    rsps.get(BASE + "/usage", status=429, headers={"Retry-After": wait},
             json={"success": False, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}})
    rsps.get(BASE + "/usage", json=envelope({}))


@pytest.mark.parametrize("argv,variables,code", [
    (["--max-wait", "5"], {}, 6),
    ([], {"ZENOVAY_MAX_WAIT": "5"}, 6),
    (["--max-wait", "20"], {"ZENOVAY_MAX_WAIT": "5"}, 0),
    ([], {}, 0),
], ids=["option", "env", "option-over-env", "default-60"])
def test_max_wait_decides_whether_a_retry_after_is_slept(api, env, zenovay, sleeps, argv, variables, code):
    env(ZENOVAY_API_KEY=KEY_ENV, **variables)
    rate_limited_then_ok(api)
    api.assert_all_requests_are_fired = False
    result = zenovay("usage", *argv)
    assert result.code == code, result
    assert sleeps == ([10.0] if code == 0 else [])


def test_max_wait_zero_never_sleeps(api, env, zenovay, sleeps):
    env(ZENOVAY_API_KEY=KEY_ENV)
    rate_limited_then_ok(api, wait="1")
    api.assert_all_requests_are_fired = False
    assert zenovay("usage", "--max-wait", "0").code == 6
    assert sleeps == []


def analytics_twice(rsps):
    for visitors in (1, 2):
        rsps.get(BASE + f"/analytics/{WID}",
                 json=envelope({**ANALYTICS, "summary": {"total_visitors": visitors}}))
    rsps.assert_all_requests_are_fired = False


def visitors_shown(result) -> int:
    return json.loads(result.out)["summary"]["total_visitors"]


def test_second_run_is_answered_from_the_cache(api, env, zenovay):
    env(ZENOVAY_API_KEY=KEY_ENV)
    analytics_twice(api)
    assert visitors_shown(zenovay("analytics", WID, "--json")) == 1
    assert visitors_shown(zenovay("analytics", WID, "--json")) == 1
    assert len(api.calls) == 1


@pytest.mark.parametrize("how", ["option", "environment"])
def test_no_cache_fetches_every_time(api, env, zenovay, how):
    env(ZENOVAY_API_KEY=KEY_ENV)
    if how == "environment":
        env(ZENOVAY_NO_CACHE="1")
    extra = ["--no-cache"] if how == "option" else []
    analytics_twice(api)
    assert visitors_shown(zenovay("analytics", WID, "--json", *extra)) == 1
    assert visitors_shown(zenovay("analytics", WID, "--json", *extra)) == 2
    assert len(api.calls) == 2


@pytest.mark.parametrize("how", ["option", "environment"])
def test_refresh_fetches_again_and_stores_the_new_answer(api, env, zenovay, monkeypatch, how):
    env(ZENOVAY_API_KEY=KEY_ENV)
    analytics_twice(api)
    assert visitors_shown(zenovay("analytics", WID, "--json")) == 1
    if how == "environment":
        monkeypatch.setenv("ZENOVAY_REFRESH", "true")
    refreshed = zenovay("analytics", WID, "--json", *(["--refresh"] if how == "option" else []))
    assert visitors_shown(refreshed) == 2
    monkeypatch.delenv("ZENOVAY_REFRESH", raising=False)
    assert visitors_shown(zenovay("analytics", WID, "--json")) == 2
    assert len(api.calls) == 2


def test_two_keys_never_see_each_others_cached_answers(api, env, zenovay):
    env(ZENOVAY_API_KEY=KEY_ENV)
    analytics_twice(api)
    assert visitors_shown(zenovay("analytics", WID, "--json")) == 1
    assert visitors_shown(zenovay("analytics", WID, "--json", "--api-key", KEY_OPTION)) == 2
    assert [sent_key(api, i) for i in (0, 1)] == [KEY_ENV, KEY_OPTION]


@pytest.mark.parametrize("variable,value", [
    ("ZENOVAY_TIMEOUT", "soon"), ("ZENOVAY_TIMEOUT", "0"), ("ZENOVAY_MAX_WAIT", "-1"), ("ZENOVAY_NO_CACHE", "maybe"),
])
def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(api, env, zenovay, variable, value):
    env(ZENOVAY_API_KEY=KEY_ENV, **{variable: value})
    result = zenovay("usage")
    assert result.code == 2, result
    assert variable in result.err
    assert len(api.calls) == 0
