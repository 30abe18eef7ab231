"""zenovay-cli: command-line tool and Python client for the Zenovay External API."""

from zenovay_cli._version import __version__

__all__ = ["ZenovayClient", "ZenovayError", "__version__"]


def __getattr__(name: str):
    # Lazy re-exports: `import zenovay_cli` must not pay for `requests`.
    if name == "ZenovayClient":
        from zenovay_cli.client import ZenovayClient

        return ZenovayClient
    if name == "ZenovayError":
        from zenovay_cli.errors import ZenovayError

        return ZenovayError
    raise AttributeError(f"module 'zenovay_cli' has no attribute {name!r}")
