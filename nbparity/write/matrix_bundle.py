"""The matrix bundle: request.json, metrics.json (kind "matrix"), env.json and commands.txt written the
shared way (nbparity.write.common), the summary table, the JUnit XML and the page."""

from __future__ import annotations

import sys
import time

from nbparity.flows.matrix_result import c_line_texts


def _fmt_num(x, digits=15):
    if x is None:
        return "-"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def row(o: dict) -> dict:
    """The summary-table row of one run."""
    m = (o.get("image") or {}).get("metrics") or {}
    return {"id": o["id"], "run": o["run"], "verdict": o["verdict"],
            "corr": _fmt_num(m.get("corr")), "sum_ratio": _fmt_num(m.get("sum_ratio")),
            "max_abs_diff": _fmt_num(m.get("max_abs_diff"), 6), "traces": o["traces_verdict"],
            "time_s": f"{o['volatile'].get('time_s', 0):.2f}"}


def summary_markdown(result) -> str:
    m = result.to_metrics()
    lines = [f"# Parity matrix: {result.name} — {result.judgement.headline}", "",
             f"* matrix `{m['matrix']}`; {len(result.outcomes)} run(s)"]
    if m.get("note"):
        lines.append(f"* note: {m['note']}")
    lines += [f"* {t}" for t in c_line_texts(result.outcomes)]
    lines += ["", "| id | run | verdict | corr | sum ratio | max abs Δ | traced pixels | time (s) | reason |",
              "|---|---|---|---|---|---|---|---|---|"]
    for o in result.outcomes:
        r = row(o)
        note = (o["reason"] or "").replace("|", "\\|")
        lines.append(f"| {r['id']} | {r['run']} | {r['verdict']} | {r['corr']} | {r['sum_ratio']} | "
                     f"{r['max_abs_diff']} | {r['traces']} | {r['time_s']} | {note} |")
    lines += ["", "Run bundles:", ""]
    for o in result.outcomes:
        if o["volatile"].get("bundle"):
            lines.append(f"* {o['id']}/{o['run']}: `{o['volatile']['bundle']}`")
    lines += ["", "Re-run with `bash commands.txt` (the same matrix, selection, sides and strictness).", ""]
    return "\n".join(lines)


def cases_run_argv(request) -> list[str]:
    """The `nbparity cases run` command line of a request (commands.txt shows it as a comment)."""
    argv = [sys.executable, "-m", "nbparity", "cases", "run", request.matrix, "--jobs", str(request.jobs)]
    for sel in request.only:
        argv += ["--only", sel]
    if request.c.binary:
        argv += ["--c-bin", request.c.binary]
    elif request.c.source:
        argv += ["--c-source", request.c.source]
    port = request.torch.port
    if port is not None:
        d = port.to_dict()
        argv += ["--py-cmd", d["command"]]
        for k, v in d["quirk_flags"].items():
            argv += ["--py-quirk-flag", f"{k}={v}"]
    argv += [flag for flag, on in (("--strict", request.judge.strict), ("--allow-empty", request.judge.allow_empty))
             if on]
    return argv + ["--out", "OUT"]


def write_matrix_bundle(result, out_dir, build=None):
    from nbparity.bundle import write_bundle
    from nbparity.cases import safe_name
    from nbparity.write.htmlreport import add_report
    from nbparity.write.common import common_files
    from nbparity.write.matrix_junit import matrix_junit_bytes

    bundle_name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}_{safe_name(result.name)}_matrix"
    metrics = result.to_metrics()
    files = common_files(result.request, metrics, {"the same matrix by hand": cases_run_argv(result.request)},
                         build=build)
    files["summary.md"] = summary_markdown(result)
    files["junit.xml"] = matrix_junit_bytes(result)
    return write_bundle(out_dir, bundle_name, add_report(files))
