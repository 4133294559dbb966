"""Full-image metrics between the C float image (the reference) and the torch float image.

Pure numpy, no I/O: `image_metrics` measures, `Thresholds.judge` turns the measurements into gate
results, `judge_image` turns an ImageVerdict into the five-state Judgement (nbparity.verdict). Every number
is computed in float64 from the float32 images both sides stored.

    judge_image(verdict, allow_empty=False) -> Judgement   # identical / within_tolerance / divergent /
                                                           # incomplete (both images empty)
    judge_image_pair(c, p, thresholds=Thresholds(), options=MetricOptions(), allow_empty=False, origin=(0, 0))
        -> (Judgement, ImageVerdict | None)                # a missing image (None) is incomplete
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from nbparity.verdict import Judgement, Verdict


def float32_ulp_distance(a, b) -> np.ndarray:
    """Number of representable float32 values between a and b (int64 array; -1 where either is NaN).

    +0 and -0 are 0 ulps apart (nbparity.agreement.ordered_bits)."""
    from nbparity.agreement import ordered_bits

    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    d = np.abs(ordered_bits(a, np.int32, 1 << 31) - ordered_bits(b, np.int32, 1 << 31))
    return np.where(np.isnan(a) | np.isnan(b), -1, d)


def ulp_histogram(ulps: np.ndarray) -> dict[str, int]:
    """Counts per bucket 0, 1, 2–4, 5–16, >16 ulps (NaN pairs, marked -1, land in >16)."""
    u = ulps.ravel()
    return {
        "0": int(np.count_nonzero(u == 0)),
        "1": int(np.count_nonzero(u == 1)),
        "2-4": int(np.count_nonzero((u >= 2) & (u <= 4))),
        "5-16": int(np.count_nonzero((u >= 5) & (u <= 16))),
        ">16": int(np.count_nonzero((u > 16) | (u < 0))),
    }


def pearson(c: np.ndarray, p: np.ndarray) -> float:
    """Pearson correlation in float64. Two constant images: 1 if identical, else NaN (fails any gate)."""
    c = c.astype(np.float64).ravel()
    p = p.astype(np.float64).ravel()
    if c.size == 0:
        return float("nan")
    with np.errstate(invalid="ignore", over="ignore"):   # a non-finite pixel makes it NaN: fails any gate
        dc, dp = c - c.mean(), p - p.mean()
        # sqrt(x·x) == x exactly in IEEE round-to-nearest, so identical images give exactly 1
        den = math.sqrt(float(np.dot(dc, dc)) * float(np.dot(dp, dp)))
        if den == 0.0:
            return 1.0 if np.array_equal(c, p) else float("nan")
        return float(np.dot(dc, dp) / den)


def local_maxima(img: np.ndarray, threshold: float) -> np.ndarray:
    """(slow, fast) of pixels ≥ all 8 neighbours and > threshold (NaN never a peak)."""
    x = np.where(np.isfinite(img), img.astype(np.float64), -np.inf)
    pad = np.pad(x, 1, constant_values=-np.inf)
    ok = x > threshold
    s, f = x.shape
    for ds in (-1, 0, 1):
        for df in (-1, 0, 1):
            if ds or df:
                ok &= x >= pad[1 + ds:1 + ds + s, 1 + df:1 + df + f]
    return np.argwhere(ok)


def match_peaks(pc: np.ndarray, pp: np.ndarray, radius: float, max_peaks: int = 2000,
                heights_c=None, heights_p=None) -> dict:
    """One-to-one greedy matching (closest pairs first) of C peaks to torch peaks within `radius` px.

    Only the `max_peaks` highest peaks of each side take part, to bound the distance matrix."""
    def top(p, h):
        if h is not None and len(p) > max_peaks:
            p = p[np.argsort(-h)[:max_peaks]]
        return p[:max_peaks]

    pc, pp = top(pc, heights_c), top(pp, heights_p)
    out = {"n_c": int(len(pc)), "n_torch": int(len(pp)), "matched": 0,
           "unmatched_c": int(len(pc)), "unmatched_torch": int(len(pp)),
           "mean_distance_px": None, "max_distance_px": None}
    if len(pc) == 0 or len(pp) == 0:
        return out
    d = np.sqrt(((pc[:, None, :].astype(np.float64) - pp[None, :, :]) ** 2).sum(axis=2))
    ci, pi = np.nonzero(d <= radius)
    order = np.argsort(d[ci, pi], kind="stable")
    used_c, used_p, dist = set(), set(), []
    for k in order:
        i, j = int(ci[k]), int(pi[k])
        if i not in used_c and j not in used_p:
            used_c.add(i)
            used_p.add(j)
            dist.append(float(d[i, j]))
    out.update(matched=len(dist), unmatched_c=len(pc) - len(dist), unmatched_torch=len(pp) - len(dist))
    if dist:
        out.update(mean_distance_px=float(np.mean(dist)), max_distance_px=float(np.max(dist)))
    return out


@dataclass(frozen=True)
class MetricOptions:
    """How the measurements are taken (recorded in metrics.json beside the numbers)."""

    rel_floor_frac: float = 1e-3   # max relative Δ only over pixels with |C| > this fraction of max |C|
    pixel_ulps: int = 1            # a pixel is within tolerance if ≤ this many float32 ulps apart …
    pixel_rtol: float = 0.0        # … or |Δ| ≤ pixel_atol + pixel_rtol·|C|
    pixel_atol: float = 0.0
    peak_threshold_frac: float = 0.1  # peaks: local maxima above this fraction of the image maximum
    peak_radius_px: float = 2.0
    worst_n: int = 5

    def to_dict(self):
        return asdict(self)


def image_metrics(c, p, options: MetricOptions = MetricOptions(), origin=(0, 0)) -> dict:
    """All comparison numbers for C image `c` (reference) and torch image `p`, same shape.

    `origin` = (slow, fast) of c[0, 0] in the full frame, so reported pixels are frame coordinates."""
    c = np.asarray(c)
    p = np.asarray(p)
    if c.shape != p.shape:
        raise ValueError(f"image shapes differ: C {c.shape} vs torch {p.shape}")
    c32, p32 = c.astype(np.float32), p.astype(np.float32)
    c64, p64 = c32.astype(np.float64), p32.astype(np.float64)
    diff = p64 - c64
    absd = np.abs(diff)
    absd_nan = np.where(np.isnan(absd), np.inf, absd)  # a one-sided NaN counts as the worst pixel
    both_nan = np.isnan(c64) & np.isnan(p64)
    absd_nan[both_nan] = 0.0
    o_s, o_f = origin

    finite_c = c64[np.isfinite(c64)]
    max_c = float(np.max(np.abs(finite_c))) if finite_c.size else 0.0
    sum_c, sum_p = float(np.sum(c64)), float(np.sum(p64))
    if sum_c != 0.0:
        sum_ratio = sum_p / sum_c
    else:
        sum_ratio = 1.0 if sum_p == 0.0 else float("inf")

    idx = np.unravel_index(int(np.argmax(absd_nan)), c.shape) if c.size else (0, 0)
    floor = options.rel_floor_frac * max_c
    sel = np.abs(c64) > floor
    rel = absd[sel] / np.abs(c64[sel])
    ulps = float32_ulp_distance(c32, p32)
    within = (ulps >= 0) & (ulps <= options.pixel_ulps)
    within |= absd <= options.pixel_atol + options.pixel_rtol * np.abs(c64)
    within |= both_nan

    flat = np.argsort(-absd_nan, axis=None, kind="stable")[:options.worst_n]
    worst = []
    for k in flat:
        s, f = np.unravel_index(int(k), c.shape)
        worst.append({"slow": int(s + o_s), "fast": int(f + o_f), "c": float(c64[s, f]),
                      "torch": float(p64[s, f]), "abs_diff": float(absd[s, f]),
                      "ulps": int(ulps[s, f])})

    thr = options.peak_threshold_frac * max_c
    pc, pp = local_maxima(c64, thr), local_maxima(p64, thr)
    peaks = match_peaks(pc, pp, options.peak_radius_px,
                        heights_c=c64[tuple(pc.T)] if len(pc) else None,
                        heights_p=p64[tuple(pp.T)] if len(pp) else None)
    peaks["threshold"] = thr

    return {
        "shape": [int(c.shape[0]), int(c.shape[1])],
        "origin": [int(o_s), int(o_f)],
        "pixels": int(c.size),
        "corr": pearson(c64, p64),
        "sum_c": sum_c,
        "sum_torch": sum_p,
        "sum_ratio": sum_ratio,
        "max_c": max_c,
        "max_torch": float(np.nanmax(np.abs(p64))) if p64.size and not np.all(np.isnan(p64)) else 0.0,
        "one_ulp_of_max": float(np.spacing(np.float32(max_c))),
        "max_abs_diff": float(absd_nan[idx]) if c.size else 0.0,
        "max_abs_diff_pixel": {"slow": int(idx[0] + o_s), "fast": int(idx[1] + o_f)},
        "max_rel_diff": float(np.max(rel)) if rel.size else 0.0,
        "max_rel_floor": floor,
        "rmse": float(np.sqrt(np.mean(diff ** 2))) if c.size else 0.0,
        "outside_tolerance": int(np.count_nonzero(~within)),
        "nonfinite_c": int(np.count_nonzero(~np.isfinite(c64))),
        "nonfinite_torch": int(np.count_nonzero(~np.isfinite(p64))),
        "nonzero_c": int(np.count_nonzero(np.isfinite(c64) & (c64 != 0))),       # finite, non-zero pixels
        "nonzero_torch": int(np.count_nonzero(np.isfinite(p64) & (p64 != 0))),
        "bits_differ": int(np.count_nonzero(c32.view(np.uint32) != p32.view(np.uint32))),
        "ulp_histogram": ulp_histogram(ulps),
        "max_ulps": int(ulps.max()) if ulps.size else 0,
        "worst_pixels": worst,
        "peaks": peaks,
    }


@dataclass(frozen=True)
class Thresholds:
    """Verdict gates. Defaults mean exactness for c-mode float64. None disables a gate (and is recorded
    as null); max_abs_max None means "one float32 ulp of the C maximum"."""

    corr_min: float | None = 1.0 - 1e-12
    sum_ratio_min: float | None = 1.0 - 1e-9
    sum_ratio_max: float | None = 1.0 + 1e-9
    max_abs_max: float | None = None
    max_rel_max: float | None = None
    rmse_max: float | None = None
    outside_max: int | None = 0
    peaks_unmatched_max: int | None = None
    peak_distance_max: float | None = None

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, mapping: dict, base: "Thresholds | None" = None) -> "Thresholds":
        """Overlay `mapping` on `base`; unknown keys or non-numbers raise ValueError naming the key."""
        values = asdict(base or cls())
        for key, val in (mapping or {}).items():
            if key not in values:
                raise ValueError(f"unknown threshold {key!r} (known: {', '.join(cls.names())})")
            if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float))):
                raise ValueError(f"threshold {key!r} must be a number or null, got {val!r}")
            values[key] = val
        return cls(**values)

    def to_dict(self):
        return asdict(self)

    def judge(self, m: dict) -> list[dict]:
        """One record per gate: name, value, limit, ok. NaN values fail every gate they reach."""
        max_abs_limit = self.max_abs_max if self.max_abs_max is not None else m["one_ulp_of_max"]
        peaks = m["peaks"]
        unmatched = peaks["unmatched_c"] + peaks["unmatched_torch"]
        checks = [
            ("corr", m["corr"], ">=", self.corr_min),
            ("sum_ratio", m["sum_ratio"], ">=", self.sum_ratio_min),
            ("sum_ratio", m["sum_ratio"], "<=", self.sum_ratio_max),
            ("max_abs_diff", m["max_abs_diff"], "<=", max_abs_limit),
            ("max_rel_diff", m["max_rel_diff"], "<=", self.max_rel_max),
            ("rmse", m["rmse"], "<=", self.rmse_max),
            ("outside_tolerance", m["outside_tolerance"], "<=", self.outside_max),
            ("peaks_unmatched", unmatched, "<=", self.peaks_unmatched_max),
            ("peak_max_distance", peaks["max_distance_px"] or 0.0, "<=", self.peak_distance_max),
        ]
        out = []
        for name, value, op, limit in checks:
            if limit is None:
                continue
            v = float(value)
            ok = (v >= limit) if op == ">=" else (v <= limit)  # False for NaN
            out.append({"gate": name, "value": value, "op": op, "limit": limit, "ok": bool(ok)})
        return out


@dataclass
class ImageVerdict:
    """Metrics + gate results for one image pair."""

    metrics: dict
    gates: list = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(g["ok"] for g in self.gates)

    @property
    def failed_gates(self) -> list[dict]:
        return [g for g in self.gates if not g["ok"]]

    def judgement(self, allow_empty: bool = False) -> Judgement:
        """The five-state verdict (judge_image)."""
        return judge_image(self, allow_empty)

    def to_dict(self):
        return {"verdict": "PASS" if self.ok else "DIVERGENCE", "metrics": self.metrics,
                "gates": self.gates, "thresholds": self.thresholds, "metric_options": self.options}


def evaluate(c, p, thresholds: Thresholds = Thresholds(), options: MetricOptions = MetricOptions(),
             origin=(0, 0)) -> ImageVerdict:
    """Measure and judge in one call."""
    m = image_metrics(c, p, options, origin=origin)
    return ImageVerdict(m, thresholds.judge(m), thresholds.to_dict(), options.to_dict())


def describe_failures(v: ImageVerdict) -> str:
    """One line naming the failed gates with value and limit (for tables, JUnit text, stderr)."""
    parts = [f"{g['gate']}={_fmt(g['value'])} (limit {g['op']} {_fmt(g['limit'])})" for g in v.failed_gates]
    return "; ".join(parts) if parts else "all gates pass"


def _fmt(x):
    if isinstance(x, float):
        return f"{x:.6g}" if abs(x - 1.0) > 1e-6 or x == 1.0 else f"1{x - 1.0:+.3e}"
    return str(x)


def _empty(m: dict, side: str) -> bool:
    """No finite non-zero pixel: the image is all zero, all non-finite, or a mix of both."""
    return m[f"nonzero_{side}"] == 0


def judge_image(v: ImageVerdict, allow_empty: bool = False) -> Judgement:
    """The five-state verdict of one image pair: identical when the two float images are bit-identical,
    within tolerance when every gate passes, divergent otherwise; two images with no finite non-zero pixel
    (all zero or all non-finite) prove nothing and are incomplete unless `allow_empty`; a float image that
    is empty on one side only is divergent, whatever the gates say."""
    m = v.metrics
    n = m["pixels"]
    empty_c, empty_t = _empty(m, "c"), _empty(m, "torch")
    if n == 0:
        return Judgement(Verdict.INCOMPLETE, "the image region holds no pixel: nothing was compared")
    if empty_c and empty_t and not allow_empty:
        return Judgement(Verdict.INCOMPLETE, f"both images hold no finite non-zero pixel ({n} pixels, "
                                             f"{m['nonfinite_c']} / {m['nonfinite_torch']} non-finite): nothing "
                                             "was compared (--allow-empty accepts it)")
    if empty_c != empty_t:
        which, other = ("torch", "C") if empty_t else ("C", "torch")
        return Judgement(Verdict.DIVERGENT, f"the {which} image holds no finite non-zero pixel, the {other} "
                                            f"image has {m['nonzero_' + ('c' if empty_t else 'torch')]}")
    if m.get("bits_differ") == 0:
        return Judgement(Verdict.IDENTICAL, f"all {n} pixels bit-identical")
    if v.ok:
        return Judgement(Verdict.WITHIN_TOLERANCE, f"all gates pass ({m.get('bits_differ')} of {n} pixels "
                                                   f"differ, at most {m['max_ulps']} float32 ulps)")
    return Judgement(Verdict.DIVERGENT, describe_failures(v))


def judge_image_pair(c, p, thresholds: Thresholds = Thresholds(), options: MetricOptions = MetricOptions(),
                     allow_empty: bool = False, origin=(0, 0)):
    """(Judgement, ImageVerdict or None): a missing image (None) is incomplete, the rest as judge_image."""
    missing = [name for name, img in (("C", c), ("torch", p)) if img is None]
    if missing:
        return Judgement(Verdict.INCOMPLETE, f"{' and '.join(missing)} float image missing: not compared"), None
    v = evaluate(c, p, thresholds, options, origin=origin)
    return judge_image(v, allow_empty), v
