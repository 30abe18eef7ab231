"""Every byte the tool writes: data to stdout (table/json/ndjson/csv/tsv), talk to stderr.

Decisions a user can rely on:
- `json` is exactly the API's `data`, one document: indented by 2 on a terminal, compact (one line)
  when piped. C1 controls, DEL, U+2028/9 and bidi controls are written as \\uXXXX escapes (which
  decode to the same data), so even `--json` on a terminal cannot drive it.
- `ndjson`, `csv` and `tsv` write one flat record per line (`views.records_for`); csv and tsv start
  with a header row (also for an empty answer): the kind's known columns in a fixed order, then
  other keys in first-seen order, `error` last. Values stay faithful: numbers unformatted, booleans
  `true`/`false`, null empty. csv carries text unchanged, as `export --format csv` does (RFC 4180
  quoting holds commas, quotes and newlines); only when stdout is a terminal are control characters
  shown as `\\x1b`-style escapes. Formula-looking values (`=...`) are NOT altered. tsv escapes
  backslash, tab, newline and carriage return as `\\\\ \\t \\n \\r`.
- `table` is a rich table when colour is on (stdout a terminal, no NO_COLOR, TERM not dumb, or
  color=True); otherwise plain space-aligned text, never truncated. Thousands separators and one
  decimal for rates/percentages/scores appear only here.
- Untrusted text is never interpreted: rich markup prints literally and control characters are
  shown as visible escapes (`safe_text`).
rich is imported only when a rich table or progress bar is drawn, so importing this is cheap.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from itertools import chain
from typing import Any, TextIO

from zenovay_cli.views import (
    View,
    csv_line,
    empty_document,
    items_key,
    merge_pages,
    page_tail,
    record_columns,
    records_for,
    views_for,
)

FORMATS = ("table", "json", "ndjson", "csv", "tsv")
# `visitors --all` as a table is printed in blocks of this many rows, each aligned on its own, so a
# long walk neither holds every row in memory nor waits for the last page before showing anything.
TABLE_BLOCK_ROWS = 1000

_BIDI_AND_SEPARATORS = "\u2028\u2029\u202a-\u202e\u2066-\u2069"


class _Pattern:
    """A regular expression compiled when first used (startup pays for no pattern it does not use).

    Every character the patterns below match is non-printable (str.isprintable() is False for
    C0/C1 controls, DEL, format characters such as the bidi controls, and U+2028/9), so printable
    text, nearly all text, is returned as it is without running the expression.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern | None = None

    def sub(self, repl: Any, text: str) -> str:
        if text.isprintable():
            return text
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.sub(repl, text)


_CONTROL = _Pattern(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_CONTROL_CSV = _Pattern(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_JSON_UNSAFE = _Pattern(f"[\x7f-\x9f{_BIDI_AND_SEPARATORS}]")  # json.dumps escapes C0 itself
_RATE_WORDS = ("rate", "percent", "score", "ratio", "share")

_NO_PAGE = object()
_RED, _YELLOW, _BOLD, _RESET = "\x1b[31;1m", "\x1b[33;1m", "\x1b[1m", "\x1b[0m"


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: Any) -> str:
    """`value` as text a terminal shows literally: control characters become visible escapes."""
    return _CONTROL.sub(_escape, value if isinstance(value, str) else str(value))


def _finite(obj: Any) -> Any:
    """`obj` with every non-finite float as the string "NaN", "Infinity" or "-Infinity"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj: Any, indent: int | None = None, *, ascii_only: bool = False) -> str:
    """JSON text of `obj` (compact unless indented), safe to write to a terminal; `ascii_only`
    writes every non-ASCII character as a \\uXXXX escape (for a stream that is not UTF-8)."""
    separators = None if indent else (",", ":")
    try:
        text = json.dumps(obj, ensure_ascii=ascii_only, indent=indent, separators=separators,
                          default=str, allow_nan=False)
    except ValueError:  # NaN or an infinity somewhere: not JSON; written as strings instead
        text = json.dumps(_finite(obj), ensure_ascii=ascii_only, indent=indent,
                          separators=separators, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def format_cell(name: str, value: Any) -> str:
    """A value for a human: thousands separators, 1 decimal for rates and scores, yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    last = str(name).rsplit(".", 1)[-1]
    try:
        if isinstance(value, int):
            is_id = last.lower() == "id" or last.endswith(("_id", "Id"))
            return str(value) if is_id else f"{value:,}"
        if isinstance(value, float):
            if any(word in last.lower() for word in _RATE_WORDS):
                return f"{value:,.1f}"
            return format(value, ",")
    except ValueError:  # an int too long to print in full
        return "(number too large)"
    return safe_text(value if isinstance(value, str) else dumps(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _width(text: str) -> int:
    """Terminal columns of `text`: wide characters 2, marks and format characters 0, and an
    emoji sequence as one emoji: VS16 makes a narrow symbol wide (❤️), a skin tone modifier and
    whatever a zero-width joiner attaches (👨‍👩‍👧) take no more room."""
    if text.isascii():
        return len(text)
    total = last = 0
    joined = False
    for c in text:
        if c == "\u200d":
            joined = True
            continue
        if joined:
            joined = False
            continue
        if c == "\ufe0f":
            if last == 1:
                total, last = total + 1, 2
            continue
        if 0x1F3FB <= ord(c) <= 0x1F3FF or unicodedata.combining(c) \
                or unicodedata.category(c) in ("Cf", "Mn", "Me"):
            continue
        last = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        total += last
    return total


def _right(view: View) -> list[bool]:
    """Per column: right-aligned? The view says, or numbers right and text left."""
    if view.right is not None:
        return list(view.right)
    return [
        all(_is_number(row[i]) or row[i] is None for row in view.rows)
        for i in range(len(view.columns))
    ]


def _plain_lines(view: View, human: bool = False) -> list[str]:
    """A view as space-aligned text without any decoration (what pipes and NO_COLOR get);
    `human` (a terminal): the view's labels instead of field names."""
    lines = [safe_text(view.title)] if view.title else []
    if not view.rows:
        return [*lines, "(none)"]
    labels = view.labels if human and view.labels else None
    if view.kind == "kv":
        keys = labels or [key for key, *_ in view.rows]
        grid = [[safe_text(k), format_cell(key, value)]
                for k, (key, value, *_) in zip(keys, view.rows)]
        numeric = [False, False]
    else:
        grid = [[safe_text(c) for c in labels or view.columns]]
        grid += [[format_cell(c, v) for c, v in zip(view.columns, row)] for row in view.rows]
        numeric = _right(view)
    widths = [max(_width(row[i]) for row in grid) for i in range(len(numeric))]
    for row in grid:
        cells = []
        for text, width, right in zip(row, widths, numeric):
            pad = " " * (width - _width(text))
            cells.append(pad + text if right else text + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


# --- narrow terminals: a number or a date is never split across lines -----------------------
# A token (a run of non-spaces) holding a digit and at most this wide is kept whole: numbers
# ("10,000", "-3.5 %"), dates and times ("2026-11-24T10:00:00.000Z"). Longer ones (ids, URLs) may
# fold like text.
_ATOM_MAX = 25


def _atom_width(text: str) -> int:
    """The width of the widest number- or date-like token of a cell (0 when it has none)."""
    return max(
        (_width(t) for t in text.split() if _width(t) <= _ATOM_MAX and any(c.isdigit() for c in t)),
        default=0,
    )


def fit_widths(grid: list[list[str]], width: int, overhead: int,
               keep: tuple[int, ...] = ()) -> list[int] | None:
    """Column widths for `grid` (header row first) within `width` terminal columns, such that no
    number or date is split: the natural widths when they fit, else each column at least its
    widest number/date token with the rest shared out; None when even that does not fit (the
    caller then stacks the rows as `label: value` lines). `keep`: columns never narrowed (text
    fit_view already cut to fit, which would otherwise be folded first as the widest)."""
    if not grid:
        return []
    n = len(grid[0])
    natural = [max((_width(row[i]) for row in grid), default=0) for i in range(n)]
    if sum(natural) + overhead <= width:
        return natural
    atoms = [max([1] + [_atom_width(row[i]) for row in grid[1:]]) for i in range(n)]
    # a header keeps its words whole (up to 12 wide) when there is room, else it folds
    words = [max((min(_width(w), 12) for w in grid[0][i].split()), default=0) for i in range(n)]
    minimum = [natural[i] if i in keep else max(a, w) for i, (a, w) in enumerate(zip(atoms, words))]
    if sum(minimum) + overhead > width:
        minimum = [natural[i] if i in keep else a for i, a in enumerate(atoms)]
    if sum(minimum) + overhead > width:
        return None
    # as rich does: take from the widest column first, but never below its minimum
    widths = list(natural)
    excess = sum(widths) + overhead - width
    while excess > 0:
        i = max((i for i in range(n) if widths[i] > minimum[i]), key=lambda i: widths[i])
        widths[i] -= 1
        excess -= 1
    return widths



# --- long text on a terminal: cut with "…", never wrapped ---------------------------------------
# A column a view marks `cut` (URLs, names) is cut to fit the terminal, down to this width;
# below it, the view's `optional` columns (the share bar) are dropped first.
CUT_MIN = 8
CUT_FLOOR = 4  # narrower than this, a table is stacked as "label: value" lines instead


def cut_text(text: str, width: int) -> str:
    """`text` cut to `width` terminal columns with a trailing "…" when wider."""
    if _width(text) <= width:
        return text
    out, used = "", 0
    for c in text:
        w = _width(c)
        if used + w > width - 1:
            break
        out, used = out + c, used + w
    return out + "…"


def _drop_columns(view: View, drop: set[int]) -> View:
    keep = [i for i in range(len(view.columns)) if i not in drop]
    index = {old: new for new, old in enumerate(keep)}
    return replace(
        view, columns=[view.columns[i] for i in keep],
        rows=[[row[i] for i in keep] for row in view.rows],
        labels=None if view.labels is None else [view.labels[i] for i in keep],
        right=None if view.right is None else [view.right[i] for i in keep],
        changes=tuple(index[i] for i in view.changes if i in index),
        cut=tuple(index[i] for i in view.cut if i in index),
        optional=tuple(index[i] for i in view.optional if i in index))


def fit_view(view: View, human: bool, width: int, rich: bool) -> View:
    """`view` made to fit `width` terminal columns with one line per row (terminal only): its
    `cut` columns cut with "…" (down to CUT_MIN, then its `optional` columns are dropped, then
    down to CUT_FLOOR; below that it is left whole, for the renderer to stack). `rich`: the boxed renderer (headers may fold at spaces, 3 columns of padding
    per column), else plain text (2 spaces between columns, headers whole)."""
    if view.kind != "table" or not view.cut or not view.rows:
        return view
    head, cells = _view_grid(view, human)

    def need(i: int) -> int:
        # rich folds a header at its spaces (fit_widths), except over a cut column
        folds = rich and i not in view.cut
        header = max((_width(w) for w in head[i].split()), default=0) if folds else _width(head[i])
        return max([header] + [_width(row[i]) for row in cells])

    while True:
        n = len(head)
        overhead = 3 * n + 1 if rich else 2 * (n - 1)
        fixed = sum(need(i) for i in range(n) if i not in view.cut)
        room = width - overhead - fixed
        if room >= sum(need(i) for i in view.cut):
            return view
        # the narrowest cut columns keep their width when they can; the rest share what is left
        alloc: dict[int, int] = {}
        left = room
        order = sorted(view.cut, key=need)
        for k, i in enumerate(order):
            alloc[i] = min(need(i), left // (len(order) - k))
            left -= alloc[i]
        if all(alloc[i] >= min(need(i), CUT_MIN) for i in view.cut) or not view.optional:
            break
        drop = max(view.optional)
        view = _drop_columns(view, {drop})
        head = [h for i, h in enumerate(head) if i != drop]
        cells = [[c for i, c in enumerate(row) if i != drop] for row in cells]
    if any(alloc[i] < min(need(i), CUT_FLOOR) for i in view.cut):
        return view  # no room even for a few characters: the renderer stacks it, names whole
    rows = [list(row) for row in view.rows]
    for i in view.cut:
        limit = alloc[i]
        for row, shown in zip(rows, cells):
            if _width(shown[i]) > limit:
                row[i] = cut_text(shown[i], limit)
    return replace(view, rows=rows)


def _stacked_lines(title: str | None, pairs_per_record: list[list[tuple[str, str]]], width: int) -> list[str]:
    """Records as `label: value` lines, a blank line between records; a value that does not fit
    beside its label goes on its own indented line, so it is never split by the terminal."""
    lines = [safe_text(title)] if title else []
    for n, pairs in enumerate(pairs_per_record):
        if n:
            lines.append("")
        for label, value in pairs:
            if not value:
                continue
            line = f"{label}: {value}"
            lines.extend([line] if _width(line) <= width else [f"{label}:", f"  {value}"])
    return lines


def _view_grid(view: View, human: bool) -> tuple[list[str], list[list[str]]]:
    """The labels and the formatted cells of a view (kv: one label per row, one value column)."""
    labels = view.labels if human and view.labels else None
    if view.kind == "kv":
        keys = labels or [key for key, *_ in view.rows]
        return ([safe_text(k) for k in keys],
                [[format_cell(key, value)] for key, value, *_ in view.rows])
    head = [safe_text(c) for c in labels or view.columns]
    return head, [[format_cell(c, v) for c, v in zip(view.columns, row)] for row in view.rows]


def _stacked_view(view: View, human: bool, width: int) -> list[str]:
    head, cells = _view_grid(view, human)
    if view.kind != "kv":  # a column without a header (a bar) still gets a label here
        from zenovay_cli.humanize import label

        head = [h or label(str(c)) for h, c in zip(head, view.columns)]
    if view.kind == "kv":
        return _stacked_lines(view.title, [[(k, row[0]) for k, row in zip(head, cells)]], width)
    return _stacked_lines(view.title, [list(zip(head, row)) for row in cells], width)


def _change_style(cell: str) -> str:
    return "green" if cell.startswith("↑") else "red" if cell.startswith("↓") else ""


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return value if isinstance(value, str) else dumps(value)


def _tsv_cell(value: Any) -> str:
    text = _csv_text(value).replace("\\", "\\\\")
    text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return _CONTROL.sub(_escape, text)


def _is_unicode(encoding: str | None) -> bool:
    import codecs

    try:
        return codecs.lookup(encoding or "utf-8").name.startswith("utf")
    except LookupError:
        return False


def tolerant_streams() -> None:
    """On a stdout/stderr that is not UTF-8, write what the encoding lacks as backslash escapes
    (`\\xe9`, `\\u4e2d`) instead of failing with UnicodeEncodeError. JSON never needs it (see
    `Output.ascii_only`); tables, csv, tsv and messages do."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if not _is_unicode(stream.encoding) and stream.errors == "strict":
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass


def _output_error(exc: BaseException):
    from zenovay_cli.errors import OutputError

    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:  # sys.stdout is None (fd 1 closed at start) or a closed file object
        reason = "it is closed"
    return OutputError(f"cannot write to standard output: {reason}",
                       hint="Nothing more was written; check where stdout goes.")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Output:
    """The sink for one invocation; streams and environment are read when used, not at import."""

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        color: bool | None = None,
        is_tty: bool | None = None,
        err_is_tty: bool | None = None,
    ) -> None:
        self._stdout, self._stderr = stdout, stderr
        self._color, self._is_tty, self._err_is_tty = color, is_tty, err_is_tty

    # ------------------------------------------------------------------ streams and colour
    @property
    def stdout(self) -> TextIO:
        return self._stdout if self._stdout is not None else sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr if self._stderr is not None else sys.stderr

    @property
    def is_tty(self) -> bool:
        return self._is_tty if self._is_tty is not None else _isatty(self.stdout)

    @property
    def err_is_tty(self) -> bool:
        return self._err_is_tty if self._err_is_tty is not None else _isatty(self.stderr)

    def _color_for(self, tty: bool) -> bool:
        if self._color is not None:  # an explicit --color/--no-color beats the environment
            return self._color
        if "NO_COLOR" in os.environ:
            return False
        if os.environ.get("FORCE_COLOR", "") not in ("", "0"):  # e.g. `FORCE_COLOR=1 … | less -R`
            return True
        if os.environ.get("TERM") == "dumb":
            return False
        return tty

    @property
    def color(self) -> bool:
        return self._color_for(self.is_tty)

    @property
    def err_color(self) -> bool:
        return self._color_for(self.err_is_tty)

    @property
    def ascii_only(self) -> bool:
        """stdout cannot take every character (PYTHONIOENCODING=ascii, a latin-1 locale, a cp1252
        file on Windows): JSON is then written with \\u escapes, which decode to the same data."""
        return not _is_unicode(getattr(self.stdout, "encoding", None))

    def _json(self, obj: Any, indent: int | None = None) -> str:
        return dumps(obj, indent, ascii_only=self.ascii_only)

    def _write(self, text: str, *, flush: bool = False) -> None:
        try:
            self.stdout.write(text)
            if flush:
                self.stdout.flush()
        except BrokenPipeError:
            raise  # the reader left (`| head`): not an error, see main.run
        except (OSError, ValueError, AttributeError) as exc:
            raise _output_error(exc) from None

    def _say(self, text: str) -> None:
        try:
            self.stderr.write(text + "\n")
            self.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass  # stderr closed or full: the exit code still tells what happened

    # ------------------------------------------------------------------ data
    def emit(self, kind: str, data: Any, fmt: str = "table") -> None:
        """Write one API answer in `fmt`."""
        if fmt == "json":
            self._write(self._json(data, 2 if self.is_tty else None) + "\n", flush=True)
        elif fmt == "table":
            self._tables(views_for(kind, data))
        elif fmt in ("ndjson", "csv", "tsv"):
            writer = _RecordWriter(self, fmt, kind)
            writer.write(records_for(kind, data))
            writer.finish()
        else:
            raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")

    def stream(self, kind: str, pages: Iterable[Any], fmt: str = "table") -> None:
        """Write a paged answer as its pages arrive (records formats and json); tables collect.

        When fetching fails part-way, the error (a ZenovayError) is re-raised with what was
        written said in its message: "the output is incomplete: stopped after 5,000 visitors".
        A --json document is then deliberately left unterminated, so that no JSON parser takes
        the part for the whole; ndjson, csv and tsv end after the last complete line.
        """
        counted = _Counted(kind, pages)
        try:
            if fmt == "json":
                self._stream_json(kind, counted)
            elif fmt in ("ndjson", "csv", "tsv"):
                writer = _RecordWriter(self, fmt, kind)
                for page in counted:
                    writer.write(records_for(kind, page))
                writer.finish()
            else:
                self._stream_table(kind, counted)
        except Exception as exc:
            from zenovay_cli.errors import ZenovayError

            if isinstance(exc, ZenovayError) and counted.pages:
                exc.message = f"{exc.message.rstrip('.')}; {counted.incomplete(fmt)}"
            raise

    def show(self, views: list[View]) -> None:
        """Write views built by the caller (the answers' screens) as tables."""
        self._tables(views)

    def records(self, records: list[dict[str, Any]], fmt: str) -> None:
        """Write flat records built by the caller as ndjson/csv/tsv."""
        _RecordWriter(self, fmt).write(records)

    def _stream_table(self, kind: str, pages: Iterable[Any]) -> None:
        """A paged answer as a table printed in blocks of TABLE_BLOCK_ROWS rows as pages arrive,
        each block aligned on its own with its header: memory holds one block, not every row."""
        from dataclasses import replace

        it = iter(pages)
        first = next(it, _NO_PAGE)
        key = None if first is _NO_PAGE else items_key(kind, first)
        if key is None:  # no pages, or not a paged shape: one table of everything
            rest = [] if first is _NO_PAGE else [first, *it]
            self.emit(kind, merge_pages(kind, rest), "table")
            return
        shown = 0
        items: list[Any] = []
        last = first

        def flush(block: list, tail: dict) -> None:
            nonlocal shown
            views = views_for(kind, {key: block, **tail})
            if shown:  # later blocks: no title again, and no empty table at the very end
                views = [replace(v, title=None) for v in views[:1] if block] + views[1:]
            if views:
                if shown:
                    self._write("\n")
                self._tables(views)
            shown += len(block) or 1

        for page in chain([first], it):
            if isinstance(page, dict):
                last = page
                value = page.get(key)
                items.extend(value if isinstance(value, list) else ())
            while len(items) >= TABLE_BLOCK_ROWS:
                flush(items[:TABLE_BLOCK_ROWS], {})
                del items[:TABLE_BLOCK_ROWS]
        flush(items, page_tail(key, last if isinstance(last, dict) else {}))

    def text(self, text: str) -> None:
        """One line of plain text on stdout (e.g. a monitoring-plugin status line)."""
        self._write(safe_text(text) + "\n", flush=True)

    def _stream_json(self, kind: str, pages: Iterable[Any]) -> None:
        # Written as it arrives, so `--all --json` holds one page in memory, not every page.
        indent = 2 if self.is_tty else None
        nl, pad, colon = ("\n", "  ", ": ") if indent else ("", "", ":")
        it = iter(pages)
        first = next(it, _NO_PAGE)
        if first is _NO_PAGE:
            self._write(self._json(empty_document(kind), indent) + "\n", flush=True)
            return
        key = items_key(kind, first)
        if key is None:  # not a paged shape: nothing to stream, keep every page
            rest = list(it)
            self._write(self._json([first, *rest] if rest else first, indent) + "\n", flush=True)
            return
        self._write("{" + nl + pad + self._json(key) + colon + "[")
        count, last = 0, first if isinstance(first, dict) else {}
        for page in chain([first], it):
            if isinstance(page, dict):
                last = page
            items = page.get(key) if isinstance(page, dict) else None
            chunk = []
            for item in items if isinstance(items, list) else ():
                text = self._json(item, indent)
                if indent:
                    text = "\n    " + text.replace("\n", "\n    ")
                chunk.append(("," if count else "") + text)
                count += 1
            self._write("".join(chunk), flush=True)
        self._write((nl + pad if count else "") + "]")
        for name, value in page_tail(key, last).items():
            text = self._json(value, indent).replace("\n", "\n" + pad)
            self._write("," + nl + pad + self._json(name) + colon + text)
        self._write(nl + "}\n", flush=True)

    # ------------------------------------------------------------------ tables
    @property
    def width(self) -> int | None:
        """The terminal's width when stdout is one (COLUMNS wins), else None (also when unknown)."""
        if not self.is_tty:
            return None
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return max(20, int(columns))
        try:
            return max(20, os.get_terminal_size(self.stdout.fileno()).columns)
        except (AttributeError, ValueError, OSError):
            return None

    def _tables(self, views: list[View]) -> None:
        if self.is_tty:  # labels, local/relative times: for the eye only, pipes keep the API's
            from zenovay_cli.humanize import for_terminal

            views = [for_terminal(view) for view in views]
            width = self.width or (80 if self.color else None)
            if width is not None:  # long names cut with "…", one line per row
                views = [fit_view(view, True, width, rich=self.color) for view in views]
        if self.color:
            self._rich_tables(views)
            return
        width = self.width
        blocks = []
        for view in views:
            lines = _plain_lines(view, self.is_tty)
            if width is not None and max(map(_width, lines), default=0) > width:
                # too wide for the terminal, which would cut numbers and dates apart
                lines = _stacked_view(view, True, width)
            blocks.append("\n".join(lines))
        self._write("\n\n".join(blocks) + "\n", flush=True)

    def _rich_tables(self, views: list[View]) -> None:
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        width = self.width or (80 if self.is_tty else 200)
        console = Console(
            file=self.stdout, force_terminal=True, width=width,
            markup=False, emoji=False, highlight=False,
            no_color=False,  # we decided to colour (rich would otherwise re-read NO_COLOR)
        )
        for i, view in enumerate(views):
            if i:
                console.print()
            title = Text(safe_text(view.title)) if view.title else None
            if not view.rows:
                if title:
                    console.print(title, style="bold")
                console.print(Text("(none)", style="dim"))
                continue
            head, cells = _view_grid(view, self.is_tty)
            # rich's own shrinking may fold "10,000" into "10" / ",0" / "00": fix the widths here
            # (padding 1+1 per column, a separator between columns, the two edges)
            if view.kind == "kv":
                widths = fit_widths([[k, row[0]] for k, row in zip(head, cells)], width, 3 * 2 + 1)
            else:
                widths = fit_widths([head, *cells], width, 3 * len(head) + 1, view.cut)
            if widths is None:
                for line in _stacked_view(view, self.is_tty, width):
                    console.print(Text(line), soft_wrap=True)
                continue
            labels = view.labels if self.is_tty and view.labels else None
            if view.kind == "kv":
                table = Table(title=title, title_justify="left", title_style="bold",
                              show_header=False, box=box.SIMPLE)
                table.add_column(style="cyan", overflow="fold", width=widths[0])
                table.add_column(overflow="fold", width=widths[1])
                keys = labels or [key for key, *_ in view.rows]
                for shown, (key, value, *_) in zip(keys, view.rows):
                    table.add_row(Text(safe_text(shown)), Text(format_cell(key, value)))
            else:
                table = Table(title=title, title_justify="left", title_style="bold",
                              header_style="bold cyan", box=box.SIMPLE_HEAD)
                right = _right(view)
                for n, column in enumerate(labels or view.columns):
                    cut = n in view.cut  # one line per row: cut with "…", never folded
                    table.add_column(Text(safe_text(column)), width=widths[n],
                                     overflow="ellipsis" if cut else "fold", no_wrap=cut,
                                     justify="right" if right[n] else "left")
                for row in view.rows:
                    row_cells = [format_cell(c, v) for c, v in zip(view.columns, row)]
                    table.add_row(*(Text(cell, style=_change_style(cell) if n in view.changes
                                         else "") for n, cell in enumerate(row_cells)))
            console.print(table)
        self.stdout.flush()

    # ------------------------------------------------------------------ talk (stderr)
    def _label(self, label: str, colour: str) -> str:
        return f"{colour}{label}{_RESET}" if self.err_color else label

    def info(self, msg: str) -> None:
        self._say(safe_text(msg))

    def status(self, msg: str) -> None:
        """Progress and waits, e.g. 'Rate limited; retrying in 2.0 s (attempt 2 of 4)'."""
        self._say(safe_text(msg))

    def warn(self, msg: str) -> None:
        self._say(f"{self._label('Warning:', _YELLOW)} {safe_text(msg)}")

    def error(self, msg: str, hint: str | None = None, request_id: str | None = None) -> None:
        """One line: what went wrong, what to do next, and the API's request id."""
        line = f"{self._label('Error:', _RED)} {safe_text(msg).rstrip('.')}."
        if hint:
            line += f" {safe_text(hint)}"
        if request_id:
            line += f" (request id: {safe_text(request_id)})"
        self._say(line)

    def progress(self, total: int | None, description: str = "", *, lines: bool = False):
        """A context manager with `advance(n=1, item=None)`: a bar on a colour terminal (stderr),
        otherwise one line per advance if `lines`, otherwise nothing."""
        if self.err_is_tty and self.err_color:
            return _BarProgress(self.stderr, total, description)
        if lines:
            return _LineProgress(self, total, description)
        return _NullProgress()


class _Counted:
    """The pages of a paged answer, counting what went by (for the "incomplete" message)."""

    def __init__(self, kind: str, pages: Iterable[Any]) -> None:
        self.kind, self._pages = kind, pages
        self.pages = self.items = 0

    def __iter__(self):
        for page in self._pages:
            self.pages += 1
            key = items_key(self.kind, page)
            items = page.get(key) if key and isinstance(page, dict) else None
            self.items += len(items) if isinstance(items, list) else 0
            yield page

    def incomplete(self, fmt: str) -> str:
        what = f"{self.items:,} {self.kind}"
        if fmt == "json":
            return (f"the output is incomplete: stopped after {what}, and the JSON document is "
                    "left unterminated (not valid JSON) on purpose")
        if fmt in ("ndjson", "csv", "tsv"):
            return f"the output is incomplete: stopped after {what} (each line written is whole)"
        return f"stopped after {what}; nothing was printed"


class _RecordWriter:
    """ndjson/csv/tsv lines; the csv/tsv header is fixed by the first records written."""

    def __init__(self, out: Output, fmt: str, kind: str = "") -> None:
        self.out, self.fmt, self.kind = out, fmt, kind
        self.header: list[str] | None = None
        self.dropped: set[str] = set()
        # csv carries the text unchanged, as `export --format csv` does (RFC 4180 quoting holds
        # commas, quotes and newlines); only on a terminal are control characters shown as escapes.
        self.escape = out.is_tty

    def _row(self, values: list[Any]) -> str:
        if self.fmt == "tsv":
            return "\t".join(_tsv_cell(v) for v in values) + "\n"
        texts = (_csv_text(v) for v in values)
        if self.escape:
            texts = (_CONTROL_CSV.sub(_escape, t) for t in texts)
        return csv_line(texts)

    def finish(self) -> None:
        """An answer without any record still gets its csv/tsv header row."""
        if self.header is None and self.fmt in ("csv", "tsv"):
            self.header = record_columns(self.kind)
            if self.header:
                self.out._write(self._row(self.header), flush=True)

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        if self.fmt == "ndjson":
            self.out._write("".join(self.out._json(r) + "\n" for r in records), flush=True)
            return
        lines = []
        if self.header is None:
            self.header = record_columns(self.kind, (k for r in records for k in r))
            lines.append(self._row(self.header))
        else:
            known = set(self.header)
            new = {k for r in records for k in r if k not in known} - self.dropped
            if new:
                # The header is already out; a later page cannot add columns to it.
                self.dropped |= new
                self.out.warn(f"Column(s) first seen after the header was written are left out: "
                              f"{', '.join(sorted(new))}")
        lines.extend(self._row([r.get(k) for k in self.header]) for r in records)
        self.out._write("".join(lines), flush=True)


class _NullProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, n: int = 1, item: str | None = None) -> None:
        return None


class _LineProgress(_NullProgress):
    def __init__(self, out: Output, total: int | None, description: str) -> None:
        self.out, self.total, self.description, self.done = out, total, description, 0

    def advance(self, n: int = 1, item: str | None = None) -> None:
        self.done += n
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        self.out.status(" ".join(p for p in (self.description, count, item or "") if p))


class _BarProgress(_NullProgress):
    def __init__(self, stderr: TextIO, total: int | None, description: str) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(file=stderr, force_terminal=True)
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=True,
        )
        self._task = self._progress.add_task(escape(safe_text(description)), total=total)

    def __enter__(self):
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def advance(self, n: int = 1, item: str | None = None) -> None:
        self._progress.advance(self._task, n)
