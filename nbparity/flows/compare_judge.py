"""What decides a compare: every traced value (the trace comparator's judgement), the traced pixel's value
in both float images, and the quirk attribution that may explain the divergences. No prose beyond the
reasons; rendering is the writers' job."""

from __future__ import annotations

import math

from nbparity.verdict import Judgement, Verdict, combine


def pixel_judgement(c_value, torch_value, dtype: str) -> Judgement:
    """The traced pixel's value in the two float32 images (judge_pixel of the image rule)."""
    from nbparity.judge_pixel import judge_pixel

    return judge_pixel(c_value, torch_value, dtype)


def explained_by(attribution) -> str:
    ids = ", ".join(attribution.explained) or ", ".join(attribution.triggered)
    return f"{attribution.base_failing} divergent values explained by C quirks {ids}"


def judge_compare(comparison, attribution, pixel_values: dict, dtype: str, strict: bool) -> Judgement:
    """One judgement of the trace and the pixel; a divergence the attribution fully explains (and a pixel
    value that agrees once the explaining quirks are emulated) is `explained`."""
    trace = comparison.judgement   # the trace comparator's five-state judgement (nbparity.compare)
    pixel = pixel_judgement(pixel_values.get("c_float"), pixel_values.get("torch_float"), dtype)
    if attribution is not None and attribution.all_explained and trace.verdict is Verdict.DIVERGENT:
        # the divergences are explained; whatever else the trace lacked (an undeclared one-sided key, a
        # value not finite on both sides) still decides
        rest = [(n, j) for n, j in trace.parts if j.verdict is not Verdict.DIVERGENT]
        trace = combine([("values", Judgement(Verdict.EXPLAINED, explained_by(attribution))), *rest])
        emulated = pixel_judgement(pixel_values.get("c_float"), pixel_values.get("torch_float_all_quirks"), dtype)
        if pixel.verdict is Verdict.DIVERGENT and emulated.verdict.passing:
            pixel = Judgement(Verdict.EXPLAINED, "the pixel too")
    return combine([("trace", trace), ("pixel", pixel)], strict)


def relative_gap(c_value, torch_value) -> float | None:
    """torch/C − 1 of the pixel values, for the report (None where it means nothing)."""
    try:
        c, t = float(c_value), float(torch_value)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(c) and math.isfinite(t)) or c == 0:
        return None
    return t / c - 1.0


def short_divergence(fd) -> str:
    """'section=pixel key=F_latt component=0 …' of a first-divergence record, or 'none'."""
    if fd is None:
        return "none"
    if isinstance(fd, dict):
        return " ".join(f"{k}={v}" for k, v in fd.items()
                        if k in ("section", "key", "component", "layer", "subS", "subF", "phi_tic")
                        and v is not None)
    return str(getattr(fd, "key", fd))
