"""C library number parsing (glibc strtod/atoi semantics) and the RTD constant (spec §0, §1.1.6)."""

from __future__ import annotations

import math
import re

from .constants import RTD

__all__ = ["RTD", "atof", "atoi"]   # RTD lives in constants.py; the harness imports it from here

_WS = " \t\n\v\f\r"
# re.ASCII: strtod and atoi know only ASCII digits (Python's \d would also take "５０" or "١٠٠")
_DEC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_HEX = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?\d+))?", re.ASCII)
_INF = re.compile(r"([+-]?)(?:infinity|inf)", re.IGNORECASE | re.ASCII)
_NAN = re.compile(r"([+-]?)nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE | re.ASCII)
_INT = re.compile(r"[+-]?\d+", re.ASCII)


def atof(token: str) -> float:
    """C atof/strtod: longest valid prefix after leading whitespace; 0.0 when nothing parses."""
    s = token.lstrip(_WS)
    m = _HEX.match(s)
    if m:
        sign, mant, exp = m.groups()
        try:
            value = float.fromhex(f"0x{mant}p{exp or 0}")  # correctly rounded like glibc
        except OverflowError:
            value = math.inf  # strtod returns HUGE_VAL on overflow
        return -value if sign == "-" else value
    m = _INF.match(s)
    if m:
        return -math.inf if m.group(1) == "-" else math.inf
    m = _NAN.match(s)
    if m:
        return -math.nan if m.group(1) == "-" else math.nan
    m = _DEC.match(s)
    if m:
        return float(m.group(0))
    return 0.0


def atoi(token: str) -> int:
    """C atoi: the leading decimal integer ("1e3" -> 1, "2.9" -> 2, "x" -> 0), as a 32-bit int."""
    m = _INT.match(token.lstrip(_WS))
    if not m:
        return 0
    value = max(-(2**63), min(2**63 - 1, int(m.group(0))))  # strtol saturates at LONG range
    return (value + 2**31) % 2**32 - 2**31  # then the (int) conversion wraps on x86-64
