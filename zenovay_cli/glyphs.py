"""Sparklines and inline bars, and when to draw them (pure: the caller says what the terminal is).

Three modes: "unicode" on a colour terminal (block characters), "ascii" on a terminal without
colour (NO_COLOR, TERM=dumb, --no-color: plain characters any terminal shows), and None when
stdout is not a terminal: then no sparkline or bar is emitted at all, so a pipe gets figures only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Mode = Literal["unicode", "ascii"] | None

_SPARK = {"unicode": "▁▂▃▄▅▆▇█", "ascii": "_.-~=+*#"}
_EIGHTHS = " ▏▎▍▌▋▊▉"


def mode_for(is_tty: bool, color: bool) -> Mode:
    """The glyph mode for an output: None when not a terminal, plain text without colour."""
    if not is_tty:
        return None
    return "unicode" if color else "ascii"


def _resample(values: Sequence[float], width: int) -> list[float]:
    """`values` squeezed into `width` buckets (each the mean of its days)."""
    n = len(values)
    if n <= width:
        return list(values)
    out = []
    for i in range(width):
        lo, hi = i * n // width, (i + 1) * n // width
        chunk = values[lo:max(hi, lo + 1)]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(values: Sequence[float], mode: Mode, width: int | None = None) -> str:
    """One character per value (or per bucket when more values than `width`), scaled from the
    smallest to the largest value; "" for no values or mode None."""
    if mode is None or not values:
        return ""
    ramp = _SPARK[mode]
    vals = _resample([max(0.0, float(v)) for v in values], width) if width else list(values)
    # Scaled from the smallest to the largest value, so a trend shows even when every day is
    # busy; a flat series is drawn at the bottom (all 0) or in the middle.
    lo, hi = min(vals), max(vals)
    last = len(ramp) - 1
    if hi == lo:
        return (ramp[0] if hi <= 0 else ramp[last // 2]) * len(vals)
    return "".join(ramp[min(last, int(round((v - lo) / (hi - lo) * last)))] for v in vals)


def bar(fraction: float | None, width: int, mode: Mode) -> str:
    """A horizontal bar `fraction` (0..1) of `width` cells long, padded to `width`; eighths of a
    cell in unicode mode, '#' in ascii mode; "" for mode None."""
    if mode is None or width <= 0:
        return ""
    f = 0.0 if fraction is None else min(1.0, max(0.0, fraction))
    if mode == "ascii":
        n = int(round(f * width))
        return ("#" * n).ljust(width)
    eighths = int(round(f * width * 8))
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def ellipsize(text: str, width: int) -> str:
    """`text` cut to `width` characters with a trailing "…" when longer (terminal only)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"
