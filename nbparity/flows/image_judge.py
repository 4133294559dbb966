"""Judging two float images in the five-state vocabulary.

`measure` takes the metrics over the compared crop (nbparity.images) and adds the pixels outside it, which
must be bit-identical on both sides (a side that renders outside the ROI is a divergence, never something
a crop may hide). `image_judgement` turns the gates and the two images into one Judgement:

* divergent: a gate fails;
* incomplete: both images are empty (every pixel zero or not finite) or a pixel is not finite on both
  sides, so nothing decided the verdict (unless --allow-empty);
* identical: the two crops are bit-identical; within tolerance: every gate passes.

`image_judgement` is written to be swapped for the one nbparity.images gains (same arguments)."""

from __future__ import annotations

import hashlib

from nbparity.verdict import Judgement, Verdict, combine

PIXEL_OPTIONS = {"rtol": "pixel_rtol", "atol": "pixel_atol"}


def gates_of(request):
    """(Thresholds, MetricOptions) of an ImageRequest: --threshold pairs over the defaults; --tolerance and
    --atol set the per-pixel tolerance unless a --threshold names it (UsageError for unknown names)."""
    from nbparity.errors import UsageError
    from nbparity.images import MetricOptions, Thresholds

    t, o = Thresholds().to_dict(), MetricOptions().to_dict()
    for key, name in PIXEL_OPTIONS.items():
        value = getattr(request.judge, key)
        if value is not None:
            o[name] = float(value)
    for name, value in request.thresholds:
        if name in t:
            t[name] = value
        elif name in o and value is not None:
            o[name] = int(value) if name in ("pixel_ulps", "worst_n") else float(value)
        else:
            raise UsageError(f"--threshold {name}: unknown name (known: {', '.join([*t, *o])})")
    return Thresholds(**t), MetricOptions(**o)


def crop_of(image, crop):
    y0, y1, x0, x1 = crop
    return image[y0:y1 + 1, x0:x1 + 1]


def measure(c, torch, crop, thresholds, options):
    """nbparity.images.ImageVerdict of the crop, with the frame's pixels outside it counted as well."""
    import numpy as np

    from nbparity.images import evaluate

    y0, y1, x0, x1 = crop
    a, b = crop_of(c, crop), crop_of(torch, crop)
    # a pixel not finite on both sides alike was not compared (image_judgement says incomplete): it is
    # left out of the sums and correlation, so it cannot turn the whole image into NaN either
    same = ~np.isfinite(a) & ~np.isfinite(b) & ((np.isnan(a) & np.isnan(b)) | (a == b))
    v = evaluate(np.where(same, 0, a), np.where(same, 0, b), thresholds, options, origin=(y0, x0))
    v.metrics.update(nonfinite_c=int(np.count_nonzero(~np.isfinite(a))),
                     nonfinite_torch=int(np.count_nonzero(~np.isfinite(b))), nonfinite_both=int(same.sum()))
    outside = np.ones(c.shape, dtype=bool)
    outside[y0:y1 + 1, x0:x1 + 1] = False
    a, b = c[outside], torch[outside]
    mism = int(np.count_nonzero(~((a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b)))))
    v.metrics["outside_roi_mismatch"] = mism
    v.metrics["frame"] = [int(c.shape[0]), int(c.shape[1])]
    v.metrics["roi_measured"] = {"xmin": x0, "xmax": x1, "ymin": y0, "ymax": y1}
    if mism:
        v.metrics["outside_tolerance"] += mism
        v.gates = thresholds.judge(v.metrics)
    return v


def sha256_array(a) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def _bit_identical(c, torch) -> bool:
    import numpy as np

    a, b = np.ascontiguousarray(c, dtype="<f4"), np.ascontiguousarray(torch, dtype="<f4")
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _gates_judgement(verdict_of_gates, c, torch) -> Judgement:
    m = verdict_of_gates.metrics
    n = int(m.get("pixels", c.size))
    failed = verdict_of_gates.failed_gates
    if failed:   # short enough for a headline: the values and limits are in the gate table
        names = ", ".join(dict.fromkeys(g["gate"] for g in failed))
        return Judgement(Verdict.DIVERGENT, f"{len(failed)} of {len(verdict_of_gates.gates)} gates fail "
                                            f"({names}); {m['outside_tolerance']} of {n} pixels outside tolerance")
    if _bit_identical(c, torch) and not m.get("outside_roi_mismatch"):
        return Judgement(Verdict.IDENTICAL, f"all {n} pixels bit-identical")
    same = m["ulp_histogram"]["0"]
    return Judgement(Verdict.WITHIN_TOLERANCE, f"every gate passes; {same} of {n} pixels bit-identical, "
                                               f"max {m['max_ulps']} float32 ulps apart")


def _coverage_judgement(c, torch, allow_empty: bool) -> Judgement | None:
    """Incomplete where nothing decided the verdict: both images empty, or pixels not finite on both sides."""
    import numpy as np

    if allow_empty:
        return None
    fc, ft = np.isfinite(c), np.isfinite(torch)
    if not np.any(fc & (c != 0)) and not np.any(ft & (torch != 0)):
        return Judgement(Verdict.INCOMPLETE, f"both images are empty (all {c.size} compared pixels zero or "
                                             "not finite)")
    both = int(np.count_nonzero(~fc & ~ft))
    if both:
        return Judgement(Verdict.INCOMPLETE, f"{both} pixel(s) not finite on both sides, so not compared")
    return None


def image_judgement(verdict_of_gates, c, torch, allow_empty: bool) -> Judgement:
    """The five-state judgement of two compared images (the crops): `verdict_of_gates` is their
    nbparity.images.ImageVerdict (None when an image is missing); `c`/`torch` the crops or None."""
    if c is None or torch is None:
        side = "C" if c is None else "torch"
        return Judgement(Verdict.INCOMPLETE, f"the {side} side wrote no float image: nothing to compare")
    parts = [("gates", _gates_judgement(verdict_of_gates, c, torch))]
    coverage = _coverage_judgement(c, torch, allow_empty)
    if coverage is not None:
        parts.append(("coverage", coverage))
    return combine(parts)
