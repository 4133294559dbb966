"""The compare bundle: the raw outputs of both sides, the aligned tables, the summary, the page."""

from __future__ import annotations

import socket
import time

from nbparity.bundle import Streamed, bundle_name, write_bundle


def _csv(df):
    """The table as CSV, written in chunks of rows straight into the bundle's file (a trace of millions of
    values makes a factors.csv of hundreds of MB: ~170 bytes a value)."""
    if df is None or len(df) == 0:
        return ""
    from nbparity.write.csv_table import csv_text, write_csv
    from nbparity.write.htmlreport import MAX_ROWS

    return Streamed(lambda fh: write_csv(df, fh), csv_text(df.head(MAX_ROWS)), len(df))


def _c_log(run) -> str:
    return "" if run is None else run.stdout + (("\n# stderr:\n" + run.stderr) if run.stderr else "")


def _torch_log(run) -> str:
    """A port's stdout and stderr; the simulator's trace lines."""
    return "" if run is None else (getattr(run, "log_text", None) or run.trace_text)


def _torch_env(worker):
    if worker is None:
        return None
    try:
        return worker.env_info()
    except Exception:  # a dead worker: envinfo asks torch in this process instead
        return None


def write_compare_bundle(result, session, worker=None):
    """Write the bundle of a compare (also of a failed one); returns its path."""
    from nbparity.write.htmlreport import add_report
    from nbparity.write.common import common_files
    from nbparity.write.compare_markdown import summary_markdown

    runs = result.runs
    c_run = runs.c_run if runs else None
    t_run = runs.t_run if runs else None
    comparison = result.comparison
    sides = {"C": getattr(c_run, "argv", None),
             "torch": getattr(t_run, "command", None) or _torch_argv(result, t_run)}
    for mode, run in result.attribution_runs:
        sides[f"torch, attribution re-run ({mode})"] = getattr(run, "command", None) or _torch_argv(result, run)
    metrics = result.to_metrics()
    metrics["volatile"] = {"timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "host": socket.gethostname(), "workdir": str(session.work),
                           "argv": {"c": sides["C"], "torch": sides["torch"]}, "case_argv": session.case_argv,
                           "timings_s": result.timings, "test_perturbation": getattr(t_run, "perturbed", None)}
    files = common_files(result.request, metrics, sides,
                         build=getattr(session.c_resolved, 'build', None), torch_env=_torch_env(worker))
    files.update({
        "c_trace.log": _c_log(c_run),
        "py_trace.log": _torch_log(t_run),
        "factors.csv": _csv(comparison.table) if comparison is not None else "",
        "per_phi.csv": _csv(comparison.per_phi) if comparison is not None else "",
        "summary.md": summary_markdown(result),
    })
    if result.proof is not None:
        from nbparity.write.compare_prove import prove_files

        files.update(prove_files(result.proof))
    for i, (mode, run) in enumerate(result.attribution_runs, 1):
        files[f"py_trace_attr{i}.log"] = f"# attribution re-run, quirks {mode}\n" + _torch_log(run)
    name = bundle_name(result.case.name if result.case else "case", result.slow, result.fast)
    return write_bundle(result.request.output.out, name, add_report(files))


def _torch_argv(result, t_run):
    if t_run is None:
        return None
    torch = result.request.torch
    return ["python", "-m", "simulator", *t_run.argv, "-device", torch.device, "-dtype", torch.dtype,
            "-quirks", getattr(t_run, "quirks", torch.quirks)]
