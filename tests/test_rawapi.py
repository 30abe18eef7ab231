"""`zenovay api`'s request building: paths, origins, fields, bodies, --cache values."""

import io

import pytest

from zenovay_cli.errors import ExitCode, UsageError
from zenovay_cli.rawapi import api_path, body_from_fields, build, parse_ttl, read_input

BASE = "https://api.zenovay.com/api/external/v1"


@pytest.mark.parametrize("target,path,params", [
    ("/usage", "/usage", {}),
    ("anomalies/w1", "/anomalies/w1", {}),
    ("/anomalies/w1?range=30d&severity=critical", "/anomalies/w1",
     {"range": "30d", "severity": "critical"}),
    (BASE + "/websites", "/websites", {}),
    ("https://API.zenovay.com:443/api/external/v1/usage", "/usage", {}),
])
def test_paths_relative_to_the_base(target, path, params):
    assert api_path(target, BASE) == (path, params)


@pytest.mark.parametrize("target", [
    "https://evil.example/api/external/v1/usage",
    "http://api.zenovay.com/api/external/v1/usage",  # another scheme is another origin
    "https://api.zenovay.com:8443/api/external/v1/usage",  # and another port
    "//evil.example/usage",
    "https://api.zenovay.com/other/usage",  # same origin, not the API
])
def test_other_origins_and_paths_outside_the_base_are_refused(target):
    with pytest.raises(UsageError) as info:
        api_path(target, BASE)
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("target", ["", "  ", "/a/../usage", "/usage#x"])
def test_bad_paths(target):
    with pytest.raises(UsageError):
        api_path(target, BASE)


def test_fields_are_query_parameters_on_get_and_a_nested_body_on_post():
    get = build(None, "/anomalies/w1?range=7d", BASE, ["severity=critical", "range=30d"])
    assert (get.method, get.params, get.body) == ("GET", {"range": "30d", "severity": "critical"},
                                                   None)
    post = build("post", "/query/w1", BASE, ["question=Top pages?", "context.time_range=7d",
                                              "context.compare_to=previous_period"])
    assert post.method == "POST" and post.body == {
        "question": "Top pages?", "context": {"time_range": "7d", "compare_to": "previous_period"}}


def test_input_makes_post_the_default_and_excludes_fields():
    request = build(None, "/query/w1", BASE, [], body={"question": "q"}, has_input=True)
    assert request.method == "POST" and request.body == {"question": "q"}
    with pytest.raises(UsageError):
        build("POST", "/query/w1", BASE, ["a=b"], body={}, has_input=True)
    with pytest.raises(UsageError):
        build("GET", "/usage", BASE, [], body={}, has_input=True)


@pytest.mark.parametrize("method,fields", [("PUT", []), ("DELETE", []), ("GET", ["novalue"]),
                                           ("GET", ["=x"]), ("POST", ["a=1", "a.b=2"])])
def test_bad_methods_and_fields(method, fields):
    with pytest.raises(UsageError):
        build(method, "/usage", BASE, fields)


def test_conflicting_nested_fields():
    with pytest.raises(UsageError):
        body_from_fields([("a.b", "1"), ("a", "2")])


def test_input_must_be_json_up_to_1_mib():
    assert read_input(io.BytesIO(b'{"question": "q"}'), "-") == {"question": "q"}
    with pytest.raises(UsageError):
        read_input(io.BytesIO(b"not json"), "-")
    with pytest.raises(UsageError):
        read_input(io.BytesIO(b" " * (1 << 20) + b"{}"), "big.json")


@pytest.mark.parametrize("text,seconds", [("60", 60), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                          ("0", 0), ("1.5m", 90)])
def test_cache_ttl_values(text, seconds):
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "x", "-5", "5w", "nan", "inf"])
def test_bad_cache_ttl_values(text):
    with pytest.raises(UsageError):
        parse_ttl(text)
