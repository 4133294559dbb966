#!/usr/bin/env python
"""Full-frame benchmark: the supervisor command (2463×2527 pixels, 10 φ steps), C reference (serial)
against the torch port on CPU in float64 and float32, in the same run on the same machine.

For each side: wall time of the whole process (start-up, reading inputs, rendering, writing the float,
SMV and PGM images, as the C does), peak RSS (`/usr/bin/time -v`, or os.wait4 rusage when that is
missing), and for torch the time inside simulator.run() and the torch thread count. Prints the ratios
torch/C (targets: float64 ≤ 0.5×, float32 ≤ 0.3×; peak RSS ≤ 1 GiB) and the image agreement with C.
Numbers only: nothing here passes or fails on a timing.

    .venv/bin/python bench/full_frame.py                 # full frame, both dtypes, 1 repetition
    .venv/bin/python bench/full_frame.py --quick --json  # 96×96 crop (smoke test)
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

TARGETS = {"float64": 0.5, "float32": 0.3}
RSS_TARGET = C.GIB


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--dtypes", default="float64,float32", help="torch dtypes to run (comma list; default: %(default)s)")
    ap.add_argument("--reps", type=int, default=1, help="repetitions per side, interleaved (default: %(default)s)")
    ap.add_argument("--size", metavar="FASTxSLOW", help="render a centred FASTxSLOW crop of the supervisor geometry")
    ap.add_argument("--quick", action="store_true", help="tiny 96×96 crop: checks the plumbing, not the speed")
    ap.add_argument("--device", default="cpu", help="torch device (default: %(default)s; cuda when available)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    ap.add_argument("--c-binary", help="C reference binary (default: c_reference/nanoBragg, built if missing)")
    ap.add_argument("--no-c", action="store_true", help="skip the C side")
    ap.add_argument("--timeout", type=float, default=1800, help="per-process timeout in seconds (default: %(default)s)")
    ap.add_argument("--workdir", help="where the runs write their images (default: a temporary directory)")
    C.add_output_args(ap, quirks=True)
    return ap.parse_args(argv)


def read_float_image(path: Path, shape):
    import numpy as np

    if not path.is_file():
        return None
    a = np.fromfile(path, dtype="<f4")
    if a.size != shape[0] * shape[1]:
        return None
    return a.reshape(shape)


def image_agreement(ref, other) -> dict | None:
    if ref is None or other is None:
        return None
    import numpy as np

    r = ref.astype(np.float64)
    o = other.astype(np.float64)
    d = np.abs(o - r)
    rmax = float(np.max(np.abs(r))) or 1.0
    return {"max_abs_diff": float(d.max()), "max_rel_to_cmax": float(d.max() / rmax),
            "identical_pixels_frac": float(np.mean(o == r)), "c_max": float(r.max()), "c_sum": float(r.sum()),
            "torch_sum": float(o.sum())}


def main(argv=None) -> int:
    args = parse_args(argv)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    machine = C.machine_info()
    if args.quick:
        fast, slow = 96, 96
    elif args.size:
        fast, slow = (int(v) for v in args.size.lower().split("x"))
    else:
        fast, slow = R.SUPERVISOR_SHAPE[1], R.SUPERVISOR_SHAPE[0]
    argv_nb = R.supervisor_argv(fast, slow) if (fast, slow) != (R.SUPERVISOR_SHAPE[1], R.SUPERVISOR_SHAPE[0]) \
        else R.supervisor_argv()
    if args.device.startswith("cuda"):
        try:
            import torch

            if not torch.cuda.is_available():
                print("CUDA not available", file=sys.stderr)
                return 2
        except ImportError:
            return 2

    tmp = None
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="nbbench_ff_")
        work = Path(tmp)
    result = {"benchmark": "full_frame", "machine": machine, "case": None, "shape": [slow, fast], "phisteps": 10,
              "pixels": fast * slow, "quick": args.quick, "quirks": args.quirks, "argv": argv_nb, "c": None, "torch": {}, "ratios": {},
              "targets": {"torch_over_c": TARGETS, "peak_rss_bytes": RSS_TARGET}, "errors": []}
    try:
        case, src = R.prepare_inputs(work / "inputs")
        result["case"] = case
        C.log(f"case {case}, {fast}×{slow} pixels, workdir {work}")
        sides = (["c"] if not args.no_c else []) + dtypes
        dirs = {}
        for s in sides:
            d = work / s
            d.mkdir(exist_ok=True)
            for name in ("A.mat", "scaled.hkl"):
                if not (d / name).exists():
                    (d / name).symlink_to((work / "inputs" / name).resolve())
            dirs[s] = d
        cbin = None
        if "c" in sides:
            cbin, how = R.c_binary(args.c_binary)
            result["c_binary"] = {"path": str(cbin) if cbin else None, "how": how, "makefile_cflags": R.c_makefile_flags()}
            if cbin is None:
                result["errors"].append("C binary not available")
                sides.remove("c")
        if not R.have_simulator():
            result["errors"].append("simulator not available (simulator/api.py missing)")
            sides = [s for s in sides if s == "c"]
        runs = {s: [] for s in sides}
        for rep in range(args.reps):
            for s in sides:
                C.log(f"rep {rep + 1}/{args.reps}: {s} ...")
                if s == "c":
                    r = R.run_timed([str(cbin), *argv_nb], cwd=dirs[s], timeout=args.timeout)
                else:
                    spec = {"device": args.device, "dtype": s, "quirks": args.quirks, "reps": 1, "warmup": 0, "write_outputs": True,
                            "cwd": str(dirs[s]), "threads": args.threads, "jobs": [{"name": s, "argv": argv_nb}]}
                    spec_path = dirs[s] / "spec.json"
                    spec_path.write_text(json.dumps(spec))
                    r = R.run_timed([C.PYTHON, str(C.BENCH / "_torch_run.py"), str(spec_path)], cwd=dirs[s],
                                    env=R.child_env(), timeout=args.timeout)
                    inner = None
                    for line in reversed(r["stdout"].splitlines()):
                        if line.startswith("{"):
                            try:
                                inner = json.loads(line)
                            except json.JSONDecodeError:
                                pass
                            break
                    r["inner"] = inner
                C.log(f"  {s}: {C.fmt_s(r['wall_s'])} wall, peak RSS {C.fmt_bytes(r.get('max_rss_bytes'))}, exit {r['returncode']}")
                if r["returncode"] != 0:
                    result["errors"].append(f"{s} exited {r['returncode']}: {R.tail(r['stderr'])}")
                runs[s].append(r)

        def side_summary(s):
            rs = [r for r in runs.get(s, []) if r["returncode"] == 0]
            if not rs:
                return None
            out = {"wall": C.summary([r["wall_s"] for r in rs]),
                   "peak_rss_bytes": max((r.get("max_rss_bytes") or 0) for r in rs) or None,
                   "user_s": C.summary([r["user_s"] for r in rs if r.get("user_s") is not None])["median"],
                   "sys_s": C.summary([r["sys_s"] for r in rs if r.get("sys_s") is not None])["median"],
                   "rss_method": rs[0].get("rss_method")}
            if out["user_s"] is not None and out["sys_s"] is not None:
                out["cpu_s"] = out["user_s"] + out["sys_s"]  # CPU time of the whole process, all threads
            inner = [r.get("inner") for r in rs if r.get("inner")]
            if inner:
                out["threads"] = inner[0]["threads"]
                out["import_s"] = C.summary([i["import_simulator_s"] for i in inner])["median"]
                out["run_s"] = C.summary([i["jobs"][0]["times_s"][0] for i in inner])["median"]
                out["run_cpu_s"] = C.summary([i["jobs"][0]["cpu_s"] for i in inner
                                              if i["jobs"][0].get("cpu_s") is not None])["median"]
                out["timings"] = inner[0]["jobs"][0].get("timings")
            return out

        result["c"] = side_summary("c") if "c" in sides else None
        cimg = read_float_image(dirs["c"] / "img.bin", (slow, fast)) if "c" in dirs else None
        for s in dtypes:
            summ = side_summary(s)
            if summ is None:
                continue
            summ["agreement_with_c"] = image_agreement(cimg, read_float_image(dirs[s] / "img.bin", (slow, fast)))
            result["torch"][s] = summ
            if result["c"]:
                cw = result["c"]["wall"]["median"]
                result["ratios"][s] = {"wall_torch_over_c": C.ratio(summ["wall"]["median"], cw),
                                       "run_only_over_c": C.ratio(summ.get("run_s"), cw),
                                       "cpu_torch_over_c": C.ratio(summ.get("cpu_s"), result["c"].get("cpu_s")),
                                       "target": TARGETS.get(s)}
    finally:
        if tmp and not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["loadavg_end"] = C.machine_info()["loadavg"]
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    rows = []
    c = res.get("c")
    if c:
        rows.append(["C reference (serial)", C.fmt_s(c["wall"]["median"]), "—", "1.00×", "—", C.fmt_s(c.get("cpu_s")), "—",
                     C.fmt_bytes(c["peak_rss_bytes"]), "1"])
    for dt, s in res["torch"].items():
        r = res["ratios"].get(dt, {})
        rows.append([f"torch CPU {dt}", C.fmt_s(s["wall"]["median"]), C.fmt_s(s.get("run_s")),
                     C.fmt_ratio(r.get("wall_torch_over_c")) + f" (target ≤ {TARGETS.get(dt)}×)",
                     C.fmt_ratio(r.get("run_only_over_c")), C.fmt_s(s.get("cpu_s")), C.fmt_ratio(r.get("cpu_torch_over_c")),
                     C.fmt_bytes(s["peak_rss_bytes"]), str(s.get("threads"))])
    h, w = res["shape"]
    lines = [f"Full frame: case {res['case']}, {w}×{h} pixels, {res['phisteps']} φ steps"
             + (" (--quick crop)" if res["quick"] else ""),
             f"Machine: {C.machine_line(res['machine'])}; torch quirk mode {res.get('quirks')}", "",
             C.markdown_table(["side", "wall (process)", "simulator.run()", "torch/C (wall)", "torch/C (run only)",
                               "CPU time (user+sys)", "torch/C (CPU)", "peak RSS (target ≤ 1 GiB)", "threads"], rows)]
    for dt, s in res["torch"].items():
        a = s.get("agreement_with_c")
        if a:
            lines.append(f"{dt} vs C image: max |Δ| = {a['max_abs_diff']:.3g} ({a['max_rel_to_cmax']:.2e} of max), "
                         f"identical pixels {100 * a['identical_pixels_frac']:.1f}%")
    for e in res["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
