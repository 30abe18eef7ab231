"""Delivery of alert notifications: one POST per event and URL, with timeouts and brief retries.

Uses urllib.request rather than requests: a webhook POST needs nothing requests adds, the
alert path then never pays requests' ~90 ms import, and a hand-written loop gives exact
control over what is retried (and over redirects, which urllib would otherwise follow by
turning the POST into a body-less GET). TLS certificates are verified against the system
trust store (urllib's default), proxies come from the usual *_proxy environment variables.

Webhook URLs are secrets (a Slack URL is its own credential): results and messages only ever
show `redact_url(url)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from zenovay_cli.alert import Event, build_payload, webhook_target
from zenovay_cli.errors import UsageError

# Waits before the 2nd, 3rd, ... attempt. Brief on purpose: a cron job must not hang.
BACKOFF = (1.0, 2.0, 4.0)
# A Retry-After longer than this is not waited for: the delivery fails and the next run retries.
MAX_RETRY_AFTER = 10.0
_BODY_SNIPPET = 200


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of deliver(). url is redacted (safe to print); status is the last HTTP status
    (None if no answer); error says why it failed (None when ok)."""

    url: str
    ok: bool
    status: int | None
    attempts: int
    error: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"notified {self.url} (HTTP {self.status})"
        if self.attempts == 0:
            return f"did not notify {self.url}: {self.error}"
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return f"could not notify {self.url} after {tries}: {self.error}"


def redact_url(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/xyz` -> `https://hooks.slack.com/…`.

    Keeps scheme, host and port; drops credentials, path and query, which often hold tokens.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    rest = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def check_url(url: str) -> str:
    """Validate a --notify URL before anything is fetched; UsageError (which names only the
    redacted URL) unless it is an absolute http(s) URL with a host, optionally written with the
    `slack+` prefix (Slack's message shape for a Slack-compatible webhook on another host)."""
    try:
        parts = urlsplit(webhook_target(url))
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(
            f"bad --notify URL {redact_url(url)}: expected http:// or https:// (or "
            "slack+https://) and a host"
        )
    return url


def _clean_snippet(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text[:_BODY_SNIPPET]


def _build_opener():
    import urllib.request

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        # Following a redirect would resend a signed body elsewhere, or drop it (POST -> GET).
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    return urllib.request.build_opener(_NoRedirect)


def deliver(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = 10.0,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """POST body to url; never raises.

    Retried (up to `attempts` tries in all, waiting BACKOFF between them, or the server's
    Retry-After when it is at most MAX_RETRY_AFTER s): connection errors, timeouts, 5xx and 429.
    Not retried: 3xx (redirects are not followed), other 4xx, invalid URLs, TLS certificate
    failures. `timeout` applies to connecting and to each read.
    """
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    from zenovay_cli.retry import parse_retry_after

    shown = redact_url(url)
    try:
        check_url(url)
    except UsageError:
        return DeliveryResult(shown, False, None, 0, "not an http(s) URL")
    opener = _build_opener()
    attempts = max(1, attempts)
    status: int | None = None
    error = "not attempted"
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        request = urllib.request.Request(webhook_target(url), data=body, headers=dict(headers),
                                         method="POST")
        try:
            with opener.open(request, timeout=timeout) as response:
                status = response.status
                response.read(65536)
            return DeliveryResult(shown, True, status, attempt)
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                snippet = _clean_snippet(exc.read(_BODY_SNIPPET * 2))
            except Exception:  # noqa: BLE001 - the body is only decoration
                snippet = ""
            finally:
                exc.close()
            error = f"HTTP {exc.code}" + (f": {snippet}" if snippet else "")
            if 300 <= exc.code < 400:
                return DeliveryResult(shown, False, status, attempt,
                                      f"HTTP {exc.code} redirect (not followed); use the final URL")
            if exc.code != 429 and exc.code < 500:
                return DeliveryResult(shown, False, status, attempt, error)
            retry_after = parse_retry_after(exc.headers.get("Retry-After"), time.time())
        except urllib.error.URLError as exc:
            status = None
            reason = exc.reason
            error = f"cannot connect: {reason}"
            if isinstance(reason, ssl.SSLCertVerificationError):
                return DeliveryResult(shown, False, None, attempt, f"TLS error: {reason}")
        except (TimeoutError, http.client.HTTPException, OSError) as exc:
            # Timeouts while reading, a dropped connection, a garbled status line.
            status = None
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except ValueError as exc:  # e.g. a header value urllib refuses
            return DeliveryResult(shown, False, None, attempt, f"invalid request: {exc}")
        if attempt == attempts:
            break
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER:
                return DeliveryResult(shown, False, status, attempt,
                                      f"{error} (asked to retry after {retry_after:.0f} s)")
            wait = retry_after
        else:
            wait = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        sleep(wait)
    return DeliveryResult(shown, False, status, attempts, error)


def send_events(
    events: Sequence[Event],
    urls: Iterable[str],
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    timeout: float = 10.0,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[Event, DeliveryResult]]:
    """Deliver every event to every URL; never raises.

    After a URL fails without a usable answer (unreachable, timeout, 5xx, 429) its remaining
    events are not attempted in this run (reported as failed), so a dead endpoint costs one
    retry cycle, not one per event. Pass the failures to undelivered_fingerprints and
    alert.revert_undelivered so the next run sends them again.
    """
    urls = list(urls)
    dead: dict[str, DeliveryResult] = {}
    results = []
    for event in events:
        for url in urls:
            if url in dead:
                earlier = dead[url]
                results.append((event, DeliveryResult(
                    earlier.url, False, earlier.status, 0,
                    f"skipped: an earlier notification failed ({earlier.error})")))
                continue
            body, headers = build_payload(event, url, secret=secret, timestamp=timestamp)
            result = deliver(url, body, headers, timeout=timeout, attempts=attempts, sleep=sleep)
            if not result.ok and (result.status is None or result.status == 429
                                  or result.status >= 500):
                dead[url] = result
            results.append((event, result))
    return results


def undelivered_fingerprints(results: Iterable[tuple[Event, DeliveryResult]]) -> list[str]:
    """Fingerprints of the events that did not reach every URL (order kept, no duplicates)."""
    failed: dict[str, None] = {}
    for event, result in results:
        if not result.ok:
            failed.setdefault(event.fingerprint, None)
    return list(failed)
