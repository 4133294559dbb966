#!/usr/bin/env python
"""Scaling benchmark: time against detector size and against φ steps × mosaic domains, for the torch
port (one process, torch imported once, time inside simulator.run()) and for the C reference (process
wall time) where affordable. Fits log(time) = p·log(work) + c and prints the exponent p (≈ 1 means the
cost is linear in the work), plus a linear fit time = overhead + work·cost to separate fixed costs
(reading scaled.hkl, setup, writing files) from the per-pixel-step cost.

Work = pixels × φ steps × mosaic domains. Numbers only; nothing passes or fails on a timing.

    .venv/bin/python bench/scaling.py                   # 256² … 4096² and 1 … 64 φ×mosaic at 512²
    .venv/bin/python bench/scaling.py --quick --json    # tiny sizes (smoke test)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _runs as R  # noqa: E402

SIZES = [256, 512, 1024, 2048, 4096]
QUICK_SIZES = [32, 64, 128]
COMBOS = [(1, 1), (2, 2), (4, 4), (8, 8)]  # (φ steps, mosaic domains): 1, 4, 16, 64 in total


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--sizes", help=f"detector edge sizes in pixels (comma list; default {','.join(map(str, SIZES))})")
    ap.add_argument("--size-phisteps", type=int, default=1, help="φ steps for the detector-size series (default: %(default)s)")
    ap.add_argument("--combo-size", type=int, default=512, help="detector edge for the φ×mosaic series (default: %(default)s)")
    ap.add_argument("--combos", help="φ×mosaic pairs, e.g. 1x1,2x2,4x4,8x8 (default)")
    ap.add_argument("--mosaic-spread", type=float, default=0.1, help="mosaic spread in degrees (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (32²…128², φ×mosaic at 48²): plumbing only")
    ap.add_argument("--dtype", default="float64", help="torch dtype (default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    ap.add_argument("--reps", type=int, default=3,
                    help="timed repetitions per point; the fits use the minimum, the least disturbed by other load "
                         "(default: %(default)s; 1 with --quick)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed torch runs per point first (default: %(default)s; 0 with --quick): the first call "
                         "with a new argv pays setup (HKL parse, derived geometry) that later calls reuse")
    ap.add_argument("--no-c", action="store_true", help="skip the C side")
    ap.add_argument("--c-max-work", type=float, default=4.0e7,
                    help="skip C points above this many pixel-steps (default: %(default)g)")
    ap.add_argument("--c-binary", help="C reference binary (default: c_reference/nanoBragg, built if missing)")
    ap.add_argument("--timeout", type=float, default=1800, help="timeout per process, seconds (default: %(default)s)")
    C.add_output_args(ap, quirks=True)
    return ap.parse_args(argv)


def point_argv(n: int, phisteps: int, domains: int, spread: float) -> list[str]:
    argv = R.supervisor_argv(n, n)
    argv = R.with_arg(argv, "-phisteps", phisteps)
    if domains > 1:
        argv = R.with_arg(argv, "-mosaic", spread)
        argv = R.with_arg(argv, "-mosaic_domains", domains)
    return argv


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.reps = 1
    machine = C.machine_info()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    combos = ([tuple(int(v) for v in c.lower().split("x")) for c in args.combos.split(",")]
              if args.combos else COMBOS)
    combo_n = 48 if args.quick and args.combo_size == 512 else args.combo_size
    points = []
    for n in sizes:
        points.append({"series": "detector", "edge": n, "pixels": n * n, "phisteps": args.size_phisteps, "domains": 1})
    for p, m in combos:
        points.append({"series": "phi_mosaic", "edge": combo_n, "pixels": combo_n * combo_n, "phisteps": p, "domains": m})
    for pt in points:
        pt["work"] = pt["pixels"] * pt["phisteps"] * pt["domains"]
        pt["name"] = f"{pt['series']}:{pt['edge']}^2 φ{pt['phisteps']}×m{pt['domains']}"
        pt["argv"] = point_argv(pt["edge"], pt["phisteps"], pt["domains"], args.mosaic_spread)

    result = {"benchmark": "scaling", "machine": machine, "quick": args.quick, "dtype": args.dtype, "device": args.device,
              "quirks": args.quirks, "reps": args.reps, "points": points, "fits": {}, "errors": []}
    tmp = Path(tempfile.mkdtemp(prefix="nbbench_sc_"))
    try:
        case, _ = R.prepare_inputs(tmp / "inputs")
        result["case"] = case
        for side in ("c", "torch"):
            d = tmp / side
            d.mkdir()
            for name in ("A.mat", "scaled.hkl"):
                (d / name).symlink_to((tmp / "inputs" / name).resolve())
        # torch: one process, all points; a small warm-up job first (first-call costs are not scaling)
        if R.have_simulator():
            jobs = [{"name": "warm-up", "argv": point_argv(16, 1, 1, args.mosaic_spread), "reps": 1}]
            warm = 0 if args.quick else args.warmup
            jobs += [{"name": pt["name"], "argv": pt["argv"], "reps": args.reps, "warmup": warm} for pt in points]
            spec = {"device": args.device, "dtype": args.dtype, "quirks": args.quirks, "warmup": 0, "write_outputs": True,
                    "cwd": str(tmp / "torch"), "threads": args.threads, "jobs": jobs}
            (tmp / "spec.json").write_text(json.dumps(spec))
            C.log(f"torch {args.dtype} on {args.device}: {len(points)} points in one process ...")
            r = R.run_timed([C.PYTHON, str(C.BENCH / "_torch_run.py"), str(tmp / "spec.json")], cwd=tmp / "torch",
                            env=R.child_env(), timeout=args.timeout)
            inner = None
            for line in reversed(r["stdout"].splitlines()):
                if line.startswith("{"):
                    inner = json.loads(line)
                    break
            if r["returncode"] != 0 or inner is None:
                result["errors"].append(f"torch run exited {r['returncode']}: {R.tail(r['stderr'])}")
            else:
                result["torch_threads"] = inner["threads"]
                result["torch_peak_rss_bytes"] = r.get("max_rss_bytes")
                by_name = {j["name"]: j for j in inner["jobs"]}
                for pt in points:
                    j = by_name.get(pt["name"])
                    pt["torch_s"] = j["min_s"] if j else None
                    pt["torch_median_s"] = j["median_s"] if j else None
                    pt["torch_cpu_s"] = j.get("cpu_s") if j else None
                    pt["torch_first_call_s"] = (j.get("warmup_times_s") or [None])[0] if j else None
        else:
            result["errors"].append("simulator not available (simulator/api.py missing)")
        cbin = None
        if not args.no_c:
            cbin, how = R.c_binary(args.c_binary)
            result["c_binary"] = {"path": str(cbin) if cbin else None, "how": how}
            if cbin is None:
                result["errors"].append("C binary not available")
        for pt in points:
            if cbin is None or pt["work"] > args.c_max_work:
                pt["c_s"] = None
                continue
            times = []
            for _ in range(args.reps):
                C.log(f"C {pt['name']} ...")
                r = R.run_timed([str(cbin), *pt["argv"]], cwd=tmp / "c", timeout=args.timeout, measure_rss=False)
                if r["returncode"] != 0:
                    result["errors"].append(f"C {pt['name']} exited {r['returncode']}: {R.tail(r['stderr'])}")
                    break
                times.append(r["wall_s"])
            pt["c_s"] = C.summary(times)["min"]
            pt["c_median_s"] = C.summary(times)["median"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for pt in points:
        pt.pop("argv", None)
        pt["torch_over_c"] = C.ratio(pt.get("torch_s"), pt.get("c_s"))
        pt["torch_ns_per_work"] = pt["torch_s"] / pt["work"] * 1e9 if pt.get("torch_s") else None
        pt["c_ns_per_work"] = pt["c_s"] / pt["work"] * 1e9 if pt.get("c_s") else None
    for series in ("detector", "phi_mosaic"):
        sp = [p for p in points if p["series"] == series]
        for side in ("torch", "c"):
            xs = [p["work"] for p in sp if p.get(f"{side}_s")]
            ys = [p[f"{side}_s"] for p in sp if p.get(f"{side}_s")]
            result["fits"][f"{series}/{side}"] = C.loglog_fit(xs, ys)
    result["machine"]["loadavg_end"] = C.machine_info()["loadavg"]
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    rows = []
    for p in res["points"]:
        rows.append([p["series"], f"{p['edge']}²", p["phisteps"], p["domains"], f"{p['work']:.3g}",
                     C.fmt_s(p.get("torch_s")), C.fmt_s(p.get("torch_first_call_s")), C.fmt_s(p.get("c_s")), C.fmt_ratio(p.get("torch_over_c")),
                     "n/a" if p.get("torch_ns_per_work") is None else f"{p['torch_ns_per_work']:.1f}",
                     "n/a" if p.get("c_ns_per_work") is None else f"{p['c_ns_per_work']:.1f}"])
    lines = [f"Scaling: case {res.get('case')}, torch {res['dtype']} on {res['device']}"
             f" ({res.get('torch_threads')} threads; time inside simulator.run() after a warm-up call with the same argv), "
             f"C = process wall time; minimum of {res.get('reps')} repetitions",
             f"Machine: {C.machine_line(res['machine'])}", "",
             C.markdown_table(["series", "detector", "φ steps", "domains", "work (pixel·steps)", "torch", "torch 1st call", "C", "torch/C",
                               "torch ns/step", "C ns/step"], rows), ""]
    frow = []
    for key, f in res["fits"].items():
        if f.get("exponent") is None:
            continue
        frow.append([key, f"{f['exponent']:.3f}", "n/a" if f.get("exponent_top2") is None else f"{f['exponent_top2']:.3f}",
                     C.fmt_s(f.get("linear_overhead_s")),
                     "n/a" if f.get("linear_per_unit_s") is None else f"{f['linear_per_unit_s'] * 1e9:.1f} ns"])
    if frow:
        lines.append(C.markdown_table(["series/side", "log-log exponent (all)", "exponent (2 largest)",
                                       "fixed overhead", "per pixel-step"], frow))
    for e in res["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
