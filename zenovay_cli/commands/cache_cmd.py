"""cache info | clear | prune: the response cache (the folder, or Redis when one is configured)."""

from typing import Annotated

import typer

from zenovay_cli.commands._options import command
from zenovay_cli.context import Context

app = typer.Typer(help="Inspect or empty the response cache (on disk, or on Redis when configured).", no_args_is_help=True)

# The cache commands act on the Redis cache when one is configured (--redis or redis_url).
cache_command = command("connection", "redis")


def _store(ctx: Context):
    return ctx.cache_backend()


@app.command(epilog="Examples: zenovay cache info  ·  zenovay cache info --json | jq .entries")
@cache_command
def info(ctx: Context, json_: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Show where the cache lives, how many entries it holds, its size, and the oldest and newest entry."""
    data = _store(ctx).info()
    if json_:
        # Times stay Unix timestamps here: easy arithmetic for scripts (`now - .newest_stored_at`).
        ctx.out.emit("raw", data, "json")
        return
    ctx.out.emit("cache_info", _human(data), "table")


def _human(data: dict) -> dict:
    import time

    from zenovay_cli.cache import describe_age

    def when(stamp) -> str:
        if not stamp:
            return "-"
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
        return f"{local} ({describe_age(time.time() - stamp)} ago)"

    entries = f"{data['entries']}"
    if data["expired"]:
        entries += f" ({data['expired']} expired: `zenovay cache prune` removes them)"
    shown = {
        "Location": data["path"],
        "Entries": entries,
        "Size": _size(data["bytes"]),
        "Oldest": when(data["oldest_stored_at"]),
        "Newest": when(data["newest_stored_at"]),
    }
    if data["corrupt"]:
        shown["Damaged"] = f"{data['corrupt']} (ignored; `zenovay cache prune` removes them)"
    return shown


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    return f"{n} B"  # pragma: no cover


@app.command(epilog="Example: zenovay cache clear")
@cache_command
def clear(ctx: Context) -> None:
    """Delete every cached answer."""
    removed = _store(ctx).clear()
    ctx.out.info(f"Removed {removed} cache entr{'y' if removed == 1 else 'ies'}.")


@app.command(epilog="Examples: zenovay cache prune  ·  (crontab -l; echo '0 3 * * * zenovay cache prune') | crontab -")
@cache_command
def prune(ctx: Context) -> None:
    """Delete expired entries and leftovers of interrupted writes."""
    removed = _store(ctx).prune()
    ctx.out.info(f"Removed {removed} expired or leftover file{'' if removed == 1 else 's'}.")
