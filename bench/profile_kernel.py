#!/usr/bin/env python
"""Where does simulator.run() spend its time? Profiles one run of a centred crop of the supervisor frame
(default 512×512, 10 φ) with torch.profiler (top operators by self CPU/CUDA time) and cProfile (top
Python functions by cumulative and own time). For the kernel owner; not part of run_all.

    .venv/bin/python bench/profile_kernel.py                       # 512² float64 on CPU
    .venv/bin/python bench/profile_kernel.py --size 256 --dtype float32 --top 15
    .venv/bin/python bench/profile_kernel.py --quick --json
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _runs as R  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--size", type=int, default=512, help="edge of the square crop in pixels (default: %(default)s)")
    ap.add_argument("--phisteps", type=int, default=10, help="φ steps (default: %(default)s)")
    ap.add_argument("--dtype", default="float64", help="(default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="(default: %(default)s)")
    ap.add_argument("--chunk-pixels", type=int, help="pass chunk_pixels= to simulator.run")
    ap.add_argument("--top", type=int, default=12, help="rows per table (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="64×64, 2 φ steps")
    C.add_output_args(ap, quirks=True)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.size, args.phisteps = 64, 2
    import torch
    import simulator
    from torch.profiler import ProfilerActivity, profile

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA not available")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="nbbench_prof_"))
    result = {"benchmark": "profile_kernel", "machine": C.machine_info(), "size": args.size, "phisteps": args.phisteps,
              "dtype": args.dtype, "device": args.device, "threads": torch.get_num_threads()}
    try:
        case, _ = R.prepare_inputs(tmp)
        result["case"] = case
        nb = R.with_arg(R.supervisor_argv(args.size, args.size), "-phisteps", args.phisteps)
        kw = dict(device=args.device, dtype=args.dtype, cwd=str(tmp), write_outputs=False, quirks=args.quirks)
        if args.chunk_pixels:
            kw["chunk_pixels"] = args.chunk_pixels

        def once():
            r = simulator.run(list(nb), **kw)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            return r

        C.log("warm-up ...")
        once()
        t0 = time.perf_counter()
        once()
        result["run_s"] = time.perf_counter() - t0
        C.log(f"plain run {C.fmt_s(result['run_s'])}; torch.profiler ...")
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device.startswith("cuda") else [])
        with profile(activities=acts, record_shapes=False) as prof:
            once()
        key = "self_cuda_time_total" if args.device.startswith("cuda") else "self_cpu_time_total"
        ev = sorted(prof.key_averages(), key=lambda e: -getattr(e, key, 0))
        total = sum(getattr(e, key, 0) for e in ev) or 1
        result["torch_ops"] = [{"op": e.key, "calls": e.count, "self_ms": getattr(e, key, 0) / 1e3,
                                "share": getattr(e, key, 0) / total} for e in ev[:args.top]]
        C.log("cProfile ...")
        pr = cProfile.Profile()
        pr.enable()
        once()
        pr.disable()
        st = pstats.Stats(pr)
        rows = []
        for (fn, line, name), (cc, nc, tt, ct, _) in st.stats.items():
            rows.append({"function": f"{Path(fn).name}:{line}({name})", "calls": nc, "own_s": tt, "cumulative_s": ct})
        result["py_cumulative"] = sorted(rows, key=lambda r: -r["cumulative_s"])[:args.top]
        result["py_own"] = sorted(rows, key=lambda r: -r["own_s"])[:args.top]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    lines = [f"Profile of simulator.run(): {res['size']}² crop, {res['phisteps']} φ, {res['dtype']} on {res['device']} "
             f"({res['threads']} threads), plain run {C.fmt_s(res.get('run_s'))}",
             f"Machine: {C.machine_line(res['machine'])}", "", "torch operators by self time:", "",
             C.markdown_table(["op", "calls", "self ms", "share"],
                              [[r["op"], r["calls"], f"{r['self_ms']:.1f}", f"{100 * r['share']:.1f}%"] for r in res["torch_ops"]]),
             "", "Python functions by cumulative time (cProfile):", "",
             C.markdown_table(["function", "calls", "cumulative s", "own s"],
                              [[r["function"], r["calls"], f"{r['cumulative_s']:.3f}", f"{r['own_s']:.3f}"] for r in res["py_cumulative"]]),
             "", "Python functions by own time (cProfile):", "",
             C.markdown_table(["function", "calls", "own s"],
                              [[r["function"], r["calls"], f"{r['own_s']:.3f}"] for r in res["py_own"]])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
