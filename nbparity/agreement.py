"""How close two aligned values are, beyond pass/fail: ulps between the sides, digits of agreement, and
the relative tolerance that would have made the row pass (issue 24, item 5).

    ulps         representable numbers between C and torch in the value's printed dtype: float64, except
                 the float32 store (tolerance class `float32_store`), counted in float32
    digits       -log10(|py - c| / |c|), capped at the dtype's round-trip digits (17 / 9); 0 where c is 0
                 and py is not
    rtol_needed  the smallest rtol that passes |py - c| <= atol + rtol*|c| with the row's atol (what
                 --tolerance would have to be); NaN for exact keys (no tolerance applies)

Rows not compared (one-sided, non-finite on either side) get NaN in all three: nothing was measured."""

from __future__ import annotations

MAX_DIGITS = {"float64": 17.0, "float32": 9.0}
FLOAT32_CLASSES = ("float32_store",)


def ordered_bits(x, int_type, sign_bit):
    """Integers in the order of the floats x (adjacent floats differ by one; +0 and -0 are both 0): the
    bits reinterpreted, negatives folded so the integers increase with the value."""
    import numpy as np

    i = x.view(int_type).astype(np.int64)
    return np.where(i < 0, -(i & np.int64(sign_bit - 1)), i)


def ulps_between(c, py, float32):
    """|ordered(py) - ordered(c)| per element (float, NaN where either side is not finite)."""
    import numpy as np

    c = np.asarray(c, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    finite = np.isfinite(c) & np.isfinite(py)
    safe_c, safe_py = np.where(finite, c, 0.0), np.where(finite, py, 0.0)
    k64 = (ordered_bits(safe_c, np.int64, 1 << 63), ordered_bits(safe_py, np.int64, 1 << 63))
    with np.errstate(over="ignore"):
        k32 = (ordered_bits(safe_c.astype(np.float32), np.int32, 1 << 31),
               ordered_bits(safe_py.astype(np.float32), np.int32, 1 << 31))
    kc = np.where(float32, k32[0], k64[0])
    kp = np.where(float32, k32[1], k64[1])
    same_sign = (kc >= 0) == (kp >= 0)
    with np.errstate(over="ignore"):
        near = np.abs(kp - kc).astype(np.float64)              # no overflow: both on one side of zero
    far = np.abs(kp.astype(np.float64)) + np.abs(kc.astype(np.float64))
    return np.where(finite, np.where(same_sign, near, far), np.nan)


def agreement(table):
    """The table with ulps, digits and rtol_needed columns (rows in the same order)."""
    import numpy as np

    c = table["c"].to_numpy(dtype=float)
    py = table["py"].to_numpy(dtype=float)
    measured = ((table["side"] == "both") & (table["status"].isin(["pass", "FAIL"]))).to_numpy() \
        & np.isfinite(c) & np.isfinite(py)
    float32 = table["tol_class"].isin(FLOAT32_CLASSES).to_numpy()
    exact = (table["tol_class"] == "exact").to_numpy()
    cap = np.where(float32, MAX_DIGITS["float32"], MAX_DIGITS["float64"])
    with np.errstate(divide="ignore", invalid="ignore"):   # inf - inf, 0/0: rows not measured anyway
        diff = np.abs(py - c)
        rel = np.where(diff == 0, 0.0, diff / np.abs(c))
        digits = np.where(rel == 0, cap, np.clip(-np.log10(rel), 0.0, cap))
        atol = table["atol"].to_numpy(dtype=float)
        need = np.where(diff <= atol, 0.0, (diff - atol) / np.abs(c))
    ulps = ulps_between(c, py, float32)
    nan = np.nan
    return table.assign(ulps=np.where(measured, ulps, nan), digits=np.where(measured, np.round(digits, 2), nan),
                        rtol_needed=np.where(measured & ~exact, need, nan))
