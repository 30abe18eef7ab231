"""auth login | logout | status: the API key in the config file."""

import sys
from typing import Annotated

import typer

from zenovay_cli.commands._options import command, request_command, settings_command
from zenovay_cli.commands.common import stdin_is_tty
from zenovay_cli.context import Context

app = typer.Typer(
    help="Log in with an API key, log out, or show where each setting comes from.",
    no_args_is_help=True,
)


@app.command(epilog="Examples: zenovay auth login  ·  printf '%s' \"$KEY\" | zenovay auth login --with-token")
@request_command
def login(
    ctx: Context,
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read the key from standard input instead of prompting.")
    ] = False,
) -> None:
    """Check an API key against /usage and store it in the profile (file mode 0600)."""
    from zenovay_cli import config
    from zenovay_cli.errors import UsageError

    ctx.new_profile_ok = True  # `auth login --profile new` is how a profile is made
    if with_token or not stdin_is_tty():
        key = sys.stdin.readline().strip()
    else:
        key = typer.prompt("Zenovay API key (input hidden)", hide_input=True).strip()
    if not key:
        raise UsageError("no API key given")
    if not key.startswith("zv_"):
        raise UsageError(
            "that does not look like a Zenovay API key (they start with zv_)",
            hint="Create one under Settings > API keys in Zenovay; it is shown only once.",
        )
    ctx.use_api_key(key)  # settings are resolved again, with this key
    usage = ctx.client().get_usage()  # raises AuthError (exit 4) when the key is rejected
    profile = ctx.settings.profile
    path = config.config_path()
    data = config.load_config(path)
    data.setdefault("profiles", {}).setdefault(profile, {})["api_key"] = key
    # Only the key is saved, unless --base-url was given on this command line: a base URL from the
    # environment (a sandbox's, a test's) must not silently follow every later command.
    base_source = ctx.settings.source("base_url")
    saved = "key"
    if base_source == "--base-url option":
        data["profiles"][profile]["base_url"] = ctx.settings.base_url
        saved = f"key and base URL {config.display_value('base_url', ctx.settings.base_url)}"
    config.save_config(data, path)
    tier = (usage.get("subscription") or {}).get("tier") if isinstance(usage, dict) else None
    ctx.out.info(
        f"Logged in (profile {profile}{', plan ' + str(tier) if tier else ''}); {saved} saved to {path}"
    )
    if base_source not in ("default", "--base-url option", f"config file (profile {profile})"):
        ctx.out.info(
            f"The base URL from {base_source} was used for this check but not saved; "
            "add --base-url to save it in the profile."
        )


@app.command(epilog="Example: zenovay auth logout --profile work")
@settings_command
def logout(ctx: Context) -> None:
    """Remove the stored API key from the profile."""
    from zenovay_cli import config

    path = config.config_path()
    data = config.load_config(path)
    profile = ctx.settings.profile
    section = data.get("profiles", {}).get(profile, {})
    if "api_key" not in section:
        ctx.out.info(f"No key stored for profile {profile}.")
        return
    del section["api_key"]
    config.save_config(data, path)
    ctx.out.info(f"Removed the key of profile {profile} from {path}.")
    if section:  # say what stays, so a pinned base URL does not go unnoticed
        kept = ", ".join(f"{k} = {config.display_value(k, section[k])}" for k in sorted(section))
        ctx.out.info(f"Profile {profile} keeps: {kept} (`zenovay config unset KEY` removes one).")
    if ctx.env.get("ZENOVAY_API_KEY"):
        ctx.out.warn("ZENOVAY_API_KEY is still set in the environment and will be used.")


@app.command(epilog="Examples: zenovay auth status  ·  zenovay auth status --json")
@command("connection", "network")  # shows the network settings and where each came from
def status(
    ctx: Context,
    json_: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the active profile, key (masked), base URL and where each setting came from."""
    from zenovay_cli.config import display_value

    s = ctx.settings
    rows = {}
    for name in ("profile", "api_key", "base_url", "website", "timeout", "retries", "max_wait", "redis_url"):
        value = display_value(name, s.values[name].value)
        rows[name] = {"value": value, "source": s.source(name)}
    rows["config_file"] = {"value": str(s.config_file), "source": ""}
    if json_:
        ctx.out.emit("raw", rows, "json")
        return
    ctx.out.emit("settings", rows, "table")
    if not s.api_key:
        ctx.out.warn("No API key: set ZENOVAY_API_KEY or run `zenovay auth login`.")
