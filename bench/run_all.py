#!/usr/bin/env python
"""Run every benchmark (startup, compare_latency, scaling, full_frame, gpu, trace_reading) one after the other, save
each one's JSON under bench/results/, and print one markdown results table with the machine (CPU model,
cores, torch version, date). `make bench` runs this. Numbers only: the exit status is 0 unless a
benchmark script itself crashed; targets are shown next to the measurements, never enforced.

    .venv/bin/python bench/run_all.py                       # everything (the full frame once per side)
    .venv/bin/python bench/run_all.py --only startup,gpu    # a subset
    .venv/bin/python bench/run_all.py --quick               # tiny modes (seconds, plumbing only)
    .venv/bin/python bench/run_all.py --reuse bench/results # only re-render the table from saved JSON
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ORDER = ["startup", "compare_latency", "scaling", "full_frame", "gpu", "trace_reading"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--only", help=f"comma list among {','.join(ORDER)}")
    ap.add_argument("--skip", help="comma list of benchmarks to leave out")
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("--results-dir", default=str(C.RESULTS), help="where the JSON files go (default: %(default)s)")
    ap.add_argument("--reuse", metavar="DIR", help="do not run anything: render the table from DIR/*.json")
    ap.add_argument("--timeout", type=float, default=3600, help="per-benchmark timeout, seconds (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print every result as one JSON object instead of the table")
    return ap.parse_args(argv)


def run_benchmarks(names, results_dir: Path, quick: bool, timeout: float) -> dict:
    C.ensure_dir(results_dir)
    status = {}
    for name in names:
        out = results_dir / f"{name}.json"
        if out.exists():
            out.unlink()
        cmd = [C.PYTHON, str(C.BENCH / f"{name}.py"), "--json", "--out", str(out)] + (["--quick"] if quick else [])
        C.log(f"=== {name}: {' '.join(cmd[1:])}")
        t0 = time.perf_counter()
        try:  # the script's own progress goes straight to our stderr; its JSON stdout is discarded (saved via --out)
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=None, timeout=timeout, cwd=C.REPO)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        status[name] = {"returncode": rc, "elapsed_s": time.perf_counter() - t0}
        C.log(f"=== {name}: exit {rc} after {C.fmt_s(status[name]['elapsed_s'])}")
    return status


def load(results_dir: Path, names) -> dict:
    res = {}
    for name in names:
        p = results_dir / f"{name}.json"
        if p.is_file():
            try:
                res[name] = json.loads(p.read_text())
            except json.JSONDecodeError as exc:
                res[name] = {"errors": [f"unreadable {p}: {exc}"]}
    return res


def _meets(value, target, lower_is_better=True):
    if value is None or target is None:
        return ""
    return "yes" if (value <= target if lower_is_better else value >= target) else "no"


def rows_for(res: dict) -> list[list]:
    rows = []
    s = res.get("startup")
    if s:
        for name, e in s.get("commands", {}).items():
            if "baseline" in name or "first use" in name:
                rows.append(["startup", f"`{name}`", f"{C.fmt_s(e['median'])} (min {C.fmt_s(e['min'])})", "—", ""])
                continue
            t = e.get("target_s")
            rows.append(["startup", f"`{name}`", f"{C.fmt_s(e['median'])} (min {C.fmt_s(e['min'])})",
                         f"≤ {t} s" if t else "—", _meets(e["median"], t)])
        it = s.get("importtime", {}).get("nbparity --help")
        if it:
            rows.append(["startup", "heavy libraries imported by `nbparity --help`",
                         ", ".join(it["heavy_imported"]) or "none", "none of torch/pandas/matplotlib",
                         "yes" if not set(it["heavy_imported"]) & {"torch", "pandas", "matplotlib"} else "no"])
        it = s.get("importtime", {}).get("import simulator, nbparity")
        if it:
            rows.append(["startup", "own import time of simulator.* + nbparity.* modules",
                         f"{it['project_self_us'] / 1e3:.1f} ms", "small (no work at import)", ""])
    c = res.get("compare_latency")
    if c and c.get("wall"):
        w = c["wall"]
        rows.append(["compare", f"`nbparity compare --pixel 685 1039` ({c.get('case')}, n={w['n']})",
                     f"{C.fmt_s(w['median'])} (min {C.fmt_s(w['min'])})", "≤ 2 s", _meets(w["median"], 2.0)])
        if (c.get("cpu") or {}).get("median"):
            rows.append(["compare", "same, CPU time of the process (user+sys)", C.fmt_s(c["cpu"]["median"]), "—", ""])
        bd = c.get("breakdown") or {}
        if bd:
            parts = ", ".join(f"{k} {C.fmt_s(v)}" for k, v in bd.items() if isinstance(v, (int, float)) and k != "total")
            rows.append(["compare", f"where the time goes ({c.get('breakdown_source', '?')})", parts, "—", ""])
    f = res.get("full_frame")
    for side in ([f.get("c")] + list(f.get("torch", {}).values())) if f else []:
        if side and side.get("cpu_s") is None and side.get("user_s") is not None and side.get("sys_s") is not None:
            side["cpu_s"] = side["user_s"] + side["sys_s"]  # results saved by an older full_frame.py
    if f and f.get("c"):
        for dt, t in f.get("torch", {}).items():
            r = f.setdefault("ratios", {}).setdefault(dt, {})
            if r.get("cpu_torch_over_c") is None:
                r["cpu_torch_over_c"] = C.ratio(t.get("cpu_s"), f["c"].get("cpu_s"))
    if f and (f.get("c") or f.get("torch")):
        h, w_ = f["shape"]
        tag = f"{w_}×{h}, {f['phisteps']} φ"
        if f.get("c"):
            rows.append(["full frame", f"C reference serial ({tag}): wall (CPU time)",
                         f"{C.fmt_s(f['c']['wall']['median'])} ({C.fmt_s(f['c'].get('cpu_s'))})", "—", ""])
            rows.append(["full frame", "C peak RSS", C.fmt_bytes(f["c"]["peak_rss_bytes"]), "—", ""])
        for dt, t in f.get("torch", {}).items():
            r = f.get("ratios", {}).get(dt, {})
            tgt = r.get("target")
            rows.append(["full frame", f"torch CPU {dt}, {t.get('threads')} threads: wall (run() only; CPU time)",
                         f"{C.fmt_s(t['wall']['median'])} ({C.fmt_s(t.get('run_s'))}; {C.fmt_s(t.get('cpu_s'))})", "—", ""])
            rows.append(["full frame", f"torch {dt} / C (process wall)", C.fmt_ratio(r.get("wall_torch_over_c")),
                         f"≤ {tgt}×" if tgt else "—", _meets(r.get("wall_torch_over_c"), tgt)])
            if r.get("cpu_torch_over_c") is not None:
                rows.append(["full frame", f"torch {dt} / C (CPU time, all threads)", C.fmt_ratio(r.get("cpu_torch_over_c")),
                             "—", ""])
            rows.append(["full frame", f"torch {dt} peak RSS", C.fmt_bytes(t.get("peak_rss_bytes")), "≤ 1 GiB",
                         _meets(t.get("peak_rss_bytes"), C.GIB)])
            a = t.get("agreement_with_c")
            if a:
                rows.append(["full frame", f"torch {dt} vs C image: max abs diff (of C max)",
                             f"{a['max_abs_diff']:.3g} ({a['max_rel_to_cmax']:.1e})", "—", ""])
    sc = res.get("scaling")
    if sc and sc.get("fits"):
        for key, fit in sc["fits"].items():
            if fit.get("exponent") is None:
                continue
            series, side = key.split("/")
            label = {"detector": "detector size", "phi_mosaic": "φ steps × mosaic domains"}.get(series, series)
            extra = f", per pixel-step {fit['linear_per_unit_s'] * 1e9:.1f} ns" if fit.get("linear_per_unit_s") else ""
            top2 = f", 2 largest {fit['exponent_top2']:.2f}" if fit.get("exponent_top2") is not None else ""
            rows.append(["scaling", f"{side} time ∝ work^p vs {label}", f"p = {fit['exponent']:.2f}{top2}{extra}",
                         "≈ 1", ""])
    g = res.get("gpu")
    if g:
        if not g.get("available"):
            rows.append(["gpu", "CUDA", g.get("reason", "not available"), "—", ""])
        else:
            for j in g.get("jobs", []):
                rows.append(["gpu", f"{j['name']} ({g.get('device_name')})",
                             f"{C.fmt_s(j['median_s'])} (min {C.fmt_s(j['min_s'])})",
                             f"≤ {C.fmt_s(j['target_s'])}" if j.get("target_s") else "—", _meets(j["median_s"], j.get("target_s"))])
    rows += _trace_reading_rows(res.get("trace_reading"))
    return rows


def _trace_reading_rows(t: dict | None) -> list[list]:
    rows = []
    targets = (t or {}).get("targets", {})
    speed, ratio = targets.get("mb_per_s", 20), targets.get("memory_ratio", 20)
    for p in (t or {}).get("points", []):
        if "error" in p:
            rows.append(["trace reading", f"{p['size_mb']:.0f} MB C trace", p["error"], "—", "no"])
            continue
        rows.append(["trace reading", f"{p['size_mb']:.0f} MB C trace (oversample {p['oversample']}): MB/s wall, "
                     f"best of {len(p.get('runs', [1]))} (median; per CPU s)",
                     f"{p['mb_per_s']:.1f} ({p.get('mb_per_s_median', p['mb_per_s']):.1f}; {p['mb_per_cpu_s']:.1f})",
                     f"≥ {speed:g}", _meets(p["mb_per_s"], speed, lower_is_better=False)])
        rows.append(["trace reading", f"{p['size_mb']:.0f} MB C trace: peak RSS added (× size)",
                     f"{C.fmt_bytes(p['added_rss_bytes'])} ({p['memory_ratio']:.1f}×)", f"≤ {ratio:g}×",
                     _meets(p["memory_ratio"], ratio)])
    return rows


def render(res: dict, status: dict | None = None) -> str:
    ms = [(n, r["machine"]) for n, r in res.items() if isinstance(r, dict) and r.get("machine")]
    machine = max((m for _, m in ms), key=lambda m: m.get("date", ""), default=None) or C.machine_info()
    dates = sorted(m.get("date", "") for _, m in ms)
    loads = ", ".join(f"{n} {m['loadavg'][0]:.2f}" for n, m in ms if m.get("loadavg"))
    span = f" (results from {dates[0]} to {dates[-1]})" if dates and dates[0] != dates[-1] else ""
    lines = [f"**Machine:** {C.machine_line(machine)}{span}", "",
             C.markdown_table(["benchmark", "measurement", "value", "target", "meets target"], rows_for(res))]
    if loads:
        lines += ["", f"1-minute load average when each benchmark started (the machine may be shared): {loads}"]
    quick = [n for n, r in res.items() if r.get("quick")]
    if quick:
        lines += ["", f"(--quick mode for: {', '.join(quick)}: tiny problem sizes, plumbing only, not the targets' sizes)"]
    errs = [f"{n}: {e}" for n, r in res.items() for e in (r.get("errors") or [])]
    if status:
        errs += [f"{n}: script exit {s['returncode']}" for n, s in status.items() if s["returncode"] not in (0,)]
    if errs:
        lines += ["", "Problems:"] + [f"- {e}" for e in errs]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(ORDER)
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        print(f"run_all: unknown benchmark(s): {', '.join(unknown)} (choose from {', '.join(ORDER)})", file=sys.stderr)
        return 2
    if args.skip:
        names = [n for n in names if n not in {s.strip() for s in args.skip.split(",")}]
    status = None
    if args.reuse:
        results_dir = Path(args.reuse)
    else:
        results_dir = Path(args.results_dir)
        status = run_benchmarks(names, results_dir, args.quick, args.timeout)
    res = load(results_dir, names)
    if args.json:
        print(json.dumps({"results": res, "status": status}, indent=2))
    else:
        print(render(res, status))
    crashed = status and any(s["returncode"] != 0 for s in status.values())
    return 3 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
