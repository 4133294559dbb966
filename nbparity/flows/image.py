"""`run_image(request)`: the full float image (or a ROI), C vs torch. read (case, plan) → run (both sides on
the placed argv, through the session) → judge (metrics, gates, five-state verdict) → write (bundle).

Bad input raises UsageError (exit 2) before anything runs; a side that fails (crash, timeout, exception)
writes an error bundle and raises RunnerError (exit 3); a side that ran but wrote no usable float image is
judged incomplete (exit 1) with the reason, and its bundle keeps both sides' output as evidence."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from nbparity.errors import RunnerError
from nbparity.flows.image_judge import crop_of, gates_of, image_judgement, measure, sha256_array
from nbparity.flows.image_plan import plan_image
from nbparity.flows.image_result import ImageResult
from nbparity.session import Session
from nbparity.verdict import Judgement, Verdict


def run_image(request, log=None, sides=None) -> ImageResult:
    """Compare the two float images of request.case (an nbparity.request.ImageRequest). `sides`: a
    (C side, torch side) pair replacing the request's (fake sides in tests)."""
    t_all = time.perf_counter()
    say = log or (lambda msg: None)
    thresholds, options = gates_of(request)          # an unknown --threshold name is exit 2, before any run
    with Session(request, log=say, kind="image", sides=sides) as session:
        say(f"case {session.case.name}: {session.case.why}")
        plan = plan_image(session, request.roi)
        try:
            result = _run_and_judge(session, plan, thresholds, options, say)
        except RunnerError as exc:
            result = _error_result(session, plan, exc)
        result = replace(result, timings={**result.timings, "total": round(time.perf_counter() - t_all, 4)})
        if request.output.bundle:
            from nbparity.write.image_bundle import write_image_bundle

            say("writing bundle…")
            result = replace(result, bundle=write_image_bundle(result, session))
    if result.error:
        raise RunnerError(result.error + (f" (bundle: {result.bundle})" if result.bundle else ""))
    return result


def _run_and_judge(session, plan, thresholds, options, say) -> ImageResult:
    request = session.request
    say("running C and torch…")
    pair = session.run_pair(plan.argv, plan.mode, shape=plan.shape)
    plan = _with_threads_note(session, plan)   # the C side is resolved now
    c_img, c_why = _c_image(pair.c_run, plan.shape)
    t_img, t_why = _torch_image(pair.t_run, plan.shape, session.torch.external)
    identity, c_line = _identity(session, plan, pair.c_run)
    sha = {k: sha256_array(v) for k, v in (("c", c_img), ("torch", t_img)) if v is not None}
    common = dict(case=session.case, plan=plan, sha256=sha, identity=identity, timings=dict(pair.timings),
                  warnings=plan.warnings, runs=pair, images=(c_img, t_img), c_line=c_line)
    if c_img is None or t_img is None:
        reason = "; ".join(w for w in (c_why, t_why) if w) + ": nothing to compare"
        return ImageResult(request, Judgement(Verdict.INCOMPLETE, reason, (), request.judge.strict), **common)
    say("measuring…")
    t0 = time.perf_counter()
    gates = measure(c_img, t_img, plan.crop, thresholds, options)
    judgement = image_judgement(gates, crop_of(c_img, plan.crop), crop_of(t_img, plan.crop),
                                request.judge.allow_empty)
    common["timings"]["measure"] = round(time.perf_counter() - t0, 4)
    return ImageResult(request, replace(judgement, strict=request.judge.strict), image=gates, **common)


def _with_threads_note(session, plan):
    """The plan with the note on an OpenMP C's thread count (nbparity.openmp.threads_note), if any."""
    from nbparity.openmp import threads_note

    c = session.c_side()
    binary = getattr(c, "binary", None)   # stand-in sides in tests may have no binary or threads
    note = threads_note(binary, getattr(c, "threads", 1)) if binary is not None else None
    return replace(plan, warnings=tuple(plan.warnings) + (note,)) if note else plan


def _missing(side: str, path, shape) -> str:
    """Why a side's float image cannot be read: missing, or not the frame's size."""
    s, f = shape
    if path is None:
        return f"{side} wrote no float image"
    path = Path(path)
    if not path.is_file():
        return f"{side} wrote no float image ({path.name} is missing)"
    return (f"{side}'s float image {path.name} has {path.stat().st_size} bytes, expected {4 * s * f} "
            f"for the {f}x{s} frame")


def _c_image(c_run, shape):
    """(C float image or None, why it is missing)."""
    img = c_run.load_image(shape)
    return (img, "") if img is not None else (None, _missing("the C side", c_run.image_path, shape))


def _torch_image(t_run, shape, external: bool):
    """(torch float image as float32 or None, why it is missing): a port's image is read right after its
    run; the simulator's is its result's image."""
    import numpy as np

    side = "the port" if external else "the torch side"
    img = getattr(t_run, "image", None)
    if img is None and getattr(t_run, "result", None) is not None:
        img = getattr(t_run.result, "image", None)
        if hasattr(img, "detach"):
            img = img.detach().to("cpu").numpy()
    if img is None:
        return None, _missing(side, getattr(t_run, "image_path", None), shape)
    img = np.asarray(img).astype(np.float32, copy=False)
    if img.shape != tuple(shape):
        return None, f"{side}'s image is {img.shape[-1]}x{img.shape[0]}, the frame is {shape[1]}x{shape[0]}"
    return img, ""


def _identity(session, plan, c_run):
    """(identity, C line): which sides made this attempt, and the C line (probed before the run where it
    decides the parse, else read from the C run's own output)."""
    from nbparity import cline

    c_line = plan.c_line
    if c_line is None and c_run is not None:
        c_line = cline.report_line(cline.detect_line(c_run.stdout), "the C run's output", c_run.stdout)
    line = c_line["line"] if c_line else None
    return {"c": session.c_side().identity(line), "torch": session.torch.identity(plan.mode)}, c_line


def _error_result(session, plan, exc) -> ImageResult:
    runs = None
    c_run, t_run = getattr(exc, "run", None), getattr(exc, "port_run", None)
    if c_run is not None or t_run is not None:
        from nbparity.session import PairRun

        runs = PairRun(c_run, t_run, {})
    identity, c_line = (_identity(session, plan, c_run) if session.c_resolved is not None
                        else ({}, plan.c_line))
    return ImageResult(session.request, Judgement(Verdict.ERROR, str(exc)), session.case, plan,
                       identity=identity, warnings=plan.warnings, error=str(exc), runs=runs, c_line=c_line)
