"""The traced pixel's value in both float images, judged with the image rule (placeholder until the
image gates' rule is shared; see nbparity/images.py)."""

from __future__ import annotations

import math
import struct

from nbparity.verdict import Judgement, Verdict

# Both sides store float32 images. A float64 run may round a value that agrees to 1e-12 to the
# neighbouring float32 (1 ulp); a float32 run agrees with the C to 1e-5 relative (README, float32 runs).
MAX_ULPS = {"float64": 1, "float32": 2}
FLOAT32_RTOL = 1e-5


def _ulps(a: float, b: float) -> int:
    def key(x):
        i = struct.unpack("<i", struct.pack("<f", x))[0]
        return i if i >= 0 else -(i & 0x7FFFFFFF)

    return abs(key(a) - key(b))


def judge_pixel(c_value, torch_value, dtype: str = "float64") -> Judgement:
    if c_value is None or torch_value is None:
        side = "C" if c_value is None else "torch"
        return Judgement(Verdict.INCOMPLETE, f"the pixel's value is missing from the {side} image")
    c, t = float(c_value), float(torch_value)
    if not math.isfinite(c) and not math.isfinite(t):
        return Judgement(Verdict.INCOMPLETE, "the pixel's value is not finite on both sides")
    if struct.pack("<f", c) == struct.pack("<f", t):
        return Judgement(Verdict.IDENTICAL, "the pixel's value is the same float32 on both sides")
    if not (math.isfinite(c) and math.isfinite(t)):
        return Judgement(Verdict.DIVERGENT, f"the pixel's value is C {c!r}, torch {t!r}")
    n = _ulps(c, t)
    if n <= MAX_ULPS.get(dtype, 0) or (dtype == "float32" and abs(t - c) <= FLOAT32_RTOL * abs(c)):
        return Judgement(Verdict.WITHIN_TOLERANCE, f"the pixel's values are {n} float32 ulps apart")
    return Judgement(Verdict.DIVERGENT, f"the pixel's value differs: C {c!r}, torch {t!r} ({n} float32 ulps)")
