"""A local, deterministic imitation of the Zenovay External API (stdlib only)."""

from zenovay_cli.sandbox.server import DEMO_API_KEY, SandboxConfig, SandboxServer

__all__ = ["DEMO_API_KEY", "SandboxConfig", "SandboxServer"]
