"""`zenovay doctor`: the checks, as pure functions of what the command gathered.

The command makes one API request (GET /usage, never cached) and hands its answer, headers and
timing to these functions, plus paths and environment for the local checks. Each check returns a
Check: "ok", "fail" (with how to fix it) or "info" (an optional part not set up; never fails the
run). Nothing here prints or sends anything.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from zenovay_cli.schema import parse_time

OK, FAIL, INFO = "ok", "fail", "info"
MAX_SKEW_SECONDS = 30.0  # cache ages, alert timestamps and signed webhooks rely on the clock
MAX_LATENCY_SECONDS = 2.0
PAID_TIERS = ("pro", "scale", "enterprise", "professional", "business")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def exit_code(checks: Sequence[Check]) -> int:
    """0 when no check failed, 1 otherwise ("info" never fails)."""
    return 1 if any(c.status == FAIL for c in checks) else 0


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lname = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lname), None)


# -- API checks ---------------------------------------------------------------------------------


def check_key(usage: Any, error: BaseException | None) -> Check:
    """Valid (GET /usage answered), which plan, paid or not."""
    if error is not None:
        from zenovay_cli.errors import AuthError, PaidPlanRequiredError

        message = getattr(error, "message", None) or str(error)
        if isinstance(error, PaidPlanRequiredError):
            return Check("key", FAIL, f"valid, but the team is on the Free plan: {message}",
                         "The API needs Pro or higher: upgrade the team in Zenovay's billing.")
        if isinstance(error, AuthError):
            return Check("key", FAIL, f"rejected: {message}",
                         "Create a key in Zenovay (Settings > API keys), then `zenovay auth login`.")
        return Check("key", FAIL, f"could not be checked: {message}",
                     getattr(error, "hint", None) or "Check the base URL and your network.")
    tier = _get(usage, "subscription", "tier")
    name = _get(usage, "api_key", "name")
    permission = _get(usage, "api_key", "permission")
    plan = tier if isinstance(tier, str) and tier else "unknown"
    detail = f"valid; plan {plan}"
    if isinstance(permission, str):
        detail += f"; {permission.replace('_', ' ')}"
    if isinstance(name, str) and name:
        detail += f" ({name})"
    if plan.lower() == "free":
        return Check("key", FAIL, detail + "; the Free plan has no API access",
                     "Upgrade the team to Pro or higher.")
    if plan.lower() not in PAID_TIERS:
        return Check("key", OK, detail + " (a plan name this tool does not know)")
    return Check("key", OK, detail + "; paid")


def forecast(used: float, limit: float, reset: datetime, now: datetime) -> float | None:
    """Requests expected by the monthly reset if this month's pace goes on: `used` over the time
    since the month began (the reset minus one calendar month), extrapolated to the reset."""
    start = _month_before(reset)
    elapsed = (now - start).total_seconds()
    total = (reset - start).total_seconds()
    if elapsed <= 0 or total <= 0 or now >= reset:
        return None
    return used * total / elapsed


def _month_before(moment: datetime) -> datetime:
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month, day=day)


def check_quota(usage: Any, headers: Mapping[str, str], now: datetime) -> Check:
    """Monthly requests left and the forecast at the reset (from /usage, else X-Usage-*)."""
    used = _number(_get(usage, "usage", "monthly_requests"))
    limit = _number(_get(usage, "usage", "monthly_limit"))
    reset = parse_time(_get(usage, "usage", "monthly_reset_at"))
    used = used if used is not None else _number(_header(headers, "X-Usage-Monthly"))
    limit = limit if limit is not None else _number(_header(headers, "X-Usage-Limit"))
    reset = reset or parse_time(_header(headers, "X-Usage-Reset"))
    if used is None or limit is None:
        return Check("quota", FAIL, "the API sent no monthly usage figures",
                     "Run `zenovay usage --json` to see what it answers; report it if odd.")
    left = max(0.0, limit - used)
    detail = f"{used:.0f} of {limit:.0f} requests used this month, {left:.0f} left"
    if reset is None:
        return Check("quota", OK if left > 0 else FAIL, detail + "; reset time unknown",
                     None if left > 0 else "Wait for the monthly reset or upgrade the plan.")
    detail += f"; resets {reset.strftime('%Y-%m-%d %H:%M UTC')}"
    if left <= 0:
        return Check("quota", FAIL, detail,
                     "Wait for the reset, or upgrade the plan; cached answers still work.")
    expected = forecast(used, limit, reset, now)
    if expected is None:
        return Check("quota", OK, detail)
    detail += f"; forecast {expected:.0f} by the reset at this month's pace"
    if expected > limit:
        return Check("quota", FAIL, detail + " (over the limit)",
                     "Run scheduled jobs less often, raise cache TTLs (cache.ttl.*), or upgrade.")
    return Check("quota", OK, detail)


def check_rate(usage: Any, headers: Mapping[str, str]) -> Check:
    """The per-minute limit, and whether this minute's allowance is used up."""
    per_minute = _number(_get(usage, "rate_limits", "requests_per_minute"))
    per_minute = per_minute if per_minute is not None else _number(
        _header(headers, "X-RateLimit-Limit"))
    remaining = _number(_header(headers, "X-RateLimit-Remaining"))
    if per_minute is None:
        return Check("rate limit", FAIL, "the API sent no per-minute limit",
                     "Run `zenovay usage --json`; the tool then paces itself conservatively.")
    detail = f"{per_minute:.0f} requests/minute"
    if remaining is not None:
        detail += f", {remaining:.0f} left this minute"
        if remaining <= 0:
            return Check("rate limit", FAIL, detail,
                         "Another job is using this minute's allowance; spread cron jobs out.")
    return Check("rate limit", OK, detail)


def check_clock(headers: Mapping[str, str], local_now: datetime, latency: float) -> Check:
    """Skew between this machine's clock and the API's `Date` header (half the round trip
    is allowed for: the header was written somewhere in the middle of it)."""
    text = _header(headers, "Date")
    try:
        server = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        server = None
    if server is None:
        return Check("clock", INFO, "the API sent no Date header to compare with")
    if server.tzinfo is None:
        server = server.replace(tzinfo=timezone.utc)
    skew = (local_now - server).total_seconds() - latency / 2
    # Date has whole seconds: up to 1 s of the difference is rounding.
    shown = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the API"
    if abs(skew) <= 1:
        return Check("clock", OK, "in step with the API (within 1 s)")
    if abs(skew) > MAX_SKEW_SECONDS:
        return Check("clock", FAIL, f"this machine's clock is {shown}",
                     "Enable time sync (e.g. `timedatectl set-ntp true`); cache ages and "
                     "signed webhooks depend on the clock.")
    return Check("clock", OK, f"{shown} (under {MAX_SKEW_SECONDS:.0f} s)")


def check_latency(latency: float | None) -> Check:
    if latency is None:
        return Check("latency", INFO, "not measured (the API did not answer)")
    detail = f"{latency * 1000:.0f} ms for GET /usage"
    if latency > MAX_LATENCY_SECONDS:
        return Check("latency", FAIL, detail + f" (over {MAX_LATENCY_SECONDS:g} s)",
                     "Check the network or proxy; raise --timeout for slow links.")
    return Check("latency", OK, detail)


# -- local checks -------------------------------------------------------------------------------


def check_config_file(path: Path) -> Check:
    """The config file may hold a key: it must be readable by its owner only."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return Check("config file", OK, f"{path} does not exist (settings come from the "
                     "environment and defaults)")
    except OSError as exc:
        return Check("config file", FAIL, f"{path}: {exc.strerror or exc}",
                     f"Check the permissions of {path.parent}.")
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        return Check("config file", FAIL,
                     f"{path} is readable or writable by others "
                     f"(mode {stat.S_IMODE(info.st_mode):03o})", f"chmod 600 {path}")
    return Check("config file", OK, f"{path} (private)")


def check_folder(label: str, path: Path) -> Check:
    """The cache and state folders hold API answers and alert state: owner only, writable."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return Check(label, OK, f"{path} not created yet")
    except OSError as exc:
        return Check(label, FAIL, f"{path}: {exc.strerror or exc}",
                     f"Check the permissions of {path.parent}.")
    if not stat.S_ISDIR(info.st_mode):
        return Check(label, FAIL, f"{path} is not a folder", f"Move {path} away.")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        return Check(label, FAIL, f"{path} is open to others (mode {mode:03o})",
                     f"chmod 700 {path}")
    if not os.access(path, os.W_OK | os.X_OK):
        return Check(label, FAIL, f"{path} is not writable by you", f"chmod u+rwx {path}")
    return Check(label, OK, f"{path} (private)")


def completion_places(shell: str, home: Path, env: Mapping[str, str]) -> tuple[list[Path], list[Path]]:
    """(script files, rc files that may eval it) where `zenovay completion SHELL` is installed."""
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    if shell == "bash":
        return ([data / "bash-completion" / "completions" / "zenovay",
                 Path("/etc/bash_completion.d/zenovay")], [home / ".bashrc", home / ".bash_profile"])
    if shell == "zsh":
        zdot = Path(env.get("ZDOTDIR") or home)
        return [home / ".zfunc" / "_zenovay"], [zdot / ".zshrc"]
    if shell == "fish":
        return [config / "fish" / "completions" / "zenovay.fish"], [config / "fish" / "config.fish"]
    return [], []


def check_completion(shell: str | None, home: Path, env: Mapping[str, str],
                     current: Callable[[str], str]) -> Check:
    """Installed or not for the login shell; an installed script file that differs from what
    this version prints is stale (commands added since are missing from TAB)."""
    if shell not in ("bash", "zsh", "fish"):
        return Check("completion", INFO, f"no completion for shell {shell or '(unknown)'}")
    files, rcs = completion_places(shell, home, env)
    for path in files:
        try:
            installed = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if installed.strip() != current(shell).strip():
            return Check("completion", FAIL, f"{path} is from another version of zenovay",
                         f"zenovay completion {shell} > {path}")
        return Check("completion", OK, f"installed for {shell} ({path})")
    for rc in rcs:
        try:
            text = rc.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if f"zenovay completion {shell}" in text:
            return Check("completion", OK, f"loaded for {shell} from {rc}")
    return Check("completion", INFO, f"not installed for {shell} (optional)",
                 f"See `zenovay completion --help`, e.g. zenovay completion {shell} > "
                 f"{files[0] if files else 'FILE'}")


def zenovay_on_path(path_env: str, is_exe: Callable[[Path], bool]) -> list[Path]:
    """Every `zenovay` executable on PATH, in PATH order (duplicates removed)."""
    found: list[Path] = []
    for folder in path_env.split(os.pathsep):
        if not folder:
            continue
        candidate = Path(folder) / "zenovay"
        if is_exe(candidate) and candidate not in found:
            found.append(candidate)
    return found


def check_shadowing(found: Sequence[Path], ours: Path | None,
                    same: Callable[[Path, Path], bool]) -> Check:
    """The first `zenovay` on PATH must be this one: Zenovay's npm CLI installs one too."""
    if ours is None:
        return Check("PATH", INFO, "running without an installed `zenovay` script")
    if not found:
        return Check("PATH", INFO, f"{ours.parent} is not on PATH",
                     f"Add {ours.parent} to PATH, or run `python -m zenovay_cli`.")
    first = found[0]
    if same(first, ours):
        others = [str(p) for p in found[1:] if not same(p, ours)]
        extra = f"; another one later on PATH: {', '.join(others)}" if others else ""
        return Check("PATH", OK, f"`zenovay` runs this tool ({first}){extra}")
    return Check("PATH", FAIL,
                 f"`zenovay` on PATH is {first}, not this tool ({ours}); Zenovay's npm CLI "
                 "(@zenovay/cli) installs a `zenovay` too",
                 f"Put {ours.parent} before {first.parent} on PATH, or run `python -m zenovay_cli`.")


def check_redis(display: str | None, problem: str | None = None, fix: str | None = None) -> Check:
    """Redis, when a URL is configured (docs/fleets.md): it must answer PING. `display` is the
    URL with its password masked; `problem` what went wrong."""
    if display is None:
        return Check("redis", INFO, "not configured")
    if problem is not None:
        return Check("redis", FAIL, f"{display}: {problem}", fix or
                     "Start Redis or correct redis_url; meanwhile each host uses its own cache "
                     "and rate budget.")
    return Check("redis", OK, f"{display} answers")
