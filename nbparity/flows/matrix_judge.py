"""What decides a matrix run and the matrix: the image judgement (the run's gates), each traced pixel's
compare judgement, combined per run with verdict.combine (worst wins); the matrix's
verdict is its worst run's. One vocabulary: nbparity.verdict."""

from __future__ import annotations

from nbparity.verdict import SEVERITY, Judgement, Verdict, combine

MAX_NAMED = 5


def image_judgement(pair, gates, sha256: dict, allow_empty: bool = False) -> Judgement:
    """The run's image: two images with no finite non-zero pixel prove nothing (incomplete unless
    allow_empty); one such image against a real one is divergent; else the gates decide."""
    empty_c, empty_t = _empty(pair.c), _empty(pair.torch)
    if empty_c and empty_t and not allow_empty:
        return Judgement(Verdict.INCOMPLETE, "both images hold no finite non-zero pixel: nothing was compared "
                                             "(--allow-empty accepts it)")
    if empty_c != empty_t:
        return Judgement(Verdict.DIVERGENT, f"the {'C' if empty_c else 'torch'} image holds no finite non-zero "
                                            "pixel, the other does")
    return gates_judgement(gates, sha256)


def _empty(image) -> bool:
    import numpy as np

    a = np.asarray(image)
    return not bool(np.any(np.isfinite(a) & (a != 0)))


def gates_judgement(verdict, sha256: dict | None = None) -> Judgement:
    """An images.ImageVerdict (gates + metrics) as a judgement: divergent when a gate fails, identical when
    the full frames are bit-identical (sha256 of both float images), else within tolerance."""
    from nbparity.images import describe_failures

    if not verdict.ok:
        return Judgement(Verdict.DIVERGENT, describe_failures(verdict))
    sha = sha256 or {}
    if sha.get("c") and sha.get("c") == sha.get("torch"):
        return Judgement(Verdict.IDENTICAL, "the full frames are bit-identical")
    m = verdict.metrics
    return Judgement(Verdict.WITHIN_TOLERANCE, f"every gate passes (max |Δ| {m['max_abs_diff']:.6g}, "
                                               f"{m['max_ulps']} float32 ulps)")


def explained_image(raw: Judgement, quirks: list) -> Judgement:
    return Judgement(Verdict.EXPLAINED, f"{raw.reason}; the image agrees once {', '.join(quirks)} "
                                        "are emulated")


def named(name: str, j: Judgement) -> Judgement:
    """The judgement with its part's name in front of the reason (what a table's note shows)."""
    return Judgement(j.verdict, f"{name}: {j.reason}", j.parts, j.strict)


def run_judgement(parts, strict: bool) -> Judgement:
    """One run's judgement from its named parts (image, then each traced pixel)."""
    return combine([(name, named(name, j)) for name, j in parts], strict)


def traces_verdict(traces: list) -> str:
    """The worst verdict of a run's traced pixels ('-' when none was traced)."""
    if not traces:
        return "-"
    return min((Verdict(t["verdict"]) for t in traces), key=SEVERITY.index).value


def counts(outcomes) -> dict:
    """How many runs ended with each verdict (every verdict listed, zeros included)."""
    c = {v.value: 0 for v in Verdict}
    for o in outcomes:
        c[o["verdict"]] += 1
    return c


def matrix_judgement(outcomes, strict: bool = False) -> Judgement:
    """The matrix's verdict is its worst run's; the reason counts the runs and names those that fail."""
    if not outcomes:
        return Judgement(Verdict.INCOMPLETE, "no run was judged", (), strict)
    verdicts = [Verdict(o["verdict"]) for o in outcomes]
    worst = min(verdicts, key=SEVERITY.index)
    c = counts(outcomes)
    text = f"{len(outcomes)} runs: " + ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in c.items() if n)
    failing = [f"{o['id']}/{o['run']} ({o['verdict']})" for o, v in zip(outcomes, verdicts)
               if v.exit_code(strict) != 0]
    if failing:
        more = f" and {len(failing) - MAX_NAMED} more" if len(failing) > MAX_NAMED else ""
        text += f"; failing: {', '.join(failing[:MAX_NAMED])}{more}"
    return Judgement(worst, text, (), strict)


def matrix_exit_code(outcomes, strict: bool = False) -> int:
    """0 only if every run passes; 3 if any run is an error; else 1 (divergent or incomplete)."""
    return matrix_judgement(outcomes, strict).exit_code
