"""api PATH: the raw API under the same key, retries, rate budget, cache and output formats."""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands._options import request_command
from zenovay_cli.context import Context

EPILOG = (
    "Examples: zenovay api /anomalies/WEBSITE_ID -f severity=critical  ·  "
    "zenovay api /replays/WEBSITE_ID/sessions --paginate --format ndjson  ·  "
    "zenovay api -X POST /query/WEBSITE_ID -f question='Top pages this week?' -f context.time_range=7d"
)


class Method(str, Enum):
    GET = "GET"
    POST = "POST"


class ApiFormat(str, Enum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    tsv = "tsv"
    table = "table"


def register(app: typer.Typer) -> None:
    app.command("api", epilog=EPILOG)(api)


@request_command  # its output options are its own (raw JSON, --format of the answer's records)
def api(
    ctx: Context,
    path: Annotated[str, typer.Argument(help="Path under the API base, e.g. /anomalies/ID (a full URL only on the API's own origin).", show_default=False)],
    method: Annotated[Method | None, typer.Option("--method", "-X", help="GET, or POST (for /query) [default: GET; POST with --input].", case_sensitive=False, show_default=False)] = None,
    field: Annotated[list[str] | None, typer.Option("--field", "-f", help="key=value: a query parameter on GET, a body field on POST (dotted keys nest: context.time_range=7d). Repeatable.", show_default=False)] = None,
    input_: Annotated[str | None, typer.Option("--input", help="JSON request body from FILE, or - for stdin (POST).", show_default=False)] = None,
    paginate: Annotated[bool, typer.Option("--paginate", help="Follow pagination.has_more with offset; pages stream as they arrive.")] = False,
    cache: Annotated[str | None, typer.Option("--cache", help="Cache a GET answer this long (seconds, or 5m, 2h, 1d) instead of the endpoint's TTL; a POST is never cached.", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="JSON output (the default).")] = False,
    fmt: Annotated[ApiFormat | None, typer.Option("--format", help="Output format [default: json].", case_sensitive=False, show_default=False)] = None,
) -> None:
    """Call any API endpoint with your key: for endpoints without a command, and POST /query."""
    from zenovay_cli import rawapi
    from zenovay_cli.errors import NotFoundError, UsageError

    if json_ and fmt not in (None, ApiFormat.json):
        raise UsageError("--json and --format disagree; give one of them")
    ctx.fmt = fmt.value if fmt is not None else "json"
    body = None
    if input_ is not None:
        body = _read_input(input_)
    ttl = rawapi.parse_ttl(cache)
    client = ctx.client()  # sends nothing yet: every check below comes before any request
    request = rawapi.build(method.value if method else None, path, client.base_url,
                           field or [], body, has_input=input_ is not None)
    if request.method != "GET" and (ttl is not None or paginate):
        what = "--cache" if ttl is not None else "--paginate"
        raise UsageError(f"{what} applies to GET requests only", hint="A POST is never cached or paged.")
    try:
        if request.method == "POST":
            data = client.request(request.path, request.params, method="POST", body=request.body)
            ctx.out.emit("api", data, ctx.fmt)
            return
        if paginate:
            params = dict(request.params)
            offset = _int_param(params.pop("offset", "0"), "offset")
            size = _int_param(params.pop("limit", "100"), "limit")
            pages = client.iter_pages(request.path, params, None, size, offset, ttl_override=ttl)
            ctx.out.stream("api_page", pages, ctx.fmt)
            return
        ctx.out.emit("api", client.request(request.path, request.params, ttl_override=ttl), ctx.fmt)
    except NotFoundError as exc:
        if exc.hint == NotFoundError.default_hint:  # "list the websites" fits a website, not a PATH
            exc.hint = ("Check PATH: it is relative to the API base (e.g. /anomalies/WEBSITE_ID, see "
                        "docs/api.md), and a website id in it must be one your key can see "
                        "(`zenovay websites`).")
        raise


def _int_param(value: str, name: str) -> int:
    from zenovay_cli.errors import UsageError

    if not value.isdigit():
        raise UsageError(f"-f {name}={value!r}: with --paginate, {name} must be a whole number")
    return int(value)


def _read_input(name: str):
    import sys

    from zenovay_cli import rawapi
    from zenovay_cli.errors import UsageError

    if name == "-":
        return rawapi.read_input(sys.stdin.buffer, "-")
    try:
        with open(name, "rb") as stream:
            return rawapi.read_input(stream, name)
    except OSError as exc:
        raise UsageError(f"cannot read --input {name}: {exc.strerror or exc}") from None
