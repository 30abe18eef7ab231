"""The per-run context: everything one `zenovay` invocation needs, built once and handed to commands.

`main.run(argv, context=None)` makes one (or takes the one a test hands it, like HTTPie's `env=`);
the root callback fills in the parsed root options and each command's shared options fill in theirs
(see commands/_options.py). Settings, the output sink, the cache and clients are built lazily, the
first time a command asks, so `--help` and a cache hit stay cheap. Sleep, clock and random are
injectable: a test gives a command its world instead of patching the client's defaults.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from zenovay_cli.cache import CacheStore
    from zenovay_cli.client import ZenovayClient
    from zenovay_cli.config import Settings
    from zenovay_cli.output import Output
    from zenovay_cli.ratelimit import BudgetStore, RateBudget


def _random() -> float:
    import random  # only when a retry needs jitter

    return random.random()


@dataclass
class ConnectionOptions:
    """Where to connect and how loudly: the root options, or the same flags given after a command."""

    profile: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    debug: bool = False


@dataclass
class RequestOptions:
    """How requests are sent: only commands that send requests offer these flags."""

    timeout: float | None = None
    retries: int | None = None
    max_wait: float | None = None
    no_cache: bool = False
    refresh: bool = False
    stale_ok: bool = False
    redis_url: str | None = None


def _given(options: Any) -> dict[str, Any]:
    # `is`, not `in`: 0 == False, and `--retries 0` / `--max-wait 0` are real choices.
    values = {f.name: getattr(options, f.name) for f in fields(options)}
    return {k: v for k, v in values.items() if v is not None and v is not False}


class _LazyBudget:
    """A RateBudget made by `make()` when first used (the client uses it only to send); made once
    even when several threads send their first request at the same moment."""

    def __init__(self, make: Callable[[], Any]) -> None:
        import threading

        self._make = make
        self._budget: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._budget is None:
            with self._lock:
                if self._budget is None:
                    self._budget = self._make()
        return getattr(self._budget, name)


class Context:
    """One run's world. Commands read options and ask for settings, output, cache and clients here."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        output: Output | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = _random,
        session_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.sleep, self.clock, self.monotonic, self.rand = sleep, clock, monotonic, rand
        self.session_factory = session_factory  # e.g. a test's requests.Session stand-in
        # Parsed options (typed): the root's, and those given after the command.
        self.root = ConnectionOptions()
        self.demo = False
        self.color: bool | None = None  # --color always/never; None: auto (the terminal, env)
        self.new_profile_ok = False  # a command that creates profiles (auth login) sets it
        self.connection = ConnectionOptions()  # per-command overrides of the root's
        self.request = RequestOptions()
        self.fmt = "table"
        self._settings: Settings | None = None
        self._out = output
        self._client: ZenovayClient | None = None
        self._clients: list[ZenovayClient] = []
        self._cache: CacheStore | None = None
        self._redis: Any = None  # RedisLink, or False once known not to be configured
        self._sandbox: Any = None
        self._ledger_warned = False

    # --- options -------------------------------------------------------------------------------

    def set_root(self, options: ConnectionOptions, *, demo: bool = False, no_color: bool = False,
                 color: bool | None = None) -> None:
        """The root options; `color` is --color always (True) / never (False) / auto (None)."""
        self.root, self.demo = options, demo
        self.color = False if no_color else color
        self._out = None  # drawn with the colour choice just made
        self.forget_settings()
        if demo:
            self.start_demo()

    def set_connection(self, options: ConnectionOptions) -> None:
        self.connection = options
        self.forget_settings()

    def set_request(self, options: RequestOptions) -> None:
        self.request = options
        self.forget_settings()

    def use_api_key(self, key: str) -> None:
        """Resolve settings again with this key (auth login checks a key before storing it)."""
        self.connection.api_key = key
        self.forget_settings()

    def forget_settings(self) -> None:
        self._settings = None

    @property
    def cli_values(self) -> dict[str, Any]:
        """The options given on the command line, by setting name (what config.resolve reads)."""
        return {**_given(self.root), **_given(self.connection), **_given(self.request)}

    @property
    def debug(self) -> bool:
        if self.root.debug or self.connection.debug:
            return True
        return self.env.get("ZENOVAY_DEBUG", "").lower() in ("1", "true", "yes", "on")

    # --- lazy dependencies ----------------------------------------------------------------------

    @property
    def out(self) -> Output:
        if self._out is None:
            from zenovay_cli.output import Output

            self._out = Output(color=self.color)
        return self._out

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from zenovay_cli import config

            path = config.config_path()
            self._settings = config.resolve(self.cli_values, self.env, config.load_config(path), path,
                                            new_profile_ok=self.new_profile_ok)
        return self._settings

    def history_db(self) -> Path:
        """The history store this run reads for --compare (24h, 1y): $ZENOVAY_HISTORY_DB or the
        user data dir's history.db; under --demo the demo's own history-demo.db."""
        from zenovay_cli.history.store import default_path

        return default_path(self.demo)

    def start_demo(self) -> None:
        if self._sandbox is None:
            from zenovay_cli.sandbox import SandboxConfig, SandboxServer

            self._sandbox = SandboxServer(SandboxConfig(websites=5, rate_limit=600)).start()
            self.root.api_key = self._sandbox.api_key
            self.root.base_url = self._sandbox.base_url
            self.forget_settings()

    def redis_link(self) -> Any:
        """The run's RedisLink when a Redis URL is configured (docs/fleets.md), else None.

        Nothing Redis is imported without one; with one but without the `redis` package, the
        first use is a usage error naming the extra.
        """
        if self._redis is None:
            url = self.settings.redis_url
            if not url or self.demo:
                self._redis = False
            else:
                from zenovay_cli.redislink import RedisConfig, RedisLink

                config = RedisConfig.parse(url, self.settings.redis_prefix)
                self._redis = RedisLink(config, on_warning=self.out.warn)
        return self._redis or None

    def cache_backend(self) -> CacheStore:
        """The cache this run's settings point at (Redis, or the folder), whatever --no-cache says:
        what `zenovay cache info|clear|prune` act on."""
        from zenovay_cli.cache import CacheStore
        from zenovay_cli.config import cache_dir

        local = CacheStore(cache_dir(), on_warning=self.out.warn)
        link = self.redis_link()
        if link is None:
            return local
        from zenovay_cli.cache_redis import RedisCacheStore

        return RedisCacheStore(link, local, on_warning=self.out.warn)  # type: ignore[return-value]

    def cache_store(self) -> CacheStore | None:
        """The one cache store of this run (so each cache problem warns once), or None."""
        if self.demo or self.settings.no_cache:
            return None
        if self._cache is None:
            self._cache = self.cache_backend()
        return self._cache

    def client(self) -> ZenovayClient:
        """The run's shared API client, for commands that send their requests one after another."""
        if self._client is None:
            # Single commands go through the budget too: they count in the per-host ledger and
            # honour a 429 pause another run recorded. It is built at the first request sent, so
            # a cache hit imports and opens none of it.
            lazy: Any = _LazyBudget(lambda: self.new_budget(strict_wait=True))
            self._client = self.new_client(budget=lazy)
        return self._client

    def new_client(self, budget: RateBudget | None = None, *, on_wait: Callable | None = None) -> ZenovayClient:
        """A new client (its own HTTP session) from the resolved settings, closed with the run.

        `budget` shares one per-minute allowance between clients (see sites.py); `on_wait`
        replaces the default "retrying in ..." status line.
        """
        from zenovay_cli.client import ZenovayClient

        s = self.settings
        out = self.out

        def announce(delay: float, reason: str, attempt: int, attempts: int) -> None:
            out.status(f"{reason}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})")

        client = ZenovayClient(
            s.api_key,
            s.base_url,
            timeout=s.timeout,
            retries=s.retries,
            max_wait=s.max_wait,
            on_wait=on_wait or announce,
            session=self.session_factory() if self.session_factory else None,
            sleep=self.sleep,
            clock=self.clock,
            rand=self.rand,
            cache=self.cache_store(),
            cache_mode="refresh" if s.refresh else "use",
            ttl_overrides=s.cache_ttl,
            stale_ok=s.stale_ok,
            on_cache_warning=lambda message: out.warn(self.redact(message)),  # quotes the API
            budget=budget,
            on_debug=(lambda line: out.status("debug: " + self.redact(line))) if self.debug else None,
        )
        self._clients.append(client)
        return client

    def new_budget(self, *, announce: bool = True, strict_wait: bool = False) -> RateBudget:
        """A per-minute request budget, paced by this run's clock and sleep: the configured limit
        (rate_limit, ZENOVAY_RATE_LIMIT; a lower learned one wins) and the per-host ledger shared
        with every other `zenovay` process of this key (ledger.py). Nothing is opened until the
        first request is sent. A ledger that cannot be used is warned about once per run."""
        from zenovay_cli.ratelimit import RateBudget

        s = self.settings
        out = self.out
        ledger: BudgetStore | None = None
        clock = self.clock
        if not self.demo and s.api_key:
            from zenovay_cli.ledger import fingerprint, open_ledger

            ledger = open_ledger(None, s.api_key, s.base_url)
            link = self.redis_link()
            if link is not None:  # one budget for every host on this key (docs/fleets.md)
                from zenovay_cli.budget_redis import RedisBudgetStore
                from zenovay_cli.ratelimit import window_seconds

                shared = RedisBudgetStore(link, fingerprint(s.base_url, s.api_key), window_seconds(),
                                          local_clock=self.clock, fallback=ledger)
                ledger, clock = shared, shared.clock  # Redis's TIME: hosts' clocks may disagree

        def warn_once(message: str) -> None:
            if not self._ledger_warned:
                self._ledger_warned = True
                out.warn(message)

        on_wait = (lambda s, why: out.status(f"pacing: waiting {s:.1f} s ({why})")) if announce else None
        return RateBudget(
            s.rate_limit, max_wait=s.max_wait, on_wait=on_wait, clock=clock, sleep=self.sleep,
            ledger=ledger, on_warning=warn_once, strict_wait=strict_wait,
        )

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients = []
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        if self._redis:
            self._redis.close()

    # --- secrets -------------------------------------------------------------------------------

    def redact(self, text: Any) -> Any:
        """`text` with every API key this run knows replaced by its masked form.

        Error messages quote the API's own words, and an API (or a proxy) may echo the key back.
        """
        if not isinstance(text, str) or not text:
            return text
        keys = {self.root.api_key, self.connection.api_key, self.env.get("ZENOVAY_API_KEY")}
        keys.add(getattr(self._settings, "api_key", None) if self._settings is not None else None)
        api_keys = {k for k in keys if isinstance(k, str) and len(k) >= 8}
        secrets = self._redis_passwords()
        if not api_keys and not secrets:
            return text
        from zenovay_cli.config import mask_key

        for key in sorted(api_keys, key=len, reverse=True):
            text = text.replace(key, mask_key(key))
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def _redis_passwords(self) -> set[str]:
        """Passwords inside the Redis URLs this run knows of (option, environment, settings)."""
        urls = {self.request.redis_url, self.env.get("ZENOVAY_REDIS_URL")}
        urls.add(getattr(self._settings, "redis_url", None) if self._settings is not None else None)
        found = set()
        for url in urls:
            if isinstance(url, str) and "@" in url:
                from urllib.parse import unquote, urlsplit

                try:
                    password = urlsplit(url).password
                except ValueError:
                    continue
                if password and len(password) >= 3:
                    found.update({password, unquote(password)})
        return found
