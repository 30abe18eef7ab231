"""Webhook notifications: the wire formats (Slack's shape, the generic JSON body, the HMAC
signature) and delivery, one POST per event and URL, with timeouts and brief retries.

It knows nothing about alerts: an event is anything with `fingerprint`, `text` and `to_dict()`
(`zenovay_cli.alert.Event` is one). Whether a failed POST is retried, and after how long, is
decided by `zenovay_cli.retry.decide`, the policy API requests use too.

Uses urllib.request rather than requests: a webhook POST needs nothing requests adds, the
alert path then never pays requests' ~90 ms import, and a hand-written loop gives exact
control over what is sent (and over redirects, which urllib would otherwise follow by
turning the POST into a body-less GET). TLS certificates are verified against the system
trust store (urllib's default), proxies come from the usual *_proxy environment variables.

Webhook URLs are secrets (a Slack URL is its own credential): results and messages only ever
show `redact_url(url)`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from zenovay_cli.errors import UsageError

# A Retry-After longer than this is not waited for: the delivery fails and the next run retries.
# (Backoff waits come from retry.backoff_delay: 0.5-1 s, 1-2 s, 2-4 s; brief, so cron never hangs.)
MAX_RETRY_AFTER = 10.0
_BODY_SNIPPET = 200


class Notification(Protocol):
    """What can be sent: `zenovay_cli.alert.Event` is one."""

    @property
    def fingerprint(self) -> str: ...

    @property
    def text(self) -> str: ...

    def to_dict(self) -> Mapping[str, Any]: ...


# ---------------------------------------------------------------------------------------------
# Wire formats
# ---------------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Zenovay-Signature"
TIMESTAMP_HEADER = "X-Zenovay-Timestamp"
# `slack+https://chat.example.com/hooks/…`: Slack's shape for a Slack-compatible webhook on
# another host (Mattermost, Rocket.Chat, a relay). The prefix is removed before posting.
SLACK_PREFIX = "slack+"


def webhook_target(url: str) -> str:
    """The URL to POST to: `url` without a `slack+` prefix."""
    if url[:len(SLACK_PREFIX)].lower() == SLACK_PREFIX:
        return url[len(SLACK_PREFIX):]
    return url


def is_slack_webhook(url: str) -> bool:
    """True for Slack incoming-webhook URLs (https://hooks.slack.com/services/…) and for any
    URL written with the `slack+` prefix (`slack+https://…`)."""
    if webhook_target(url) != url:
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and (parts.hostname or "") in ("hooks.slack.com", "hooks.slack-gov.com")
        and parts.path.startswith("/services/")
    )


def _slack_escape(text: str) -> str:
    # Slack treats <, > and & as markup (links, mentions); its docs ask for these three escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Signature header value: `sha256=` + hex HMAC-SHA256(secret, f"{timestamp}." + body).

    The receiver recomputes it from the raw body and the X-Zenovay-Timestamp header, compares
    with hmac.compare_digest, and rejects old timestamps (e.g. > 5 minutes) to stop replays.
    """
    if not secret:
        raise UsageError("the notification secret must not be empty")
    mac = hmac.new(secret.encode("utf-8"), str(int(timestamp)).encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def build_payload(
    event: Notification, url: str, *, secret: str | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The POST body and headers for one event and one URL.

    Slack incoming webhooks get `{"text": …}`; any other URL gets event.to_dict() as JSON.
    With a secret, adds `X-Zenovay-Timestamp: <unix seconds>` (timestamp, default now) and
    `X-Zenovay-Signature: sha256=<hex>` (see sign).
    """
    from zenovay_cli._version import __version__

    if is_slack_webhook(url):
        document: dict[str, Any] = {"text": _slack_escape(event.text)}
    else:
        document = dict(event.to_dict())
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"zenovay-cli/{__version__}",
    }
    if secret is not None:
        if timestamp is None:
            import time

            timestamp = int(time.time())
        headers[TIMESTAMP_HEADER] = str(int(timestamp))
        headers[SIGNATURE_HEADER] = sign(body, secret, timestamp)
    return body, headers


# ---------------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------------


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
    rand: Callable[[], float] = random.random,
) -> DeliveryResult:
    """POST body to url; never raises.

    Whether a failure is retried, and after how long, is `retry.decide`'s answer (up to
    `attempts` tries in all; backoff with jitter, or the server's Retry-After when it is at most
    MAX_RETRY_AFTER s): connection errors, timeouts, 500/502/503/504 and 429 are retried. Not
    retried: 3xx (redirects are not followed), other 4xx and 5xx, invalid URLs, TLS certificate
    failures. `timeout` applies to connecting and to each read.
    """
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    from zenovay_cli.retry import decide, parse_retry_after

    shown = redact_url(url)
    try:
        check_url(url)
    except UsageError:
        return DeliveryResult(shown, False, None, 0, "not an http(s) URL")
    opener = _build_opener()
    attempts = max(1, attempts)
    attempt = 0
    while True:
        attempt += 1
        status: int | None = None
        retry_after: float | None = None
        network_error: str | None = None
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
            retry_after = parse_retry_after(exc.headers.get("Retry-After"), time.time())
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                return DeliveryResult(shown, False, None, attempt, f"TLS error: {reason}")
            error = network_error = f"cannot connect: {reason}"
        except (TimeoutError, http.client.HTTPException, OSError) as exc:
            # Timeouts while reading, a dropped connection, a garbled status line.
            error = network_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except ValueError as exc:  # e.g. a header value urllib refuses
            return DeliveryResult(shown, False, None, attempt, f"invalid request: {exc}")
        decision = decide(attempt, attempts - 1, max_wait=MAX_RETRY_AFTER, rand=rand,
                          status=status, retry_after=retry_after, network_error=network_error)
        if decision.too_long:
            return DeliveryResult(shown, False, status, attempt,
                                  f"{error} (asked to retry after {decision.delay:.0f} s)")
        if not decision.retry:
            return DeliveryResult(shown, False, status, attempt, error)
        sleep(decision.delay)


def send_events(
    events: Sequence[Notification],
    urls: Iterable[str],
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    timeout: float = 10.0,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> list[tuple[Notification, DeliveryResult]]:
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
            result = deliver(url, body, headers, timeout=timeout, attempts=attempts, sleep=sleep,
                             rand=rand)
            if not result.ok and (result.status is None or result.status == 429
                                  or result.status >= 500):
                dead[url] = result
            results.append((event, result))
    return results


def undelivered_fingerprints(results: Iterable[tuple[Notification, DeliveryResult]]) -> list[str]:
    """Fingerprints of the events that did not reach every URL (order kept, no duplicates)."""
    failed: dict[str, None] = {}
    for event, result in results:
        if not result.ok:
            failed.setdefault(event.fingerprint, None)
    return list(failed)
