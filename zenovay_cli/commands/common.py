"""Shared option declarations, the per-invocation state, and the one way to get a client."""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
import functools
import inspect
import os
import re
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer

from zenovay_cli.errors import NotFoundError, UsageError


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    tsv = "tsv"


class Range(str, Enum):
    h24 = "24h"
    d7 = "7d"
    d30 = "30d"
    d90 = "90d"
    y1 = "1y"


class ErrorStatus(str, Enum):
    unresolved = "unresolved"
    resolved = "resolved"
    ignored = "ignored"


# --- shared argument / option aliases (the same flag means the same thing everywhere) -----------

WebsiteArg = Annotated[
    str | None,
    typer.Argument(
        help="Website id or domain (default: the profile's website).",
        show_default=False,
        autocompletion=lambda incomplete: complete_website(incomplete),
    ),
]
RangeOpt = Annotated[
    Range, typer.Option("--range", "-r", help="Time range.", case_sensitive=False)
]
# Ten websites at a time, for every command that fans out (analytics --all, export, alert --all).
# The shared RateBudget, not this number, keeps a run under the per-minute limit, so this only
# matters when the API is fast to allow: then ten in flight (what a browser opens to one host, and
# what one requests connection pool holds) make a 40-website run over a 100 ms link >= 6x faster
# than one request after another, where eight measured 5.4x for analytics --all.
DEFAULT_CONCURRENCY = 10

LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Maximum number of rows.")
]


def complete_website(incomplete: str) -> list:
    """Website ids and domains from the cache only: never a network call on TAB."""
    try:
        from zenovay_cli.completion_data import cached_websites

        return [
            (value, help_) for value, help_ in cached_websites() if value.startswith(incomplete)
        ]
    except Exception:
        return []


REQUEST_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "profile",
        Annotated[
            str | None,
            typer.Option("--profile", "-p", help="Config profile to use [env: ZENOVAY_PROFILE; default: default].", rich_help_panel="Connection options", show_default=False),
        ],
        None,
    ),
    (
        "api_key",
        Annotated[
            str | None,
            typer.Option("--api-key", help="API key (prefer ZENOVAY_API_KEY or `auth login`: options show up in `ps`).", rich_help_panel="Connection options", show_default=False),
        ],
        None,
    ),
    (
        "base_url",
        Annotated[
            str | None,
            typer.Option("--base-url", help="API base URL [env: ZENOVAY_BASE_URL].", rich_help_panel="Connection options", show_default=False),
        ],
        None,
    ),
    (
        "timeout",
        Annotated[
            float | None,
            typer.Option("--timeout", min=0.001, help="Seconds to wait for each answer [env: ZENOVAY_TIMEOUT; default: 30].", rich_help_panel="Request options", show_default=False),
        ],
        None,
    ),
    (
        "retries",
        Annotated[
            int | None,
            typer.Option("--retries", min=0, max=20, help="Retries after a failed attempt [env: ZENOVAY_RETRIES; default: 3].", rich_help_panel="Request options", show_default=False),
        ],
        None,
    ),
    (
        "max_wait",
        Annotated[
            float | None,
            typer.Option("--max-wait", min=0, help="Longest wait (s) to sleep before a retry; longer fails at once [env: ZENOVAY_MAX_WAIT; default: 60].", rich_help_panel="Request options", show_default=False),
        ],
        None,
    ),
    (
        "no_cache",
        Annotated[
            bool,
            typer.Option("--no-cache", help="Neither read nor write the cache [env: ZENOVAY_NO_CACHE].", rich_help_panel="Request options"),
        ],
        False,
    ),
    (
        "refresh",
        Annotated[
            bool,
            typer.Option("--refresh", help="Re-fetch and store, ignoring cached answers [env: ZENOVAY_REFRESH].", rich_help_panel="Request options"),
        ],
        False,
    ),
    (
        "stale_ok",
        Annotated[
            bool,
            typer.Option("--stale-ok", help="If the API still fails after retries, serve an expired cache entry [env: ZENOVAY_STALE_OK].", rich_help_panel="Request options"),
        ],
        False,
    ),
    (
        "debug",
        Annotated[
            bool,
            typer.Option("--debug", help="Show tracebacks and request details on stderr [env: ZENOVAY_DEBUG].", rich_help_panel="Request options"),
        ],
        False,
    ),
]

OUTPUT_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "json_",
        Annotated[bool, typer.Option("--json", help="Print the API's data object as JSON (same as --format json).")],
        False,
    ),
    (
        "fmt",
        Annotated[
            Format | None,
            typer.Option("--format", "-f", help="Output format [default: table].", case_sensitive=False, show_default=False),
        ],
        None,
    ),
]


def _extend_signature(func: Callable, extra: list, consume: Callable[[dict], None]) -> Callable:
    """Add shared options to a command's signature; their values go to `consume`, not the command."""
    sig = inspect.signature(func)
    names = [name for name, _, _ in extra]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        consume({name: kwargs.pop(name, None) for name in names})
        return func(*args, **kwargs)

    params = list(sig.parameters.values()) + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in extra
    ]
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **getattr(func, "__annotations__", {}),
        **{name: annotation for name, annotation, _ in extra},
    }
    del wrapper.__wrapped__  # Typer must read our signature, not the original one
    return wrapper


def request_options(func: Callable) -> Callable:
    """--profile --api-key --base-url and --timeout --retries --max-wait --no-cache --refresh
    --stale-ok --debug on a command."""
    return _extend_signature(func, REQUEST_OPTIONS, lambda values: state().set_request_options(values))


def output_options(func: Callable) -> Callable:
    """--json and --format on a data command."""

    def consume(values: dict) -> None:
        st = state()
        if values.get("json_") and values.get("fmt") not in (None, Format.json):
            raise UsageError("--json and --format disagree; give one of them")
        if values.get("json_"):
            st.fmt = "json"
        elif values.get("fmt") is not None:
            st.fmt = values["fmt"].value
        else:
            st.fmt = "table"

    return _extend_signature(func, OUTPUT_OPTIONS, consume)


def data_command(func: Callable) -> Callable:
    """A command that queries the API and prints data: request and output options."""
    return output_options(request_options(func))


# --- per-invocation state (a lazy factory: nothing is built until a command asks for it) --------


class State:
    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self.request: dict[str, Any] = {}
        self.fmt = "table"
        self._settings = None
        self._out = None
        self._client = None
        self._cache = None
        self._sandbox = None
        self.env = os.environ

    def set_request_options(self, values: dict) -> None:
        # `is`, not `in`: 0 == False, and `--retries 0` / `--max-wait 0` are real choices.
        self.request.update({k: v for k, v in values.items() if v is not None and v is not False})

    @property
    def debug(self) -> bool:
        if self.request.get("debug") or self.globals.get("debug"):
            return True
        return self.env.get("ZENOVAY_DEBUG", "").lower() in ("1", "true", "yes", "on")

    @property
    def out(self):
        if self._out is None:
            from zenovay_cli.output import Output

            self._out = Output(color=False if self.globals.get("no_color") else None)
        return self._out

    @property
    def settings(self):
        if self._settings is None:
            from zenovay_cli import config

            cli = {**self.globals, **self.request}
            path = config.config_path()
            self._settings = config.resolve(cli, self.env, config.load_config(path), path)
        return self._settings

    def start_demo(self) -> None:
        if self._sandbox is None:
            from zenovay_cli.sandbox import SandboxConfig, SandboxServer

            self._sandbox = SandboxServer(SandboxConfig(websites=5, rate_limit=600)).start()
            self.globals["api_key"] = self._sandbox.api_key
            self.globals["base_url"] = self._sandbox.base_url

    def cache_store(self):
        """The one cache store of this invocation (so each cache problem warns once), or None."""
        s = self.settings
        if self.globals.get("demo") or s.no_cache:
            return None
        if self._cache is None:
            from zenovay_cli.cache import CacheStore
            from zenovay_cli.config import cache_dir

            self._cache = CacheStore(cache_dir(), on_warning=self.out.warn)
        return self._cache

    def client(self, budget=None):
        """The API client for this invocation, built from the resolved settings."""
        if self._client is None or budget is not None:
            from zenovay_cli.client import ZenovayClient

            s = self.settings
            out = self.out

            def on_wait(delay: float, reason: str, attempt: int, attempts: int) -> None:
                out.status(f"{reason}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})")

            client = ZenovayClient(
                s.api_key,
                s.base_url,
                timeout=s.timeout,
                retries=s.retries,
                max_wait=s.max_wait,
                on_wait=on_wait,
                cache=self.cache_store(),
                cache_mode="refresh" if s.refresh else "use",
                ttl_overrides=s.cache_ttl,
                stale_ok=s.stale_ok,
                on_cache_warning=lambda message: out.warn(redact(message)),  # quotes the API
                budget=budget,
            )
            if budget is not None:
                return client
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._sandbox is not None:
            self._sandbox.stop()


_STATE: State | None = None


def state() -> State:
    global _STATE
    if _STATE is None:
        _STATE = State()
    return _STATE


def reset_state() -> State:
    global _STATE
    if _STATE is not None:
        _STATE.close()
    _STATE = State()
    return _STATE


# --- websites ----------------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def normalise_domain(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    return value.split("/", 1)[0].rstrip(".")


def website_list(data: Any) -> list:
    """The items of a /websites answer, tolerating odd shapes."""
    if isinstance(data, dict):
        items = data.get("websites")
    else:
        items = data
    return [w for w in items if isinstance(w, dict)] if isinstance(items, list) else []


def find_website(sites: list, name: str) -> dict | None:
    """The website whose id is `name`, or whose domain is `name` (scheme, path, case and a
    leading www. ignored); None when there is none."""
    name = name.strip()
    for w in sites:
        if str(w.get("id", "")) == name:
            return w
    wanted = normalise_domain(name)
    for w in sites:
        domain = w.get("domain")
        if isinstance(domain, str) and normalise_domain(domain) in (wanted, "www." + wanted):
            return w
    return None


def not_found(name: str, sites: list) -> NotFoundError:
    return NotFoundError(f"no website {name!r} among the {len(sites)} your key can see")


def resolve_website(value: str | None) -> str:
    """A website id from an id or a domain (or the profile's default website)."""
    st = state()
    if value is None or not value.strip():
        value = st.settings.website
        if not value:
            raise UsageError(
                "no website given",
                hint="Pass a website id or domain, or set one: `zenovay config set website DOMAIN`.",
            )
    value = value.strip()
    if _UUID_RE.match(value):
        return value
    websites = website_list(st.client().list_websites())
    match = find_website(websites, value)
    website_id = match.get("id") if match is not None else None
    if not isinstance(website_id, str) or not website_id:
        raise not_found(value, websites)
    return website_id


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def redact(text: str) -> str:
    """`text` with every API key this invocation knows replaced by its masked form.

    Error messages quote the API's own words, and an API (or a proxy) may echo the key back.
    """
    if not isinstance(text, str) or not text:
        return text
    st = _STATE
    keys = set()
    if st is not None:
        keys.update((st.globals.get("api_key"), st.request.get("api_key"), st.env.get("ZENOVAY_API_KEY")))
        keys.add(getattr(st._settings, "api_key", None))
    keys = {k for k in keys if isinstance(k, str) and len(k) >= 8}
    if not keys:
        return text
    from zenovay_cli.config import mask_key

    for key in sorted(keys, key=len, reverse=True):
        text = text.replace(key, mask_key(key))
    return text
