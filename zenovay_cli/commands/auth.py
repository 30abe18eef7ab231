"""auth login | logout | status: the API key in the config file."""

import sys
from typing import Annotated

import typer

from zenovay_cli.commands.common import request_options, state, stdin_is_tty

app = typer.Typer(
    help="Log in with an API key, log out, or show where each setting comes from.",
    no_args_is_help=True,
)


@app.command(epilog="Examples: zenovay auth login  ·  printf '%s' \"$KEY\" | zenovay auth login --with-token")
@request_options
def login(
    with_token: Annotated[
        bool, typer.Option("--with-token", help="Read the key from standard input instead of prompting.")
    ] = False,
) -> None:
    """Check an API key against /usage and store it in the profile (file mode 0600)."""
    from zenovay_cli import config
    from zenovay_cli.errors import UsageError

    st = state()
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
    st.globals["api_key"] = key
    st._settings = None  # re-resolve with the new key
    usage = st.client().get_usage()  # raises AuthError (exit 4) when the key is rejected
    profile = st.settings.profile
    path = config.config_path()
    data = config.load_config(path)
    data.setdefault("profiles", {}).setdefault(profile, {})["api_key"] = key
    if st.settings.source("base_url") != "default":
        data["profiles"][profile]["base_url"] = st.settings.base_url
    config.save_config(data, path)
    tier = (usage.get("subscription") or {}).get("tier") if isinstance(usage, dict) else None
    st.out.info(
        f"Logged in (profile {profile}{', plan ' + str(tier) if tier else ''}); key saved to {path}"
    )


@app.command(epilog="Example: zenovay auth logout --profile work")
@request_options
def logout() -> None:
    """Remove the stored API key from the profile."""
    from zenovay_cli import config

    st = state()
    path = config.config_path()
    data = config.load_config(path)
    profile = st.settings.profile
    section = data.get("profiles", {}).get(profile, {})
    if "api_key" not in section:
        st.out.info(f"No key stored for profile {profile}.")
        return
    del section["api_key"]
    config.save_config(data, path)
    st.out.info(f"Removed the key of profile {profile} from {path}.")
    if st.env.get("ZENOVAY_API_KEY"):
        st.out.warn("ZENOVAY_API_KEY is still set in the environment and will be used.")


@app.command(epilog="Examples: zenovay auth status  ·  zenovay auth status --json")
@request_options
def status(
    json_: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the active profile, key (masked), base URL and where each setting came from."""
    from zenovay_cli.config import mask_key

    st = state()
    s = st.settings
    rows = {}
    for name in ("profile", "api_key", "base_url", "website", "timeout", "retries", "max_wait"):
        value = s.values[name].value
        if name == "api_key":
            value = mask_key(value)
        rows[name] = {"value": value, "source": s.source(name)}
    rows["config_file"] = {"value": str(s.config_file), "source": ""}
    if json_:
        st.out.emit("raw", rows, "json")
        return
    st.out.emit("settings", rows, "table")
    if not s.api_key:
        st.out.warn("No API key: set ZENOVAY_API_KEY or run `zenovay auth login`.")
