"""Tokens as C printf writes them -> float; placeholder words that mean "this value was not printed"."""

from __future__ import annotations

# words harness scripts wrote where a value was not available (`I_before_scaling NOT_EXTRACTED`): the key
# counts as not printed (one-sided). Kept to unambiguous words: "--", "?" or "abc" on a numeric key are
# unreadable values, and fail.
PLACEHOLDERS = {"not_extracted", "n/a", "not_available", "unavailable", "missing"}


def number(token: str) -> float | None:
    """C printf output -> float: %g, %d, -0, inf, -inf, nan, -nan, hex floats. None when unparseable."""
    if not token.isascii() or "_" in token:  # float() would also take "５０" or "1_000"; printf never prints them
        return None
    try:
        return float(token)
    except ValueError:
        pass
    if not token.lstrip("+-").lower().startswith("0x"):  # fromhex("abc") would be 2748
        return None
    try:
        return float.fromhex(token)
    except ValueError:
        return None


def labelled_number(token: str) -> float | None:
    """`rotx:0.1` / `X:8.25e-06` style (a label, a colon, a number) or a plain number."""
    val = number(token)
    if val is None and ":" in token:
        val = number(token.rsplit(":", 1)[1])
    return val


def is_placeholder(text: str) -> bool:
    return text.strip().lower() in PLACEHOLDERS


def is_template(text: str) -> bool:
    """`<val>` / `<idx>`: a line printed as instructions, not a value."""
    t = text.strip()
    return t.startswith("<") and t.endswith(">")
