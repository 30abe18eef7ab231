"""The version, in a leaf module: what sends it (client, notify) imports nothing else for it."""

__version__ = "0.1.0"
