"""A redirecting API never leads `zenovay` to hand the API key to another server.

The sandbox answers with a redirect (a `location` fault) to a second local server that records
everything it is sent; that server must never see a request, let alone the key.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest


class Bystander:
    """A second HTTP server on 127.0.0.1 that records the headers of every request it gets."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                seen.append(dict(self.headers))
                body = b'{"success": true, "data": {"stolen": true}, "timestamp": "x"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def bystander():
    server = Bystander()
    yield server
    server.stop()


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/api/external/v1/usage",  # same host and scheme, another port
    "http://localhost:{port}/api/external/v1/usage",  # another host name
    "//127.0.0.1:{port}/api/external/v1/usage",  # scheme-relative
], ids=["other-port", "other-host", "scheme-relative"])
def test_a_redirect_to_another_server_is_refused_and_that_server_never_sees_the_key(
        cli, sb, bystander, status, target):
    sb.faults({"status": status, "location": target.format(port=bystander.port), "path": "/usage"})
    result = cli("usage", "--json")
    assert result.returncode == 1, result
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "redirected to another origin" in errors[0], result.stderr
    host = "localhost" if "localhost" in target else "127.0.0.1"
    assert f"(http://{host}:{bystander.port})" in errors[0]  # the whole origin, port included
    assert sb.api_key not in result.stderr
    assert bystander.seen == []
    # Counted on arrival; status counts may still include answers of earlier tests' slow requests.
    stats = sb.stats()
    assert stats["by_path"] == {"/usage": 1} and stats["status_counts"][str(status)] == 1, stats


def test_a_redirect_within_the_api_is_followed_with_the_key(cli, sb, bystander):
    # The contrast: the same fault pointing back at the sandbox itself is followed, so the refusal
    # above is the guard at work, not an unreachable target.
    own = urlsplit(sb.base_url)
    sb.faults({"status": 302, "location": f"http://{own.netloc}/api/external/v1/usage", "path": "/usage"})
    result = cli("usage", "--json")
    assert result.returncode == 0, result.stderr
    stats = sb.stats()
    assert stats["by_path"] == {"/usage": 2} and stats["status_counts"]["302"] == 1, stats
    assert len(stats["by_key_fingerprint"]) == 1 and sum(stats["by_key_fingerprint"].values()) == 2
    assert bystander.seen == []
