"""Options only where they act, declared once; a run's world handed in through `main.run(context=)`.

- connection options (--profile --api-key --base-url --debug) on the root and on every command that
  reads settings, with the root's own declarations (same help text);
- request options (--timeout ... --stale-ok) only on commands that send requests: elsewhere such a
  flag is a usage error (exit 2) naming it, before anything else happens;
- output options (--json --format) only on the data commands.
"""

import json

import pytest
import responses

from tests.harness import BASE, envelope, invoker
from zenovay_cli.context import Context
from zenovay_cli.main import build_command, run

KEY = "zv_unit_options_SECRET_7c1d9e"
CONNECTION = {"--profile", "--api-key", "--base-url", "--debug"}
NETWORK = {"--timeout", "--retries", "--max-wait"}
CACHE = {"--no-cache", "--refresh", "--stale-ok"}
OUTPUT = {"--json", "--format"}
REDIS = {"--redis"}  # where the cache, the budget and alert state live: wherever those act
QUERIES = ("usage", "websites", "analytics", "visitors", "pages", "countries", "tech", "errors")

# The option groups each command offers, by what the command does.
EXPECTED = {
    **{q: CONNECTION | NETWORK | CACHE | REDIS | OUTPUT for q in QUERIES},
    "report": CONNECTION | NETWORK | CACHE | REDIS | OUTPUT,
    "digest": CONNECTION | NETWORK | CACHE | REDIS,
    "export": CONNECTION | NETWORK | CACHE | REDIS,
    "alert": CONNECTION | NETWORK | CACHE | REDIS,
    "auth login": CONNECTION | NETWORK | CACHE | REDIS,
    "auth status": CONNECTION | NETWORK,  # it shows the network settings and their sources
    "auth logout": CONNECTION,
    **{f"config {c}": CONNECTION for c in ("show", "get", "set", "unset", "path")},
    **{f"cache {c}": CONNECTION | REDIS for c in ("info", "clear", "prune")},
    "sandbox serve": set(),
    "completion": set(),
    **{c: CONNECTION | NETWORK | CACHE | REDIS | OUTPUT
       for c in ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays")},
    "api": CONNECTION | NETWORK | CACHE | REDIS | OUTPUT,  # its own --format (json by default), no -f
    "doctor": CONNECTION | NETWORK | REDIS | OUTPUT,  # /usage is never cached; it checks Redis
    "history sync": CONNECTION | NETWORK | CACHE | REDIS | OUTPUT,
    # show, info and sql read only the local history database: no settings, no requests.
    **{f"history {c}": OUTPUT for c in ("show", "info", "sql")},
}
# export, alert, cache info and auth status have a --json/--format of their own, so output options
# are checked by what they do: the shared --format offers the table and record formats.
SHARED = CONNECTION | NETWORK | CACHE | REDIS


def commands():
    root = build_command()
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            for sub_name, sub in subs.items():
                yield f"{name} {sub_name}", sub
        else:
            yield name, cmd


def option_names(cmd) -> set:
    return {opt for p in cmd.params for opt in getattr(p, "opts", []) if opt.startswith("--")}


def test_every_command_is_in_the_table():
    assert {name for name, _ in commands()} == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_a_command_offers_exactly_the_shared_options_that_act_on_it(path):
    cmd = dict(commands())[path]
    assert option_names(cmd) & SHARED == EXPECTED[path] - OUTPUT
    formats = [p for p in cmd.params if "--format" in getattr(p, "opts", [])]
    has_shared_format = bool(formats) and "tsv" in getattr(formats[0].type, "choices", ())
    assert has_shared_format == (OUTPUT <= EXPECTED[path])


def test_the_root_and_the_commands_share_one_declaration_of_the_connection_options():
    root = build_command()
    root_params = {p.name: p for p in root.params}
    for path, cmd in commands():
        for param in cmd.params:
            if set(getattr(param, "opts", [])) & CONNECTION:
                twin = root_params[param.name]
                assert (param.opts, param.help) == (twin.opts, twin.help), (path, param.name)


@pytest.fixture
def zenovay(capsys, sleeps):
    return invoker(capsys, [KEY], sleeps)


@pytest.mark.parametrize("argv", [
    ["config", "show", "--retries", "5"],
    ["cache", "clear", "--retries", "5"],
    ["cache", "info", "--no-cache"],
    ["config", "path", "--format", "json"],
    ["auth", "logout", "--stale-ok"],
    ["auth", "status", "--refresh"],
])
def test_a_flag_that_would_do_nothing_is_a_usage_error_naming_it(zenovay, argv, isolated_dirs):
    result = zenovay(*argv)
    assert result.code == 2, result
    flag = next(a for a in argv if a.startswith("--"))
    assert f"No such option: {flag}" in result.err
    assert result.out == ""
    # refused before the command ran: `cache clear` removed nothing, said nothing
    assert "Removed" not in result.err


def test_request_options_still_act_where_requests_are_sent(zenovay, monkeypatch):
    # --retries 0: one attempt, no retry, on a command that sends a request.
    monkeypatch.setenv("ZENOVAY_API_KEY", KEY)
    monkeypatch.setenv("ZENOVAY_BASE_URL", BASE)
    with responses.RequestsMock() as rsps:
        rsps.get(BASE + "/usage", status=503, json={"success": False, "error": {"code": "X", "message": "down"}})
        result = zenovay("usage", "--retries", "0", "--no-cache")
        assert len(rsps.calls) == 1
    assert result.code == 1, result


def test_a_context_handed_to_run_is_the_commands_world(capsys):
    # The environment comes from the Context, not from os.environ (which has no ZENOVAY_* here).
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": BASE, "ZENOVAY_TIMEOUT": "7"}
    slept = []
    with responses.RequestsMock() as rsps:
        rsps.get(BASE + "/usage", status=503, json={"success": False, "error": {"code": "X", "message": "down"}})
        rsps.get(BASE + "/usage", json=envelope({"subscription": {"tier": "pro"}}))
        with pytest.raises(SystemExit) as exit_:
            run(["usage", "--json", "--no-cache"], context=Context(env=env, sleep=slept.append, rand=lambda: 0.0))
    out, err = capsys.readouterr()
    assert exit_.value.code == 0, err
    assert json.loads(out) == {"subscription": {"tier": "pro"}}
    assert len(slept) == 1  # the retry's wait went through the Context's sleep
    assert KEY not in out + err

    with pytest.raises(SystemExit):
        run(["auth", "status", "--json"], context=Context(env=env))
    shown = json.loads(capsys.readouterr().out)
    assert shown["timeout"] == {"value": 7.0, "source": "ZENOVAY_TIMEOUT"}
    assert shown["base_url"]["source"] == "ZENOVAY_BASE_URL"
