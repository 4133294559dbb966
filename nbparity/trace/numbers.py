"""Tokens as C printf writes them -> float; placeholder words that mean "this value was not printed"."""

from __future__ import annotations

import functools
import math
import re

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


# --- printed precision ----------------------------------------------------------------------------------
# A value printed with n significant digits cannot be checked beyond them. `%g` strips trailing zeros, so a
# token's own digits are only a lower bound: the precision of a printf format is read from ALL the tokens
# it printed (a key's components and occurrences), never from one short token ("0.02" under %.17g).
_GENERAL_FLOOR = 6   # printf's %g default: no format prints fewer significant digits than this in practice
FULL_DIGITS = 17     # %.17g, repr: the double itself


_MANTISSA = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")


@functools.lru_cache(maxsize=65536)
def _mantissa(token: str) -> tuple[str, int] | None:
    """('digits with the point', decimal exponent) of a plain or exponent token; None for inf/nan/hex."""
    m = _MANTISSA.fullmatch(token.rsplit(":", 1)[-1].strip())
    if m is None:
        return None
    return m.group(1), int(m.group(2) or 0)


@functools.lru_cache(maxsize=65536)
def sig_digits(token: str) -> int:
    """Significant digits as printed (`0.011111` -> 5, `-3.069002e-01` -> 7, `0` -> 0)."""
    m = _mantissa(token)
    if m is None:
        return 0
    digits = m[0].replace(".", "").lstrip("0")
    return len(digits)


def decimals(token: str) -> int | None:
    """Digits after the point of a fixed-point token; None for exponent, integer or non-numeric tokens."""
    m = _mantissa(token)
    if m is None or "e" in token.lower() or "." not in m[0]:
        return None
    return len(m[0].split(".", 1)[1])


def uniform_decimals(tokens: list[str]) -> int | None:
    """d when every token is fixed-point with the same d >= 2 decimals."""
    dec = [decimals(t) for t in tokens]
    if not dec or None in dec or len(set(dec)) != 1 or dec[0] < 2:
        return None
    return dec[0]


def fixed_point(tokens: list[str], proven: frozenset = frozenset()) -> int | None:
    """d when the tokens are evidently `%.<d>f` output: every one has d >= 2 decimals and one shows a trailing
    zero, which neither %g nor a shortest round-trip print (Python's repr) ever writes, or another key of
    the same printout (`proven`) showed that d so. Equal decimals alone are no evidence: repr prints
    `0.999982 -0.005998` for the exact doubles a user typed."""
    d = uniform_decimals(tokens)
    if d is None:
        return None
    return d if d in proven or any(_mantissa(t)[0].endswith("0") for t in tokens) else None


def precision(tokens: list[str]) -> tuple[str, int]:
    """How a group of tokens (one printf format) was printed: ('fixed', decimals) or ('general', digits)."""
    d = fixed_point(tokens)
    if d is not None:
        return "fixed", d
    return "general", max([sig_digits(t) for t in tokens] + [_GENERAL_FLOOR])


def half_unit(value: float, mode: str, n: int) -> float:
    """Half a unit of the last printed digit of `value` printed as (mode, n); 0 for an exactly printed zero
    under %g and for non-finite values."""
    if value != value or value in (float("inf"), float("-inf")):
        return 0.0
    if mode == "fixed":
        return 0.5 * 10.0 ** (-n)
    if value == 0:
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - n + 1)


def printed_digits(value: float, mode: str, n: int) -> int:
    """Significant digits a value carries under (mode, n): n for %g; for %.<n>f those left of 10^-n."""
    if mode == "general":
        return n
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return 0
    return max(math.floor(math.log10(abs(value))) + n + 1, 0)
