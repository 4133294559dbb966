#!/usr/bin/env python
"""GPU benchmark: the supervisor frame (2463×2527, 10 φ) on CUDA after warm-up, in float32 and float64
(targets ≤ 100 ms and ≤ 500 ms), and a 4096×4096 frame with 10 mosaic domains × 10 φ steps. Times are
simulator.run() wall times with torch.cuda.synchronize() around each call, median and min over N
repetitions after W warm-up calls; also the CUDA peak memory and torch.cuda.get_device_name().
Without CUDA it prints "CUDA not available" and exits 0.

    .venv/bin/python bench/gpu.py                 # 2 warm-ups, 5 repetitions
    .venv/bin/python bench/gpu.py --quick --json  # 1 warm-up, 1 repetition, small frames
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _runs as R  # noqa: E402

TARGETS_S = {"float32": 0.100, "float64": 0.500}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--warmup", type=int, default=2, help="warm-up calls per job (default: %(default)s)")
    ap.add_argument("--reps", type=int, default=5, help="timed calls per job (default: %(default)s)")
    ap.add_argument("--dtypes", default="float32,float64", help="comma list (default: %(default)s)")
    ap.add_argument("--no-large", action="store_true", help="skip the 4096² × 10 mosaic × 10 φ frame")
    ap.add_argument("--quick", action="store_true", help="small frames, 1 warm-up, 1 repetition")
    ap.add_argument("--device", default="cuda", help="CUDA device (default: %(default)s)")
    C.add_output_args(ap, quirks=True)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = {"benchmark": "gpu", "machine": C.machine_info(), "available": False, "jobs": [], "errors": []}
    try:
        import torch
    except ImportError as exc:
        result["errors"].append(f"torch not importable: {exc}")
        torch = None
    if torch is None or not torch.cuda.is_available():
        result["reason"] = "CUDA not available"
        if args.json:
            C.log("CUDA not available")
        C.emit(result, args.json, "CUDA not available", args.out)
        return 0
    if not R.have_simulator():
        result["errors"].append("simulator not available (simulator/api.py missing)")
        C.emit(result, args.json, render(result), args.out)
        return 0
    sys.path.insert(0, str(C.REPO))
    import _torch_run

    result["available"] = True
    result["quirks"] = args.quirks
    result["device_name"] = torch.cuda.get_device_name(0)
    result["cuda_version"] = torch.version.cuda
    warm, reps = (1, 1) if args.quick else (args.warmup, args.reps)
    sup = R.supervisor_argv(256, 256) if args.quick else R.supervisor_argv()
    big = R.supervisor_argv(512, 512) if args.quick else R.supervisor_argv(4096, 4096)
    big = R.with_arg(R.with_arg(R.with_arg(big, "-mosaic", 0.1), "-mosaic_domains", 10), "-phisteps", 10)
    tmp = Path(tempfile.mkdtemp(prefix="nbbench_gpu_"))
    try:
        case, _ = R.prepare_inputs(tmp)
        result["case"] = case
        for dt in [d.strip() for d in args.dtypes.split(",") if d.strip()]:
            jobs = [{"name": f"supervisor {dt}", "argv": sup, "target_s": None if args.quick else TARGETS_S.get(dt)}]
            if not args.no_large:
                jobs.append({"name": f"{'512²' if args.quick else '4096²'} ×10 mosaic ×10 φ {dt}", "argv": big})
            spec = {"device": args.device, "dtype": dt, "quirks": args.quirks, "warmup": warm, "reps": reps, "write_outputs": False,
                    "cwd": str(tmp), "jobs": [{"name": j["name"], "argv": j["argv"]} for j in jobs]}
            try:
                out = _torch_run.time_jobs(spec, progress=C.log)
            except Exception as exc:  # an OOM or a kernel failure is a result, not a crash of the benchmark
                result["errors"].append(f"{dt}: {type(exc).__name__}: {exc}")
                continue
            for j, rec in zip(jobs, out["jobs"]):
                rec["target_s"] = j.get("target_s")
                rec["dtype"] = dt
                result["jobs"].append(rec)
            torch.cuda.empty_cache()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    if not res.get("available"):
        return "CUDA not available"
    rows = [[j["name"], C.fmt_s(j["median_s"]), C.fmt_s(j["min_s"]),
             f"≤ {C.fmt_s(j['target_s'])}" if j.get("target_s") else "—", C.fmt_bytes(j.get("cuda_peak_bytes"))]
            for j in res["jobs"]]
    lines = [f"GPU: {res['device_name']} (CUDA {res.get('cuda_version')}), case {res.get('case')}",
             f"Machine: {C.machine_line(res['machine'])}", "",
             C.markdown_table(["frame", "median", "min", "target", "CUDA peak memory"], rows)]
    for e in res["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
