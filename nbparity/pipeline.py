"""The plain single-pixel compare behind `nbparity compare`: case → validate → build → run both sides on
the identical argv → parse → compare → per-φ table → quirk attribution → bundle → result + exit code."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbparity import cline, placement
from nbparity.errors import EXIT_DIVERGENCE, EXIT_OK, NbparityError, PixelNotRendered, RunnerError, UsageError


def _noop(msg: str) -> None:
    pass


@dataclass
class CompareResult:
    exit_code: int
    verdict: str                      # pass | explained | fail | error
    slow: int
    fast: int
    case: object = None               # nbparity.cases.Case
    comparison: object = None         # nbparity.compare.Comparison
    per_phi: object = None            # pandas DataFrame
    attribution: object = None        # nbparity.attribution.Attribution
    bundle: Path | None = None
    metrics: dict = field(default_factory=dict)
    markdown: str = ""
    warnings: list = field(default_factory=list)
    error: str | None = None
    port: object = None               # nbparity.port.PortSpec of an external torch side

    def to_dict(self) -> dict:
        d = dict(self.metrics)
        d["bundle"] = str(self.bundle) if self.bundle else None
        return d


# ----------------------------------------------------------------------------- helpers


def _derive(argv, quirks_mode, cwd):
    """Parse + derive without writing files; simulator errors are bad input (exit 2)."""
    from simulator.argv import parse_argv
    from simulator.quirks import resolve
    from simulator.setup import derive

    try:
        enabled = resolve(quirks_mode)
    except ValueError as exc:
        raise UsageError(f"--quirks: {exc}") from None
    try:
        opts = parse_argv(list(argv), r1="C-ARGV-001" in enabled)
        try:
            return derive(opts, quirks=enabled, cwd=str(cwd), write_fdump=False), enabled
        except TypeError:  # a derive without the keyword never writes
            return derive(opts, quirks=enabled, cwd=str(cwd)), enabled
    except NbparityError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"the case's nanoBragg arguments are not usable: {msg}") from None


def _all_quirk_ids() -> set:
    from nbparity.attribution import load_registry

    return {q["id"] for q in load_registry()}


def _json_safe(obj):
    """Make a structure json-serializable with non-finite floats as strings (valid strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [_json_safe(v) for v in items]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "to_dict"):
        return _json_safe(obj.to_dict())
    if hasattr(obj, "__dict__"):
        return _json_safe(vars(obj))
    return str(obj)


def _comparison_summary(comparison) -> dict:
    if comparison is None:
        return {}
    try:
        d = comparison.to_dict(include_table=False)
    except TypeError:
        d = comparison.to_dict()
    d = {k: v for k, v in d.items() if k not in ("table", "rows", "values")}
    return _json_safe(d)


def _csv(df) -> str:
    if df is None or len(df) == 0:
        return ""
    return df.to_csv(index=False, float_format="%.17g")


def _pixel_value(image, slow, fast):
    """float(image[slow][fast]) of a tensor/array (one element, never the whole frame), or None."""
    if image is None:
        return None
    try:
        return float(image[slow][fast])
    except (IndexError, TypeError):
        return None


# ----------------------------------------------------------------------------- commands.txt


def commands_script(*, build, c_argv, py_argv, dtype, device, mode, tolerance, atol, attribution_modes=(),
                    port=None) -> str:
    """A bash script that rebuilds the binary and regenerates both traces, then compares them.
    `port` (nbparity.port.PortSpec): the torch side is that external command, not the in-repo simulator."""
    import shlex
    import sys

    q = shlex.quote
    lines = ["#!/usr/bin/env bash",
             "# Reproduces this bundle's artifacts: C build, C run, torch run, compare.",
             "# Usage: bash commands.txt [WORKDIR]   (default: a new temporary directory)",
             "set -euo pipefail",
             'WORK="${1:-$(mktemp -d)}"',
             'mkdir -p "$WORK/build" "$WORK/c" "$WORK/py"',
             'echo "working in $WORK" >&2', ""]
    if build is not None and build.argv:
        argv = list(build.argv)
        argv[argv.index("-o") + 1] = "__OUT__"
        cmd = " ".join(q(a) for a in argv).replace("__OUT__", '"$WORK/build/nanoBragg"')
        lines += ["# 1. build the C reference (same sources, flags and compiler as the run)", cmd]
        cbin = '"$WORK/build/nanoBragg"'
    else:
        lines += ["# 1. the C binary given with --c-bin (not rebuilt)"]
        cbin = q(c_argv[0])
    py = q(sys.executable)
    lines += ["", "# 2. C run (trace on stdout)",
              f'(cd "$WORK/c" && {cbin} {" ".join(q(a) for a in c_argv[1:])} > "$WORK/c_trace.log")']
    if port is not None:
        from nbparity.port import quirk_ids_of

        lines += ["", "# 3. the external port's run (same argv, placed into its command)",
                  f'(cd "$WORK/py" && {shlex.join(port.command_for(py_argv))} > "$WORK/py_trace.log")']
        for i, m in enumerate(attribution_modes):
            lines.append(f'(cd "$WORK/py" && {shlex.join(port.command_for(py_argv, quirk_ids_of(m)))} '
                         f'> "$WORK/py_trace_attr{i + 1}.log")  # attribution re-run ({m})')
    else:
        lines += ["", "# 3. torch run (same argv; execution options for the torch side only)",
                  f'(cd "$WORK/py" && {py} -m simulator {" ".join(q(a) for a in py_argv)} '
                  f'-device {q(device)} -dtype {q(dtype)} -quirks {q(mode)} > "$WORK/py_trace.log")']
        for i, m in enumerate(attribution_modes):
            lines.append(f'(cd "$WORK/py" && {py} -m simulator {" ".join(q(a) for a in py_argv)} '
                         f'-device {q(device)} -dtype {q(dtype)} -quirks {q(m)} > "$WORK/py_trace_attr{i + 1}.log")'
                         f"  # attribution re-run")
    tol = (f" --tolerance {q(repr(tolerance))}" if tolerance is not None else "") + (
        f" --atol {q(repr(atol))}" if atol is not None else "")
    diff = f'{py} -m nbparity diff "$WORK/c_trace.log" "$WORK/py_trace.log" --dtype {q(dtype)}{tol}'
    if not attribution_modes:
        lines += ["", "# 4. compare (exit 0 parity, 1 divergence)", diff, ""]
        return "\n".join(lines)
    # spec mode: the raw diff shows the divergences; the run with every triggered quirk emulated must
    # agree with C for them to count as explained, and that diff decides the script's exit status
    all_on = max(range(len(attribution_modes)), key=lambda i: attribution_modes[i].count("+"))
    lines += ["", "# 4. raw compare: in spec mode the known C quirks show up here as divergences (exit 1)",
              f'{diff} || echo "raw divergences (see step 5 for their attribution)" >&2',
              "", f"# 5. compare with every triggered quirk emulated ({attribution_modes[all_on]}):"
              " exit 0 means every divergence above is explained",
              f'{py} -m nbparity diff "$WORK/c_trace.log" "$WORK/py_trace_attr{all_on + 1}.log" --dtype {q(dtype)}{tol}',
              ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- reporting


def _markdown(r: CompareResult, report_md: str) -> str:
    m = r.metrics
    out = [f"# nbparity compare — {m.get('verdict_line', r.verdict)}", ""]
    out += [f"* case: **{m['case']['name']}** — {m['case']['why']}",
            f"* pixel: slow {r.slow}, fast {r.fast}; {describe_region(m.get('region'))}",
            torch_line(m)]
    if m.get("c_line"):
        out.append(f"* {m['c_line']['text']}")
    if m.get("pixel_values"):
        pv = m["pixel_values"]
        out.append(f"* pixel value: C {pv.get('c_float')!r}, torch {pv.get('torch_float')!r}")
    for w in r.warnings:
        out.append(f"* WARNING: {w}")
    if r.error:
        out += ["", f"**Error:** {r.error}"]
    if r.attribution is not None and (r.attribution.messages or r.attribution.triggered):
        out += ["", "## Attribution to known C quirks", ""]
        out += [f"* {line}" for line in r.attribution.messages] or ["* no quirk explains the divergences"]
        if r.attribution.unexplained:
            out.append(f"* {r.attribution.unexplained} divergent value(s) remain unexplained with all "
                       f"triggered quirks ({', '.join(r.attribution.triggered)}) emulated")
    if report_md:
        out += ["", report_md.strip()]
    ps = m.get("per_phi") or {}
    if r.per_phi is not None and len(r.per_phi):
        out += ["", "## Per-φ steps (source 0, mosaic 0)", "",
                f"{ps.get('steps')} steps, {ps.get('failing_steps')} failing; first divergent: "
                f"{ps.get('first_divergent')}", ""]
        cols = [c for c in ("occurrence", "phi_tic", "phi_deg_c", "h_frac_c", "k_frac_c", "l_frac_c",
                            "F_latt_c", "F_latt_py", "max_rel_delta", "status") if c in r.per_phi.columns]
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        for _, row in r.per_phi[cols].iterrows():
            out.append("| " + " | ".join(
                f"{v:.17g}" if isinstance(v, float) else str(v) for v in row.tolist()) + " |")
    out += ["", f"bundle: `{r.bundle}`" if r.bundle else ""]
    return "\n".join(out) + "\n"


def torch_line(m: dict) -> str:
    """The summary's line saying what the torch side was."""
    if m.get("port"):
        return (f"* torch side: external port `{m['port']['command']}` (tolerances of {m['dtype']}; "
                f"quirk switches: {m['port']['quirk_flags'] or 'none given'})")
    return f"* torch: device {m['device']}, dtype {m['dtype']}, quirks `{m['quirk_mode']}`"


def _report_markdown(comparison) -> str:
    if comparison is None:
        return ""
    try:
        from nbparity import report

        for name in ("to_markdown", "markdown", "render_markdown"):
            fn = getattr(report, name, None)
            if fn is not None:
                return fn(comparison)
    except Exception:  # the factor table is also in factors.csv; the summary must still be written
        pass
    return ""


# ----------------------------------------------------------------------------- the flow


def compare_pixel(slow: int, fast: int, *, case=None, args=None, data_dir=None, device="cpu",
                  dtype="float64", quirks="spec", tolerance=None, atol=None, c_bin=None, c_source=None,
                  cflags=(), out="reports", strict=False, full_frame=False, timeout=600.0,
                  attribute=True, write_bundle=True, log=None, torch_worker=False, port=None) -> CompareResult:
    """Compare one pixel factor by factor. Returns a CompareResult; raises UsageError/PixelNotRendered
    (exit 2) for bad input and RunnerError (exit 3, after writing an "error" bundle) for run failures.

    torch_worker=True (the CLI) runs the torch side in a forked child that imports torch while this
    process does everything else (nbparity.torchworker), where forking is safe; same results.
    port (nbparity.port.PortSpec): the torch side is that external command (no worker; device, dtype and
    quirks do not reach it: dtype only picks the tolerances)."""
    t_all = time.perf_counter()
    worker = None
    if torch_worker and port is None:
        from nbparity.torchworker import TorchWorker

        worker = TorchWorker.start()
    try:
        return _compare_pixel(slow, fast, case=case, args=args, data_dir=data_dir, device=device, dtype=dtype,
                              quirks=quirks, tolerance=tolerance, atol=atol, c_bin=c_bin, c_source=c_source,
                              cflags=cflags, out=out, strict=strict, full_frame=full_frame, timeout=timeout,
                              attribute=attribute, write_bundle=write_bundle, log=log, worker=worker,
                              t_all=t_all, port=port)
    finally:
        if worker is not None:
            worker.close()


def _prepare_compare() -> None:
    """Import what comparing and reporting need (pandas, rich) while the torch worker is still busy."""
    from simulator.process import import_quietly

    import_quietly("pandas", "rich.console", "rich.text", "nbparity.compare", "nbparity.phi", "nbparity.report",
                   "nbparity.traces")


def _prime_worker(worker, work: Path) -> None:
    """Hand the HKL files parsed during validation to the worker (a pickle in the work directory)."""
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


def _compare_pixel(slow, fast, *, case, args, data_dir, device, dtype, quirks, tolerance, atol, c_bin,
                   c_source, cflags, out, strict, full_frame, timeout, attribute, write_bundle, log, worker,
                   t_all, port=None) -> CompareResult:
    from nbparity import cases as cases_mod
    from nbparity.port import TorchSide, check_floatfile, ensure_floatfile

    log = log or _noop
    timings: dict[str, float] = {}
    slow, fast = int(slow), int(fast)

    def tick(name, t0):
        timings[name] = round(time.perf_counter() - t0, 4)

    t0 = time.perf_counter()
    the_case = cases_mod.resolve_case(case, args, data_dir)
    tick("case", t0)
    log(f"case {the_case.name}: {the_case.why}")
    case_argv = list(the_case.argv)
    if port is not None:   # the port's image is read from the name the harness gives it
        check_floatfile(case_argv)
        case_argv = ensure_floatfile(case_argv)
        quirks = "spec"    # the port's own behaviour; attribution toggles quirks from there
    side = TorchSide(device, dtype, quirks, port)

    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="nbparity-"))
    c_dir, py_dir = the_case.prepare_workdir(work / "c"), the_case.prepare_workdir(work / "py")
    tick("workdir", t0)
    t0 = time.perf_counter()
    setup, enabled = _derive(case_argv, quirks, py_dir)
    ok, why = setup.rendered(slow, fast)
    if not ok:
        shutil.rmtree(work, ignore_errors=True)
        raise PixelNotRendered(slow, fast, why)
    tick("validate", t0)
    if worker is not None:
        _prime_worker(worker, work)

    warnings = []
    roi = None if full_frame else _region(setup, slow, fast)
    if int(getattr(setup, "interpolate", 0)) and not full_frame:
        warnings.append("interpolation is on: its global switch (C-INTERP-001) can depend on pixels "
                        "rendered earlier than the narrowed region; rerun with --full-frame to be sure")
    if float(getattr(getattr(setup, "options", None), "dmin", 0.0) or 0.0) > 0 and not full_frame:
        warnings.append("dmin is set: if the preceding pixel is cut entirely, the φ carry-over state can "
                        "come from an earlier pixel; rerun with --full-frame to be sure")
    from nbparity.cbuild import resolve_binary
    from nbparity.runners import run_c

    argv = list(case_argv)   # replaced by the placed argv once the C line is known
    all_on = _all_quirk_ids() <= set(enabled)
    mode = quirks
    metrics = {
        "schema": "nbparity.metrics/1",
        "verdict": "error", "exit_code": 3, "strict": bool(strict),
        "case": {"name": the_case.name, "why": the_case.why, "origin_kind":
                 "builtin" if the_case.origin == "builtin" else ("args" if the_case.origin == "--args" else "file")},
        "pixel": {"slow": slow, "fast": fast},
        "region": {"roi": list(roi) if roi else None, "full_frame": bool(full_frame)},
        "dtype": dtype, "device": device, "quirk_mode": mode, "quirks_enabled": sorted(enabled),
        "tolerance_overrides": {"rtol": tolerance, "atol": atol},
        "warnings": warnings,
    }
    if port is not None:
        metrics.update(device="external", quirk_mode="the port's own", quirks_enabled=[], port=port.to_dict())
    shape = (int(setup.spixels), int(setup.fpixels))
    result = CompareResult(3, "error", slow, fast, the_case, warnings=warnings)
    result.port = port
    build = c_run = t_run = None
    pre: dict = {}   # bundle files and report parts rendered ahead (see _prerender)
    attr_modes: list = []
    c_future = None
    try:
        t0 = time.perf_counter()
        binary, build = resolve_binary(c_bin, c_source, cflags, log)
        tick("build", t0)
        t0 = time.perf_counter()
        c_line = _c_line_before_run(case_argv, binary)
        if c_line is not None:  # the argv parses differently under R1 and R2: the torch side follows the C
            mode = cline.torch_mode(quirks, c_line["line"])
            if mode != quirks:
                setup, enabled = _derive(case_argv, mode, py_dir)
                all_on = _all_quirk_ids() <= set(enabled)
                roi = None if full_frame else _region(setup, slow, fast)
        if c_line is not None and port is not None:   # an external port's option matching is its own
            warnings.append(f"this argv parses differently under the two C lines (C-ARGV-001); "
                            f"{c_line['text']}; the port must match options as that line does")
        placed = placement.place(case_argv, roi=roi, trace_pixel=(slow, fast),
                                 lines=_lines_to_verify(c_line, mode))
        if placed.trace_pixel is None:
            shutil.rmtree(work, ignore_errors=True)
            raise UsageError(f"cannot trace pixel ({slow}, {fast}): {placed.reason}")
        argv = placed.argv
        if placed.reason:
            warnings.append(f"narrowing dropped: {placed.reason}")
        metrics["region"] = {"roi": list(placed.roi) if placed.roi else None,
                             "full_frame": bool(full_frame) or placed.roi is None}
        metrics["placement"] = placed.to_dict()
        metrics.update(quirk_mode=mode, quirks_enabled=sorted(enabled))
        tick("placement", t0)
        # The C subprocess runs while torch computes in-process: the two sides never share state
        # (separate work directories), and the wait releases the GIL.
        from concurrent.futures import ThreadPoolExecutor

        log("running C and torch…")
        if worker is not None:
            # the base run first, then what the report needs from torch, then the attribution re-runs
            # attribute() will most likely ask for (dropped unused when the worker is closed)
            worker.submit(("run", mode), argv, py_dir, device, dtype, mode, (slow, fast))
            worker.request_env()
            if attribute and not all_on:
                from nbparity.attribution import planned_modes

                for m in planned_modes(setup, mode, registry=_registry_for(c_line)):
                    worker.submit(("run", m), argv, py_dir, device, dtype, m, (slow, fast))
        with ThreadPoolExecutor(max_workers=1) as pool:
            c_future = pool.submit(_timed, run_c, binary, argv, c_dir, timeout)
            if worker is None:
                t0 = time.perf_counter()
                if port is None:
                    from simulator.process import import_quietly

                    import_quietly("torch")   # imported while the C side runs: validation needs no torch
                    tick("import_torch", t0)
                t0 = time.perf_counter()
                t_run = side.run(argv, py_dir, quirks=mode, trace_pixel=(slow, fast), timeout=timeout, shape=shape)
                tick("torch_run", t0)
            else:
                # while the worker imports torch: the imports comparing needs, the C side's result and
                # its parse; a torch failure still takes precedence over a C one, as in-process
                t0 = time.perf_counter()
                _prepare_compare()
                tick("import_compare", t0)
                c_done = c_future.exception() is None
                c_frames_early = None
                if c_done:
                    from nbparity.traces import parse_trace

                    c_frames_early = parse_trace(c_future.result()[0].stdout, source="c")
                t0 = time.perf_counter()
                t_run = worker.result(("run", mode))
                tick("torch_wait", t0)
                timings["import_torch"] = worker.ready.get("import_s")
                timings["import_simulator"] = worker.ready.get("simulator_s")
                timings["torch_run"] = round(t_run.wall_s, 4)
            c_run, timings["c_run"] = c_future.result()

        t0 = time.perf_counter()
        from nbparity.compare import compare_traces
        from nbparity.phi import per_phi_table, summary
        from nbparity.traces import parse_trace

        if c_line is None:  # the line cannot change this argv's numbers: read it from the run
            c_line = cline.report_line(cline.detect_line(c_run.stdout), "the C run's output", c_run.stdout)
        metrics["c_line"] = c_line
        c_frames = c_frames_early if worker is not None else parse_trace(c_run.stdout, source="c")
        py_frames = parse_trace(t_run.trace_text, source="py")
        if not _has_pixel_lines(c_frames):
            raise RunnerError(f"the C binary printed no TRACE_C lines for pixel ({slow}, {fast}); "
                              "does it support -trace_pixel S F?")
        if port is not None and not _has_pixel_lines(py_frames):
            raise RunnerError(f"pixel ({slow}, {fast}) not rendered by the port: it printed no trace lines "
                              "for the pixel; does it honour -trace_pixel S F and print TRACE_PY lines?")
        comparison = compare_traces(c_frames, py_frames, rtol=tolerance, atol=atol, dtype=dtype)
        per_phi = per_phi_table(comparison.table)
        tick("parse_compare", t0)

        att = None
        if attribute and not all_on and comparison.exit_code != EXIT_OK:
            t0 = time.perf_counter()
            from nbparity.attribution import attribute as do_attribute

            if worker is not None:  # the worker's first re-run takes longer than this: build it meanwhile
                pre = _prerender(comparison, per_phi)

            def rerun(m):
                attr_modes.append(m)
                if worker is not None:
                    worker.submit(("run", m), argv, py_dir, device, dtype, m, (slow, fast))
                    tr = worker.result(("run", m))
                else:
                    tr = side.run(argv, py_dir, quirks=m, trace_pixel=(slow, fast), timeout=timeout, shape=shape)
                return compare_traces(c_frames, parse_trace(tr.trace_text, source="py"),
                                      rtol=tolerance, atol=atol, dtype=dtype)

            if port is None:
                att = do_attribute(comparison, setup, mode, rerun, registry=_registry_for(c_line), log=log)
            else:
                from nbparity.portattr import attribute_port

                att = attribute_port(comparison, setup, port, rerun, warnings, log=log)
            tick("attribution", t0)

        if comparison.exit_code == EXIT_OK:
            verdict, code = "pass", EXIT_OK
        elif comparison.exit_code != EXIT_DIVERGENCE:
            verdict, code = "error", comparison.exit_code
        elif att is not None and att.all_explained:
            verdict, code = "explained", (EXIT_DIVERGENCE if strict else EXIT_OK)
        else:
            verdict, code = "fail", EXIT_DIVERGENCE
        metrics.update({
            "verdict": verdict, "exit_code": code,
            "verdict_line": _verdict_line(verdict, code, strict, comparison, att),
            "comparison": _comparison_summary(comparison),
            "attribution": att.to_dict() if att else None,
            "per_phi": summary(per_phi),
            "pixel_values": {"c_float": c_run.pixel_value(shape, slow, fast),
                             "torch_float": t_run.pixel_value(slow, fast)},
            "one_sided": _json_safe(getattr(comparison, "one_sided", None)),
        })
        result.exit_code, result.verdict = code, verdict
        result.comparison, result.per_phi, result.attribution = comparison, per_phi, att
    except RunnerError as exc:
        result.error = str(exc)
        metrics.update({"verdict": "error", "exit_code": exc.exit_code, "error": str(exc),
                        "verdict_line": f"ERROR — {exc}"})
        c_run = c_run or getattr(exc, "run", None)
        t_run = t_run or getattr(exc, "port_run", None)
        if c_run is None and c_future is not None and c_future.done() and c_future.exception() is None:
            c_run = c_future.result()[0]   # the C side's output is evidence even when the port failed
        result.exit_code = exc.exit_code
    finally:
        timings["total"] = round(time.perf_counter() - t_all, 4)
    result.metrics = metrics
    torch_env = None
    if port is not None:
        from nbparity.port import port_env

        torch_env = {"port": port_env(port)}
    if worker is not None:   # nothing more is needed from torch: stop the worker's speculative runs
        try:
            torch_env = worker.env_info()
        except Exception:  # a dead worker: envinfo asks torch in this process instead
            torch_env = None
        worker.stop()   # reaped by compare_pixel, after the bundle is written
    if write_bundle:
        t0 = time.perf_counter()
        log("writing bundle…")
        result.bundle = _write(result, out, build, c_run, t_run, argv, mode, tolerance, atol,
                               attr_modes, timings, work, t0, torch_env, pre)
    shutil.rmtree(work, ignore_errors=True)
    if result.error:
        raise RunnerError(result.error + (f" (bundle: {result.bundle})" if result.bundle else ""))
    return result


def _c_line_before_run(argv, binary) -> dict | None:
    """The C line, probed before the run, where it decides how argv parses (C-ARGV-001); else None
    (the line is then read from the C run's own output). See nbparity/cline.py."""
    from simulator.argv import line_sensitive

    if not line_sensitive(list(argv)):
        return None
    return cline.report_line(cline.probe_line(binary), "a probe run of the binary")


def _registry_for(c_line) -> list:
    """The quirk registry attribution may name: R1 option matching (C-ARGV-001) cannot explain a
    divergence from an R2 C side, which does not match options that way."""
    from nbparity.attribution import load_registry

    reg = load_registry()
    if c_line is not None and c_line.get("line") == "R2":
        reg = [q for q in reg if q["id"] != "C-ARGV-001"]
    return reg


def _lines_to_verify(c_line, mode) -> tuple:
    """The C lines a placement must hold under: both where the C line is not known yet (it cannot change
    the numbers then, but the placed tokens must not either), else the C's and the torch mode's."""
    if c_line is None:
        return placement.LINES
    return tuple(sorted({c_line["line"], cline.line_of_mode(mode)}))


def describe_region(region: dict | None) -> str:
    """'rendered -roi 1038 1039 685 685 (…)' or 'rendered the full frame', for reports."""
    if not region or region.get("full_frame") or not region.get("roi"):
        return "rendered the full frame"
    return ("rendered -roi " + " ".join(str(v) for v in region["roi"])
            + " (the pixel and its predecessor in C loop order, so its φ carry-over history is the full frame's)")


def _region(setup, slow, fast):
    from nbparity.runners import pixel_roi

    return pixel_roi(setup, slow, fast)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, round(time.perf_counter() - t0, 4)


def _has_pixel_lines(frames) -> bool:
    vals = getattr(frames, "values", None)
    return vals is not None and len(vals) > 0 and bool((vals["section"] == "pixel").any())


def _verdict_line(verdict, code, strict, comparison, att) -> str:
    if verdict == "pass":
        return "PASS — every compared value agrees within tolerance (exit 0)"
    if verdict == "explained":
        names = ", ".join(att.explained) if att else ""
        tail = "--strict: exit 1" if strict else "exit 0"
        return f"EXPLAINED — all divergences are explained by known C quirks ({names}); {tail}"
    if verdict == "fail":
        fd = getattr(comparison, "first_divergence", None)
        return f"FAIL — unexplained divergence; first divergence: {_short(fd)} (exit 1)"
    return f"ERROR (exit {code})"


def _short(fd) -> str:
    if fd is None:
        return "none"
    if isinstance(fd, dict):
        return " ".join(f"{k}={v}" for k, v in fd.items()
                        if k in ("section", "key", "component", "layer", "subS", "subF", "phi_tic")
                        and v is not None)
    return str(getattr(fd, "key", fd))


def _prerender(comparison, per_phi) -> dict:
    """What the bundle and the report need from the comparison alone (not from the attribution):
    rendered while the torch worker re-runs, instead of after the last re-run."""
    from nbparity import report

    report.factor_table(comparison)   # kept by report for the terminal report
    return {"report_md": _report_markdown(comparison), "factors.csv": _csv(comparison.table),
            "per_phi.csv": _csv(per_phi)}


def _env(envinfo, build, torch_env) -> dict:
    """env.json: the environment record; an external port's command and --version under "port"."""
    if torch_env and "port" in torch_env:
        env = envinfo.collect(build)
        env["port"] = torch_env["port"]
        return env
    return envinfo.collect(build, torch=torch_env)


def _write(result, out, build, c_run, t_run, argv, mode, tolerance, atol, attr_modes, timings, work, t0,
           torch_env=None, pre=None):
    from nbparity import envinfo
    from nbparity.bundle import bundle_name, write_bundle

    m = result.metrics
    import socket

    volatile = {
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timings_s": timings, "host": socket.gethostname(),
        "paths": {"binary": str(build.binary) if build else (c_run.argv[0] if c_run else None),
                  "workdir": str(work), "reports": str(Path(out).resolve())},
        "argv": {"c": c_run.argv if c_run else None, "torch": t_run.argv if t_run else argv},
        "port_command": getattr(t_run, "command", None),
        "case_argv": result.case.argv if result.case else None,
        "test_perturbation": t_run.perturbed if t_run else None,
    }
    m["volatile"] = volatile
    pre = pre if pre and result.comparison is not None else {}
    report_md = pre["report_md"] if pre else _report_markdown(result.comparison)
    if pre:
        factors = pre["factors.csv"]
    else:
        factors = _csv(getattr(result.comparison, "table", None)) if result.comparison is not None else ""
    files = {
        "c_trace.log": (c_run.stdout + (("\n# stderr:\n" + c_run.stderr) if c_run.stderr else "")) if c_run else "",
        "py_trace.log": getattr(t_run, "log_text", t_run.trace_text) if t_run else "",
        "factors.csv": factors,
        "per_phi.csv": pre["per_phi.csv"] if pre else _csv(result.per_phi),
        "env.json": json.dumps(_json_safe(_env(envinfo, build, torch_env)), indent=2) + "\n",
        "commands.txt": commands_script(build=build, c_argv=(c_run.argv if c_run else [str(build.binary if build else "nanoBragg"), *argv]),
                                        py_argv=t_run.argv if t_run else argv, dtype=m["dtype"],
                                        device=m["device"], mode=mode, tolerance=tolerance, atol=atol,
                                        attribution_modes=attr_modes, port=getattr(result, "port", None)),
    }
    name = bundle_name(result.case.name if result.case else "case", result.slow, result.fast)
    # the bundle path is known only after the rename; summary.md names the reports directory
    timings["bundle"] = round(time.perf_counter() - t0, 4)
    result.markdown = _markdown(result, report_md)
    files["summary.md"] = result.markdown
    files["metrics.json"] = json.dumps(_json_safe(m), indent=2, allow_nan=False) + "\n"
    from nbparity.htmlreport import add_report

    return write_bundle(out, name, add_report(files))
