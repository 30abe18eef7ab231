"""sandbox serve: the local imitation of the API, for trying the tool and developing scripts."""

from enum import Enum
from typing import Annotated

import typer

from zenovay_cli.commands._options import plain_command
from zenovay_cli.context import Context


class Limiter(str, Enum):
    sliding = "sliding"
    fixed = "fixed"
    cf = "cf"


app = typer.Typer(help="Run the built-in sandbox: a local imitation of the Zenovay API.", no_args_is_help=True)


class Tier(str, Enum):
    free = "free"
    pro = "pro"
    scale = "scale"
    enterprise = "enterprise"


@app.command(
    epilog=(
        "Example: zenovay sandbox serve --port 8765 --rate-limit 30 & "
        "ZENOVAY_BASE_URL=http://127.0.0.1:8765/api/external/v1 "
        "ZENOVAY_API_KEY=zv_sandbox_demo_key zenovay websites. "
        "Limiter shapes: sliding (any 60 s), fixed (calendar minutes), cf (Cloudflare's weighted "
        "estimate: previous minute's count x its overlap + this minute's count)."
    )
)
@plain_command
def serve(
    ctx: Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    websites: Annotated[int, typer.Option("--websites", min=0, max=100000, help="Number of synthetic websites.")] = 5,
    visitors: Annotated[int, typer.Option("--visitors", min=0, help="Visitors per website and range.")] = 250,
    latency: Annotated[float, typer.Option("--latency", min=0, help="Seconds added to every answer.")] = 0.0,
    rate_limit: Annotated[int | None, typer.Option("--rate-limit", min=1, help="Requests per minute per key (429 beyond).")] = None,
    limiter: Annotated[Limiter, typer.Option("--limiter", case_sensitive=False, help="How --rate-limit is enforced: sliding, fixed or cf.")] = Limiter.sliding,
    omit_remaining: Annotated[bool, typer.Option("--omit-remaining", help="Never send X-RateLimit-Remaining (an edge without an exact count).")] = False,
    monthly_quota: Annotated[int | None, typer.Option("--monthly-quota", min=0, help="Requests per key before 429 MONTHLY_LIMIT_EXCEEDED.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 0,
    quiet_websites: Annotated[int, typer.Option("--quiet-websites", min=0, help="The last N websites have no traffic at all (a removed tracker: silence rules fire).")] = 0,
    tier: Annotated[Tier, typer.Option("--tier", help="Plan of keys that do not name one (zv_scale_… is Scale whatever this says).", case_sensitive=False)] = Tier.pro,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request on stderr.")] = False,
) -> None:
    """Serve the sandbox API on 127.0.0.1 and print its base URL and API key."""
    from zenovay_cli.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(
        websites=websites,
        visitors_per_site=visitors,
        latency=latency,
        rate_limit=rate_limit,
        limiter=limiter.value,
        send_remaining=not omit_remaining,
        monthly_quota=monthly_quota,
        seed=seed,
        tier=tier.value,
        quiet_websites=quiet_websites,
    )
    try:
        server = SandboxServer(config, port=port, verbose=verbose)  # binds 127.0.0.1 only
        server.start()
    except OSError as exc:
        from zenovay_cli.errors import ZenovayError

        raise ZenovayError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="Choose another --port, or --port 0 for any free one.",
        ) from None
    # stdout: two lines a script can read; stderr: how to use them.
    ctx.out.text(f"ZENOVAY_BASE_URL={server.base_url}")
    ctx.out.text(f"ZENOVAY_API_KEY={server.api_key}")
    ctx.out.info("Sandbox running; control endpoints under /__sandbox__/ (faults, stats, reset). Ctrl-C stops it.")
    import time

    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()
