"""C library number parsing (glibc strtod/atoi semantics) and the RTD constant (spec §0, §1.1.6)."""

from __future__ import annotations

import math
import re

# RTD = 180*(1/M_PI): a product with the rounded reciprocal, not 180/pi (differs in the last bit).
RTD = 180.0 * (1.0 / math.pi)

_WS = " \t\n\v\f\r"
_DEC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?\d+))?")
_INF = re.compile(r"([+-]?)(?:infinity|inf)", re.IGNORECASE)
_NAN = re.compile(r"([+-]?)nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")


def atof(token: str) -> float:
    """C atof/strtod: longest valid prefix after leading whitespace; 0.0 when nothing parses."""
    s = token.lstrip(_WS)
    m = _HEX.match(s)
    if m:
        sign, mant, exp = m.groups()
        value = float.fromhex(f"0x{mant}p{exp or 0}")  # correctly rounded like glibc
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


def ctrunc_int(x: float) -> int:
    """C double -> int assignment (truncation toward zero)."""
    return int(x)
