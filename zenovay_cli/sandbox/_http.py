"""The sandbox's HTTP transport: a threading, keep-alive, quiet server bound to loopback only."""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from zenovay_cli.sandbox.routes import Response, failure

if TYPE_CHECKING:
    from zenovay_cli.sandbox.server import SandboxServer

MAX_BODY = 1 << 20


def loopback_address(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the sandbox binds loopback addresses only, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the sandbox binds loopback addresses only, not {host!r}")
    return host


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients reuse connections
    server_version = "ZenovaySandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header, as far off as the sandbox's clock_offset says (doctor's clock check).
        now = time.time() if timestamp is None else timestamp
        return super().date_time_string(now + self.server.app.config.clock_offset)

    def _dispatch(self) -> None:
        app = self.server.app
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(failure(413, "PAYLOAD_TOO_LARGE", "Request body missing a valid length or "
                               "larger than 1 MiB"))
            return
        body = self.rfile.read(length) if length else b""
        try:
            response = app.handle(self.command, self.path, self.headers, body)
        except Exception:  # noqa: BLE001 (a sandbox bug must still produce an answer)
            if app.verbose:
                traceback.print_exc()
            response = failure(500, "INTERNAL_ERROR", "Internal sandbox error")
        if response.close:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("x-request-id", str(uuid.uuid4()))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:  # the client went away (e.g. it timed out first)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: SandboxServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup that can stall.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        if self.app.verbose:
            print(f"sandbox: error while serving {client_address}", file=sys.stderr)
            traceback.print_exc()
