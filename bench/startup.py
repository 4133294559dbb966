#!/usr/bin/env python
"""Start-up benchmark: wall time of `python -m simulator --help`, `nbparity --help` and
`python -c "import simulator, nbparity"` (targets: the two --help ≤ 1.5 s each), each a fresh process,
median and min over N repetitions. Then `python -X importtime` shows where import time goes: the top
cumulative imports, the project modules' own (self) time, and which heavy libraries (torch, pandas,
matplotlib, numpy, rich, dask, scipy) each command imports. Importing the packages should do no heavy
work of its own (no file reading, compiling or computing): their self times should be small.

    .venv/bin/python bench/startup.py            # 5 repetitions
    .venv/bin/python bench/startup.py --quick    # 1 repetition (smoke test)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _runs as R  # noqa: E402

HEAVY = ("torch", "pandas", "matplotlib", "numpy", "rich", "dask", "scipy", "distributed", "yaml")
TARGET_S = 1.5


def commands() -> dict:
    venv_bin = Path(C.PYTHON).parent
    nb = venv_bin / "nbparity"
    nb_cmd = [str(nb), "--help"] if nb.is_file() else [C.PYTHON, "-m", "nbparity", "--help"]
    return {
        "python -m simulator --help": [C.PYTHON, "-m", "simulator", "--help"],
        "nbparity --help": nb_cmd,
        'python -c "import simulator, nbparity"': [C.PYTHON, "-c", "import simulator, nbparity"],
        'python -c "import simulator.api" (first use: torch + kernel)': [C.PYTHON, "-c", "import simulator.api"],
        'python -c "pass" (interpreter baseline)': [C.PYTHON, "-c", "pass"],
    }


IMPORTTIME = {
    "import simulator, nbparity": ["-c", "import simulator, nbparity"],
    "nbparity --help": ["-m", "nbparity", "--help"],
    "python -m simulator --help": ["-m", "simulator", "--help"],
    "import simulator.api": ["-c", "import simulator.api"],
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--reps", type=int, default=5, help="repetitions per command (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="1 repetition, no warm-up")
    ap.add_argument("--top", type=int, default=10, help="how many top import costs to show (default: %(default)s)")
    C.add_output_args(ap)
    return ap.parse_args(argv)


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S.*)$")


def parse_importtime(stderr: str) -> list[dict]:
    out = []
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out.append({"self_us": int(m.group(1)), "cumulative_us": int(m.group(2)),
                        "depth": (len(m.group(3)) - 1) // 2, "module": m.group(4).strip()})
    return out


def analyse_importtime(rows: list[dict], top: int) -> dict:
    own = [r for r in rows if r["module"].split(".")[0] in ("simulator", "nbparity")]
    heavy = sorted({r["module"].split(".")[0] for r in rows if r["module"].split(".")[0] in HEAVY})
    # cumulative costs of the imports done by the command and of their direct children (depth 0 and 1)
    top_level = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cumulative_us"])[:top]
    top_self = sorted(rows, key=lambda r: -r["self_us"])[:top]
    return {
        "total_us": sum(r["self_us"] for r in rows),
        "heavy_imported": heavy,
        "top_cumulative": [{k: r[k] for k in ("module", "cumulative_us", "self_us")} for r in top_level],
        "top_self": [{k: r[k] for k in ("module", "self_us")} for r in top_self],
        "project_self_us": sum(r["self_us"] for r in own),
        "project_top_self": [{k: r[k] for k in ("module", "self_us", "cumulative_us")}
                             for r in sorted(own, key=lambda r: -r["self_us"])[:top]],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    reps = 1 if args.quick else args.reps
    result = {"benchmark": "startup", "machine": C.machine_info(), "reps": reps, "target_s": TARGET_S,
              "commands": {}, "importtime": {}, "errors": []}
    env = R.child_env()
    cwd = C.RESULTS if C.RESULTS.is_dir() else C.REPO
    cmds = commands()
    if not args.quick:  # warm the page cache once so the first repetition is not an outlier
        for cmd in cmds.values():
            R.run_timed(cmd, env=env, cwd=cwd, measure_rss=False, timeout=120)
    for rep in range(reps):
        for name, cmd in cmds.items():  # interleaved so a burst of load hits every command alike
            r = R.run_timed(cmd, env=env, cwd=cwd, timeout=120)
            ent = result["commands"].setdefault(name, {"cmd": cmd, "times": [], "rss": [], "returncode": r["returncode"]})
            ent["times"].append(r["wall_s"])
            if r.get("max_rss_bytes"):
                ent["rss"].append(r["max_rss_bytes"])
            if r["returncode"] != 0:
                ent["returncode"] = r["returncode"]
                msg = f"{name} exited {r['returncode']}: {R.tail(r['stderr'])}"
                if msg not in result["errors"]:
                    result["errors"].append(msg)
        C.log(f"rep {rep + 1}/{reps} done")
    for name, ent in result["commands"].items():
        ent.update({k: v for k, v in C.summary(ent.pop("times")).items()})
        rss = ent.pop("rss")
        ent["peak_rss_bytes"] = max(rss) if rss else None
        ent["target_s"] = TARGET_S if "--help" in name else None
    for name, pyargs in IMPORTTIME.items():
        r = R.run_timed([C.PYTHON, "-X", "importtime", *pyargs], env=env, cwd=cwd, measure_rss=False, timeout=120)
        rows = parse_importtime(r["stderr"])
        result["importtime"][name] = analyse_importtime(rows, args.top) | {"returncode": r["returncode"]}
    C.emit(result, args.json, render(result), args.out)
    return 0


def render(res: dict) -> str:
    rows = []
    for name, e in res["commands"].items():
        tgt = f"≤ {e['target_s']} s" if e.get("target_s") else "—"
        rows.append([f"`{name}`", C.fmt_s(e["median"]), C.fmt_s(e["min"]), tgt, C.fmt_bytes(e.get("peak_rss_bytes")),
                     e["returncode"]])
    lines = [f"Start-up ({res['reps']} repetitions, fresh process each)", f"Machine: {C.machine_line(res['machine'])}", "",
             C.markdown_table(["command", "median", "min", "target", "peak RSS", "exit"], rows), ""]
    for name, it in res["importtime"].items():
        lines.append(f"-X importtime `{name}`: total {it['total_us'] / 1e3:.0f} ms; heavy libraries imported: "
                     f"{', '.join(it['heavy_imported']) or 'none'}; project modules' own time "
                     f"{it['project_self_us'] / 1e3:.1f} ms")
        top = ", ".join(f"{r['module']} {r['cumulative_us'] / 1e3:.0f} ms" for r in it["top_cumulative"][:6])
        lines.append(f"  top imports (cumulative): {top}")
        own = ", ".join(f"{r['module']} {r['self_us'] / 1e3:.1f} ms" for r in it["project_top_self"][:5])
        if own:
            lines.append(f"  project modules (self): {own}")
    for e in res["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
