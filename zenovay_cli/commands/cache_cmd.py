"""cache info | clear | prune: the on-disk TTL cache."""

from typing import Annotated

import typer

from zenovay_cli.commands.common import request_options, state

app = typer.Typer(help="Inspect or empty the on-disk response cache.", no_args_is_help=True)


def _store():
    from zenovay_cli.cache import CacheStore
    from zenovay_cli.config import cache_dir

    return CacheStore(cache_dir(), on_warning=state().out.warn)


@app.command(epilog="Examples: zenovay cache info  ·  zenovay cache info --json | jq .entries")
@request_options
def info(json_: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Show where the cache lives, how many entries it holds, its size, and the oldest and newest entry."""
    import time

    st = state()
    data = _store().info()
    if json_:
        st.out.emit("raw", data, "json")
        return
    shown = dict(data)
    for key in ("oldest_stored_at", "newest_stored_at"):
        if shown.get(key):
            shown[key] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(shown[key]))
    st.out.emit("cache_info", shown, "table")


@app.command(epilog="Example: zenovay cache clear")
@request_options
def clear() -> None:
    """Delete every cached answer."""
    st = state()
    removed = _store().clear()
    st.out.info(f"Removed {removed} cache entr{'y' if removed == 1 else 'ies'}.")


@app.command(epilog="Example: 0 3 * * * zenovay cache prune")
@request_options
def prune() -> None:
    """Delete expired entries and leftovers of interrupted writes."""
    st = state()
    removed = _store().prune()
    st.out.info(f"Removed {removed} expired or leftover file{'' if removed == 1 else 's'}.")
