"""`zenovay api PATH` against the sandbox: the key never leaves the API's origin (absolute URLs,
redirects), a POST is never cached, --paginate streams to the end, exit codes as elsewhere."""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Elsewhere:
    """Another origin on 127.0.0.1 that records every request it gets (and its headers)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                seen.append({"method": self.command, "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
                body = b'{"success": true, "data": {"stolen": true}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere():
    server = Elsewhere()
    yield server
    server.close()


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def direct(sb, path, key=None):
    request = urllib.request.Request(sb.base_url + path, headers={"X-API-Key": key or sb.api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def first_site(sb):
    return direct(sb, "/websites")["websites"][0]


def test_get_prints_the_data_as_json_by_default(cli, sb):
    assert json.loads(ok(cli("api", "/websites")).stdout) == direct(sb, "/websites")
    site = first_site(sb)
    got = json.loads(ok(cli("api", f"anomalies/{site['id']}", "-f", "severity=critical",
                            "-f", "range=90d")).stdout)
    assert all(a["severity"] == "critical" for a in got["anomalies"]) and got["anomalies"]


def test_a_full_url_on_the_api_origin_works(cli, sb):
    assert json.loads(ok(cli("api", sb.base_url + "/usage")).stdout)["subscription"]


def test_an_absolute_url_to_another_origin_is_refused_before_any_request(cli, sb, elsewhere):
    result = cli("api", elsewhere.url + "/api/external/v1/usage")
    assert result.returncode == 2
    assert "not the API's origin" in result.stderr
    assert elsewhere.requests == [] and sb.stats()["requests"] == 0
    assert sb.api_key not in result.stderr + result.stdout


def test_a_redirect_to_another_origin_is_not_followed_with_the_key(cli, sb, elsewhere):
    sb.faults({"status": 307, "location": elsewhere.url + "/steal", "path": "/usage"})
    result = cli("api", "/usage")
    assert result.returncode == 1
    assert "another origin" in result.stderr
    assert elsewhere.requests == []  # not followed at all: the key never got there


def test_a_redirect_within_the_api_origin_is_followed(cli, sb):
    sb.faults({"status": 302, "location": sb.base_url + "/websites", "path": "/usage"})
    assert json.loads(ok(cli("api", "/usage")).stdout) == direct(sb, "/websites")


def test_get_cache_ttl_serves_the_second_call_from_the_cache(cli, sb):
    for _ in range(2):
        ok(cli("api", "/usage", "--cache", "1h"))  # /usage is never cached on its own
    assert sb.stats()["by_path"]["/usage"] == 1
    for _ in range(2):
        ok(cli("api", "/usage"))
    assert sb.stats()["by_path"]["/usage"] == 3


def test_post_query_is_never_cached_and_costs_three_requests(cli, sb):
    site = first_site(sb)
    key = {"ZENOVAY_API_KEY": "zv_scale_e2e_post"}
    for _ in range(2):
        answer = json.loads(ok(cli("api", "-X", "POST", f"/query/{site['id']}",
                                   "-f", "question=Which countries?",
                                   "-f", "context.time_range=30d", env=key)).stdout)
        assert answer["intent"] == "country_breakdown" and answer["time_range"] == "30d"
    assert sb.stats()["by_path"][f"/query/{site['id']}"] == 2
    assert direct(sb, "/usage", "zv_scale_e2e_post")["usage"]["monthly_requests"] == 7
    refused = cli("api", "-X", "POST", f"/query/{site['id']}", "-f", "question=q", "--cache",
                  "1h", env=key)
    assert refused.returncode == 2 and "--cache" in refused.stderr


def test_post_body_from_stdin(cli, sb):
    site = first_site(sb)
    body = json.dumps({"question": "top pages?", "context": {"time_range": "7d"}})
    answer = json.loads(ok(cli("api", f"/query/{site['id']}", "--input", "-", input=body,
                               env={"ZENOVAY_API_KEY": "zv_scale_e2e_stdin"})).stdout)
    assert answer["intent"] == "top_pages"


def test_a_pro_key_on_query_exits_4_naming_scale(cli, sb):
    site = first_site(sb)
    result = cli("api", "-X", "POST", f"/query/{site['id']}", "-f", "question=q",
                 env={"ZENOVAY_API_KEY": "zv_pro_e2e"})
    assert result.returncode == 4
    assert "Scale plan" in result.stderr


def test_paginate_streams_every_page(cli, sb):
    site = next(w for w in direct(sb, "/websites")["websites"]
                if direct(sb, f"/websites/{w['id']}")["website"]["settings"]["session_replay"])
    path = f"/replays/{site['id']}/sessions"
    want, offset = [], 0
    while True:
        page = direct(sb, f"{path}?limit=200&offset={offset}")
        want += page["sessions"]
        if not page["pagination"]["has_more"]:
            break
        offset += 200
    sb.reset()
    out = ok(cli("api", path, "--paginate", "-f", "limit=100", "--format", "ndjson")).stdout
    assert [json.loads(line)["id"] for line in out.splitlines()] == [s["id"] for s in want]
    assert sb.stats()["by_path"][path] == -(-len(want) // 100)
    merged = json.loads(ok(cli("api", path, "--paginate", "-f", "limit=150")).stdout)
    assert [s["id"] for s in merged["sessions"]] == [s["id"] for s in want]


@pytest.mark.parametrize("args,code", [
    (["/websites/00000000-0000-4000-8000-000000000000"], 5),
    (["/usage", "-f", "novalue"], 2),
    (["/usage", "-X", "DELETE"], 2),
    (["/nope"], 5),
])
def test_exit_codes_match_the_other_commands(cli, sb, args, code):
    result = cli("api", *args)
    assert result.returncode == code, result.stderr
    if code == 2:
        assert sb.stats()["requests"] == 0


def test_a_free_key_exits_4_and_server_errors_exit_1(cli, sb):
    assert cli("api", "/usage", env={"ZENOVAY_API_KEY": "zv_free_e2e"}).returncode == 4
    sb.faults({"status": 503, "count": 10})
    assert cli("api", "/usage", "--retries", "0").returncode == 1
