"""Every row of SPEC.md's exit-code table, in-process with `responses`.

Each failure prints exactly one stderr line starting with "Error:" (with the API's request id when
the answer had one), no traceback unless --debug, and nothing on stdout that a script could mistake
for data.
"""

import _thread
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import responses

from tests.harness import BASE, Result, envelope, error_body, invoker
from zenovay_cli.errors import ExitCode
from zenovay_cli.main import run

KEY = "zv_unit_exit_SECRET_77c1d0e8"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
WID2 = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
RID = "3f2b9c1e-7d4a-4e8b-9b61-0c2d5e8f1a77"
SITES = {"websites": [{"id": WID, "domain": "mywebsite.com", "name": "My Website"},
                      {"id": WID2, "domain": "acme-store.io", "name": "Acme Store"}], "total": 2}
ANALYTICS = {"website": {"id": WID, "domain": "mywebsite.com"}, "time_range": "7d",
             "summary": {"total_visitors": 1247, "total_page_views": 3891, "unique_visitors": 982},
             "daily_stats": []}


@pytest.fixture
def api(monkeypatch, sleeps):
    monkeypatch.setenv("ZENOVAY_API_KEY", KEY)
    monkeypatch.setenv("ZENOVAY_BASE_URL", BASE)
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def zenovay(capsys, sleeps):
    return invoker(capsys, [KEY], sleeps)


def fail_with(rsps, path, status, body=None, *, rid=RID, headers=None, **kw):
    h = {"x-request-id": rid} if rid else {}
    h.update(headers or {})
    if isinstance(body, (dict, list)):
        rsps.get(BASE + path, json=body, status=status, headers=h, **kw)
    else:
        rsps.get(BASE + path, body=body or "", status=status, headers=h, **kw)


def interrupt(request):
    raise KeyboardInterrupt


# --- the table: one scenario per way of ending up in each row ------------------------------------


@dataclass
class Scenario:
    name: str
    argv: tuple
    code: int
    setup: Callable = lambda rsps, monkeypatch: None
    request_id: str | None = None  # expected in the Error line
    words: tuple = ()  # what the Error line must tell the user
    calls: int | None = None  # requests that reach the API
    env: dict = field(default_factory=dict)


def _config(text):
    def setup(rsps, monkeypatch):
        import os

        path = Path(os.environ["XDG_CONFIG_HOME"]) / "zenovay" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return setup


def _ok(path, data):
    return lambda rsps, mp: rsps.get(BASE + path, json=envelope(data))


def _partial(rsps, mp):
    rsps.get(BASE + "/websites", json=envelope(SITES))
    rsps.get(BASE + f"/analytics/{WID}", json=envelope(ANALYTICS))
    fail_with(rsps, f"/analytics/{WID2}", 404, error_body("NOT_FOUND", "Website not found"))


def _no_key(rsps, mp):
    mp.delenv("ZENOVAY_API_KEY")


def _interrupted_request(rsps, mp):
    rsps.add_callback("GET", BASE + "/usage", callback=interrupt)


def ctrl_c_while_answering(request):
    """What Ctrl-C does while worker threads wait for answers: KeyboardInterrupt in the main thread."""
    _thread.interrupt_main()
    return 200, {}, json.dumps(envelope(ANALYTICS))


def _interrupted_fanout(rsps, mp):
    rsps.assert_all_requests_are_fired = False
    rsps.get(BASE + "/websites", json=envelope(SITES))
    rsps.get(BASE + f"/analytics/{WID}", json=envelope(ANALYTICS))
    rsps.add_callback("GET", BASE + f"/analytics/{WID2}", callback=ctrl_c_while_answering)


SCENARIOS = [
    # 0: success, and an empty result is a success
    Scenario("ok", ("usage",), 0, _ok("/usage", {"usage": {"monthly_requests": 1}}), calls=1),
    Scenario("empty-visitors", ("visitors", WID), 0,
             _ok(f"/analytics/{WID}/visitors", {"visitors": [], "pagination": {"limit": 100, "offset": 0, "has_more": False}})),
    Scenario("empty-websites", ("websites",), 0, _ok("/websites", {"websites": [], "total": 0})),
    Scenario("empty-analytics-all", ("analytics", "--all"), 0, _ok("/websites", {"websites": [], "total": 0})),
    Scenario("empty-errors", ("errors", WID, "--status", "ignored"), 0, _ok(f"/errors/{WID}/groups", {"error_groups": []})),
    # 1: API or network failure after retries, or an unusable response
    Scenario("5xx-after-retries", ("usage", "--retries", "2"), 1,
             lambda r, mp: [fail_with(r, "/usage", 503, error_body("SERVICE_UNAVAILABLE", "down")) for _ in range(3)],
             request_id=RID, words=("server error", "3 attempts"), calls=3),
    Scenario("network-error", ("usage", "--retries", "1"), 1,
             lambda r, mp: [r.get(BASE + "/usage", body=requests.ConnectionError("refused")) for _ in range(2)],
             words=("cannot connect", "api.example.test"), calls=2),
    Scenario("timeout", ("usage", "--retries", "1", "--timeout", "2"), 1,
             lambda r, mp: [r.get(BASE + "/usage", body=requests.ReadTimeout("slow")) for _ in range(2)],
             words=("did not answer within 2 s", "--timeout"), calls=2),
    Scenario("html-200", ("usage",), 1,
             lambda r, mp: fail_with(r, "/usage", 200, "<html>captive portal</html>", content_type="text/html"),
             request_id=RID, words=("not JSON",), calls=1),
    Scenario("html-502-after-retries", ("websites", "--retries", "1"), 1,
             lambda r, mp: [fail_with(r, "/websites", 502, "<html>Bad gateway</html>", content_type="text/html") for _ in range(2)],
             request_id=RID, words=("502", "non-JSON"), calls=2),
    Scenario("success-false", ("usage",), 1,
             lambda r, mp: fail_with(r, "/usage", 200, {"success": False, "error": {"message": "odd"}}),
             request_id=RID, words=("odd",)),
    # 2: usage error: bad option, argument or value, unreadable config
    Scenario("unknown-option", ("usage", "--bogus"), 2, words=("--bogus",), calls=0),
    Scenario("bad-range", ("analytics", WID, "--range", "2d"), 2, words=("2d",), calls=0),
    Scenario("bad-format", ("pages", WID, "--format", "xml"), 2, words=("xml",), calls=0),
    Scenario("bad-status", ("errors", WID, "--status", "open"), 2, words=("open",), calls=0),
    Scenario("limit-zero", ("countries", WID, "--limit", "0"), 2, words=("--limit",), calls=0),
    Scenario("limit-over-api-max", ("visitors", WID, "--limit", "1001"), 2, words=("--limit",), calls=0),
    Scenario("negative-offset", ("visitors", WID, "--offset", "-1"), 2, words=("--offset",), calls=0),
    Scenario("json-and-format-disagree", ("usage", "--json", "--format", "csv"), 2, words=("--json", "--format"), calls=0),
    Scenario("no-website", ("pages",), 2, words=("no website",), calls=0),
    Scenario("bad-config-toml", ("usage",), 2, _config("[profiles.default\napi_key = 'zv_x'\n"),
             words=("config.toml", "not valid TOML"), calls=0),
    Scenario("bad-config-value", ("usage",), 2, _config("[profiles.default]\ntimeout = 'soon'\n"),
             words=("timeout",), calls=0),
    Scenario("bad-env-value", ("usage",), 2, env={"ZENOVAY_RETRIES": "many"}, words=("ZENOVAY_RETRIES",), calls=0),
    Scenario("plain-http-base-url", ("usage", "--base-url", "http://api.example.test/v1"), 2,
             words=("plain http",), calls=0),
    Scenario("400-validation", ("visitors", WID), 2,
             lambda r, mp: fail_with(r, f"/analytics/{WID}/visitors", 400, error_body("VALIDATION_ERROR", "limit too large")),
             request_id=RID, words=("limit too large",), calls=1),
    # 3: partial failure
    Scenario("analytics-all-one-fails", ("analytics", "--all"), 3, _partial,
             request_id=RID, words=("1 of 2", "acme-store.io", "Website not found"), calls=3),
    # 4: authentication or permission
    Scenario("no-key", ("usage",), 4, _no_key, words=("no API key", "ZENOVAY_API_KEY"), calls=0),
    Scenario("no-key-domain-lookup", ("analytics", "mywebsite.com"), 4, _no_key, words=("no API key",), calls=0),
    Scenario("401", ("usage",), 4,
             lambda r, mp: fail_with(r, "/usage", 401, error_body("UNAUTHORIZED", "Invalid API key")),
             request_id=RID, words=("authentication failed", "auth login"), calls=1),
    Scenario("403-forbidden", ("analytics", WID), 4,
             lambda r, mp: fail_with(r, f"/analytics/{WID}", 403, error_body("FORBIDDEN", "Access denied to this website")),
             request_id=RID, words=("permission denied", "Access denied to this website"), calls=1),
    Scenario("403-paid-plan-flat-body", ("usage",), 4,
             lambda r, mp: fail_with(r, "/usage", 403, {
                 "error": "The Zenovay API requires a paid plan. Upgrade to Pro or higher to use API keys.",
                 "code": "API_PAID_PLAN_REQUIRED"}),
             request_id=RID, words=("paid plan", "Pro"), calls=1),
    Scenario("403-paid-plan-no-request-id", ("websites",), 4,
             lambda r, mp: fail_with(r, "/websites", 403, {"error": "requires a paid plan", "code": "API_PAID_PLAN_REQUIRED"}, rid=None),
             words=("paid plan",), calls=1),
    # 5: not found
    Scenario("404", ("countries", WID), 5,
             lambda r, mp: fail_with(r, f"/analytics/{WID}/countries", 404, error_body("NOT_FOUND", "Website not found")),
             request_id=RID, words=("not found", "zenovay websites"), calls=1),
    Scenario("unknown-domain", ("tech", "nosuchsite.example"), 5, _ok("/websites", SITES),
             words=("nosuchsite.example", "2"), calls=1),
    # 6: rate limit or monthly quota
    Scenario("monthly-quota", ("usage", "--retries", "5"), 6,
             lambda r, mp: fail_with(r, "/usage", 429, error_body("MONTHLY_LIMIT_EXCEEDED", "Monthly limit reached"),
                                     headers={"X-Usage-Reset": "2026-07-01T00:00:00.000Z", "Retry-After": "3"}),
             request_id=RID, words=("monthly", "2026-07-01T00:00:00.000Z"), calls=1),
    Scenario("retry-after-over-max-wait", ("analytics", WID, "--max-wait", "5"), 6,
             lambda r, mp: fail_with(r, f"/analytics/{WID}", 429, error_body("RATE_LIMIT_EXCEEDED", "Try again in 42 seconds"),
                                     headers={"Retry-After": "42"}),
             request_id=RID, words=("42 s", "--max-wait"), calls=1),
    Scenario("429-after-retries", ("usage", "--retries", "1"), 6,
             lambda r, mp: [fail_with(r, "/usage", 429, error_body("RATE_LIMIT_EXCEEDED", "slow down"),
                                      headers={"Retry-After": "1"}) for _ in range(2)],
             request_id=RID, words=("rate limited",), calls=2),
    # 130: interrupted
    Scenario("interrupt-in-request", ("usage",), 130, _interrupted_request, calls=1),
    Scenario("interrupt-in-analytics-all", ("analytics", "--all"), 130, _interrupted_fanout),
]


def test_every_row_of_the_exit_code_table_has_a_scenario():
    assert {s.code for s in SCENARIOS} == {int(c) for c in ExitCode}


def test_the_readme_table_and_the_root_epilog_are_generated_from_exit_code():
    # One list (errors.ExitCode) with each code's words; the README and --help say the same.
    from zenovay_cli import docgen
    from zenovay_cli.errors import exit_codes_epilog, exit_codes_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert docgen.exit_codes_of(readme) == exit_codes_table(), (
        "README.md's exit-code table is out of date: run python -m zenovay_cli.docgen --exit-codes README.md")
    for code in ExitCode:
        assert f"| {code.value} | {code.meaning} |" in readme
        assert f"{code.value} {code.short}" in exit_codes_epilog()


def test_root_help_ends_with_every_exit_code(zenovay):
    result = zenovay("--help")
    assert result.code == 0
    flat = " ".join(result.out.split())
    assert flat.endswith(" ".join(exit_codes_line().split()))


def exit_codes_line() -> str:
    from zenovay_cli.errors import exit_codes_epilog

    return exit_codes_epilog()


@pytest.fixture
def scenario_result(request, api, zenovay, monkeypatch):
    def play(scenario: Scenario, *extra: str) -> Result:
        if scenario.code == 130:
            request.getfixturevalue("ctrl_c_deliverable")
        for name, value in scenario.env.items():
            monkeypatch.setenv(name, value)
        scenario.setup(api, monkeypatch)
        return zenovay(*scenario.argv, *extra)

    return play


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.code}-{s.name}")
def test_exit_code_and_one_error_line(scenario_result, api, scenario):
    result = scenario_result(scenario)
    assert result.code == scenario.code, result
    assert "Traceback" not in result.err, result
    if scenario.calls is not None:
        assert len(api.calls) == scenario.calls, result
    if scenario.code == 0:
        assert result.error_lines == [], result
        return
    if scenario.code == 130:
        assert result.error_lines == [] and "Interrupted" in result.err, result
        return
    assert len(result.error_lines) == 1, result
    line = result.error_lines[0]
    for word in scenario.words:
        assert word in line, result
    if scenario.request_id:
        assert f"request id: {scenario.request_id}" in line, result
    if scenario.code != 3:  # a partial run still prints what it got
        assert result.out == "", result


API_FAILURES = [s for s in SCENARIOS if s.code in (1, 3, 4, 5, 6) and s.calls != 0]


@pytest.mark.parametrize("scenario", API_FAILURES, ids=lambda s: f"{s.code}-{s.name}")
def test_debug_adds_a_traceback_but_keeps_the_exit_code_and_error_line(scenario_result, scenario):
    result = scenario_result(scenario, "--debug")
    assert result.code == scenario.code, result
    assert "Traceback (most recent call last)" in result.err, result
    assert len(result.error_lines) == 1, result


def test_zenovay_debug_in_the_environment_also_shows_the_traceback(api, zenovay, monkeypatch):
    monkeypatch.setenv("ZENOVAY_DEBUG", "1")
    fail_with(api, "/usage", 404, error_body("NOT_FOUND", "nope"))
    result = zenovay("usage")
    assert result.code == 5 and "Traceback" in result.err, result


# --- details a user relies on -----------------------------------------------------------------


def test_server_errors_are_retried_with_each_wait_announced(api, zenovay, sleeps):
    for _ in range(3):
        fail_with(api, "/usage", 503, error_body("SERVICE_UNAVAILABLE", "down"))
    result = zenovay("usage", "--retries", "2")
    assert result.code == 1, result
    assert len(sleeps) == 2
    announced = [line for line in result.err.splitlines() if "retrying in" in line]
    assert len(announced) == 2, result
    assert "attempt 2 of 3" in announced[0] and "attempt 3 of 3" in announced[1], result


def test_a_server_error_then_success_exits_0_with_the_data(api, zenovay, sleeps):
    fail_with(api, "/usage", 500, error_body("INTERNAL_ERROR", "oops"))
    api.get(BASE + "/usage", json=envelope({"usage": {"monthly_requests": 7}}))
    result = zenovay("usage", "--json")
    assert result.code == 0, result
    assert json.loads(result.out) == {"usage": {"monthly_requests": 7}}
    assert len(sleeps) == 1 and "retrying in" in result.err


def test_retry_after_within_max_wait_is_slept_exactly_then_succeeds(api, zenovay, sleeps):
    fail_with(api, "/usage", 429, error_body("RATE_LIMIT_EXCEEDED", "slow"), headers={"Retry-After": "7"})
    api.get(BASE + "/usage", json=envelope({}))
    result = zenovay("usage", "--max-wait", "10")
    assert result.code == 0, result
    assert sleeps == [7.0]


def test_monthly_quota_is_not_retried_and_nothing_is_slept(api, zenovay, sleeps):
    fail_with(api, "/usage", 429, error_body("MONTHLY_LIMIT_EXCEEDED", "quota"), headers={"Retry-After": "1"})
    result = zenovay("usage", "--retries", "5", "--max-wait", "3600")
    assert result.code == 6, result
    assert sleeps == [] and len(api.calls) == 1


def test_a_wait_over_max_wait_is_not_slept_and_says_when_to_retry(api, zenovay, sleeps):
    fail_with(api, "/usage", 429, error_body("RATE_LIMIT_EXCEEDED", "slow"), headers={"Retry-After": "120"})
    result = zenovay("usage", "--max-wait", "5")
    assert result.code == 6, result
    assert sleeps == []
    assert "Retry after " in result.error_lines[0], result


def test_a_server_error_whose_backoff_exceeds_max_wait_is_an_api_failure(api, zenovay):
    fail_with(api, "/usage", 503, error_body("SERVICE_UNAVAILABLE", "down"))
    result = zenovay("usage", "--max-wait", "0")
    assert result.code == 1, result


def test_partial_failure_prints_the_websites_that_worked_on_stdout(api, zenovay):
    _partial(api, None)
    result = zenovay("analytics", "--all", "--json")
    assert result.code == 3, result
    rows = {r["website"]["domain"]: r for r in json.loads(result.out)["websites"]}
    assert rows["mywebsite.com"]["summary"]["total_visitors"] == 1247
    assert "Website not found" in rows["acme-store.io"]["error"]


def test_every_website_failing_is_not_partial(api, zenovay):
    api.get(BASE + "/websites", json=envelope(SITES))
    fail_with(api, f"/analytics/{WID}", 403, error_body("FORBIDDEN", "Access denied"))
    fail_with(api, f"/analytics/{WID2}", 403, error_body("FORBIDDEN", "Access denied"))
    result = zenovay("analytics", "--all")
    assert result.code == 4, result
    assert len(result.error_lines) == 1 and result.out == "", result


def test_usage_errors_send_no_request_for_any_command(api, zenovay):
    for argv in (("analytics", WID, "-r", "1w"), ("visitors", WID, "--range", "week"),
                 ("pages", WID, "--range", "12h"), ("countries", WID, "--range", "2y"),
                 ("tech", WID, "--range", "all"), ("analytics", "--all", "--range", "yesterday")):
        result = zenovay(*argv)
        assert result.code == 2, result
        assert len(result.error_lines) == 1, result
    assert len(api.calls) == 0


def test_api_error_text_cannot_break_the_one_line_rule(api, zenovay):
    fail_with(api, "/usage", 401, error_body("UNAUTHORIZED", "bad\nkey\x1b[31m\rsecond line"))
    result = zenovay("usage")
    assert result.code == 4, result
    assert len(result.err.splitlines()) == 1, result
    assert "\x1b" not in result.err


class _ClosedPipe:
    """A stdout whose reader has gone (`zenovay visitors --all | head -1`)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass

    def isatty(self):
        return False


def test_a_reader_that_leaves_early_is_not_an_error(api, monkeypatch, capsys):
    api.get(BASE + f"/analytics/{WID}/visitors", json=envelope(
        {"visitors": [{"id": "v1"}], "pagination": {"limit": 1, "offset": 0, "has_more": False}}))
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    with pytest.raises(SystemExit) as exc:
        run(["visitors", WID, "--all", "--format", "ndjson"])
    assert exc.value.code == 0
    assert "Error" not in capsys.readouterr().err
