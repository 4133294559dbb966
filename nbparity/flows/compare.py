"""`run_compare(request)`: one pixel, factor by factor. read (case, plan) → run (both sides on the placed
argv) → judge (traces, pixel value, attribution) → write (bundle). Bad input raises UsageError (exit 2)
before anything runs; a failed run writes an error bundle and raises RunnerError (exit 3)."""

from __future__ import annotations

import time
from dataclasses import replace

from nbparity.errors import RunnerError
from nbparity.flows.compare_judge import judge_compare
from nbparity.flows.compare_result import CompareResult, error_judgement
from nbparity.session import Session, registry_for


def run_compare(request, log=None, worker=None, sides=None) -> CompareResult:
    """Compare one pixel. `worker` (nbparity.torchworker.TorchWorker): run the in-repo simulator in that
    forked process, which imports torch while this one builds, validates and runs the C. `sides`: a
    (C side, torch side) pair replacing the request's (fake sides in tests)."""
    t_all = time.perf_counter()
    say = log or (lambda msg: None)
    if request.torch.port is not None:
        worker = None
    with Session(request, log=say, worker=worker, sides=sides) as session:
        plan = session.plan_pixel(request.slow, request.fast, request.full_frame)
        if worker is not None:
            _prime_worker(worker, session.work)
        try:
            result = _run_and_judge(session, plan, say)
        except RunnerError as exc:
            result = _error_result(session, plan, exc)
        result = replace(result, timings={**result.timings, "total": round(time.perf_counter() - t_all, 4)})
        if request.output.bundle:
            from nbparity.write.compare_bundle import write_compare_bundle

            say("writing bundle…")
            result = replace(result, bundle=write_compare_bundle(result, session, worker))
    if result.error:
        raise RunnerError(result.error + (f" (bundle: {result.bundle})" if result.bundle else ""))
    return result


def _run_and_judge(session, plan, say) -> CompareResult:
    from nbparity.compare import compare_traces
    from nbparity.traces import parse_trace

    request, (slow, fast) = session.request, (plan.slow, plan.fast)
    if session.torch.__class__.__name__ == "SimulatorSide" and session.torch.worker is not None:
        _speculate(session, plan)
    say("running C and torch…")
    pair = session.run_pair(plan.argv, plan.mode, trace_pixel=(slow, fast), shape=plan.shape,
                            meanwhile=lambda c_future: _prepare_compare())
    plan, pair = _follow_r2_output(session, plan, pair, say)
    t0 = time.perf_counter()
    c_frames = parse_trace(pair.c_run.stdout, source="c")
    py_frames = parse_trace(pair.t_run.trace_text, source="py")
    try:
        _require_pixel_lines(c_frames, py_frames, session.torch.external, slow, fast)
    except RunnerError as exc:   # both outputs are the evidence of why
        exc.run, exc.port_run = pair.c_run, pair.t_run
        raise
    j = request.judge

    def judge(frames):
        return compare_traces(c_frames, frames, rtol=j.rtol, atol=j.atol, dtype=request.torch.dtype,
                              keys=j.keys)

    comparison = judge(py_frames)
    from nbparity.prove.float32 import float32_hints

    comparison.hints.extend(float32_hints(comparison, plan.argv))   # next to the unit hints
    timings = {**pair.timings, "parse_compare": round(time.perf_counter() - t0, 4)}
    pixel_values = {"c_float": pair.c_run.pixel_value(plan.shape, slow, fast),
                    "torch_float": pair.t_run.pixel_value(slow, fast)}
    warnings = list(plan.warnings)
    from nbparity.openmp import threads_note

    note = threads_note(session.c_side().binary, session.c_side().threads)
    if note:
        warnings.append(note)
    att, reruns = None, []
    if j.attribute and comparison.exit_code != 0:
        t0 = time.perf_counter()
        att, reruns = _attribute(session, plan, comparison, judge, warnings, say)
        timings["attribution"] = round(time.perf_counter() - t0, 4)
        if reruns:
            all_on = max(reruns, key=lambda mr: mr[0].count("+"))[1]
            pixel_values["torch_float_all_quirks"] = all_on.pixel_value(slow, fast)
    proof = None
    if request.prove and comparison.exit_code != 0:
        from nbparity.prove.proof import prove

        proof = prove(session, plan, comparison, lambda text: judge(parse_trace(text, source="py")),
                      pixel_values, pair.t_run.trace_text, log=say)
        timings["prove"] = proof.seconds
    judgement = judge_compare(comparison, att, pixel_values, request.torch.dtype, j.strict)
    return CompareResult(request, judgement, session.case, plan, comparison, att, pixel_values,
                         _identity(session, plan, pair.c_run), timings, tuple(warnings), runs=pair,
                         attribution_runs=tuple(reruns), proof=proof)


def _follow_r2_output(session, plan, pair, say):
    """A C side that turns out R2 from its output (the argv parses alike under both lines, so nothing was
    probed): the simulator runs again on the R2 line, which prints R2's setup echo (simulator/trace_r2.py),
    so that every value the C printed is compared rather than left one-sided."""
    from nbparity import cline
    from nbparity.session import PairRun

    mode = cline.torch_mode(plan.mode, "R2")
    if session.torch.external or mode == plan.mode or cline.detect_line(pair.c_run.stdout) != "R2":
        return plan, pair
    say("C side is R2: running the torch side on the R2 line…")
    t0 = time.perf_counter()
    run = session.torch.run(plan.argv, session.py_dir, quirks=mode, trace_pixel=(plan.slow, plan.fast),
                            timeout=session.request.c.timeout, shape=plan.shape)
    timings = {**pair.timings, "torch_run_r2": round(time.perf_counter() - t0, 4)}
    plan = replace(plan, mode=mode, enabled=frozenset(plan.enabled) - {"C-ARGV-001"},
                   c_line=cline.report_line("R2", "the C run's output", pair.c_run.stdout))
    return plan, PairRun(pair.c_run, run, timings)


def _attribute(session, plan, comparison, judge, warnings, say):
    """Re-run the torch side with the triggered C quirks emulated; returns (Attribution, [(mode, run)])."""
    from nbparity.attribution import attribute
    from nbparity.traces import parse_trace

    reruns = []

    def rerun(mode):
        run = session.torch.run(plan.argv, session.py_dir, quirks=mode, trace_pixel=(plan.slow, plan.fast),
                                timeout=session.request.c.timeout, shape=plan.shape)
        reruns.append((mode, run))
        return judge(parse_trace(run.trace_text, source="py"))

    if session.torch.external:
        from nbparity.portattr import attribute_port

        return attribute_port(comparison, plan.setup, session.torch.spec, rerun, warnings, log=say), reruns
    from nbparity.quirkset import all_ids

    if all_ids() <= set(plan.enabled):   # every quirk is emulated already: nothing left to attribute
        return None, reruns
    return attribute(comparison, plan.setup, plan.mode, rerun, registry=registry_for(plan.c_line), log=say,
                     threads=session.omp_threads()), reruns


def _speculate(session, plan) -> None:
    """Queue, behind the base run, the attribution re-runs the worker will most likely be asked for, and
    the environment question (all dropped unused when the worker is closed)."""
    from nbparity.attribution import planned_modes
    from nbparity.quirkset import all_ids

    worker = session.torch.worker
    req = session.request
    threads = session.torch.omp_threads

    def key(mode):   # the keys SimulatorSide.start uses
        return ("run", mode) if threads == 1 else ("run", mode, threads)

    budget = session.torch.max_memory
    worker.submit(key(plan.mode), plan.argv, session.py_dir, req.torch.device, req.torch.dtype, plan.mode,
                  (plan.slow, plan.fast), omp_threads=threads, max_memory=budget)
    worker.request_env()
    if req.judge.attribute and not all_ids() <= set(plan.enabled):
        for m in planned_modes(plan.setup, plan.mode, registry=registry_for(plan.c_line), threads=threads):
            worker.submit(key(m), plan.argv, session.py_dir, req.torch.device, req.torch.dtype, m,
                          (plan.slow, plan.fast), omp_threads=threads, max_memory=budget)


def _require_pixel_lines(c_frames, py_frames, external: bool, slow: int, fast: int) -> None:
    if not _has_pixel_lines(c_frames):
        raise RunnerError(f"the C binary printed no TRACE_C lines for pixel ({slow}, {fast}); "
                          "does it support -trace_pixel S F?")
    if external and not _has_pixel_lines(py_frames):
        raise RunnerError(f"pixel ({slow}, {fast}) not rendered by the port: it printed no trace lines "
                          "for the pixel; does it honour -trace_pixel S F and print TRACE_PY lines?")


def _has_pixel_lines(frames) -> bool:
    vals = getattr(frames, "values", None)
    return vals is not None and len(vals) > 0 and bool((vals["section"] == "pixel").any())


def _identity(session, plan, c_run) -> dict:
    """Which sides made this attempt: the C binary's sha256 and line, the simulator's git sha or the
    port's command, dtype and quirk mode (history compares attempts of the same sides only)."""
    from nbparity import cline

    line = plan.c_line["line"] if plan.c_line else (cline.detect_line(c_run.stdout) if c_run else None)
    return {"c": session.c_side().identity(line), "torch": session.torch.identity(plan.mode)}


def _error_result(session, plan, exc) -> CompareResult:
    runs = None
    c_run, t_run = getattr(exc, "run", None), getattr(exc, "port_run", None)
    if c_run is not None or t_run is not None:
        from nbparity.session import PairRun

        runs = PairRun(c_run, t_run, {})
    identity = _identity(session, plan, c_run) if session.c_resolved is not None else {}
    return CompareResult(session.request, error_judgement(str(exc)), session.case, plan,
                         identity=identity, warnings=tuple(plan.warnings), error=str(exc), runs=runs)


def _prepare_compare() -> None:
    """Import what comparing and reporting need (pandas, rich) while the torch side is still busy."""
    from simulator.process import import_quietly

    import_quietly("pandas", "rich.console", "rich.text", "nbparity.compare", "nbparity.phi", "nbparity.write.report",
                   "nbparity.traces")


def _prime_worker(worker, work) -> None:
    """Hand the HKL files parsed during validation to the worker (a pickle in the work folder)."""
    import pickle

    from simulator.readers import hkl_cache_items

    items = hkl_cache_items()
    if not items:
        return
    path = work / "hkl-cache.pickle"
    try:
        path.write_bytes(pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        return
    worker.prime(path)
