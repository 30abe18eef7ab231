"""`zenovay api PATH`: turning the command line into one request (pure; no I/O but --input).

PATH is relative to the API base (`/anomalies/ID`, `anomalies/ID?range=30d`). A full URL is
accepted only when it points under the API base on the API's own origin (scheme, host and port):
the key is never sent anywhere else, and the client refuses redirects that leave the origin.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from zenovay_cli.errors import UsageError

METHODS = ("GET", "POST")
_FIELD = re.compile(r"^(?P<key>[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*)=(?P<value>.*)$", re.S)
MAX_INPUT = 1 << 20  # the API takes request bodies up to 1 MiB


@dataclass
class RawRequest:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(),
            parts.port or (443 if parts.scheme == "https" else 80))


def api_path(target: str, base_url: str) -> tuple[str, dict[str, str]]:
    """(path relative to the base, query parameters) of PATH as the user wrote it."""
    if not isinstance(target, str) or not target.strip():
        raise UsageError("PATH is empty", hint="Give a path such as /usage or /anomalies/ID.")
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or target.startswith("//"):
        base = urlsplit(base_url)
        if not parts.hostname or _origin(target) != _origin(base_url):
            where = parts.hostname or target
            raise UsageError(
                f"refusing to send the API key to {where}: not the API's origin "
                f"({base.scheme}://{base.netloc})",
                hint="Give a path relative to the API base, e.g. /anomalies/ID.",
            )
        prefix = base.path.rstrip("/")
        if parts.path != prefix and not parts.path.startswith(prefix + "/"):
            raise UsageError(f"{target} is not under the API base {base_url}",
                             hint="Give a path relative to the API base, e.g. /usage.")
        path = parts.path[len(prefix):]
    else:
        path = parts.path
    if parts.fragment:
        raise UsageError("PATH must not have a #fragment")
    path = "/" + path.lstrip("/")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise UsageError(f"PATH {path!r} has . or .. segments")
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))


def parse_fields(fields: list[str]) -> list[tuple[str, str]]:
    """`-f key=value` pairs (exit 2 naming the bad one)."""
    pairs = []
    for item in fields:
        match = _FIELD.match(item)
        if match is None:
            raise UsageError(f"bad field {item!r}: expected key=value",
                             hint="e.g. -f range=30d, or -f context.time_range=7d for a POST body.")
        pairs.append((match.group("key"), match.group("value")))
    return pairs


def body_from_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A JSON object from fields; dotted keys nest (`context.time_range=7d`)."""
    body: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node = body
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"field {key!r} conflicts with field {part!r}")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise UsageError(f"field {key!r} conflicts with a nested field")
        node[parts[-1]] = value
    return body


def read_input(stream: BinaryIO, name: str) -> Any:
    """The JSON request body from --input (a file or stdin)."""
    raw = stream.read(MAX_INPUT + 1)
    if len(raw) > MAX_INPUT:
        raise UsageError(f"--input {name} is larger than 1 MiB")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--input {name} is not JSON: {exc}") from None


def parse_ttl(value: str | None) -> float | None:
    """--cache TTL: seconds, or a duration such as 90s, 5m, 2h, 1d."""
    if value is None:
        return None
    text = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        seconds = float(number) * unit
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"bad --cache value {value!r}", hint="Use seconds or e.g. 5m, 2h, 1d.")
    return seconds


def build(method: str | None, target: str, base_url: str, fields: list[str],
          body: Any = None, has_input: bool = False) -> RawRequest:
    """The request PATH, -X, -f and --input describe. Fields are query parameters on a GET
    and the JSON body on a POST; --input gives the whole body (and makes POST the default)."""
    verb = (method or ("POST" if has_input else "GET")).upper()
    if verb not in METHODS:
        raise UsageError(f"method {method!r} is not supported",
                         hint="The API is read-only apart from POST /query: use GET or POST.")
    path, params = api_path(target, base_url)
    pairs = parse_fields(fields)
    if verb == "GET":
        if has_input:
            raise UsageError("--input sends a body: use it with -X POST")
        params.update(pairs)
        return RawRequest("GET", path, params)
    if has_input and pairs:
        raise UsageError("give the POST body either with --input or with -f fields, not both")
    return RawRequest("POST", path, params, body if has_input else body_from_fields(pairs))
