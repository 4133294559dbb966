"""What every terminal report shares: the width it fits, how a line is cut, how a number is shortened."""

from __future__ import annotations

WIDTH = 120


def cut(text: str, width: int = WIDTH) -> str:
    """The line, or its first width-1 characters and '…'."""
    return text if len(text) <= width else text[:width - 1] + "…"


def g(x, digits: int = 10) -> str:
    """A number with `digits` significant digits, '-' for a missing one, text as it is."""
    if x is None:
        return "-"
    try:
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return str(x)
