"""`history sql`: exactly one read-only SELECT/WITH statement, run on a read-only connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from zenovay_cli.errors import UsageError

_HINT = "history sql runs one SELECT (or WITH ... SELECT) statement; the store is opened read-only."

# What a reading statement may do (sqlite3 authorizer action codes); anything else is refused
# while the statement is prepared, before it runs.
_ALLOWED = {
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def _strip_comments_and_split(text: str) -> list[str]:
    """The statement's parts between top-level semicolons, comments removed, strings kept."""
    parts, current, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while j < n:
                if text[j] == close:
                    if close != "]" and j + 1 < n and text[j + 1] == close:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            current.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            current.append(" ")
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            current.append(" ")
        elif c == ";":
            parts.append("".join(current))
            current = []
            i += 1
        else:
            current.append(c)
            i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def check(statement: str) -> None:
    """UsageError unless `statement` is a single SELECT or WITH statement."""
    parts = _strip_comments_and_split(statement)
    if not parts:
        raise UsageError("history sql: the statement is empty", hint=_HINT)
    if len(parts) > 1:
        raise UsageError("history sql: give one statement, not several", hint=_HINT)
    first = parts[0].split(None, 1)[0].upper().rstrip("(")
    if first not in ("SELECT", "WITH"):
        raise UsageError(f"history sql: {first} statements are refused; only SELECT and WITH run",
                         hint=_HINT)


def _authorizer(action: int, *args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def _cell(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def run(conn: sqlite3.Connection, statement: str) -> list[dict[str, Any]]:
    """The statement's rows as objects (column name -> value; blobs as hex)."""
    check(statement)
    conn.set_authorizer(_authorizer)
    try:
        cursor = conn.execute(statement)
        names = [c[0] for c in cursor.description or ()]
        return [{name: _cell(v) for name, v in zip(names, row)} for row in cursor]
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not authorized" in text or "readonly" in text:
            raise UsageError(f"history sql: refused ({text})", hint=_HINT) from None
        raise UsageError(f"history sql: {text}", hint="The tables are described in docs/history.md; "
                         "`zenovay history sql \"SELECT sql FROM sqlite_master\"` lists them.") from None
    finally:
        conn.set_authorizer(None)
