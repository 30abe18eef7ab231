"""Where files live, the TOML config file with profiles, and settings resolution with sources."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenovay_cli.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

APP_NAME = "zenovay"
DEFAULT_BASE_URL = "https://api.zenovay.com/api/external/v1"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Rule:
    """What one setting accepts. The ONE table (`RULES`) every source is checked against: the
    command-line option, the environment variable, the config file and `config set`."""

    type: type
    default: Any
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None
    text: str = ""  # what a valid value looks like, for the error message

    def check(self, key: str, value: Any, source: str) -> Any:
        if self.type is str:
            return _check_text(key, value, source)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(f"{source}: {key} must be {self.text}, got {value!r}")
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except (ValueError, OverflowError):
            raise UsageError(f"{source}: {key} must be {self.text}, got {value!r}") from None
        bad = not math.isfinite(number)
        bad = bad or (self.low is not None and number < self.low)
        bad = bad or (self.high is not None and number > self.high)
        bad = bad or (self.type is int and number != int(number))
        if bad:
            raise UsageError(f"{source}: {key} must be {self.text}, got {value!r}")
        return int(number) if self.type is int else number


# The bounds are also the options' (the commands' --timeout/--retries/--max-wait declare the
# same min/max from here), so an option, ZENOVAY_*, the config file and `config set` agree.
TIMEOUT_MIN, TIMEOUT_MAX = 0.001, 86400.0
RETRIES_MAX = 20
MAX_WAIT_MAX = 86400.0
RULES: dict[str, Rule] = {
    "api_key": Rule(str, None, text="an API key starting with zv_"),
    "base_url": Rule(str, DEFAULT_BASE_URL, text="an https:// URL"),
    "website": Rule(str, None, text="a website id or domain on one line"),
    "timeout": Rule(float, 30.0, TIMEOUT_MIN, TIMEOUT_MAX,
                    f"a number of seconds from {TIMEOUT_MIN} to {TIMEOUT_MAX:g}"),
    "retries": Rule(int, 3, 0, RETRIES_MAX, f"a whole number from 0 to {RETRIES_MAX}"),
    "max_wait": Rule(float, 60.0, 0, MAX_WAIT_MAX,
                     f"a number of seconds from 0 to {MAX_WAIT_MAX:g}"),
    # Several hosts sharing one key (docs/fleets.md): opt-in, nothing Redis is imported without it.
    "redis_url": Rule(str, None, text="a redis://, rediss:// or unix:// URL"),
    "redis_prefix": Rule(str, "zenovay:", text="1 to 64 characters without spaces"),
    # Requests per minute for a proxy or custom plan; the limit the API advertises wins when lower.
    "rate_limit": Rule(int, None, 1, 1_000_000, "requests per minute, a whole number from 1 to 1000000"),
    # export / analytics --all refuse to start work costing more requests than this (exit 6).
    "max_requests": Rule(int, None, 0, 10**12, "a whole number of requests, 0 or more"),
}
# name -> (type, default). These are the settings a profile may hold.
PROFILE_KEYS: dict[str, tuple[type, Any]] = {k: (r.type, r.default) for k, r in RULES.items()}


def _check_text(key: str, value: Any, source: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{source}: {key} must be {RULES[key].text}, got {value!r}")
    text = value.strip()
    if not text or not text.isprintable():
        raise UsageError(f"{source}: {key} must be {RULES[key].text}, got {value!r}")
    if key == "api_key" and (not text.startswith("zv_") or " " in text):
        raise UsageError(
            f"{source}: that does not look like a Zenovay API key (they start with zv_)",
            hint="Create one under Settings > API keys in Zenovay; it is shown only once.",
        )
    if key in ("redis_url", "redis_prefix"):
        from zenovay_cli.redislink import RedisConfig

        if key == "redis_url":
            return RedisConfig.parse(text, source=source).url
        return RedisConfig.parse("redis://localhost", prefix=text, prefix_source=source).prefix
    if key == "base_url":
        from zenovay_cli.client import validate_base_url

        try:
            return validate_base_url(text)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc.message}", hint=exc.hint) from None
    return text


# Settings whose command-line option is not simply --name-with-dashes.
OPTION_NAMES = {"redis_url": "--redis"}
# Request behaviour that can also come from the environment (no config-file form).
FLAG_KEYS = ("no_cache", "refresh", "stale_ok", "debug")
ENV_NAMES = {
    "api_key": "ZENOVAY_API_KEY",
    "base_url": "ZENOVAY_BASE_URL",
    "profile": "ZENOVAY_PROFILE",
    "website": "ZENOVAY_WEBSITE",
    "timeout": "ZENOVAY_TIMEOUT",
    "retries": "ZENOVAY_RETRIES",
    "max_wait": "ZENOVAY_MAX_WAIT",
    "rate_limit": "ZENOVAY_RATE_LIMIT",
    "max_requests": "ZENOVAY_MAX_REQUESTS",
    "no_cache": "ZENOVAY_NO_CACHE",
    "refresh": "ZENOVAY_REFRESH",
    "stale_ok": "ZENOVAY_STALE_OK",
    "debug": "ZENOVAY_DEBUG",
    "redis_url": "ZENOVAY_REDIS_URL",
    "redis_prefix": "ZENOVAY_REDIS_PREFIX",
}
CACHE_TTL_KINDS = ("analytics", "visitors", "countries", "technology", "pages", "websites", "errors",
                   "anomalies", "insights", "retention", "revenue", "heatmaps", "replays")
_PROFILE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_config(path: Path | None = None) -> dict:
    """The parsed config file, {} when there is none; ConfigError (exit 2) when unreadable."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}",
            hint="Fix or remove the file; `zenovay config path` shows where it is.",
        ) from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or any(not isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles.NAME] must be tables")
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write the small subset of TOML the config file uses: nested tables of scalars."""
    lines: list[str] = []

    def table(prefix: list[str], mapping: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in mapping.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in mapping.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            if lines:
                lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        for k, v in scalars.items():
            if v is not None:
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in tables.items():
            table(prefix + [k], v)

    table([], data)
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def save_config(data: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write the config atomically with mode 0600 in a 0700 folder (it may hold API keys)."""
    from zenovay_cli.fsutil import atomic_write

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)  # an existing folder may be looser
    atomic_write(path, dump_toml(data).encode("utf-8"), private=True)
    return path


def check_profile_name(name: str) -> str:
    if not _PROFILE_RE.match(name):
        raise UsageError(
            f"invalid profile name {name!r}", hint="Use letters, digits, '.', '_' or '-'."
        )
    return name


def coerce(key: str, value: Any, source: str) -> Any:
    """Convert a raw setting to its type, or raise a usage error naming where it came from."""
    if key in FLAG_KEYS:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise UsageError(f"{source}: expected true or false, got {value!r}")
    return RULES[key].check(key, value, source)


@dataclass
class Setting:
    value: Any
    source: str


@dataclass
class Settings:
    """Every resolved setting together with where it came from."""

    values: dict[str, Setting] = field(default_factory=dict)
    cache_ttl: dict[str, float] = field(default_factory=dict)
    config_file: Path | None = None

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name].value
        raise AttributeError(name)

    def source(self, name: str) -> str:
        return self.values[name].source


def profile_setting(cli: Mapping[str, Any], env: Mapping[str, str]) -> Setting:
    """The active profile's name and where it came from (no other setting is checked)."""
    if cli.get("profile"):
        return Setting(check_profile_name(cli["profile"]), "--profile option")
    if env.get(ENV_NAMES["profile"]):
        return Setting(check_profile_name(env[ENV_NAMES["profile"]]), ENV_NAMES["profile"])
    return Setting(DEFAULT_PROFILE, "default")


def resolve(
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    config: Mapping[str, Any],
    config_file: Path | None = None,
    *,
    new_profile_ok: bool = False,
) -> Settings:
    """Resolve settings: command-line options, then environment, then the profile, then defaults.

    A profile named by --profile or ZENOVAY_PROFILE that the config file does not have is a usage
    error naming the ones it has (a misspelt name would otherwise act as an empty profile), unless
    the file has no profiles at all or the command creates profiles (`new_profile_ok`)."""
    settings = Settings(config_file=config_file)
    profile = profile_setting(cli, env)
    settings.values["profile"] = profile
    profiles = config.get("profiles") or {}
    if profile.source != "default" and profiles and profile.value not in profiles and not new_profile_ok:
        where = f" in {config_file}" if config_file else ""
        raise UsageError(
            f"{profile.source}: no profile {profile.value!r}{where}",
            hint=f"Profiles there: {', '.join(sorted(profiles))}. A new profile is made by "
                 f"`zenovay auth login --profile {profile.value}` or "
                 f"`zenovay config set KEY VALUE --profile {profile.value}`.",
        )
    section = profiles.get(profile.value) or {}

    for key in (*PROFILE_KEYS, *FLAG_KEYS):
        option = OPTION_NAMES.get(key) or "--" + key.replace("_", "-")
        if cli.get(key) is not None and cli.get(key) is not False:
            settings.values[key] = Setting(coerce(key, cli[key], f"{option} option"), f"{option} option")
        elif env.get(ENV_NAMES[key], "") != "":
            name = ENV_NAMES[key]
            settings.values[key] = Setting(coerce(key, env[name], name), name)
        elif key in PROFILE_KEYS and section.get(key) is not None:
            where = f"config file (profile {profile.value})"
            named = f"config file {config_file} (profile {profile.value})" if config_file else where
            settings.values[key] = Setting(coerce(key, section[key], named), where)
        else:
            default = PROFILE_KEYS[key][1] if key in PROFILE_KEYS else False
            settings.values[key] = Setting(default, "default")

    ttl = ((config.get("cache") or {}).get("ttl")) or {}
    if not isinstance(ttl, dict):
        raise ConfigError("config file: [cache.ttl] must be a table of seconds per endpoint")
    for kind, seconds in ttl.items():
        if kind not in CACHE_TTL_KINDS:
            raise ConfigError(
                f"config file: unknown cache TTL {kind!r}",
                hint=f"Known: {', '.join(CACHE_TTL_KINDS)}.",
            )
        if not isinstance(seconds, (int, float)):  # a string in the file is not a number
            seconds = repr(seconds)
        where = f"config file {config_file}" if config_file else "config file"
        settings.cache_ttl[kind] = check_ttl(seconds, f"{where} [cache.ttl] {kind}")
    return settings


def check_ttl(value: Any, source: str) -> float:
    """A cache TTL: a finite number of seconds >= 0 (the file's and `config set`'s one rule)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{source}: a cache TTL must be a number of seconds >= 0, got {value!r}")
    return seconds


def display_value(name: str, value: Any) -> Any:
    """A setting's value as it may be shown: API keys masked, passwords in URLs replaced by ***."""
    if name == "api_key":
        return mask_key(value)
    if name in ("redis_url", "base_url") and isinstance(value, str):
        from zenovay_cli.redislink import mask_url

        return mask_url(value)
    return value


def mask_key(key: str | None) -> str:
    """zv_abcd…wxyz: enough to tell keys apart, never enough to use one."""
    if not key:
        return "(none)"
    if len(key) <= 12:
        return key[:3] + "…"
    return f"{key[:3]}…{key[-4:]}"
