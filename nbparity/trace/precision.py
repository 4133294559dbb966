"""The printed-precision columns (digits, half_unit) of a trace's values, computed over whole columns.

    precision_columns(cols, exact=False, by_key=False) -> (digits, half_unit)   numpy arrays

Same rules as nbparity/trace/numbers.py states them per token (a key is `%.<d>f` when its tokens are
evidently fixed-point; otherwise a family's significant digits are the most any of its tokens shows; a
family showing fewer than 6 is taken as printed exactly). Plain decimal tokens are measured on a character
matrix; any other token (labels, hex, inf, text) goes through the per-token functions.
"""

from __future__ import annotations

import numpy as np

from nbparity.trace.numbers import FULL_DIGITS, _mantissa, decimals, number, sig_digits

_CHUNK = 1 << 16          # rows per slice of the per-row formulas
_TOKEN_CHUNK = 1 << 14    # tokens per joined buffer (its per-byte temporaries are int64)
_LOW, _HIGH = -400, 400


def _py_pow10(k: int) -> float:
    try:
        return 10.0 ** k
    except OverflowError:
        return float("inf")


# 10.0 ** k as Python computes it (numpy's power may differ in the last bit)
_POW10 = np.array([_py_pow10(k) for k in range(_LOW, _HIGH + 1)])


def _pow10(k: np.ndarray) -> np.ndarray:
    return _POW10[np.clip(k, _LOW, _HIGH).astype(np.int64) - _LOW]


def _slow_stats(tok) -> tuple[float, bool, int, int, bool]:
    t = str(tok)
    printed = number(t.rsplit(":", 1)[-1].strip())
    dec = decimals(t)
    m = _mantissa(t)
    return (np.nan if printed is None else printed, printed is not None, sig_digits(t),
            -1 if dec is None else dec, bool(m and m[0].endswith("0")))


def _joined_stats(toks: list[str]):
    """Stats of the plain decimal tokens (only [0-9+-.eE]) of a chunk, measured on the tokens joined into
    one byte buffer: (plain mask, printed, significant digits, decimals or -1, mantissa ends in 0)."""
    buf = np.frombuffer("\n".join(toks).encode("utf-8", "replace"), np.uint8)
    ends = np.append(np.flatnonzero(buf == 10), len(buf))
    if len(ends) != len(toks):
        return None
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    if (lengths == 0).any():
        return None
    pos = np.arange(len(buf))
    big = len(buf) + 1
    seg = lambda ufunc, x: ufunc.reduceat(x, starts)  # noqa: E731  (one value per token)
    digit = (buf >= 48) & (buf <= 57)
    is_e = (buf == 101) | (buf == 69)
    allowed = digit | is_e | (buf == 43) | (buf == 45) | (buf == 46) | (buf == 10)
    plain = (seg(np.add, ~allowed) == 0) & (seg(np.add, digit) > 0)
    e_pos = np.minimum(seg(np.minimum, np.where(is_e, pos, big)), ends)
    token = np.repeat(np.arange(len(toks)), lengths + 1)[:len(buf)]
    mant = digit & (pos < e_pos[token])
    first = seg(np.minimum, np.where(mant & (buf != 48), pos, big))
    sig = seg(np.add, mant & (pos >= first[token]))
    dot = seg(np.minimum, np.where(buf == 46, pos, big))
    dec = np.where((e_pos < ends) | (dot >= ends), -1, ends - dot - 1)
    ends0 = buf[e_pos - 1] == 48
    return plain, sig, dec, ends0


def token_stats(raw: np.ndarray):
    """(printed value, printed parses, significant digits, decimals or -1, mantissa ends in 0) per token."""
    n = len(raw)
    printed, ok = np.full(n, np.nan), np.zeros(n, bool)
    sig, dec, ends0 = np.zeros(n, np.int64), np.full(n, -1, np.int64), np.zeros(n, bool)
    for lo in range(0, n, _TOKEN_CHUNK):
        toks = raw[lo:lo + _TOKEN_CHUNK].tolist()
        got = _joined_stats(toks) if all(type(t) is str for t in toks) else None
        plain = np.zeros(len(toks), bool)
        if got is not None:
            where = np.flatnonzero(got[0])
            try:
                printed[lo + where] = [float(toks[k]) for k in where.tolist()]
            except ValueError:   # not a number after all: every token of the chunk the slow way
                where = where[:0]
            plain[where] = True
            ok[lo + where] = True
            for arr, part in zip((sig, dec, ends0), got[1:]):
                arr[lo + where] = part[where]
        for k in np.flatnonzero(~plain).tolist():
            printed[lo + k], ok[lo + k], sig[lo + k], dec[lo + k], ends0[lo + k] = _slow_stats(toks[k])
    return printed, ok, sig, dec, ends0


def _codes(*columns) -> np.ndarray:
    """One group id per row from several columns of codes (pandas.factorize of each column)."""
    import pandas as pd

    combined = np.zeros(len(columns[0]), np.int64)
    for codes in columns:
        combined = combined * (int(codes.max(initial=0)) + 2) + codes
    return pd.factorize(combined)[0]


def _group_max(group: np.ndarray, x: np.ndarray, fill) -> np.ndarray:
    out = np.full(group.max() + 1 if len(group) else 0, fill, dtype=x.dtype)
    np.maximum.at(out, group, x)
    return out


def _fixed_decimals(key_group: np.ndarray, kind: np.ndarray, dec, ends0) -> np.ndarray:
    """Per key group: d when its tokens are evidently `%.<d>f` (a trailing zero, or another key of the same
    line kind proved that d), else -1."""
    n_groups = key_group.max() + 1
    dmax = _group_max(key_group, dec, -1)
    dmin = -_group_max(key_group, -dec, -10**9)
    any0 = _group_max(key_group, ends0.astype(np.int64), 0) > 0
    uniform = (dmin == dmax) & (dmin >= 2)
    group_kind = np.zeros(n_groups, np.int64)
    group_kind[key_group] = kind
    proven = {(int(k), int(d)) for k, d in zip(group_kind[uniform & any0], dmax[uniform & any0])}
    by_proof = np.array([(int(k), int(d)) in proven for k, d in zip(group_kind, dmax)], bool)
    return np.where(uniform & (any0 | by_proof), dmax, -1)


def _name_codes(cols: dict):
    """(impl, section, key, is-a-DETECTOR_-line) codes per row."""
    import pandas as pd

    impl, section = pd.factorize(cols["impl"])[0], pd.factorize(cols["section"])[0]
    key, uniq = pd.factorize(cols["key"])
    detector = np.array([str(k).startswith("DETECTOR_") for k in uniq], np.int64)
    return impl, section, key, detector[key] if len(uniq) else key


def name_groups(impl, section, key, detector) -> tuple:
    """(key group, line-kind group) ids from the codes of the names."""
    return _codes(impl, section, key), _codes(impl, section, detector)


def precision_columns(cols: dict, exact: bool = False, by_key: bool = False):
    """(digits, half_unit) for every value (see the module docstring)."""
    raw, value = cols["raw"], cols["value"]
    stats = cols.pop("stats", None)   # a reader that measured its tokens already (columns.ValueColumns)
    groups = cols.pop("name_groups", None)   # (key group, kind) per value, when a reader has them
    printed, ok, sig, dec, ends0 = token_stats(raw) if stats is None else stats
    del stats
    digits, half = np.where(ok, FULL_DIGITS, 0).astype(np.int64), np.zeros(len(raw))
    usable = ok & ~np.isnan(printed)
    if exact or not usable.any():
        return digits, half
    key_group, kind = groups or name_groups(*_name_codes(cols))
    del groups
    fixed_of_group = _fixed_decimals(key_group, kind, dec, ends0)
    family = key_group if by_key else kind
    n_of_family = _group_max(family, sig, 0)
    del sig, dec, ends0, ok   # per-value temporaries: the peak of a big read is here
    n_of_family = np.where(n_of_family >= 6, n_of_family, FULL_DIGITS)
    for lo in range(0, len(raw), _CHUNK):   # in slices: a dozen temporaries per value add up
        sl = slice(lo, lo + _CHUNK)
        d, h = _printed_precision(printed[sl], value[sl], fixed_of_group[key_group[sl]], n_of_family[family[sl]])
        use = usable[sl]
        digits[sl][use], half[sl][use] = d[use], h[use]
    return digits, half


def _printed_precision(printed, value, fixed, n):
    """numbers.printed_digits and numbers.half_unit (scaled to the value's unit) of each printed value, under
    `%.<fixed>f` where fixed >= 0, else %g with n significant digits."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite = np.isfinite(printed)
        exponent = np.floor(np.log10(np.abs(np.where(finite & (printed != 0), printed, 1.0))))
        is_fixed = fixed >= 0
        fixed_digits = np.where((printed == 0) | ~finite, 0, np.maximum(exponent + fixed + 1, 0))
        digits = np.where(is_fixed, fixed_digits, n).astype(np.int64)
        half_general = np.where(printed == 0, 0.0, 0.5 * _pow10(exponent - n + 1))
        half = np.where(~finite, 0.0, np.where(is_fixed, 0.5 * _pow10(-fixed), half_general))
        scale = np.where((printed != 0) & ~np.isnan(value), np.abs(value / printed), 1.0)
    return digits, half * scale
