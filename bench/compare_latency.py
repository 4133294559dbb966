#!/usr/bin/env python
"""End-to-end latency of `nbparity compare --pixel 685 1039` (target ≤ 2 s on a 2-core CPU): the wall
time of the whole command as a fresh subprocess (interpreter start, CLI, torch import, C run, torch run,
parse and compare, bundle), median and min over N repetitions, with the C build cached beforehand and
one untimed warm-up run. The case is `supervisor` when its inputs are found ($NBPARITY_DATA or
../shared/data/supervisor), else `supervisor-synthetic`.

Where the time goes is read from each bundle's metrics.json (`volatile.timings_s`, recorded by the
pipeline); "process + CLI + unaccounted" is the subprocess wall time minus the pipeline's own total.
With the torch worker (nbparity.torchworker: the CLI forks it first thing), import_torch,
import_simulator and torch_run are the worker's own times, spent in parallel with validate,
import_compare and c_run; torch_wait is how long the harness then still waited for the first torch
result, and attribution includes the worker's re-runs.

    .venv/bin/python bench/compare_latency.py             # 5 repetitions
    .venv/bin/python bench/compare_latency.py --quick     # 1 repetition, no warm-up (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _runs as R  # noqa: E402

TARGET_S = 2.0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="1 repetition, no warm-up")
    ap.add_argument("--pixel", nargs=2, type=int, default=[685, 1039], metavar=("SLOW", "FAST"),
                    help="pixel to compare (default: 685 1039)")
    ap.add_argument("--case", help="case name or YAML file (default: supervisor when its data exist, else "
                                   "supervisor-synthetic)")
    ap.add_argument("--extra", default="", help="extra arguments for `nbparity compare`, one string")
    ap.add_argument("--timeout", type=float, default=600, help="per-run timeout, seconds (default: %(default)s)")
    C.add_output_args(ap)
    return ap.parse_args(argv)


def nbparity_cmd() -> list[str]:
    exe = Path(C.PYTHON).parent / "nbparity"
    return [str(exe)] if exe.is_file() else [C.PYTHON, "-m", "nbparity"]


def compare_options(env) -> str:
    try:
        p = subprocess.run([*nbparity_cmd(), "compare", "--help"], capture_output=True, text=True, env=env, timeout=120)
        return p.stdout if p.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def newest_bundle(reports: Path, before: set) -> Path | None:
    if not reports.is_dir():
        return None
    new = [d for d in reports.iterdir() if d.is_dir() and d not in before and (d / "metrics.json").is_file()]
    return max(new, key=lambda d: d.stat().st_mtime) if new else None


def main(argv=None) -> int:
    args = parse_args(argv)
    reps = 1 if args.quick else args.reps
    env = R.child_env()
    result = {"benchmark": "compare_latency", "machine": C.machine_info(), "quick": args.quick, "reps": reps,
              "pixel": args.pixel, "target_s": TARGET_S, "runs": [], "errors": []}
    tmp = Path(tempfile.mkdtemp(prefix="nbbench_cmp_"))
    try:
        data = None if os.environ.get("NBPARITY_BENCH_SYNTHETIC") else R.find_supervisor_data()
        case = args.case or ("supervisor" if data else "supervisor-synthetic")
        result["case"] = case
        help_text = compare_options(env)
        if not help_text:
            result["errors"].append("`nbparity compare --help` failed: is the compare command installed?")
            C.emit(result, args.json, render(result), args.out)
            return 0
        reports = tmp / "reports"
        cmd = [*nbparity_cmd(), "compare", "--pixel", str(args.pixel[0]), str(args.pixel[1]), "--case", case]
        if data and case == "supervisor":
            cmd += ["--data-dir", str(data)]
        for opt in ("--out", "--reports-dir", "--reports"):
            if opt in help_text:
                cmd += [opt, str(reports)]
                break
        cmd += args.extra.split()
        result["command"] = " ".join(cmd[len(nbparity_cmd()):]).replace(str(tmp), "$TMP")
        C.log("caching the C build (nbparity build) ...")
        b = R.run_timed([*nbparity_cmd(), "build"], env=env, cwd=tmp, measure_rss=False, timeout=args.timeout)
        if b["returncode"] != 0:
            result["errors"].append(f"nbparity build exited {b['returncode']}: {R.tail(b['stderr'])}")
        if not args.quick:
            C.log("warm-up run (untimed) ...")
            R.run_timed(cmd, env=env, cwd=tmp, measure_rss=False, timeout=args.timeout)
        for i in range(reps):
            before = set(reports.iterdir()) if reports.is_dir() else set()
            r = R.run_timed(cmd, env=env, cwd=tmp, timeout=args.timeout)
            run = {"wall_s": r["wall_s"], "returncode": r["returncode"], "peak_rss_bytes": r.get("max_rss_bytes"),
                   "cpu_s": (r["user_s"] + r["sys_s"]) if r.get("user_s") is not None else None}
            bundle = newest_bundle(reports, before)
            if bundle is not None:
                try:
                    m = json.loads((bundle / "metrics.json").read_text())
                    run["verdict"] = m.get("verdict")
                    run["timings"] = (m.get("volatile") or {}).get("timings_s") or m.get("timings")
                except (OSError, json.JSONDecodeError) as exc:
                    result["errors"].append(f"metrics.json unreadable: {exc}")
            if r["returncode"] not in (0, 1):
                msg = f"compare exited {r['returncode']}: {R.tail(r['stderr'])}"
                if msg not in result["errors"]:
                    result["errors"].append(msg)
            C.log(f"rep {i + 1}/{reps}: {C.fmt_s(r['wall_s'])} (exit {r['returncode']}, verdict {run.get('verdict')})")
            result["runs"].append(run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = [r for r in result["runs"] if r["returncode"] in (0, 1)]
    result["wall"] = C.summary([r["wall_s"] for r in ok]) if ok else None
    if ok:
        result["peak_rss_bytes"] = max((r.get("peak_rss_bytes") or 0) for r in ok) or None
        cpu = [r["cpu_s"] for r in ok if r.get("cpu_s") is not None]
        result["cpu"] = C.summary(cpu) if cpu else None
    timed = [r for r in ok if isinstance(r.get("timings"), dict)]
    if timed:
        keys = []
        for r in timed:
            keys += [k for k in r["timings"] if k not in keys]
        bd = {}
        for k in keys:
            vals = [r["timings"][k] for r in timed if isinstance(r["timings"].get(k), (int, float))]
            if vals:
                bd[k] = statistics.median(vals)
        total = bd.get("total")
        if total is not None:
            rest = statistics.median([r["wall_s"] - r["timings"].get("total", 0) - r["timings"].get("bundle", 0)
                                      for r in timed])
            bd["process + CLI + unaccounted"] = rest
        result["breakdown"] = bd
        result["breakdown_source"] = "bundle metrics.json volatile.timings_s, median"
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    lines = [f"`nbparity {res.get('command', 'compare')}` (case {res.get('case')}, {res['reps']} repetitions)",
             f"Machine: {C.machine_line(res['machine'])}", ""]
    w = res.get("wall")
    if w:
        cpu = (res.get("cpu") or {}).get("median")
        lines.append(C.markdown_table(["wall median", "min", "max", "target", "CPU time (user+sys)", "peak RSS"],
                                      [[C.fmt_s(w["median"]), C.fmt_s(w["min"]), C.fmt_s(w["max"]), f"≤ {TARGET_S} s",
                                        C.fmt_s(cpu), C.fmt_bytes(res.get("peak_rss_bytes"))]]))
    bd = res.get("breakdown")
    if bd:
        lines += ["", "Where the time goes (" + res.get("breakdown_source", "") + "):", ""]
        lines.append(C.markdown_table(["phase", "seconds"], [[k, f"{v:.3f}"] for k, v in bd.items()]))
        if "torch_wait" in bd:
            lines += ["", "import_torch, import_simulator and torch_run ran in the forked torch worker, in "
                          "parallel with validate, import_compare and c_run; torch_wait is the harness's "
                          "remaining wait for the first torch result."]
    for e in res["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
