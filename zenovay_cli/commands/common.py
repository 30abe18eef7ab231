"""Arguments and option types the commands share (the shared option groups: _options.py)."""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
import sys
from enum import Enum
from typing import Annotated

import typer


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
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", metavar="N", min=1, max=100, help="Maximum number of rows (API maximum 100).")
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


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
