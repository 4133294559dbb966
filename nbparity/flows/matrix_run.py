"""One matrix run, start to finish, in its own folder: the full image (rendered and measured by the image
flow's halves, nbparity.imagecmp), each listed pixel through the compare flow (a CompareRequest with the
run's argv as the case, named after the run), the image's worst pixel traced too when a divergence may be
explained by C quirks, and one judgement. Never raises: anything that goes wrong is an `error` verdict,
never a pass."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from nbparity.errors import UsageError
from nbparity.flows.matrix_judge import (explained_image, gates_judgement, image_judgement, run_judgement,
                                         traces_verdict)
from nbparity.verdict import Judgement, Verdict

PREPARED = "{prepared}"


@dataclass(frozen=True)
class RunContext:
    """What every run of one matrix shares (picklable: it goes to pool processes and dask workers)."""

    binary: str
    out_dir: str
    work_root: str
    prepared: str | None = None
    strict: bool = False
    allow_empty: bool = False
    sides: object = None         # (C side, torch side) for the trace compares: fake sides in tests
    threads: int = 1             # OMP_NUM_THREADS of every C run (--c-threads; an OpenMP build's image depends on it)
    max_memory: int | None = None   # the simulator's memory budget (--max-memory), every run


def is_spec_mode(quirks: str) -> bool:
    return quirks.split(",", 1)[0].strip() == "spec"


def attributable(spec) -> bool:
    """Divergences can be attributed to C quirks: spec mode in-repo, or a port with mapped quirk switches."""
    if spec.port is not None:
        return bool(spec.port.quirk_flags)
    return is_spec_mode(spec.quirks)


def resolve_prepared(argv: list[str], prepared_dir: str | None) -> list[str]:
    if not any(PREPARED in t for t in argv):
        return list(argv)
    if prepared_dir is None:
        raise UsageError(f"argument uses {PREPARED} but the matrix has no prepare steps")
    return [t.replace(PREPARED, prepared_dir) for t in argv]


def run_prepare(steps, binary, prepared_dir: Path, timeout=300, log=None):
    """Run each prepare step through the C reference in `prepared_dir` (shared by all runs)."""
    from nbparity.errors import RunnerError
    from nbparity.runners import run_c

    prepared_dir.mkdir(parents=True, exist_ok=True)
    for step in steps:
        if log:
            log(f"prepare {step.name}: running C reference")
        try:
            run_c(binary, list(step.argv), prepared_dir, timeout=timeout)
        except UsageError:
            raise
        except Exception as exc:
            raise RunnerError(f"prepare step {step.name!r} failed: {exc}") from None


def outcome_base(spec) -> dict:
    """A run's record before anything ran: an error until a judgement replaces it."""
    return {"id": spec.case_id, "run": spec.run_name, "description": spec.description,
            "argv": list(spec.argv), "quirks": spec.quirks, "dtype": spec.dtype, "device": spec.device,
            "thresholds": dict(spec.thresholds), "metric_options": dict(spec.options),
            "trace_pixels": [list(p) for p in spec.trace_pixels], "verdict": Verdict.ERROR.value,
            "exit_code": 3, "reason": "", "details": "", "judgement": None, "image": None, "traces": [],
            "traces_verdict": "-", "attribution": None, "c_line": None, "torch_quirks": spec.quirks,
            "volatile": {"trace_bundles": []},
            **({"port": spec.port.to_dict()} if spec.port is not None else {})}


def run_one(spec, ctx: RunContext) -> dict:
    """The JSON-ready record of one run: every measurement and the judgement; wall times, paths and the
    host go in its "volatile" block."""
    import os
    import socket
    import time
    import traceback

    from nbparity.errors import NbparityError

    t0 = time.perf_counter()
    res = outcome_base(spec)
    res["volatile"].update(host=socket.gethostname(), pid=os.getpid())
    try:
        _run(spec, ctx, res)
    except Exception as exc:  # NbparityError or anything else: an error, recorded, never a pass
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, NbparityError):
            msg = f"internal error: {type(exc).__name__}: {msg}"
        j = Judgement(Verdict.ERROR, msg, (), ctx.strict)
        res.update(verdict=j.verdict.value, exit_code=j.exit_code, reason=msg, judgement=j.to_dict(),
                   details=msg if isinstance(exc, NbparityError) else traceback.format_exc())
    res["volatile"]["time_s"] = round(time.perf_counter() - t0, 3)
    return res


def _run(spec, ctx: RunContext, res: dict) -> None:
    from nbparity.imagecmp import sha256_array

    argv = resolve_prepared(spec.argv, ctx.prepared)
    res["argv"] = argv
    wd = Path(ctx.work_root) / spec.label
    wd.mkdir(parents=True, exist_ok=False)  # a fresh directory per run: no shared Fdump.bin
    pair, gates = _image(spec, ctx, argv, wd)
    res["image_sha256"] = {"c": sha256_array(pair.c), "torch": sha256_array(pair.torch)}
    raw = image_judgement(pair, gates, res["image_sha256"], ctx.allow_empty)
    res.update(image={**gates.to_dict(), "verdict": raw.verdict.value, "reason": raw.reason},
               c_line=pair.c_line, torch_quirks=pair.torch_quirks or spec.quirks, c_threads=ctx.threads)
    res["volatile"]["timings"] = dict(pair.timings)
    traces = [_trace(spec, ctx, argv, px) for px in spec.trace_pixels]
    image_j = raw
    if raw.verdict is Verdict.DIVERGENT and attributable(spec) and not _errors(traces):
        # the image's worst pixel is traced too, so a divergence away from the listed pixels is still
        # attributed (or shown to be unexplained)
        w = gates.metrics["max_abs_diff_pixel"]
        if [w["slow"], w["fast"]] not in [list(p) for p in spec.trace_pixels]:
            traces.append({**_trace(spec, ctx, argv, (w["slow"], w["fast"])), "auto": "worst image pixel"})
        image_j = _attribute_image(spec, (argv, wd, ctx.binary, ctx.threads, ctx.max_memory), traces, raw, res)
    parts = [("image", image_j)] + [(_trace_name(t), Judgement(Verdict(t["verdict"]), t["reason"]))
                                    for t in traces]
    j = run_judgement(parts, ctx.strict)
    res["volatile"]["trace_bundles"] = [t.pop("bundle") for t in traces]
    res.update(traces=traces, traces_verdict=traces_verdict(traces), verdict=j.verdict.value,
               exit_code=j.exit_code, reason=j.reason, judgement=j.to_dict(),
               details="\n".join(f"{p.verdict.value} — {p.reason}" for _, p in j.parts))
    res["volatile"]["bundle"] = str(_image_bundle(spec, ctx, (pair, gates, raw), res))


def _errors(traces) -> bool:
    return any(t["verdict"] == Verdict.ERROR.value for t in traces)


def _trace_name(t: dict) -> str:
    s, f = t["pixel"]
    return f"trace ({s}, {f})" + (f" [{t['auto']}]" if t.get("auto") else "")


def _gates(spec):
    from nbparity.images import MetricOptions, Thresholds

    return Thresholds(**spec.thresholds), MetricOptions(**spec.options)


def _image(spec, ctx: RunContext, argv, wd: Path):
    """Both full images rendered on the identical argv and measured against the run's gates (the image
    flow's halves, nbparity.imagecmp): (ImagePair, ImageVerdict)."""
    from nbparity.imagecmp import judge_images, render_pair

    pair = render_pair(argv, wd, ctx.binary, device=spec.device, dtype=spec.dtype, quirks=spec.quirks,
                       timeout=spec.timeout_s, port=spec.port, threads=ctx.threads, max_memory=ctx.max_memory)
    return pair, judge_images(pair, *_gates(spec))


def _image_bundle(spec, ctx: RunContext, image: tuple, res: dict):
    """The run's image bundle (named after the run) with the run's record under "matrix_run"; one
    combined picture per run keeps the gate fast. `image`: (ImagePair, ImageVerdict, raw judgement)."""
    from nbparity.imagecmp import ImageResult, write_image_bundle

    pair, gates, raw = image
    ir = ImageResult(raw.exit_code, raw.verdict.value, spec.label, res["argv"], spec.device, spec.dtype,
                     res["torch_quirks"], gates, dict(pair.timings), sha256=res["image_sha256"],
                     why=spec.description, c_line=pair.c_line,
                     port=spec.port.to_dict() if spec.port is not None else None)
    keys = ("id", "run", "verdict", "reason", "exit_code", "judgement", "traces", "traces_verdict", "attribution")
    return write_image_bundle(ir, pair, ctx.out_dir, request=_image_request(spec, ctx, res["argv"]),
                              extra_metrics={"matrix_run": {k: res[k] for k in keys}})


def _image_request(spec, ctx: RunContext, argv):
    """The run's image half as an ImageRequest (its request.json): `nbparity rerun` judges the image alone."""
    from nbparity.request import CaseSpec, CSpec, ImageRequest, JudgeSpec, OutputSpec, TorchSpec

    return ImageRequest(case=CaseSpec(args=shlex.join(argv), label=spec.label),
                        c=CSpec(binary=str(ctx.binary), timeout=spec.timeout_s, threads=ctx.threads),
                        torch=TorchSpec(spec.device, spec.dtype, spec.quirks, spec.port, ctx.max_memory),
                        judge=JudgeSpec(strict=ctx.strict, allow_empty=ctx.allow_empty),
                        output=OutputSpec(out=str(ctx.out_dir)),
                        thresholds=tuple(sorted({**spec.thresholds, **spec.options}.items())))


def _attribute_image(spec, where: tuple, traces: list, raw: Judgement, res: dict) -> Judgement:
    """An image divergence is explained only if emulating exactly the quirks the traces attributed
    restores parity (the image rendered again with them). `where`: (argv, work folder, C binary, C threads,
    memory budget)."""
    from nbparity.imagecmp import judge_images, render_pair
    from nbparity.images import describe_failures

    attributed = sorted({q for t in traces for q in t.get("attributed", [])})
    if not attributed:
        return raw
    argv, wd, binary, threads, max_memory = where
    mode = spec.quirks + "".join(f",+{q}" for q in attributed)
    again = render_pair(argv, wd / "attributed", binary, device=spec.device, dtype=spec.dtype, quirks=mode,
                        timeout=spec.timeout_s, port=spec.port, threads=threads, max_memory=max_memory)
    v2 = judge_images(again, *_gates(spec))
    res["attribution"] = {"quirks": attributed, "mode": mode, "image_ok": v2.ok, "gates": v2.gates,
                          "failed": describe_failures(v2), "verdict": gates_judgement(v2).verdict.value}
    if not v2.ok:
        return Judgement(Verdict.DIVERGENT, f"{raw.reason}; with {', '.join(attributed)} emulated still: "
                                            f"{describe_failures(v2)}")
    return explained_image(raw, attributed)


def _trace(spec, ctx: RunContext, argv, pixel) -> dict:
    """One traced pixel through the compare flow (its own narrowed region, attribution, its own bundle
    named after the run). A JSON-ready record; never raises."""
    from nbparity.errors import NbparityError
    from nbparity.flows.compare import run_compare

    slow, fast = (int(v) for v in pixel)
    rec = {"pixel": [slow, fast], "verdict": Verdict.ERROR.value, "exit_code": 3, "attributed": [],
           "reason": "", "bundle": None}
    try:
        r = run_compare(_compare_request(spec, ctx, argv, (slow, fast)), sides=ctx.sides)
    except NbparityError as exc:
        rec["reason"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return rec
    att = r.attribution
    reason = r.judgement.reason
    if att is not None and att.skipped.startswith("attribution not possible"):
        reason += f"; {att.skipped}"   # an external port without (the right) quirk switches
    rec.update(verdict=r.verdict, exit_code=r.exit_code, reason=reason, judgement=r.judgement.to_dict(),
               bundle=str(r.bundle) if r.bundle else None,
               attributed=sorted(att.explained) if att is not None and r.verdict == "explained" else [])
    return rec


def _compare_request(spec, ctx: RunContext, argv, pixel):
    from nbparity.request import CaseSpec, CompareRequest, CSpec, JudgeSpec, OutputSpec, TorchSpec

    tol = spec.trace_tol
    return CompareRequest(
        pixel=tuple(pixel), case=CaseSpec(args=shlex.join(argv), label=spec.label),
        c=CSpec(binary=str(ctx.binary), timeout=spec.timeout_s, threads=ctx.threads),
        torch=TorchSpec(spec.device, spec.dtype, spec.quirks, spec.port, ctx.max_memory),
        judge=JudgeSpec(rtol=tol.get("trace_rtol"), atol=tol.get("trace_atol"), strict=ctx.strict,
                        allow_empty=ctx.allow_empty),
        output=OutputSpec(out=str(ctx.out_dir)))
