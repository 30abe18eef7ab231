"""One Redis connection for a run: URL parsing, the optional `redis` package, and fault handling.

Opt-in: nothing here is imported unless a Redis URL is configured (`redis_url` in the profile,
`ZENOVAY_REDIS_URL` or `--redis URL`), so runs without Redis pay nothing and need no extra.

Fault rule (the same for the cache, the budget, alert state and the export lock): Redis down,
refusing, timing out or answering garbage gives ONE warning for the run, after which the link is
"down" and every caller falls back to its local (per-host) equivalent; the run's exit code is what
it would have been without Redis. Redis coming back while a run is going on is not looked for:
the next run uses it again. A wrong password is the one fault that is not absorbed: it is a
configuration error of the user's (exit 4, with a hint), never a silent fallback.

The password in a URL is a secret: `RedisConfig.display` masks it, and nothing here prints the
raw URL (not in warnings, errors or `--debug`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from zenovay_cli.errors import AuthError, UsageError

DEFAULT_PREFIX = "zenovay:"
# Connect and command timeouts: a Redis that does not answer within this costs at most this much
# once per run (the link is then down), so it can never hang a cron job.
DEFAULT_TIMEOUT = 0.5
SCHEMES = ("redis", "rediss", "unix")
EXTRA_HINT = "Install the Redis extra: pip install 'zenovay-cli[redis]'"


class _Down(Exception):
    """Raised inside `RedisLink.call` when Redis cannot be used; callers never see it."""


@dataclass(frozen=True)
class RedisConfig:
    url: str
    prefix: str = DEFAULT_PREFIX
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def parse(cls, url: str, prefix: str | None = None, source: str = "redis_url",
              prefix_source: str = "redis_prefix") -> RedisConfig:
        """Check a Redis URL (exit 2 naming `source` when it is not one) without connecting."""
        text = (url or "").strip()
        try:
            parts = urlsplit(text)
        except ValueError:
            raise UsageError(f"{source}: not a Redis URL") from None
        if parts.scheme not in SCHEMES:
            raise UsageError(
                f"{source}: a Redis URL starts with redis://, rediss:// (TLS) or unix://",
                hint="For example redis://localhost:6379/0 or unix:///run/redis/redis.sock",
            )
        if parts.scheme == "unix":
            if not parts.path:
                raise UsageError(f"{source}: a unix:// Redis URL needs a socket path")
        else:
            if not parts.hostname:
                raise UsageError(f"{source}: a Redis URL needs a host (redis://HOST:PORT/DB)")
            try:
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                raise UsageError(f"{source}: the port in the Redis URL is not a number from 0 to 65535") from None
        pre = DEFAULT_PREFIX if prefix is None else prefix
        if not pre or any(c.isspace() for c in pre) or len(pre) > 64:
            raise UsageError(f"{prefix_source}: use 1 to 64 characters without spaces (default zenovay:)")
        return cls(text, pre)

    @property
    def display(self) -> str:
        """The URL with any password replaced by ***: safe to print."""
        return mask_url(self.url)


def mask_url(url: str) -> str:
    """`url` with the password masked wherever redis-py would read one (the user:password part,
    a user-only credential, a `?password=` query parameter); unparseable → a placeholder."""
    try:
        parts = urlsplit(url)
        query = _mask_query(parts.query)
        if parts.password is None and not parts.username:
            if query == parts.query:
                return url
            # Rebuilt by hand: urlunsplit would turn unix:///path into unix:/path.
            head, _, rest = url.partition("?")
            fragment = rest.partition("#")[2]
            return f"{head}?{query}" + (f"#{fragment}" if fragment else "")
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        cred = f"{quote(unquote(user), safe='')}:***" if parts.password is not None else "***"
        return urlunsplit((parts.scheme, f"{cred}@{host}", parts.path, query, parts.fragment))
    except ValueError:
        return "(a Redis URL that cannot be parsed)"


def _mask_query(query: str) -> str:
    """`password=…` (any case, even percent-encoded) in a URL query becomes `password=***`."""
    fields = []
    for field in query.split("&") if query else []:
        name, eq, _ = field.partition("=")
        secret = unquote(name.replace("+", " ")).strip().lower() == "password"
        fields.append(f"{name}=***" if secret and eq else field)
    return "&".join(fields)


def hashed(text: str) -> str:
    """What to put in a Redis key for text that came from outside (never used raw)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RedisLink:
    """A lazily opened Redis client with the one-warning fallback rule.

    `call(fn, fallback)` runs `fn(client)`; on any Redis fault it warns once, marks the link down
    and returns `fallback` (calling it when callable). After that every call returns its fallback
    at once, without touching the network again.
    """

    def __init__(
        self,
        config: RedisConfig,
        on_warning: Callable[[str], None] | None = None,
        client: Any = None,
    ) -> None:
        self.config = config
        self.prefix = config.prefix
        self.on_warning = on_warning
        self._client = client
        self._down = False
        self._warned = False
        self._lock = threading.Lock()
        self.down_reason: str | None = None

    @property
    def down(self) -> bool:
        return self._down

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _open(self) -> Any:
        if self._client is None:
            try:
                import redis
            except ImportError:
                raise UsageError(
                    f"a Redis URL is configured ({self.config.display}) but the redis package is not installed",
                    hint=EXTRA_HINT,
                ) from None
            self._client = redis.Redis.from_url(
                self.config.url,
                socket_connect_timeout=self.config.timeout,
                socket_timeout=self.config.timeout,
                retry_on_timeout=False,
                health_check_interval=0,
                decode_responses=False,
            )
        return self._client

    def mark_down(self, reason: str) -> None:
        with self._lock:
            self._down = True
            self.down_reason = reason
            first = not self._warned
            self._warned = True
        if first and self.on_warning is not None:
            self.on_warning(
                f"Redis at {self.config.display} is not usable ({reason}); "
                "using this host's own cache and rate budget for this run"
            )

    def call(self, fn: Callable[[Any], Any], fallback: Any = None) -> Any:
        if self._down:
            return fallback() if callable(fallback) else fallback
        client = self._open()  # UsageError (extra missing) propagates: exit 2
        try:
            return fn(client)
        except AuthError:
            raise
        except Exception as exc:  # noqa: BLE001 - every Redis fault falls back, see the module doc
            self._classify(exc)
            self.mark_down(_describe(exc))
            return fallback() if callable(fallback) else fallback

    def _classify(self, exc: BaseException) -> None:
        """Raise AuthError for a wrong or missing password: that is not a fault to absorb."""
        name = type(exc).__name__
        text = str(exc)
        if name in ("AuthenticationError", "AuthenticationWrongNumberOfArgsError") or (
            "NOAUTH" in text or "WRONGPASS" in text or "invalid password" in text.lower()
        ):
            raise AuthError(
                f"Redis at {self.config.display} refused the password",
                hint="Check the password in redis_url / ZENOVAY_REDIS_URL (redis://:PASSWORD@HOST:PORT/0).",
            ) from None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("TimeoutError", "timeout"):
        return "timed out"
    if name == "ConnectionError":
        return "cannot connect"
    if name == "ResponseError":
        return "an unexpected answer"
    return name
