"""Notification delivery against a real HTTP server on 127.0.0.1 (retries use a fake sleep)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zenovay_cli.alert import evaluate, parse_rule_expr, transitions
from zenovay_cli.errors import UsageError
from zenovay_cli.notify import (
    check_url,
    deliver,
    redact_url,
    send_events,
    undelivered_fingerprints,
)

BODY = b'{"event":"firing"}'
# Backoff comes from retry.decide: equal jitter between half the ceiling and the ceiling. rand() at
# the top of its range makes the waits the ceilings (1 s, 2 s, 4 s); the jitter has its own test.
TOP = lambda: 1.0  # noqa: E731
HEADERS = {"Content-Type": "application/json", "X-Zenovay-Signature": "sha256=abc"}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # A proxy from the developer's environment must not intercept 127.0.0.1.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class Hook:
    """A webhook receiver: answers each POST with the next scripted (status, headers, body)."""

    def __init__(self):
        self.script: list[tuple[int, dict, bytes]] = []
        self.requests: list[tuple[str, dict, bytes]] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                hook.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
                status, headers, body = hook.script.pop(0) if hook.script else (200, {}, b"ok")
                if status == 0:  # hang until the test ends, to provoke a client timeout
                    hook.release.wait(5)
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.fixture
def sleeps():
    return []


def test_successful_post_sends_body_and_headers(hook, sleeps):
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert result.ok and result.status == 200 and result.attempts == 1
    path, headers, body = hook.requests[0]
    assert path == "/hook/secret-token" and body == BODY
    assert headers["X-Zenovay-Signature"] == "sha256=abc"
    assert headers["Content-Type"] == "application/json"
    assert sleeps == []


def test_server_error_is_retried_then_succeeds(hook, sleeps):
    hook.script = [(500, {}, b"oops")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert result.ok and result.attempts == 2
    assert len(hook.requests) == 2 and sleeps == [1.0]


def test_persistent_server_errors_fail_after_all_attempts(hook, sleeps):
    hook.script = [(503, {}, b"")] * 3
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status == 503 and result.attempts == 3
    assert sleeps == [1.0, 2.0] and "HTTP 503" in result.error


def test_backoff_waits_are_jittered_between_half_and_the_whole_ceiling(hook, sleeps):
    hook.script = [(503, {}, b"")] * 3
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=lambda: 0.0)
    assert not result.ok and result.attempts == 3 and len(hook.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_a_server_error_a_retry_cannot_fix_is_not_retried(hook, sleeps):
    # The same policy as API requests (retry.decide): 501 Not Implemented stays 501.
    hook.script = [(501, {}, b"")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status == 501 and result.attempts == 1
    assert len(hook.requests) == 1 and sleeps == []


def test_rate_limit_waits_for_a_short_retry_after(hook, sleeps):
    hook.script = [(429, {"Retry-After": "3"}, b"")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert result.ok and sleeps == [3.0]


def test_long_retry_after_is_not_waited_for(hook, sleeps):
    hook.script = [(429, {"Retry-After": "3600"}, b"")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and sleeps == [] and len(hook.requests) == 1
    assert "retry after 3600 s" in result.error


def test_client_error_is_not_retried_and_shows_the_answer(hook, sleeps):
    hook.script = [(400, {}, b"invalid_payload\x1b[31m")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status == 400 and result.attempts == 1
    assert len(hook.requests) == 1 and sleeps == []
    assert result.error == "HTTP 400: invalid_payload [31m"


def test_redirect_is_not_followed(hook, sleeps):
    hook.script = [(302, {"Location": "http://127.0.0.1:9/elsewhere"}, b"")]
    result = deliver(hook.url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status == 302 and len(hook.requests) == 1
    assert "not followed" in result.error


def test_connection_refused_is_retried_then_reported(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = deliver(f"http://127.0.0.1:{port}/x", BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status is None and result.attempts == 3
    assert sleeps == [1.0, 2.0] and "cannot connect" in result.error


def test_timeout_is_a_failure_not_an_exception(hook, sleeps):
    hook.script = [(0, {}, b"")]
    result = deliver(hook.url, BODY, HEADERS, timeout=0.2, attempts=1, sleep=sleeps.append, rand=TOP)
    assert not result.ok and result.status is None


def test_results_never_show_the_url_path():
    result = deliver("ftp://example.test/token", BODY, HEADERS, sleep=lambda s: None)
    assert not result.ok and "token" not in str(result)


@pytest.mark.parametrize("url, shown", [
    ("https://hooks.slack.com/services/T0/B0/xyz", "https://hooks.slack.com/…"),
    ("https://user:pw@example.test:8443/", "https://example.test:8443"),
    ("http://127.0.0.1:5000/hook?key=abc", "http://127.0.0.1:5000/…"),
    ("not a url", "<invalid URL>"),
])
def test_redacted_urls_keep_only_scheme_host_and_port(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", ["hooks.slack.com/services/x", "ftp://example.test/x",
                                 "https:///path", "http://example.test:99999/"])
def test_bad_notify_url_is_a_usage_error_without_the_secret_path(url):
    with pytest.raises(UsageError) as err:
        check_url(url)
    assert "services/x" not in str(err.value)


def test_slack_prefixed_url_is_accepted_and_posted_to_without_the_prefix(hook, sleeps):
    url = "slack+" + hook.url
    assert check_url(url) == url
    result = deliver(url, BODY, HEADERS, sleep=sleeps.append, rand=TOP)
    assert result.ok and hook.requests[0][0] == "/hook/secret-token"
    assert "secret-token" not in str(result)


def _events(*sites):
    rule = parse_rule_expr("visitors<100", "critical")
    ev = evaluate([rule], {site: {"visitors": 1} for site in sites}, time_range="24h")
    events, _ = transitions({"version": 1, "alerts": {}}, ev,
                            datetime(2026, 6, 13, tzinfo=timezone.utc))
    return events


def test_send_events_posts_each_event_with_its_payload(hook, sleeps):
    results = send_events(_events("a.com", "b.com"), [hook.url], secret="k", sleep=sleeps.append, rand=TOP)
    assert [r.ok for _, r in results] == [True, True]
    sent = [json.loads(body) for _, _, body in hook.requests]
    assert [d["website"] for d in sent] == ["a.com", "b.com"]
    assert all("X-Zenovay-Signature" in headers for _, headers, _ in hook.requests)
    assert undelivered_fingerprints(results) == []


def test_dead_endpoint_is_not_retried_for_every_event(hook, sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
    events = _events("a.com", "b.com")
    results = send_events(events, [dead, hook.url], sleep=sleeps.append, rand=TOP)
    assert [r.ok for _, r in results] == [False, True, False, True]
    assert results[2][1].attempts == 0 and "skipped" in results[2][1].error
    assert sleeps == [1.0, 2.0]  # one retry cycle in all
    assert undelivered_fingerprints(results) == [e.fingerprint for e in events]
