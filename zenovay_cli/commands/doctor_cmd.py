"""doctor: one screen of checks (key, quota, limits, clock, latency, files, completion, PATH,
Redis), each failure with its fix. One API request (GET /usage), two at most with a retry."""

# No `from __future__ import annotations` here: Typer reads these annotations at runtime.
import typer

from zenovay_cli.commands._options import command
from zenovay_cli.context import Context

EPILOG = "Examples: zenovay doctor  ·  zenovay doctor --json | jq '.checks[] | select(.status == \"fail\")'"


def register(app: typer.Typer) -> None:
    app.command("doctor", epilog=EPILOG)(doctor)


@command("connection", "network", "redis", "output")
def doctor(ctx: Context) -> None:
    """Check key, plan, quota forecast, limits, clock, latency, permissions, completion, PATH (exit 1 if any fails).

    One API request (GET /usage; two at most, with one retry). Each failed check says how to
    fix it; "info" lines are optional parts not set up, and never fail the run.
    """
    from zenovay_cli import doctor as checks

    results = _api_checks(ctx, checks) + _local_checks(ctx, checks)
    code = checks.exit_code(results)
    ctx.out.emit("doctor", {"ok": code == 0, "checks": [c.to_dict() for c in results]}, ctx.fmt)
    raise typer.Exit(code)


def _api_checks(ctx: Context, checks) -> list:
    from datetime import datetime, timezone

    from zenovay_cli.errors import ZenovayError

    usage = error = latency = None
    headers: dict = {}
    try:
        client = ctx.new_client()
        client.retries = min(client.retries, 1)  # never more than 2 requests
        client.cache = None  # /usage is never cached anyway; no cache folder is created
        started = ctx.monotonic()
        try:
            usage = client.get_usage()
        finally:
            if client.requests_sent == 1:  # with a retry the time includes the back-off
                latency = ctx.monotonic() - started
            headers = dict(client.last_headers)
    except ZenovayError as exc:
        exc.message = ctx.redact(exc.message)
        error = exc
    now = datetime.fromtimestamp(ctx.clock(), timezone.utc)
    results = [checks.check_key(usage, error)]
    if usage is not None:
        results += [checks.check_quota(usage, headers, now), checks.check_rate(usage, headers)]
    else:
        skipped = "not checked: the API gave no usage answer"
        results += [checks.Check("quota", checks.INFO, skipped),
                    checks.Check("rate limit", checks.INFO, skipped)]
    results.append(checks.check_clock(headers, now, latency or 0.0) if headers else
                   checks.Check("clock", checks.INFO, "not checked: no answer from the API"))
    results.append(checks.check_latency(latency))
    return results


def _local_checks(ctx: Context, checks) -> list:
    import os
    import sys
    from pathlib import Path

    from zenovay_cli.config import cache_dir, config_path, state_dir

    env = ctx.env
    results = [
        checks.check_config_file(config_path()),
        checks.check_folder("cache folder", cache_dir()),
        checks.check_folder("state folder", state_dir()),
    ]
    shell = os.path.basename(env.get("SHELL", "")) or None
    results.append(checks.check_completion(shell, Path.home(), env, _completion_script))

    def is_exe(path: Path) -> bool:
        return path.is_file() and os.access(path, os.X_OK)

    def same(a: Path, b: Path) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return False

    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    ours = argv0 if argv0 is not None and argv0.name == "zenovay" and is_exe(argv0) else None
    found = checks.zenovay_on_path(env.get("PATH", ""), is_exe)
    results.append(checks.check_shadowing(found, ours, same))
    results.append(_redis_check(ctx, checks))
    return results


def _redis_check(ctx: Context, checks):
    """PING the configured Redis with a link of its own (no fallback warning: the check says it)."""
    from zenovay_cli.errors import ZenovayError

    url = ctx.settings.redis_url
    if not url:
        return checks.check_redis(None)
    from zenovay_cli.redislink import RedisConfig, RedisLink, mask_url

    link = None
    try:
        config = RedisConfig.parse(url, ctx.settings.redis_prefix)
        link = RedisLink(config)
        link.call(lambda client: client.ping(), fallback=False)
        if link.down:
            return checks.check_redis(config.display, link.down_reason or "not usable")
        return checks.check_redis(config.display)
    except ZenovayError as exc:  # the extra not installed, a bad URL, a wrong password
        return checks.check_redis(mask_url(url), ctx.redact(exc.message), exc.hint)
    finally:
        if link is not None:
            link.close()


def _completion_script(shell: str) -> str:
    from zenovay_cli.commands.completion_cmd import script

    return script(shell)
