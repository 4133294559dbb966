#!/usr/bin/env python
"""Reading a big traced pixel: MB/s and peak memory of nbparity's trace reader on synthetic C-style traces
(a config echo, then blocks A/B and per-φ lines for each of oversample² sub-pixels, then block C, as
c_reference prints them for -trace_pixel), several sizes. Each size is read --repeat times, each time in a
fresh process: the best and the median MB/s are printed (a shared machine's speed varies from minute to
minute), and the largest peak RSS added by a read (ru_maxrss after minus before) with its ratio to the
file's size.

    .venv/bin/python bench/trace_reading.py                  # 16, 64 and 200 MB
    .venv/bin/python bench/trace_reading.py --sizes 4,16     # MB
    .venv/bin/python bench/trace_reading.py --quick          # 1 MB, read once: plumbing only
    .venv/bin/python bench/trace_reading.py --repeat 5       # each size read 5 times (default 3)

Targets (issue 25): memory ≤ ~20× the trace's size, ≥ 20 MB/s. Shown next to the numbers, never enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_MB_S = 20.0
TARGET_MEMORY_RATIO = 20.0

_HEADER = """nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17
mosflm convention selected.
  {os}x{os} pixel oversample steps
TRACE_C_CONFIG convention=MOSFLM pivot=BEAM fpixels=32 spixels=32 pixel_size_m=0.00050000000000000001 distance_m=0.10000000000000001
TRACE_C_CONFIG lambda0_m=1e-10 steps={steps} sources=1 mosaic_domains=1 phisteps={phisteps} oversample={os} detector_thicksteps=1
"""


def _f(x: float) -> str:
    return "%.17g" % x


def _block(s: int, f: int, os_: int, phisteps: int) -> str:
    """Blocks A/B of sub-pixel (s, f) with numbers that differ per sub-pixel, as C prints them."""
    y = 0.0085 - (s + 0.5) * 0.0005 / os_
    z = -0.0085 + (f + 0.5) * 0.0005 / os_
    r = (0.01 + y * y + z * z) ** 0.5
    h, k, l_ = -0.0011 * (1 + s * 1e-3), 0.2925 + f * 1e-5, -0.3412 - s * 1e-5
    lines = [
        "TRACE_C: pix0_vector_meters 0.10000000000000001 0.0085000000000000006 -0.0085000000000000006",
        "TRACE_C: fdet_vec 0 0 1", "TRACE_C: sdet_vec 0 -1 0",
        f"TRACE_C: pixel_pos_meters 0.10000000000000001 {_f(y)} {_f(z)}",
        f"TRACE_C: R_distance_meters {_f(r)}", f"TRACE_C: omega_pixel_sr {_f(2.5e-5 / r)}",
        "TRACE_C: close_distance_meters 0.10000000000000001", f"TRACE_C: obliquity_factor {_f(0.1 / r)}",
        f"TRACE_C: diffracted_vec {_f(0.1 / r)} {_f(y / r)} {_f(z / r)}", "TRACE_C: incident_vec 1 0 -0",
        "TRACE_C: lambda_meters 1e-10", "TRACE_C: lambda_angstroms 1",
        f"TRACE_C: scattering_vec_A_inv {_f(-2.4e5 * r)} {_f(1e10 * y / r)} {_f(1e10 * z / r)}",
        f"TRACE_C: omega_subpixel_sr {_f(2.5e-5 / r)}",
        "TRACE_C: rot_a_angstroms 50 3.0616169978683826e-15 3.0616169978683838e-15",
        "TRACE_C: rot_b_angstroms -0 59.999999999999993 3.6739403974420592e-15", "TRACE_C: rot_c_angstroms 0 -0 70",
        "TRACE_C: rot_a_star_A_inv 0.019999999999999997 0 0",
        "TRACE_C: rot_b_star_A_inv -1.020538999289461e-18 0.01666666666666667 0",
        "TRACE_C: rot_c_star_A_inv -8.7474771367668088e-19 -8.7474771367668088e-19 0.014285714285714285",
        f"TRACE_C: hkl_frac {_f(h)} {_f(k)} {_f(l_)}", "TRACE_C: hkl_rounded 0 0 0",
        f"TRACE_C: F_latt_a {_f(4 - s * 1e-4)}", f"TRACE_C: F_latt_b {_f(-0.64 - f * 1e-4)}",
        f"TRACE_C: F_latt_c {_f(-1.03 - r)}", f"TRACE_C: F_latt {_f(2.65 + r)}",
    ]
    for tic in range(phisteps):
        lines.append(f"TRACE_C_PHI phi_tic={tic} phi_deg={_f(tic * 0.5)} k_frac={_f(k + tic * 1e-6)} "
                     f"F_latt_b={_f(-0.64 - f * 1e-4)} F_latt={_f(2.65 + r + tic)} h_frac={_f(h + tic * 2e-3)} "
                     f"l_frac={_f(l_)} F_latt_a={_f(3.99 + tic * 1e-5)} F_latt_c={_f(-1.03 - r)} F_cell=100 "
                     f"I_term={_f(70.6 + s + f * 1e-3)}")
        if tic == 0:
            lines.append("TRACE_C: F_cell 100")
    return "\n".join(lines) + "\n"


_FOOTER = """TRACE_C: I_before_scaling 56540.041474282146
TRACE_C: r_e_meters 2.81794117756025e-15
TRACE_C: steps {steps}
TRACE_C: I_pixel_final 134.69440463225615
TRACE_C: floatimage_accumulated 134.69441223144531
writing floatimage.bin as 1024 4-byte floats
"""


def write_synthetic_trace(path: Path, target_bytes: int, phisteps: int = 1) -> dict:
    """A C-style trace of about target_bytes: the smallest oversample whose blocks reach that size."""
    per_block = len(_block(0, 0, 1, phisteps))
    os_ = max(1, int((target_bytes / per_block) ** 0.5 + 0.999))
    with open(path, "w") as out:
        out.write(_HEADER.format(os=os_, steps=os_ * os_ * phisteps, phisteps=phisteps))
        for s in range(os_):
            out.write("".join(_block(s, f, os_, phisteps) for f in range(os_)))
        out.write(_FOOTER.format(steps=os_ * os_ * phisteps))
        out.flush()
        os.fsync(out.fileno())   # written back before the reads are timed (writeback slowed the first read)
    return {"oversample": os_, "phisteps": phisteps, "bytes": path.stat().st_size}


# the reader's libraries are imported (and a tiny trace read) before the measurement: their fixed cost is
# not the trace's
_CHILD = """
import json, resource, sys, time
import pandas
from nbparity.trace import parse_trace, load_trace
parse_trace(b"TRACE_C: pix0_vector_meters 1 2 3\\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0, c0 = time.perf_counter(), time.process_time()
frames = load_trace(sys.argv[1], "C")
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "rss_before_bytes": before, "peak_rss_bytes": peak,
                  "values": len(frames.values), "truncated": bool(frames.truncated)}))
"""


def measure(path: Path, timeout: float) -> dict:
    """Read the trace in a fresh interpreter (ru_maxrss is per process): wall time and peak RSS."""
    try:
        p = subprocess.run([C.PYTHON, "-c", _CHILD, str(path)], capture_output=True, text=True,
                           timeout=timeout, cwd=C.REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": f"reader exited {p.returncode}: {p.stderr.strip()[-300:]}"}
    return json.loads(p.stdout)


def run(sizes_mb: list[float], timeout: float, repeat: int = 3) -> dict:
    points, errors = [], []
    with tempfile.TemporaryDirectory(prefix="nbparity-bench-trace-") as tmp:
        for mb in sizes_mb:
            path = Path(tmp) / f"trace-{mb:g}MB.log"
            C.log(f"writing a {mb:g} MB synthetic C trace")
            shape = write_synthetic_trace(path, int(mb * C.MIB))
            runs = []
            for k in range(repeat):
                C.log(f"reading {path.name} (oversample {shape['oversample']}), {k + 1} of {repeat}")
                runs.append(measure(path, timeout))
                if "error" in runs[-1]:
                    break
            path.unlink()
            points.append(_point(shape, runs))
            if "error" in points[-1]:
                errors.append(f"{mb:g} MB: {points[-1]['error']}")
    return {"benchmark": "trace_reading", "machine": C.machine_info(), "points": points, "errors": errors,
            "repeat": repeat, "targets": {"mb_per_s": TARGET_MB_S, "memory_ratio": TARGET_MEMORY_RATIO}}


def _point(shape: dict, runs: list[dict]) -> dict:
    """One size: the best and median speed of its reads, the largest memory any of them added."""
    point = {"size_mb": shape["bytes"] / C.MIB, **shape, "runs": runs}
    failed = next((r for r in runs if "error" in r), None)
    if failed is not None:
        return {**point, "error": failed["error"]}
    size = point["size_mb"]
    walls, cpus = sorted(r["wall_s"] for r in runs), sorted(r["cpu_s"] for r in runs)
    added = max(r["peak_rss_bytes"] - r["rss_before_bytes"] for r in runs)
    return {**point, "values": runs[0]["values"], "truncated": runs[0]["truncated"],
            "wall_s": walls[0], "cpu_s": cpus[0], "added_rss_bytes": added, "memory_ratio": added / shape["bytes"],
            "mb_per_s": size / walls[0], "mb_per_s_median": size / statistics.median(walls),
            "mb_per_cpu_s": size / cpus[0]}


def text_report(res: dict) -> str:
    rows = []
    for p in res["points"]:
        if "error" in p:
            rows.append([f"{p['size_mb']:.1f}", p["oversample"], "—", "—", "—", "—", p["error"]])
            continue
        rows.append([f"{p['size_mb']:.1f}", p["oversample"], f"{p['mb_per_s']:.1f} ({p['mb_per_s_median']:.1f})",
                     f"{p['mb_per_cpu_s']:.1f}", C.fmt_bytes(p["added_rss_bytes"]), f"{p['memory_ratio']:.1f}×",
                     f"{p['values']} values"])
    n = res.get("repeat", 1)
    head = ["trace MB", "oversample", f"MB/s wall, best of {n} (median) (≥ {TARGET_MB_S:g})", "MB per CPU s (best)",
            "peak RSS added (most)", f"× size (≤ {TARGET_MEMORY_RATIO:g})", "notes"]
    return f"**Machine:** {C.machine_line(res['machine'])}\n\n" + C.markdown_table(head, rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="16,64,200", help="trace sizes in MB, comma list (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per size (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="reads of each size, each in a fresh process "
                    "(default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="one 1 MB trace read once: plumbing only")
    C.add_output_args(ap)
    args = ap.parse_args(argv)
    sizes = [1.0] if args.quick else [float(s) for s in args.sizes.split(",") if s.strip()]
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    res = run(sizes, args.timeout, 1 if args.quick else args.repeat)
    res["quick"] = bool(args.quick)
    C.emit(res, args.json, text_report(res), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
