"""config show | get | set | unset | path: the TOML config file."""

from typing import Annotated

import typer

from zenovay_cli.commands._options import settings_command
from zenovay_cli.context import Context

app = typer.Typer(help="Show and change settings in the config file.", no_args_is_help=True)

KEY_HELP = (
    "Setting: website, base_url, timeout, retries, max_wait, rate_limit, max_requests, "
    "api_key (prefer `auth login`), redis_url, redis_prefix, "
    "or cache.ttl.<analytics|visitors|countries|technology|pages|websites|errors|anomalies|"
    "insights|retention|revenue|heatmaps|replays>."
)


def _split(key: str):
    from zenovay_cli.config import CACHE_TTL_KINDS, PROFILE_KEYS
    from zenovay_cli.errors import UsageError

    if key in PROFILE_KEYS:
        return ("profile", key)
    if key.startswith("cache.ttl.") and key[len("cache.ttl."):] in CACHE_TTL_KINDS:
        return ("ttl", key[len("cache.ttl."):])
    raise UsageError(f"unknown setting {key!r}", hint=KEY_HELP)


def _profile(ctx: Context) -> str:
    """The active profile's name, without checking its other settings: `config set` and `unset`
    must be able to repair a config file whose values are invalid."""
    from zenovay_cli import config

    return config.profile_setting(ctx.cli_values, ctx.env).value


@app.command(epilog="Example: zenovay config show --profile work")
@settings_command
def show(ctx: Context) -> None:
    """Print the config file's contents (API keys masked)."""
    from zenovay_cli import config

    data = config.load_config()
    for section in (data.get("profiles") or {}).values():
        if isinstance(section, dict):
            for name in ("api_key", "redis_url", "base_url"):
                if section.get(name):
                    section[name] = config.display_value(name, section[name])
    ctx.out.emit("raw", data, "json")


@app.command(epilog="Example: zenovay config get website")
@settings_command
def get(ctx: Context, key: Annotated[str, typer.Argument(help=KEY_HELP, show_default=False)]) -> None:
    """Print one setting of the active profile as stored in the config file."""
    from zenovay_cli import config

    where, name = _split(key)
    data = config.load_config()
    if where == "profile":
        value = ((data.get("profiles") or {}).get(_profile(ctx)) or {}).get(name)
        if value:
            value = config.display_value(name, value)
    else:
        value = ((data.get("cache") or {}).get("ttl") or {}).get(name)
    if value is not None:
        ctx.out.text(str(value))


# ignore_unknown_options: a negative VALUE (`config set max_wait -1`) reaches the check below,
# which names the rule, instead of Click calling it an unknown option.
@app.command(
    "set",
    epilog="Examples: zenovay config set website mysite.com  ·  zenovay config set cache.ttl.analytics 60",
    context_settings={"ignore_unknown_options": True},
)
@settings_command
def set_(
    ctx: Context,
    key: Annotated[str, typer.Argument(help=KEY_HELP, show_default=False)],
    value: Annotated[str, typer.Argument(help="New value.", show_default=False)],
) -> None:
    """Set a value in the active profile (or a cache TTL in seconds)."""
    from zenovay_cli import config
    where, name = _split(key)
    path = config.config_path()
    data = config.load_config(path)
    if where == "profile":
        # The same rule as the option, ZENOVAY_* and the config file (config.RULES).
        typed = config.coerce(name, value, f"config set {key}")
        data.setdefault("profiles", {}).setdefault(_profile(ctx), {})[name] = typed
    else:
        data.setdefault("cache", {}).setdefault("ttl", {})[name] = config.check_ttl(
            value, f"config set {key}"
        )
    config.save_config(data, path)
    ctx.out.info(f"Set {key} in {path}.")


@app.command(epilog="Example: zenovay config unset website")
@settings_command
def unset(ctx: Context, key: Annotated[str, typer.Argument(help=KEY_HELP, show_default=False)]) -> None:
    """Remove a value from the active profile (or a cache TTL)."""
    from zenovay_cli import config

    where, name = _split(key)
    path = config.config_path()
    data = config.load_config(path)
    section = (
        (data.get("profiles") or {}).get(_profile(ctx), {})
        if where == "profile"
        else (data.get("cache") or {}).get("ttl", {})
    )
    if name in section:
        del section[name]
        config.save_config(data, path)
    ctx.out.info(f"Unset {key}.")


@app.command(epilog="Examples: zenovay config path  ·  $EDITOR \"$(zenovay config path)\"")
@settings_command
def path(ctx: Context) -> None:
    """Print where the config file lives."""
    from zenovay_cli import config

    ctx.out.text(str(config.config_path()))
