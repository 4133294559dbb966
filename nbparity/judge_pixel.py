"""The traced pixel's value in both float images, judged with the image rule (for the compare flows).

    judge_pixel(c_value, torch_value, dtype="float64", rtol=None, atol=None) -> Judgement

Both values are the float32 the images store. The rule is the per-pixel rule of nbparity.images
(MetricOptions: a pixel is within tolerance when it is at most `pixel_ulps` float32 ulps from the C value,
or |Δ| <= pixel_atol + pixel_rtol·|C|); for a float32 torch run the project's float32 image criterion
(FLOAT32_PIXEL_RTOL, relative) applies instead. `rtol` / `atol` override the relative / absolute part.

- identical: the same float32 bits;
- within tolerance: the rule holds (the reason names the ulp distance, the relative error and the rule);
- divergent: it does not, or one side is not finite, or both are non-finite and differ;
- incomplete: a value is missing (None: the pixel is not in that image), or the same NaN / inf on both
  sides (nothing to compare).
"""

from __future__ import annotations

import math

import numpy as np

from nbparity.images import MetricOptions, float32_ulp_distance
from nbparity.verdict import Judgement, Verdict

# tests/simulator/test_vs_c.py::test_float32_agreement and the conformance suite: float32 renders agree
# to 1e-5 relative (the project's float32 image criterion)
FLOAT32_PIXEL_RTOL = 1e-5


def _rule(dtype: str, rtol, atol, options: MetricOptions) -> tuple[int, float, float, str]:
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    base_rtol = FLOAT32_PIXEL_RTOL if dtype == "float32" else options.pixel_rtol
    r = base_rtol if rtol is None else float(rtol)
    a = options.pixel_atol if atol is None else float(atol)
    text = f"<= {options.pixel_ulps} float32 ulp or |Δ| <= {a:g} + {r:g}·|C|"
    return options.pixel_ulps, r, a, text + (" (float32 criterion)" if dtype == "float32" else " (image gate)")


def judge_pixel(c_value, torch_value, dtype: str = "float64", rtol: float | None = None,
                atol: float | None = None, options: MetricOptions = MetricOptions()) -> Judgement:
    """The traced pixel's C and torch image values (None where that image lacks it) as a Judgement."""
    missing = [name for name, v in (("C", c_value), ("torch", torch_value)) if v is None]
    if missing:
        return Judgement(Verdict.INCOMPLETE, f"traced pixel value missing from the {' and '.join(missing)} "
                                             "image: not compared")
    ulps, r, a, rule = _rule(dtype, rtol, atol, options)
    c32, p32 = np.float32(c_value), np.float32(torch_value)
    c, p = float(c32), float(p32)
    what = f"traced pixel C={c!r} torch={p!r}"
    if not (math.isfinite(c) and math.isfinite(p)):
        same = (math.isnan(c) and math.isnan(p)) or c == p
        if same:
            return Judgement(Verdict.INCOMPLETE, f"{what}: not finite on both sides, nothing to compare")
        return Judgement(Verdict.DIVERGENT, f"{what}: non-finite values must match exactly")
    if c32.view(np.uint32) == p32.view(np.uint32):
        return Judgement(Verdict.IDENTICAL, f"{what}: bit-identical")
    dist = int(float32_ulp_distance(np.array([c32]), np.array([p32]))[0])
    diff = abs(p - c)
    rel = diff / abs(c) if c != 0 else math.inf
    ok = dist <= ulps or diff <= a + r * abs(c)
    text = f"{what}: {dist} float32 ulps apart, relative error {rel:.3g} (rule {rule})"
    return Judgement(Verdict.WITHIN_TOLERANCE if ok else Verdict.DIVERGENT, text)
