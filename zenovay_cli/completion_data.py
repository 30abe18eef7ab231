"""Website ids and domains for TAB completion, read from the on-disk cache only (never the network)."""

from __future__ import annotations

import os

from zenovay_cli.schema import website_list

# A typing-free TYPE_CHECKING: completion runs on every <TAB>, so start-up time is latency.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

WEBSITES_PATH = "/websites"
# A /websites answer is small; a bigger file is some other endpoint's page and is not read.
_MAX_ENTRY_BYTES = 4 * 1024 * 1024
# The writer puts "meta" before "value", so the path shows within the first bytes of an entry.
_HEAD_BYTES = 512
_PATH_MARKER = b'"path":"/websites"'
_MAX_HELP = 60
# Website ids and domains are offered only when made of these characters: API data is untrusted
# and a completion is typed into the user's shell.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def _safe_value(value: object) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= 253:
        return None
    if not _SAFE.issuperset(value) or value[0] in ".-_":
        return None
    return value


def _safe_help(value: object) -> str:
    """Printable one-line text (no tabs, newlines or control characters), shortened."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    return text if len(text) <= _MAX_HELP else text[: _MAX_HELP - 1] + "…"


def _items(value: object) -> list:
    return website_list(value)


def _read_entry(path: str, need_marker: bool) -> tuple[float, list] | None:
    """(stored_at, websites) of a cached /websites answer at `path`, else None. Never writes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            if os.fstat(f.fileno()).st_size > _MAX_ENTRY_BYTES:
                return None
            head = f.read(_HEAD_BYTES)
            if need_marker and _PATH_MARKER not in head:
                return None
            data = head + f.read()
    except OSError:
        return None
    from zenovay_cli.cache import _parse_entry

    parsed = _parse_entry(data)
    if parsed is None:
        return None
    value, stored_at, _expires_at, meta = parsed
    if meta.get("path") != WEBSITES_PATH:
        return None
    return stored_at, _items(value)


def _current_entry_name(env: Mapping[str, str]) -> str | None:
    """File name of the /websites entry of the active profile's key and base URL, if one is set."""
    try:
        from zenovay_cli import config
        from zenovay_cli.cache import make_key

        path = config.config_path()
        settings = config.resolve({}, env, config.load_config(path), path)
        if not settings.api_key:
            return None
        return make_key(settings.base_url, WEBSITES_PATH, None, settings.api_key) + ".json"
    except Exception:  # noqa: BLE001 - a broken config must not break <TAB>
        return None


def _entries(directory: str, env: Mapping[str, str]) -> list[tuple[float, list]]:
    """The active key's /websites answer when cached; otherwise every cached /websites answer."""
    own = _current_entry_name(env)
    if own is not None:
        found = _read_entry(os.path.join(directory, own), need_marker=False)
        if found is not None:
            return [found]
    from zenovay_cli.cache import _is_entry_name

    try:
        with os.scandir(directory) as it:
            names = [e.path for e in it if _is_entry_name(e.name)]
    except OSError:
        return []
    found_all = [e for e in (_read_entry(p, need_marker=True) for p in names) if e is not None]
    found_all.sort(key=lambda e: e[0], reverse=True)  # newest answer first
    return found_all


def cached_websites(
    directory: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(value, description) pairs for completion: each cached website's id and its domain.

    Reads only files already in the cache directory (default: config.cache_dir()), fresh or
    expired, and never creates, changes or removes one. When the active profile's key has a cached
    /websites answer only that one is used, otherwise the answers of every key, newest first.
    An empty list when there is no cache.
    """
    if directory is None:
        from zenovay_cli.config import cache_dir

        directory = cache_dir()
    env = os.environ if env is None else env
    seen: set[str] = set()
    ids: list[tuple[str, str]] = []
    domains: list[tuple[str, str]] = []
    for _stored_at, websites in _entries(os.fspath(directory), env):
        for w in websites:
            website_id = _safe_value(w.get("id"))
            domain = _safe_value(w.get("domain"))
            name = _safe_help(w.get("name"))
            if domain is not None and domain not in seen:
                seen.add(domain)
                domains.append((domain, name or (website_id or "")))
            if website_id is not None and website_id not in seen:
                seen.add(website_id)
                ids.append((website_id, domain or name))
    return domains + ids
