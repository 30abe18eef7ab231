"""The shared options, declared once, and the decorators that give a command exactly those that act.

- connection options (--profile --api-key --base-url --debug): on the root and on every command
  that reads settings; the root and the commands share these declarations, help texts included.
- request options (--timeout --retries --max-wait --no-cache --refresh --stale-ok): only on
  commands that send requests.
- output options (--json --format): only on commands whose data output is formatted.

A decorated command receives the run's `Context` as its `ctx` argument: the decorator takes it from
Click's context object (set by `main.run`) and hides the parameter from Typer.
"""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer

from zenovay_cli.context import ConnectionOptions, Context, RequestOptions
from zenovay_cli.errors import UsageError


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    tsv = "tsv"


# name -> (annotation, default). One declaration each; the root callback uses the same ones.
CONNECTION_OPTIONS: list[tuple[str, Any, Any]] = [
    ("profile", Annotated[str | None, typer.Option(
        "--profile", "-p", show_default=False,
        help="Config profile to use [env: ZENOVAY_PROFILE; default: default].")], None),
    ("api_key", Annotated[str | None, typer.Option(
        "--api-key", show_default=False,
        help="API key (prefer ZENOVAY_API_KEY or `auth login`: options show up in `ps`).")], None),
    ("base_url", Annotated[str | None, typer.Option(
        "--base-url", show_default=False, help="API base URL [env: ZENOVAY_BASE_URL].")], None),
    ("debug", Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks and request details on stderr [env: ZENOVAY_DEBUG].")], False),
]

# The settings that shape each request (sent or answered from the cache). Their bounds are not
# declared here: config.RULES checks an option exactly as ZENOVAY_* and the config file (exit 2
# naming "--timeout option"), and the metavars say what is expected instead of "<float range>".
NETWORK_OPTIONS: list[tuple[str, Any, Any]] = [
    ("timeout", Annotated[float | None, typer.Option(
        "--timeout", metavar="SECONDS", show_default=False,
        help="Seconds to wait for each answer [env: ZENOVAY_TIMEOUT; default: 30].")], None),
    ("retries", Annotated[int | None, typer.Option(
        "--retries", metavar="N", show_default=False,
        help="Retries after a failed attempt [env: ZENOVAY_RETRIES; default: 3].")], None),
    ("max_wait", Annotated[float | None, typer.Option(
        "--max-wait", metavar="SECONDS", show_default=False,
        help="Longest wait (s) to sleep before a retry; longer fails at once [env: ZENOVAY_MAX_WAIT; default: 60].")], None),
]
CACHE_OPTIONS: list[tuple[str, Any, Any]] = [
    ("no_cache", Annotated[bool, typer.Option(
        "--no-cache", help="Neither read nor write the cache [env: ZENOVAY_NO_CACHE].")], False),
    ("refresh", Annotated[bool, typer.Option(
        "--refresh", help="Re-fetch and store, ignoring cached answers [env: ZENOVAY_REFRESH].")], False),
    ("stale_ok", Annotated[bool, typer.Option(
        "--stale-ok", help="If the API still fails after retries, serve an expired cache entry [env: ZENOVAY_STALE_OK].")], False),
]
# Several hosts sharing one key (docs/fleets.md): where the shared cache, budget and state live.
REDIS_OPTIONS: list[tuple[str, Any, Any]] = [
    ("redis_url", Annotated[str | None, typer.Option(
        "--redis", metavar="URL", show_default=False,
        help="Share the cache, rate budget and alert state through this Redis "
             "(redis://, rediss://, unix://) [env: ZENOVAY_REDIS_URL].")], None),
]
REQUEST_OPTIONS = NETWORK_OPTIONS + CACHE_OPTIONS + REDIS_OPTIONS

OUTPUT_OPTIONS: list[tuple[str, Any, Any]] = [
    ("json_", Annotated[bool, typer.Option(
        "--json", help="Print the API's data object as JSON (same as --format json).")], False),
    ("fmt", Annotated[Format | None, typer.Option(
        "--format", "-f", case_sensitive=False, show_default=False,
        help="Output format [default: table].")], None),
]

_CTX_PARAM = "_zenovay_click_context"  # the hidden typer.Context parameter the wrapper asks for


def run_context(click_ctx: Any) -> Context:
    """The run's Context from Click's context (set by main.run as the root's `obj`)."""
    obj = click_ctx.find_root().obj if click_ctx is not None else None
    if not isinstance(obj, Context):  # a command invoked outside main.run (e.g. docgen)
        obj = Context()
        click_ctx.find_root().obj = obj
    return obj


def _connection(values: dict) -> ConnectionOptions:
    return ConnectionOptions(**{k: values[k] for k in ("profile", "api_key", "base_url") if k in values},
                             debug=bool(values.get("debug")))


def _consume_connection(ctx: Context, values: dict) -> None:
    ctx.set_connection(_connection(values))


def _consume_request(ctx: Context, values: dict) -> None:
    current = ctx.request
    ctx.set_request(RequestOptions(
        timeout=values.get("timeout", current.timeout),
        retries=values.get("retries", current.retries),
        max_wait=values.get("max_wait", current.max_wait),
        no_cache=bool(values.get("no_cache", current.no_cache)),
        refresh=bool(values.get("refresh", current.refresh)),
        stale_ok=bool(values.get("stale_ok", current.stale_ok)),
        redis_url=values.get("redis_url", current.redis_url),
    ))


def _consume_output(ctx: Context, values: dict) -> None:
    if values.get("json_") and values.get("fmt") not in (None, Format.json):
        raise UsageError("--json and --format disagree; give one of them")
    if values.get("json_"):
        ctx.fmt = "json"
    elif values.get("fmt") is not None:
        ctx.fmt = values["fmt"].value
    else:
        ctx.fmt = "table"


def command(*groups: str) -> Callable[[Callable], Callable]:
    """Give a command the option groups that act on it ("connection", "network", "cache",
    "output"), and its run Context as the `ctx` argument when it declares one."""
    table = {
        "connection": (CONNECTION_OPTIONS, _consume_connection),
        "network": (NETWORK_OPTIONS, _consume_request),
        "cache": (CACHE_OPTIONS, _consume_request),
        "redis": (REDIS_OPTIONS, _consume_request),
        "output": (OUTPUT_OPTIONS, _consume_output),
    }
    chosen = [table[g] for g in groups]

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        wants_ctx = "ctx" in sig.parameters
        own = [p for name, p in sig.parameters.items() if name != "ctx"]
        extra = [item for options, _ in chosen for item in options]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = run_context(kwargs.pop(_CTX_PARAM))
            for options, consume in chosen:
                consume(ctx, {name: kwargs.pop(name) for name, _, _ in options if name in kwargs})
            if wants_ctx:
                kwargs["ctx"] = ctx
            return func(*args, **kwargs)

        params = own + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, annotation, default in extra
        ] + [inspect.Parameter(_CTX_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        annotations = {k: v for k, v in getattr(func, "__annotations__", {}).items() if k != "ctx"}
        annotations.update({name: annotation for name, annotation, _ in extra})
        annotations[_CTX_PARAM] = typer.Context
        wrapper.__annotations__ = annotations
        del wrapper.__wrapped__  # Typer must read our signature, not the original one
        return wrapper

    return decorate


# The option sets of the kinds of command there are.
data_command = command("connection", "network", "cache", "redis", "output")  # queries that print data
request_command = command("connection", "network", "cache", "redis")  # sends requests, own output
settings_command = command("connection")  # reads settings, sends nothing
plain_command = command()  # only receives the Context


def extend_root(func: Callable) -> Callable:
    """The root callback with the connection options (same declarations as the commands')."""
    sig = inspect.signature(func)
    names = [name for name, _, _ in CONNECTION_OPTIONS]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        connection = _connection({name: kwargs.pop(name) for name in names if name in kwargs})
        return func(*args, connection=connection, **kwargs)

    params = [p for name, p in sig.parameters.items() if name != "connection"]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in CONNECTION_OPTIONS
    ]
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    annotations = {k: v for k, v in getattr(func, "__annotations__", {}).items() if k != "connection"}
    annotations.update({name: annotation for name, annotation, _ in CONNECTION_OPTIONS})
    wrapper.__annotations__ = annotations
    del wrapper.__wrapped__
    return wrapper
